// Wall-clock timing of one synchronous call: warm-up, then the median and the
// minimum over repeated samples. bench/peers/torch_kernels.py follows the
// same rules so both sides of a row are measured alike.

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Times `fn` (synchronous). The warm-up calls size the run: calls shorter than
 * `minSampleMs` are grouped so one sample lasts at least that long (timer and
 * call overhead stay small), and the number of samples aims at `budgetMs`,
 * at least `minReps`, but a slow case never takes more than 4 budgets.
 * @param {() => unknown} fn
 * @param {{budgetMs?: number, minReps?: number, maxReps?: number, minSampleMs?: number}} [options]
 * @returns {{medianMs: number, minMs: number, reps: number, inner: number}}
 */
export function measure(fn, options = {}) {
  const { budgetMs = 500, minReps = 5, maxReps = 1000, minSampleMs = 1 } = options;
  let t0 = nowMs();
  fn();
  let perCall = nowMs() - t0;
  if (perCall < budgetMs / 5) {
    // The first call pays for page faults and cold caches; size on the second.
    t0 = nowMs();
    fn();
    perCall = Math.min(perCall, nowMs() - t0);
  }
  perCall = Math.max(perCall, 1e-4);
  const inner = perCall < minSampleMs ? Math.ceil(minSampleMs / perCall) : 1;
  const sampleMs = perCall * inner;
  const reps = plannedReps(sampleMs, { budgetMs, minReps, maxReps });

  const samples = [];
  for (let r = 0; r < reps; r++) {
    t0 = nowMs();
    for (let i = 0; i < inner; i++) fn();
    samples.push((nowMs() - t0) / inner);
  }
  return { medianMs: median(samples), minMs: Math.min(...samples), reps, inner };
}

/**
 * Samples for a run of about `budgetMs`: at least `minReps`, at most
 * `maxReps`, and never more than 4 budgets in all (at least 1).
 * @param {number} sampleMs
 */
export function plannedReps(sampleMs, { budgetMs = 500, minReps = 5, maxReps = 1000 } = {}) {
  const reps = Math.min(Math.max(Math.round(budgetMs / sampleMs), minReps), maxReps);
  return Math.max(1, Math.min(reps, Math.floor((4 * budgetMs) / sampleMs)));
}

/**
 * One timing from rounds of the same measurement taken alternately with a
 * peer's: the median of the round medians, the minimum of the minima. A
 * burst of load from elsewhere then lands in one round of each side instead
 * of in all of one side's samples.
 * @param {{medianMs: number, minMs: number, reps: number, inner: number}[]} rounds
 */
export function combineRounds(rounds) {
  return {
    medianMs: median(rounds.map((r) => r.medianMs)),
    minMs: Math.min(...rounds.map((r) => r.minMs)),
    reps: rounds.reduce((sum, r) => sum + r.reps, 0),
    inner: rounds[0].inner,
    rounds: rounds.length,
  };
}

/** @param {number[]} values */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

/**
 * Times calls that are long (a training step, a whole generation) and report
 * their own figures: `warmup` untimed calls, then timed calls until
 * `budgetMs` is spent, at least `minRuns`, at most `maxRuns`. `fn` returns an
 * object with its milliseconds under `key` (and any split it measured).
 * bench/peers/torch_train.py follows the same rules.
 * @template {Record<string, number>} S
 * @param {() => S} fn
 * @param {{warmup: number, minRuns: number, maxRuns: number, budgetMs: number, key: keyof S & string}} options
 * @returns {{medianMs: number, minMs: number, reps: number, inner: 1, samples: S[]}}
 */
export function measureRuns(fn, { warmup, minRuns, maxRuns, budgetMs, key }) {
  for (let i = 0; i < warmup; i++) fn();
  const samples = [];
  const started = nowMs();
  while (samples.length < maxRuns && (samples.length < minRuns || nowMs() - started < budgetMs)) samples.push(fn());
  const ms = samples.map((s) => s[key]);
  return { medianMs: median(ms), minMs: Math.min(...ms), reps: samples.length, inner: 1, samples };
}
