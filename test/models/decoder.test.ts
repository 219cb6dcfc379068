// DecoderLM (GPT-2 layout, and the LLaMA options) against a plain-torch
// reference on the same weights: logits, loss and every parameter gradient.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { DecoderLM } from '../../lib/models/decoder.js';
import { isConv1DWeight, loadWeights } from '../../lib/models/weights.js';
import { backward, noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { loadFixtures, f32, i32 } from '../helpers/fixtures.js';
import { expectClose } from '../helpers/compare.js';

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

// The reference runs in float64; we run float32 through ~2 layers of
// matmuls, softmax and norms with O(1) activations: 1e-4 relative plus 2e-5
// absolute covers the accumulated rounding (observed max ~1e-5).
const tol = { atol: 2e-5, rtol: 1e-4 };

for (const c of loadFixtures('decoder')) {
  t.test(`${c.name}: logits, loss and all gradients equal the torch reference`, async (t) => {
    const config = JSON.parse(readFileSync(path.join(fixturesDir, `decoder_${c.name}.config.json`), 'utf8')) as Record<string, unknown>;
    const model = new DecoderLM(config, 0);
    loadWeights(model, path.join(fixturesDir, `decoder_${c.name}.safetensors`));
    const [B, T] = c.shapes.ids as [number, number];
    const ids = new Tensor(i32(c, 'ids'), [B, T]);
    const targets = new Tensor(i32(c, 'targets'), [B, T]);

    const logits = model.forward(ids);
    expectClose(t, 'logits', logits.f32(), f32(c, 'logits'), tol);
    const loss = model.loss(ids, targets);
    expectClose(t, 'loss', loss.f32(), f32(c, 'loss'), tol);
    backward(loss);
    const names = model.namedParameters();
    t.equal(names.length, Object.keys(c.tensors).filter((k) => k.startsWith('grad:')).length, 'every reference parameter exists');
    for (const [name, p] of names) {
      const want = f32(c, `grad:${name}`);
      // Conv1D weights are stored [in, out] in the reference: compare transposed.
      const got = isConv1DWeight(name) ? transposed(p.grad!, p.shape[0]!, p.shape[1]!) : p.grad!;
      expectClose(t, `d ${name}`, got, want, tol);
    }
  });
}

function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = data[r * cols + k]!;
  return out;
}

t.test('KV-cached incremental decoding gives the same logits as a full forward pass', async (t) => {
  for (const c of loadFixtures('decoder')) {
    const config = JSON.parse(readFileSync(path.join(fixturesDir, `decoder_${c.name}.config.json`), 'utf8')) as Record<string, unknown>;
    const model = new DecoderLM(config, 0);
    loadWeights(model, path.join(fixturesDir, `decoder_${c.name}.safetensors`));
    const [B, T] = c.shapes.ids as [number, number];
    const ids = i32(c, 'ids');
    const V = model.config.vocab_size;
    const full = noGrad(() => model.forward(new Tensor(ids, [B, T]))).f32();
    const cache = model.createCache(B, T);
    const got = new Float32Array(B * T * V);
    // A 5-token prompt, then one token at a time.
    const steps: [number, number][] = [[0, 5], ...Array.from({ length: T - 5 }, (_, i): [number, number] => [5 + i, 1])];
    for (const [start, len] of steps) {
      const chunk = new Int32Array(B * len);
      for (let b = 0; b < B; b++) chunk.set(ids.subarray(b * T + start, b * T + start + len), b * len);
      const logits = noGrad(() => model.forward(new Tensor(chunk, [B, len]), { cache })).f32();
      for (let b = 0; b < B; b++) got.set(logits.subarray(b * len * V, (b + 1) * len * V), (b * T + start) * V);
    }
    t.equal(cache[0]!.length, T);
    // Same math in a different order (blocked attention over a longer cache): float32 rounding only.
    expectClose(t, `${c.name} cached logits`, got, full, { atol: 1e-5, rtol: 1e-5 });
  }
});
