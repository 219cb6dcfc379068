// Types of the bench report (bench/lib/table.mjs, bench/lib/results.mjs), for
// the TypeScript smoke test and for editors.

/** One side of a row: our kernel or the peer. */
export interface BenchSide {
  /** 'ok', 'not built' (kernel absent in this build), 'not installed', 'error'. */
  status: string;
  /** Peer name ('OpenBLAS', 'PyTorch'); absent for ours. */
  name?: string;
  medianMs?: number;
  minMs?: number;
  reps?: number;
  /** Calls per timed sample (short calls are grouped). */
  inner?: number;
  /** Work per call divided by the median time. */
  rate?: { value: number; unit: string };
  /** Why the side has no figure, or what else to know. */
  note?: string;
}

export interface BenchRow {
  kernel: string;
  shape: string;
  /** Work per call: flops for compute-bound rows, bytes for memory-bound ones, tokens for train / decode. */
  work?: { flops?: number; bytes?: number; tokens?: number };
  ours: BenchSide;
  peer: BenchSide | null;
  /** peer median / our median: > 1 means ours is faster. */
  speedup: number | null;
  bar: { text: string; min: number; status: string } | null;
  /** Bar on our share of the measured limit (peak FMA, STREAM). */
  limitBar?: { text: string; min: number; status: string } | null;
  /** Peak resident memory a call adds, where the suite measures it. */
  memory?: {
    ours?: { peakGrowthMiB: number } | { error: string };
    peer?: { peakGrowthMiB: number } | { error: string };
    /** Size of one (B, H, T, d) tensor, for scale. */
    tensorMiB: number;
    bar?: { text: string; status: string };
  };
  limit: { name: string; value: number; unit: string; oursFraction: number | null; peerFraction: number | null } | null;
}

export interface BenchReport {
  schema: string;
  suite: string;
  date: string;
  options: { quick: boolean; threads: number; budgetMs: number };
  machine: {
    cpuModel: string;
    logicalCores: number;
    isa: string;
    node: string;
    torch: string | null;
    openblas: string | null;
    gitCommit: string | null;
    gitDirty: boolean;
    [key: string]: unknown;
  };
  limits: {
    peakFma?: { isa?: string; results?: { threads: number; gflops: number }[]; error?: string };
    peakBf16?: { isa?: string; results?: { threads: number; gflops: number }[]; error?: string };
    stream?: { results?: { threads: number; gbs: number }[]; error?: string };
  };
  peers: Record<string, { status: string; version?: string | null; install?: string; error?: string }>;
  rows: BenchRow[];
  notes: string[];
  durationS?: number;
}

export function formatMs(ms: number | null | undefined): string;
export function formatRate(rate: { value: number; unit: string } | null | undefined): string;
export function formatRatio(x: number | null | undefined, threshold?: number): string;
export function renderTable(rows: BenchRow[]): string;
export function renderReport(report: BenchReport): string;
