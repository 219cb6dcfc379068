export interface CpuTimes {
  total: number;
  steal: number;
}
export function readCpuTimes(text?: string | null): CpuTimes | null;
export function stealShare(start: CpuTimes | null, end: CpuTimes | null): number | null;
export const STEAL_NOTE_THRESHOLD: number;
export function stealNotes(share: number | null): string[];
