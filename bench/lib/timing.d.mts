export function measure(
  fn: () => unknown,
  options?: { budgetMs?: number; minReps?: number; maxReps?: number; minSampleMs?: number },
): { medianMs: number; minMs: number; reps: number; inner: number };
export function plannedReps(sampleMs: number, options?: { budgetMs?: number; minReps?: number; maxReps?: number }): number;
export function median(values: number[]): number;
export function measureRuns<S extends Record<string, number>>(
  fn: () => S,
  options: { warmup: number; minRuns: number; maxRuns: number; budgetMs: number; key: keyof S & string },
): { medianMs: number; minMs: number; reps: number; inner: 1; samples: S[] };
export function combineRounds(
  rounds: { medianMs: number; minMs: number; reps: number; inner: number }[],
): { medianMs: number; minMs: number; reps: number; inner: number; rounds: number };
