// linear() under withMatmulPrecision('bf16'): forward and both backward
// products against float64 references (on bf16-rounded inputs, with the
// rounding written here; and on the exact inputs), the scope, and the fp32
// default left as it was.
import t from 'tap';
import type { Test } from 'tap';
import { ConfigError } from '../../lib/errors.js';
import { backward } from '../../lib/tensor/autograd.js';
import { linear } from '../../lib/tensor/ops/linear.js';
import { matmulPrecision, parseMatmulPrecision, withMatmulPrecision } from '../../lib/tensor/ops/matmul_precision.js';
import { tensor } from '../../lib/tensor/tensor.js';
import { Rng, randn } from '../helpers/random.js';

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/** bfloat16 rounding, ties to even, denormals to ±0 (as test/kernels/gemm_bf16.test.ts). */
function bf16(x: number): number {
  asFloat[0] = x;
  const u = bits[0]!;
  if (Number.isNaN(asFloat[0])) return NaN;
  if (((u >>> 23) & 0xff) === 0) return u >>> 31 ? -0 : 0;
  let kept = u >>> 16;
  const dropped = u & 0xffff;
  if (dropped > 0x8000 || (dropped === 0x8000 && (kept & 1) === 1)) kept += 1;
  bits[0] = (kept << 16) >>> 0;
  return asFloat[0];
}

/** C[i, j] = Σ_p A(i, p)·B(p, j) in float64, with Σ|terms|, from element getters. */
function product(m: number, n: number, k: number, a: (i: number, p: number) => number, b: (p: number, j: number) => number) {
  const value = new Float64Array(m * n), magnitude = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0, mag = 0;
      for (let p = 0; p < k; p++) {
        const term = a(i, p) * b(p, j);
        acc += term;
        mag += Math.abs(term);
      }
      value[i * n + j] = acc;
      magnitude[i * n + j] = mag;
    }
  return { value, magnitude };
}

/** Asserts |got − want| ≤ gamma·magnitude elementwise; reports the worst ratio. */
function within(t: Test, name: string, got: Float32Array, want: { value: Float64Array; magnitude: Float64Array }, gamma: number, boundName: string): void {
  let worst = 0, where = '';
  for (let i = 0; i < got.length; i++) {
    const ratio = Math.abs(got[i]! - want.value[i]!) / (gamma * want.magnitude[i]! + 1e-30);
    if (!(ratio <= worst)) worst = Number.isNaN(ratio) ? Infinity : ratio;
    if (!(ratio <= 1) && where === '') where = ` at [${i}]: got ${got[i]}, want ${want.value[i]}`;
  }
  t.ok(where === '', `${name}: max error ${worst.toFixed(3)} of ${boundName}${where}`);
}

// A Linear of 45 → 29 features on [3, 13] rows of input, with a bias.
const [rows, inF, outF] = [39, 45, 29];
const rng = new Rng(17);
const xv = randn(rng, rows * inF), wv = randn(rng, outF * inF, 0.2), bv = randn(rng, outF), gv = randn(rng, rows * outF);

function runLinear(precisionOfForward: 'fp32' | 'bf16') {
  const x = tensor(xv, [3, 13, inF], true), w = tensor(wv, [outF, inF], true), b = tensor(bv, [outF], true);
  const y = withMatmulPrecision(precisionOfForward, () => linear(x, w, b));
  backward(y, gv.slice()); // outside the scope: the forward's precision must carry over
  return { y: y.f32(), dx: x.grad!, dw: w.grad!, db: b.grad! };
}

// References: y = x·Wᵀ + b (k = in), dx = g·W (k = out), dW = gᵀ·x (k = rows).
function references(round: (v: number) => number) {
  const x = (i: number, p: number) => round(xv[i * inF + p]!), w = (o: number, p: number) => round(wv[o * inF + p]!);
  const g = (i: number, o: number) => round(gv[i * outF + o]!);
  const y = product(rows, outF, inF, x, (p, o) => w(o, p));
  for (let i = 0; i < rows; i++)
    for (let o = 0; o < outF; o++) {
      y.value[i * outF + o] += bv[o]!;
      y.magnitude[i * outF + o] += Math.abs(bv[o]!);
    }
  return { y, dx: product(rows, inF, outF, g, w), dw: product(outF, inF, rows, (o, i) => g(i, o), x) };
}

