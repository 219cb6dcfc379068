// Turns timings into report rows: rates from the work per call, the speed
// ratio against the peer, the bar, and the fraction of the limit.

/**
 * One side of a row from a timing. `work` is {flops} (rate in GFLOP/s),
 * {bytes} (GB/s) or {tokens} (tokens/s, for the train and decode suites);
 * the rate uses the median time, like the speed ratio.
 */
export function okSide(timing, work, extra = {}) {
  const seconds = timing.medianMs / 1e3;
  const rate = work.flops != null
    ? { value: work.flops / seconds / 1e9, unit: 'GFLOP/s' }
    : work.tokens != null
      ? { value: work.tokens / seconds, unit: 'tokens/s' }
      : { value: work.bytes / seconds / 1e9, unit: 'GB/s' };
  return {
    status: 'ok',
    medianMs: timing.medianMs,
    minMs: timing.minMs,
    reps: timing.reps,
    inner: timing.inner,
    rate,
    ...extra,
  };
}

/** A side with no figure: 'not built', 'not installed', 'error'. */
export function emptySide(status, note, extra = {}) {
  return { status, note, ...extra };
}

/**
 * Bar from the issue, e.g. {text: '≥0.7× OpenBLAS', min: 0.7, threads: 2}:
 * PASS when speedup ≥ min (> min when `strict`), 'n/a' when either side has
 * no figure or the run's thread count is not the one the bar is set for.
 */
export function evaluateBar(bar, speedup, threads) {
  if (!bar) return null;
  const { text, min, strict = false } = bar;
  let status;
  if (bar.threads != null && bar.threads !== threads) status = `n/a (set for ${bar.threads} threads)`;
  else if (speedup == null) status = 'n/a';
  else status = (strict ? speedup > min : speedup >= min) ? 'PASS' : 'FAIL';
  return { text, min, strict, ...(bar.threads != null ? { threads: bar.threads } : {}), status };
}

/**
 * Bar on our share of the measured limit, e.g. {text: '≥85% of peak FMA',
 * min: 0.85}: PASS when our rate / the limit ≥ min; 'n/a' without a figure.
 */
export function evaluateLimitBar(limitBar, fraction) {
  if (!limitBar) return null;
  const { text, min } = limitBar;
  const status = fraction == null ? 'n/a' : fraction >= min ? 'PASS' : 'FAIL';
  return { text, min, status };
}

/**
 * @param {{kernel: string, shape: string, work: object, ours: any, peer: any,
 *          bar?: any, limitBar?: any, limit?: {name: string, value: number, unit: string} | null,
 *          threads: number, extra?: object}} parts
 */
export function makeRow({ kernel, shape, work, ours, peer, bar = null, limitBar = null, limit = null, threads, extra = {} }) {
  const bothOk = ours?.status === 'ok' && peer?.status === 'ok';
  const speedup = bothOk ? peer.medianMs / ours.medianMs : null;
  const fraction = (side) =>
    limit && side?.status === 'ok' && side.rate.unit === limit.unit ? side.rate.value / limit.value : null;
  return {
    kernel,
    shape,
    work,
    ours,
    peer,
    speedup,
    bar: evaluateBar(bar, speedup, threads),
    limitBar: evaluateLimitBar(limitBar, fraction(ours)),
    limit: limit ? { ...limit, oursFraction: fraction(ours), peerFraction: fraction(peer) } : null,
    ...extra,
  };
}
