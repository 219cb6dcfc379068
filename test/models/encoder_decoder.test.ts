// EncoderDecoderLM (pre-LN T5-style) against a plain-torch reference on the
// same weights with padding on both sides: memory, logits, loss and every
// parameter gradient. Then cross k/v reuse and bad input.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { EncoderDecoderLM } from '../../lib/models/encoder_decoder.js';
import { encoderDecoderConfig } from '../../lib/models/encoder_decoder_config.js';
import { isConv1DWeight, loadWeights } from '../../lib/models/weights.js';
import { backward, noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { loadFixtures, f32, i32 } from '../helpers/fixtures.js';
import { expectClose } from '../helpers/compare.js';

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const config = JSON.parse(readFileSync(path.join(fixturesDir, 'encoder_decoder.config.json'), 'utf8')) as Record<string, unknown>;
const c = loadFixtures('encoder_decoder')[0]!;
const [B, S] = c.shapes.src as [number, number];
const T = c.shapes.tgt_in![1]!;
const src = new Tensor(i32(c, 'src'), [B, S]);
const srcLengths = i32(c, 'src_lengths') as Int32Array;
const tgtLengths = i32(c, 'tgt_lengths') as Int32Array;
const tgtIn = new Tensor(i32(c, 'tgt_in'), [B, T]);
const tgtOut = new Tensor(i32(c, 'tgt_out'), [B, T]);

// The reference runs in float64; we run float32 through 2+2 layers of
// matmuls, softmax and norms: 1e-4 relative plus 2e-5 absolute covers the
// accumulated rounding (as for the decoder and encoder fixtures).
const tol = { atol: 2e-5, rtol: 1e-4 };

function loaded(): EncoderDecoderLM {
  const model = new EncoderDecoderLM(config, 0);
  loadWeights(model, path.join(fixturesDir, 'encoder_decoder.safetensors'));
  return model.eval();
}

/** Keeps the real (unpadded) rows of a [B, L, D] tensor: a padded query's output is irrelevant. */
function realRows(data: Float32Array, L: number, lengths: Int32Array, D: number): Float32Array {
  const out: number[] = [];
  for (let b = 0; b < B; b++) out.push(...data.subarray(b * L * D, (b * L + lengths[b]!) * D));
  return Float32Array.from(out);
}

function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = data[r * cols + k]!;
  return out;
}

t.test('memory, logits, loss and every gradient equal the torch reference (padded source and target)', async (t) => {
  const model = loaded();
  const C = model.config.d_model, V = model.config.vocab_size;
  const memory = noGrad(() => model.encode(src, srcLengths));
  t.same(memory.shape, [B, S, C]);
  expectClose(t, 'memory (real rows)', realRows(memory.f32(), S, srcLengths, C), realRows(f32(c, 'memory') as Float32Array, S, srcLengths, C), tol);
  const logits = noGrad(() => model.forward(src, srcLengths, tgtIn));
  t.same(logits.shape, [B, T, V]);
  expectClose(t, 'logits (real rows)', realRows(logits.f32(), T, tgtLengths, V), realRows(f32(c, 'logits') as Float32Array, T, tgtLengths, V), tol);
  const loss = model.loss(src, srcLengths, tgtIn, tgtOut);
  expectClose(t, 'loss', loss.f32(), f32(c, 'loss'), tol);
  backward(loss);
  const expected = Object.keys(c.tensors).filter((k) => k.startsWith('grad:')).map((k) => k.slice(5));
  const names = model.namedParameters().map(([n]) => n);
  t.same([...names].sort(), [...expected].sort(), 'the same parameter names as the reference');
  t.ok(names.includes('shared.weight') && !names.some((n) => n.includes('lm_head')), 'one shared embedding, tied head');
  for (const [name, p] of model.namedParameters()) {
    t.ok(p.grad, `${name} has a gradient`);
    // Conv1D-named weights are stored [in, out] in the reference: compare transposed.
    const got = isConv1DWeight(name) ? transposed(p.grad!, p.shape[0]!, p.shape[1]!) : p.grad!;
    expectClose(t, `d ${name}`, got, f32(c, `grad:${name}`), tol);
  }
});

