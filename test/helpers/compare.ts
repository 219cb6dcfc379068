// Tensor comparison in the llm.c style: one line per named tensor with its
// max difference, e.g. "dq: max abs diff 3.1e-06 (tol 1e-05) OK".
import type { Test } from 'tap';

export interface Tolerance {
  /** Absolute tolerance. */
  atol: number;
  /** Relative tolerance, scaled by |expected|. */
  rtol?: number;
}

/** Worst |got − want| − rtol·|want| over the arrays; NaN anywhere fails. */
export function maxExcess(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
): { maxAbs: number; worstIndex: number; ok: boolean } {
  const rtol = tol.rtol ?? 0;
  let maxAbs = 0;
  let worstIndex = -1;
  let ok = got.length === want.length;
  for (let i = 0; i < Math.min(got.length, want.length); i++) {
    const g = got[i]!;
    const w = want[i]!;
    if (Number.isNaN(g) !== Number.isNaN(w)) {
      ok = false;
      worstIndex = i;
      maxAbs = Infinity;
      continue;
    }
    if (Number.isNaN(g)) continue;
    if (g === w) continue; // covers equal infinities
    const d = Math.abs(g - w);
    if (d > maxAbs) {
      maxAbs = d;
      worstIndex = i;
    }
    if (!(d <= tol.atol + rtol * Math.abs(w))) ok = false;
  }
  return { maxAbs, worstIndex, ok };
}

/** Asserts got ≈ want elementwise and reports the max difference by name. */
export function expectClose(
  t: Test,
  name: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  tol: Tolerance,
): void {
  if (got.length !== want.length) {
    t.fail(`${name}: length ${got.length}, expected ${want.length}`);
    return;
  }
  const { maxAbs, worstIndex, ok } = maxExcess(got, want, tol);
  const where = ok ? '' : ` at [${worstIndex}]: got ${got[worstIndex]}, want ${want[worstIndex]}`;
  t.ok(
    ok,
    `${name}: max abs diff ${maxAbs.toExponential(2)} (atol ${tol.atol}, rtol ${tol.rtol ?? 0})${where}`,
  );
}

/** Asserts two arrays are bitwise equal (same float32 bits). */
export function expectBitwise(t: Test, name: string, got: Float32Array, want: Float32Array): void {
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      first = i;
      break;
    }
  }
  t.ok(got.length === want.length && first < 0, `${name}: bitwise equal${first >= 0 ? ` (differs at [${first}])` : ''}`);
}
