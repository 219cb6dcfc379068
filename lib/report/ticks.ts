// Axis scales for the report's charts: "nice" tick values (Heckbert, Graphics
// Gems 1990: steps of 1, 2 or 5 times a power of ten) and a domain stretched
// to the outer ticks, so the plot box starts and ends on a labelled value.

/** An axis: its domain (data → pixels maps domain[0]..domain[1]) and its ticks. */
export interface AxisScale {
  domain: readonly [number, number];
  ticks: readonly number[];
  /** Linear ticks: the spacing (sets the label decimals). Absent on log axes. */
  step?: number;
  log: boolean;
}

/** `m × 10^k` exactly as its decimal literal reads (10 ** -3 can be off by an ulp). */
function decimal(m: number, k: number): number {
  return Number(`${m}e${k}`);
}

/** The 1-2-5 step nearest to `rough`: 0.13 → 0.1, 0.36 → 0.5, 1700 → 2000. */
export function niceStep(rough: number): number {
  const k = Math.floor(Math.log10(rough));
  const f = rough / 10 ** k;
  const m = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  return decimal(m, k);
}

/**
 * Linear ticks covering [min, max] with about `target` intervals, e.g.
 * (0, 100) → 0, 20, …, 100 and (1.53, 4.21) → 1.5, 2, …, 4.5. A zero-width
 * range is widened (by 10 % of the value, or by 1 around zero) first.
 */
export function linearScale(min: number, max: number, target = 5): AxisScale {
  if (!(Number.isFinite(min) && Number.isFinite(max)) || min > max) throw new RangeError(`linearScale: bad range [${min}, ${max}]`);
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    min -= pad;
    max += pad;
  }
  const step = niceStep((max - min) / target);
  if (!(step > 0 && Number.isFinite(step))) throw new RangeError(`linearScale: range [${min}, ${max}] is too wide or too narrow to tick`);
  // The epsilon keeps a value that is a multiple of step (up to rounding) on its own tick.
  const first = Math.floor(min / step + 1e-9);
  const last = Math.ceil(max / step - 1e-9);
  const ticks: number[] = [];
  // 12 significant digits drop the float noise of i × step (3 × 0.1 = 0.30000000000000004).
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { domain: [ticks[0]!, ticks[ticks.length - 1]!], ticks, step, log: false };
}

/**
 * Log-10 ticks covering [min, max] (both > 0). Up to two decades get 1-2-5
 * ticks and a domain tightened to them ((1.5, 4.2) → 1, 2, 5); more decades
 * get powers of ten, every n-th one when there are more than eight.
 */
export function logScale(min: number, max: number): AxisScale {
  if (!(min > 0 && Number.isFinite(max)) || min > max) throw new RangeError(`logScale: bad range [${min}, ${max}]`);
  if (min === max) {
    // One value: a factor of two each side keeps it mid-axis with ticks around it.
    min /= 2;
    max *= 2;
  }
  let lo = Math.floor(Math.log10(min) + 1e-12);
  let hi = Math.ceil(Math.log10(max) - 1e-12);
  if (hi - lo <= 2) {
    const candidates: number[] = [];
    for (let k = lo; k < hi; k++) for (const m of [1, 2, 5]) candidates.push(decimal(m, k));
    candidates.push(decimal(1, hi));
    const from = candidates.filter((c) => c <= min).pop()!;
    const to = candidates.find((c) => c >= max)!;
    const ticks = candidates.filter((c) => c >= from && c <= to);
    return { domain: [from, to], ticks, log: true };
  }
  const every = Math.ceil((hi - lo) / 8);
  lo = Math.floor(lo / every) * every;
  hi = Math.ceil(hi / every) * every;
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k += every) ticks.push(decimal(1, k));
  return { domain: [ticks[0]!, ticks[ticks.length - 1]!], ticks, log: true };
}
