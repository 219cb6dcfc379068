// CrossAttention: forward against a float64 reference written here, gradients
// by finite differences, padding of the memory, and reuse of projected k/v.
import t from 'tap';
import { CrossAttention } from '../../lib/nn/cross_attention.js';
import { gradcheck } from '../../lib/tensor/gradcheck.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Random } from '../../lib/tensor/random.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { Rng, randn } from '../helpers/random.js';

const [B, Tq, Tk, C, NH] = [2, 3, 5, 8, 2];
const HS = C / NH;

/** y[r, :] = x[r, :]·Wᵀ + b in float64; W is [out, in]. */
function linear64(x: ArrayLike<number>, rows: number, w: ArrayLike<number>, b: ArrayLike<number>, inF: number, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outF; o++) {
      let acc = b[o]!;
      for (let i = 0; i < inF; i++) acc += x[r * inF + i]! * w[o * inF + i]!;
      y[r * outF + o] = acc;
    }
  return y;
}

function reference(layer: CrossAttention, x: Float32Array, mem: Float32Array, memoryLen: Int32Array): Float64Array {
  const q = linear64(x, B * Tq, layer.c_q.weight.f32(), layer.c_q.bias!.f32(), C, C); // (B, Tq, C)
  const kv = linear64(mem, B * Tk, layer.c_kv.weight.f32(), layer.c_kv.bias!.f32(), C, 2 * C); // (B, Tk, 2C): k then v
  const ctx = new Float64Array(B * Tq * C);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < NH; h++)
      for (let i = 0; i < Tq; i++) {
        const scores: number[] = [];
        for (let j = 0; j < memoryLen[b]!; j++) {
          let s = 0;
          for (let d = 0; d < HS; d++) s += q[(b * Tq + i) * C + h * HS + d]! * kv[(b * Tk + j) * 2 * C + h * HS + d]!;
          scores.push(s / Math.sqrt(HS));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, v) => a + v, 0);
        for (let d = 0; d < HS; d++) {
          let acc = 0;
          for (let j = 0; j < e.length; j++) acc += (e[j]! / z) * kv[(b * Tk + j) * 2 * C + C + h * HS + d]!;
          ctx[(b * Tq + i) * C + h * HS + d] = acc;
        }
      }
  return linear64(ctx, B * Tq, layer.c_proj.weight.f32(), layer.c_proj.bias!.f32(), C, C);
}

t.test('forward equals a float64 reference, with memory padding', async (t) => {
  const rng = new Rng(9);
  const layer = new CrossAttention(C, NH, new Random(3), { bias: true, projStd: 0.3 });
  for (const p of layer.parameters()) p.f32().set(randn(rng, p.size, 0.5));
  const x = randn(rng, B * Tq * C);
  const mem = randn(rng, B * Tk * C);
  const memoryLen = new Int32Array([Tk, 3]);
  const y = noGrad(() => layer.forward(new Tensor(x, [B, Tq, C]), new Tensor(mem, [B, Tk, C]), memoryLen));
  // float32 through three small projections and a softmax of O(1) values.
  expectClose(t, 'output', y.f32(), reference(layer, x, mem, memoryLen), { atol: 1e-5, rtol: 1e-5 });

  // Padded memory rows must not matter.
  const changed = mem.slice();
  for (let j = 3; j < Tk; j++) for (let c = 0; c < C; c++) changed[(Tk + j) * C + c] = 100;
  const y2 = noGrad(() => layer.forward(new Tensor(x, [B, Tq, C]), new Tensor(changed, [B, Tk, C]), memoryLen));
  expectBitwise(t, 'padding ignored', y2.f32(), y.f32());

  // Projecting the memory once and reusing it gives the same output.
  const kv = noGrad(() => layer.projectMemory(new Tensor(mem, [B, Tk, C])));
  const y3 = noGrad(() => layer.forward(new Tensor(x, [B, Tq, C]), kv, memoryLen));
  expectBitwise(t, 'projected memory reused', y3.f32(), y.f32());
});

t.test('gradients w.r.t. x, memory and every weight pass the finite-difference check', async (t) => {
  const rng = new Rng(4);
  const layer = new CrossAttention(C, NH, new Random(5), { bias: true, projStd: 0.3 });
  for (const p of layer.parameters()) p.f32().set(randn(rng, p.size, 0.5));
  const x = new Tensor(randn(rng, B * Tq * C), [B, Tq, C], true);
  const mem = new Tensor(randn(rng, B * Tk * C), [B, Tk, C], true);
  const params = layer.parameters();
  const r = gradcheck((xx, mm) => layer.forward(xx!, mm!, new Int32Array([4, Tk])), [x, mem, ...params]);
  const worst = Math.max(...r.inputs.map((i) => i.maxAbsDiff));
  t.ok(r.ok, `max |analytic − numeric| ${worst.toExponential(2)} over x, memory and ${params.length} parameters`);
});

t.test('shape errors name the problem', async (t) => {
  const layer = new CrossAttention(C, NH, new Random(1), { bias: false, projStd: 0.02 });
  t.throws(() => layer.forward(new Tensor(new Float32Array(B * Tq * C), [B, Tq, C]), new Tensor(new Float32Array(B * Tk * 4), [B, Tk, 4])), { name: 'ShapeError', message: /memory must be \[batch, time, 8\]/ });
  t.throws(() => layer.forward(new Tensor(new Float32Array(Tq * C), [1, Tq, C]), new Tensor(new Float32Array(B * Tk * C), [B, Tk, C])), { message: /batch 1 but the memory has 2/ });
  t.throws(() => new CrossAttention(10, 3, new Random(1), { bias: false, projStd: 0.02 }), /not divisible/);
});
