export interface LimitProgramJson {
  results?: Array<{ threads: number; [field: string]: number }>;
  error?: string;
  [key: string]: unknown;
}
export interface CoreToCore {
  cpus?: number[];
  roundTripNs?: number[];
  error?: string;
}
export interface Limits {
  peakFma: LimitProgramJson;
  peakBf16: LimitProgramJson;
  stream: LimitProgramJson;
  coreToCore: CoreToCore;
}
export interface LimitRun {
  peakFma?: LimitProgramJson;
  peakBf16?: LimitProgramJson;
  stream?: LimitProgramJson;
  coreToCore?: { cpus?: number[]; roundTripNs?: number; error?: string };
}
export function measureLimits(ctx: { root: string; threads: number[]; log: (line: string) => void }): LimitRun;
export function mergeLimits(runs: LimitRun[]): Limits;
export function limitFor(
  limits: Limits | null | undefined,
  kind: 'fma' | 'bf16' | 'stream',
  threads: number,
): { name: string; value: number; unit: string } | null;
export function coreToCoreNotes(coreToCore: CoreToCore | undefined): string[];
