// EncoderLM (pre-LN BERT) against a plain-torch reference on the same weights
// and a padded batch: hidden states, MLM logits and loss, classification
// logits and loss, and every parameter gradient of both losses. Then bad input.
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { EncoderLM } from '../../lib/models/encoder.js';
import { encoderConfig } from '../../lib/models/encoder_config.js';
import { isConv1DWeight, loadWeights } from '../../lib/models/weights.js';
import { backward, noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { loadFixtures, f32, i32 } from '../helpers/fixtures.js';
import { expectClose } from '../helpers/compare.js';

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const config = JSON.parse(readFileSync(path.join(fixturesDir, 'encoder_bert.config.json'), 'utf8')) as Record<string, unknown>;
const c = loadFixtures('encoder')[0]!;
const [B, T] = c.shapes.ids as [number, number];
const ids = new Tensor(i32(c, 'ids'), [B, T]);
const lengths = i32(c, 'lengths') as Int32Array;
const types = new Tensor(i32(c, 'token_types'), [B, T]);

// The reference runs in float64; we run float32 through 2 layers of matmuls,
// softmax and norms plus a head with O(1) activations: 1e-4 relative plus
// 2e-5 absolute covers the accumulated rounding (as for the decoder).
const tol = { atol: 2e-5, rtol: 1e-4 };

function loaded(): EncoderLM {
  const model = new EncoderLM(config, 0);
  loadWeights(model, path.join(fixturesDir, 'encoder_bert.safetensors'));
  return model;
}

/** Keeps only the real (unpadded) positions of a [B, T, D] tensor: a padded query row's output is irrelevant. */
function realRows(data: Float32Array, D: number): Float32Array {
  const out: number[] = [];
  for (let b = 0; b < B; b++) out.push(...data.subarray(b * T * D, (b * T + lengths[b]!) * D));
  return Float32Array.from(out);
}

function compareGrads(t: Test, model: EncoderLM, prefix: string): void {
  const expected = Object.keys(c.tensors).filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
  const withGrad = model.namedParameters().filter(([, p]) => p.grad !== null);
  t.same(withGrad.map(([n]) => n).sort(), [...expected].sort(), `${prefix} the same parameters receive gradients`);
  for (const [name, p] of withGrad) {
    const want = f32(c, `${prefix}${name}`);
    // Conv1D weights are stored [in, out] in the reference: compare transposed.
    const got = isConv1DWeight(name) ? transposed(p.grad!, p.shape[0]!, p.shape[1]!) : p.grad!;
    expectClose(t, `d ${name}`, got, want, tol);
  }
}

function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = data[r * cols + k]!;
  return out;
}

t.test('hidden states, MLM logits, MLM loss and all gradients equal the torch reference (padded batch)', async (t) => {
  const model = loaded().eval();
  const C = model.config.hidden_size, V = model.config.vocab_size;
  const hidden = noGrad(() => model.forward(ids, lengths, types));
  t.same(hidden.shape, [B, T, C]);
  expectClose(t, 'hidden (real rows)', realRows(hidden.f32(), C), realRows(f32(c, 'hidden') as Float32Array, C), tol);
  const logits = noGrad(() => model.mlmLogits(ids, lengths, types));
  expectClose(t, 'mlm logits (real rows)', realRows(logits.f32(), V), realRows(f32(c, 'mlm_logits') as Float32Array, V), tol);
  const loss = model.mlmLoss(ids, new Tensor(i32(c, 'mlm_labels'), [B, T]), lengths, types);
  expectClose(t, 'mlm loss', loss.f32(), f32(c, 'mlm_loss'), tol);
  backward(loss);
  compareGrads(t, model, 'mlm_grad:');
});

t.test('classification logits, loss and all gradients equal the torch reference', async (t) => {
  const model = loaded().eval();
  const logits = noGrad(() => model.classify(ids, lengths, types));
  t.same(logits.shape, [B, 3]);
  expectClose(t, 'cls logits', logits.f32(), f32(c, 'cls_logits'), tol);
  const loss = model.classificationLoss(ids, lengths, new Tensor(i32(c, 'cls_labels'), [B]), types);
  expectClose(t, 'cls loss', loss.f32(), f32(c, 'cls_loss'), tol);
  backward(loss);
  compareGrads(t, model, 'cls_grad:');
});

