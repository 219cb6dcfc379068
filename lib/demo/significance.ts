// Exact one-sided tests for the demo's "better than" claims. Evaluation sets
// are small (tens of instances per task), so a difference can be noise; each
// claim states its p-value and holds only below ALPHA.

/** The significance level of every claim. */
export const ALPHA = 0.05;

/** log C(n, k), exact enough for n in the thousands (sum of logs). */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** P(X ≥ k) for X ~ Binomial(n, p): the chance of k or more successes by luck alone. */
export function binomialTailAtLeast(k: number, n: number, p: number): number {
  if (!(Number.isInteger(k) && Number.isInteger(n) && n >= 0)) throw new RangeError(`binomialTailAtLeast: k and n must be integers with n >= 0, got k=${k}, n=${n}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`binomialTailAtLeast: p must be in [0, 1], got ${p}`);
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p === 0) return 0;
  if (p === 1) return 1;
  let sum = 0;
  for (let i = k; i <= n; i++) sum += Math.exp(logChoose(n, i) + i * Math.log(p) + (n - i) * Math.log1p(-p));
  return Math.min(1, sum);
}

export interface PairedComparison {
  /** Instances where the second system scored higher than the first. */
  wins: number;
  /** Instances where it scored lower. */
  losses: number;
  /** Ties (equal scores) carry no evidence either way and are left out. */
  ties: number;
  /** One-sided sign-test p-value for "the second is better" (McNemar's exact test on 0/1 scores). */
  pValue: number;
}

/**
 * The sign test on paired per-instance scores (same instances, two systems):
 * under "no difference" a non-tied instance favours either side with
 * probability ½.
 */
export function pairedSignTest(first: readonly number[], second: readonly number[]): PairedComparison {
  if (first.length !== second.length) throw new RangeError(`pairedSignTest: ${first.length} scores against ${second.length}; the two systems must be scored on the same instances`);
  let wins = 0, losses = 0;
  for (let i = 0; i < first.length; i++) {
    if (second[i]! > first[i]!) wins++;
    else if (second[i]! < first[i]!) losses++;
  }
  return { wins, losses, ties: first.length - wins - losses, pValue: binomialTailAtLeast(wins, wins + losses, 0.5) };
}

/** A p-value as a table cell: "0.003", "2.5e-4", or "< 1e-6" for tiny values. */
export function pValueText(p: number): string {
  return p < 1e-6 ? '< 1e-6' : p < 0.001 ? p.toExponential(1) : p.toFixed(3);
}

/** "p = 0.003" style, with tiny values as "p < 1e-6". */
export function formatP(p: number): string {
  return p < 1e-6 ? 'p < 1e-6' : `p = ${pValueText(p)}`;
}
