// The attention ops with autograd: packedAttention (q, k, v read in place
// from one [3, B, NH, T, HS] tensor) must equal attention over the three
// parts taken apart, outputs and gradients, bit for bit.
import t from 'tap';
import { backward } from '../../lib/tensor/autograd.js';
import { attention, packedAttention } from '../../lib/tensor/ops/attention.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { expectBitwise } from '../helpers/compare.js';
import { Rng, randn } from '../helpers/random.js';

t.test('packedAttention equals attention on the split parts (forward and backward, bitwise)', async (t) => {
  const rng = new Rng(3);
  for (const [B, NH, T, HS, causal] of [[2, 3, 7, 5, true], [1, 1, 1, 1, false], [3, 2, 33, 8, false]] as const) {
    const n = B * NH * T * HS;
    const data = randn(rng, 3 * n);
    const gradOut = randn(rng, n);
    const qkv = new Tensor(data.slice(), [3, B, NH, T, HS], true);
    const yPacked = packedAttention(qkv, { causal });
    backward(yPacked, gradOut);
    const parts = [0, 1, 2].map((i) => new Tensor(data.slice(i * n, (i + 1) * n), [B, NH, T, HS], true));
    const ySplit = attention(parts[0]!, parts[1]!, parts[2]!, { causal });
    backward(ySplit, gradOut);
    const name = `[${B}, ${NH}, ${T}, ${HS}]${causal ? ' causal' : ''}`;
    t.same(yPacked.shape, [B, NH, T, HS]);
    expectBitwise(t, `${name} out`, yPacked.f32(), ySplit.f32());
    ['dq', 'dk', 'dv'].forEach((d, i) => expectBitwise(t, `${name} ${d}`, qkv.grad!.subarray(i * n, (i + 1) * n), parts[i]!.grad!));
  }
  t.throws(() => packedAttention(new Tensor(new Float32Array(24), [2, 1, 1, 3, 4])), /packedAttention: qkv must be \[3, batch, heads, time, headDim\]/);
});