t.test('padding is invisible: a row gives the same hidden states alone and unpadded', async (t) => {
  const model = loaded().eval();
  const C = model.config.hidden_size;
  const all = noGrad(() => model.forward(ids, lengths, types)).f32();
  const n = lengths[2]!;
  const alone = noGrad(() => model.forward(new Tensor(ids.i32().slice(2 * T, 2 * T + n), [1, n]), undefined, new Tensor(types.i32().slice(2 * T, 2 * T + n), [1, n]))).f32();
  // Same math over fewer keys: float32 rounding only.
  expectClose(t, 'row 2 padded vs alone', all.subarray(2 * T * C, (2 * T + n) * C), alone, { atol: 1e-5, rtol: 1e-5 });
});

t.test('bad input is refused with a clear error', async (t) => {
  t.throws(() => encoderConfig({ ...config, n_embd: 8 }), { code: 'CONFIG_UNKNOWN_KEY', message: /unknown key "n_embd"/ });
  t.throws(() => encoderConfig({ ...config, hidden_size: 25 }), { code: 'CONFIG_INVALID', message: /divisible/ });
  t.throws(() => encoderConfig({ ...config, num_labels: -1 }), { code: 'CONFIG_INVALID', message: /num_labels/ });
  t.throws(() => encoderConfig({ ...config, hidden_act: 'relu' }), { code: 'CONFIG_INVALID', message: /hidden_act/ });
  const model = new EncoderLM(config, 1);
  t.throws(() => model.forward(new Tensor(new Int32Array(6), [6])), { code: 'SHAPE_MISMATCH', message: /\[batch, time\]/ });
  t.throws(() => model.forward(new Tensor(new Float32Array(6), [2, 3])), { code: 'SHAPE_MISMATCH', message: /int32/ });
  t.throws(() => model.forward(new Tensor(new Int32Array(13), [1, 13])), { code: 'SHAPE_INVALID', message: /max_position_embeddings 12/ });
  t.throws(() => model.forward(new Tensor(Int32Array.of(1, 31), [1, 2])), { code: 'SHAPE_INVALID', message: /token id 31/ });
  const two = new Tensor(new Int32Array(8).fill(1), [2, 4]);
  t.throws(() => model.forward(two, Int32Array.of(4)), { code: 'SHAPE_MISMATCH', message: /1 lengths for a batch of 2/ });
  t.throws(() => model.forward(two, Int32Array.of(4, 5)), { code: 'SHAPE_INVALID', message: /lengths\[1\] = 5 must be in \[1, 4\]/ });
  t.throws(() => model.forward(two, Int32Array.of(0, 4)), { code: 'SHAPE_INVALID', message: /lengths\[0\] = 0/ });
  t.throws(() => model.forward(two, undefined, new Tensor(Int32Array.of(0, 0, 0, 2, 0, 0, 0, 0), [2, 4])), { code: 'SHAPE_INVALID', message: /token type 2/ });
  t.throws(() => model.mlmLoss(two, new Tensor(new Int32Array(4), [1, 4])), { code: 'SHAPE_MISMATCH', message: /labels/ });
  t.throws(() => model.classificationLoss(two, undefined, new Tensor(Int32Array.of(0, 3), [2])), { code: 'SHAPE_INVALID', message: /label 3/ });
  const mlmOnly = new EncoderLM({ ...config, num_labels: 0 }, 1);
  t.equal(mlmOnly.namedParameters().some(([n]) => n.startsWith('classifier') || n.startsWith('bert.pooler')), false, 'no pooler/classifier without labels');
  t.throws(() => mlmOnly.classify(two), { code: 'SHAPE_INVALID', message: /num_labels 0/ });
  // Nothing masked: the cross-entropy kernel defines the mean over zero counted targets as 0, never NaN.
  t.equal(model.mlmLoss(two, new Tensor(new Int32Array(8).fill(-100), [2, 4])).item(), 0, 'no masked position gives loss 0, not NaN');
});