// Products of bf16 values are exact in fp32, so against the rounded inputs
// only the fp32 sums round: γ = (k + 4)·2⁻²⁴ of Σ|terms| (gemm_bf16.test.ts).
// Against the exact inputs add each product's rounding, 2·2⁻⁹ + 2⁻¹⁸.
const gammaRounded = (k: number) => (k + 4) * 2 ** -24;
const gammaExact = (k: number) => 2 ** -8 + 2 ** -18 + (k + 4) * 2 ** -24;

t.test('bf16 linear: output and both weight/input gradients within fp32 summation error of the rounded product', async (t) => {
  const got = runLinear('bf16'), ref = references(bf16);
  within(t, 'y', got.y, ref.y, gammaRounded(inF), '(in+4)·2^-24·Σ|terms|');
  within(t, 'dx', got.dx, ref.dx, gammaRounded(outF), '(out+4)·2^-24·Σ|terms|');
  within(t, 'dW', got.dw, ref.dw, gammaRounded(rows), '(rows+4)·2^-24·Σ|terms|');
  // The bias gradient is a plain fp32 row sum of g (no GEMM, no rounding).
  const db = product(1, outF, rows, () => 1, (i, o) => gv[i * outF + o]!);
  within(t, 'db (fp32)', got.db, db, gammaRounded(rows), '(rows+4)·2^-24·Σ|g|');
});

t.test('bf16 linear is within ~2^-8 of the exact product; fp32 linear (the default) within fp32 error', async (t) => {
  const exact = references((v) => v);
  const bf = runLinear('bf16');
  within(t, 'bf16 y', bf.y, exact.y, gammaExact(inF), '(2^-8 + 2^-18 + (in+4)·2^-24)·Σ|terms|');
  within(t, 'bf16 dx', bf.dx, exact.dx, gammaExact(outF), '(2^-8 + 2^-18 + (out+4)·2^-24)·Σ|terms|');
  within(t, 'bf16 dW', bf.dw, exact.dw, gammaExact(rows), '(2^-8 + 2^-18 + (rows+4)·2^-24)·Σ|terms|');
  // fp32 meets the fp32 bound, which a bf16 product (≈ 2^-9 off per input) would not.
  const fp = runLinear('fp32');
  within(t, 'fp32 y', fp.y, exact.y, gammaRounded(inF), '(in+4)·2^-24·Σ|terms|');
  within(t, 'fp32 dx', fp.dx, exact.dx, gammaRounded(outF), '(out+4)·2^-24·Σ|terms|');
  within(t, 'fp32 dW', fp.dw, exact.dw, gammaRounded(rows), '(rows+4)·2^-24·Σ|terms|');
});

t.test('withMatmulPrecision is a scope: restored after the call and after a throw', async (t) => {
  t.equal(matmulPrecision(), 'fp32', 'fp32 by default');
  t.equal(withMatmulPrecision('bf16', () => matmulPrecision()), 'bf16', 'bf16 inside');
  t.equal(matmulPrecision(), 'fp32', 'fp32 after');
  t.throws(() => withMatmulPrecision('bf16', () => {
    throw new Error('boom');
  }), /boom/);
  t.equal(matmulPrecision(), 'fp32', 'fp32 after a throw');
  t.equal(withMatmulPrecision('bf16', () => withMatmulPrecision('fp32', () => matmulPrecision())), 'fp32', 'nested scopes');
  t.throws(() => parseMatmulPrecision('fp16', 'test'), new ConfigError('CONFIG_INVALID', 'test: matmul precision must be one of fp32, bf16, got "fp16"'));
  t.throws(() => withMatmulPrecision('fp16' as 'bf16', () => 0), { code: 'CONFIG_INVALID' });
  t.equal(matmulPrecision(), 'fp32', 'a bad name changes nothing');
});