t.test('decoding from precomputed cross k/v equals recomputing them from the memory', async (t) => {
  const model = loaded();
  const memory = noGrad(() => model.encode(src, srcLengths));
  const kv = noGrad(() => model.projectMemory(memory));
  t.equal(kv.length, model.config.num_decoder_layers);
  const fromMemory = noGrad(() => model.decode(tgtIn, memory, srcLengths)).f32();
  const fromKv = noGrad(() => model.decode(tgtIn, kv, srcLengths)).f32();
  t.same(Array.from(fromKv), Array.from(fromMemory), 'bit-identical: the same projections, done once');
  // Step-by-step greedy-style use: each prefix reuses the same kv.
  for (let n = 1; n <= 3; n++) {
    const prefix = new Tensor(Int32Array.from({ length: B * n }, (_, i) => tgtIn.i32()[Math.floor(i / n) * T + (i % n)]!), [B, n]);
    const step = noGrad(() => model.decode(prefix, kv, srcLengths)).f32();
    const V = model.config.vocab_size;
    // Causal: a prefix's logits equal the first n positions of the full decode.
    for (let b = 0; b < B; b++)
      expectClose(t, `prefix ${n} row ${b}`, step.subarray(b * n * V, (b + 1) * n * V), fromMemory.subarray(b * T * V, (b * T + n) * V), { atol: 1e-5, rtol: 1e-5 });
  }
});

t.test('source padding is invisible: a row decodes the same alone and unpadded', async (t) => {
  const model = loaded();
  const V = model.config.vocab_size;
  const all = noGrad(() => model.forward(src, srcLengths, tgtIn)).f32();
  const n = srcLengths[2]!;
  const alone = noGrad(() => model.forward(new Tensor(src.i32().slice(2 * S, 2 * S + n), [1, n]), undefined, new Tensor(tgtIn.i32().slice(2 * T, 3 * T), [1, T]))).f32();
  expectClose(t, 'row 2 padded vs alone', all.subarray(2 * T * V, 3 * T * V), alone, { atol: 1e-5, rtol: 1e-5 });
});

t.test('bad input is refused with a clear error', async (t) => {
  t.throws(() => encoderDecoderConfig({ ...config, n_embd: 8 }), { code: 'CONFIG_UNKNOWN_KEY', message: /unknown key "n_embd"/ });
  t.throws(() => encoderDecoderConfig({ ...config, d_model: 15 }), { code: 'CONFIG_INVALID', message: /divisible/ });
  t.throws(() => encoderDecoderConfig({ ...config, eos_token_id: 29 }), { code: 'CONFIG_INVALID', message: /eos_token_id/ });
  t.throws(() => encoderDecoderConfig({ ...config, feed_forward_proj: 'relu' }), { code: 'CONFIG_INVALID', message: /feed_forward_proj/ });
  t.equal(encoderDecoderConfig({ ...config, num_decoder_layers: undefined }).num_decoder_layers, 2, 'decoder depth defaults to the encoder depth');
  const model = new EncoderDecoderLM(config, 1);
  const two = new Tensor(new Int32Array(8).fill(3), [2, 4]);
  t.throws(() => model.encode(new Tensor(new Int32Array(6), [6])), { code: 'SHAPE_MISMATCH', message: /src must be an int32 \[batch, time\]/ });
  t.throws(() => model.encode(new Tensor(new Float32Array(6), [2, 3])), { code: 'SHAPE_MISMATCH', message: /int32/ });
  t.throws(() => model.encode(new Tensor(new Int32Array(11), [1, 11])), { code: 'SHAPE_INVALID', message: /max_position_embeddings 10/ });
  t.throws(() => model.forward(two, undefined, new Tensor(new Int32Array(11), [1, 11])), { code: 'SHAPE_INVALID', message: /tgtIn has 11 tokens/ });
  t.throws(() => model.encode(new Tensor(Int32Array.of(1, 29), [1, 2])), { code: 'SHAPE_INVALID', message: /token id 29/ });
  t.throws(() => model.encode(two, Int32Array.of(4)), { code: 'SHAPE_MISMATCH', message: /1 source lengths for a batch of 2/ });
  t.throws(() => model.encode(two, Int32Array.of(0, 4)), { code: 'SHAPE_INVALID', message: /srcLengths\[0\] = 0/ });
  t.throws(() => model.forward(two, Int32Array.of(4, 5), two), { code: 'SHAPE_INVALID', message: /srcLengths\[1\] = 5/ });
  const memory = noGrad(() => model.encode(two));
  t.throws(() => model.decode(new Tensor(new Int32Array(3).fill(2), [1, 3]), memory), { code: 'SHAPE_MISMATCH', message: /batch 1 but the memory has 2/ });
  t.throws(() => model.decode(two, model.projectMemory(memory).slice(1)), { code: 'SHAPE_MISMATCH', message: /1 projected memories for 2 decoder layers/ });
  t.throws(() => model.loss(two, undefined, two, new Tensor(new Int32Array(4), [1, 4])), { code: 'SHAPE_MISMATCH', message: /tgtOut/ });
  // No counted target: the cross-entropy kernel defines the mean over zero targets as 0, never NaN.
  t.equal(model.loss(two, undefined, two, new Tensor(new Int32Array(8).fill(-100), [2, 4])).item(), 0, 'all-ignored targets give loss 0, not NaN');
});
