// GLM against a plain-torch reference on the same weights (test/fixtures/gen_glm.py):
// the batch lmkit builds, logits, loss and every parameter gradient, with padding.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { GLM } from '../../lib/models/glm.js';
import { loadWeights, isConv1DWeight } from '../../lib/models/weights.js';
import { buildGlmExample, collateGlm, gMaskExample, type GlmSpecialTokens } from '../../lib/objectives/blank_infilling.js';
import { backward, noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { loadFixtures, f32, i32 } from '../helpers/fixtures.js';
import { expectClose } from '../helpers/compare.js';

const fixturesDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');
const config = JSON.parse(readFileSync(path.join(fixturesDir, 'glm.config.json'), 'utf8')) as Record<string, unknown>;
const sp: GlmSpecialTokens = { mask: 26, gmask: 27, start: 28, end: 29 };
// Float64 reference vs float32 through 2 layers with O(1) activations, as the decoder test.
const tol = { atol: 2e-5, rtol: 1e-4 };

function loaded(): GLM {
  const model = new GLM(config, 0);
  loadWeights(model, path.join(fixturesDir, 'glm.safetensors'));
  return model;
}

t.test('logits, loss and all gradients equal the torch reference on a padded batch', async (t) => {
  const c = loadFixtures('glm')[0]!;
  // The same three rows the generator builds, made by lmkit's objective.
  const batch = collateGlm([
    buildGlmExample([3, 7, 11, 2, 19, 5, 8, 1, 14], [{ start: 2, length: 1 }, { start: 5, length: 2 }], [1, 0], sp),
    gMaskExample([4, 9, 12, 6, 20, 25], 3, sp),
    buildGlmExample([10, 13, 17, 21, 23], [{ start: 0, length: 2 }], [0], sp),
  ], 0);
  t.same([...batch.input.i32()], [...i32(c, 'ids')], 'inputs equal the reference batch');
  t.same([...batch.target.i32()], [...i32(c, 'targets')], 'targets');
  t.same([...batch.positions.i32()], [...i32(c, 'positions')], 'positions');
  t.same([...batch.blockPositions.i32()], [...i32(c, 'blockPositions')], 'block positions');
  t.same([...batch.prefixLen], [...i32(c, 'prefixLen')], 'prefixLen');
  t.same([...batch.kvLen], [...i32(c, 'kvLen')], 'kvLen (padding)');

  const model = loaded();
  const logits = model.forward(batch.input, batch.positions, batch.blockPositions, batch.prefixLen, batch.kvLen);
  expectClose(t, 'logits', logits.f32(), f32(c, 'logits'), tol);
  const loss = model.loss(batch.input, batch.positions, batch.blockPositions, batch.prefixLen, batch.target, batch.kvLen);
  expectClose(t, 'loss', loss.f32(), f32(c, 'loss'), tol);
  backward(loss);
  const names = model.namedParameters();
  t.equal(names.length, Object.keys(c.tensors).filter((k) => k.startsWith('grad:')).length, 'every reference parameter exists');
  for (const [name, p] of names) {
    const got = isConv1DWeight(name) ? transposed(p.grad!, p.shape[0]!, p.shape[1]!) : p.grad!;
    expectClose(t, `d ${name}`, got, f32(c, `grad:${name}`), tol);
  }
});

function transposed(data: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[k * rows + r] = data[r * cols + k]!;
  return out;
}

t.test('Part A does not see Part B, and padding changes nothing', async (t) => {
  const model = loaded();
  const V = model.config.vocab_size;
  const ex = buildGlmExample([3, 7, 11, 2, 19, 5, 8, 1, 14], [{ start: 2, length: 1 }, { start: 5, length: 2 }], [1, 0], sp);
  const run = (e: typeof ex, pad: number) => {
    const b = collateGlm([e, gMaskExample(Array.from({ length: e.input.length + pad - 3 }, (_, i) => i % 20), e.input.length + pad - 4, sp)], 0);
    return noGrad(() => model.forward(b.input, b.positions, b.blockPositions, b.prefixLen, b.kvLen)).f32().subarray(0, e.input.length * V);
  };
  const alone = run(ex, 0);
  expectClose(t, 'row with 4 padding tokens', run(ex, 4), alone, { atol: 1e-5, rtol: 1e-5 });
  // Change the Part B tokens: Part A's logits must not move; Part B's must.
  const other = { ...ex, input: ex.input.map((v, i) => (i >= ex.prefixLen && v < 26 ? (v + 1) % 26 : v)) };
  const changed = run(other, 0);
  const A = ex.prefixLen * V;
  expectClose(t, 'Part A logits', changed.subarray(0, A), alone.subarray(0, A), { atol: 0, rtol: 0 });
  t.ok(changed.subarray(A).some((v, i) => v !== alone[A + i]), 'Part B logits depend on Part B');
});

t.test('bad input: clear errors, never NaN', async (t) => {
  const model = loaded();
  const n = model.config.n_positions;
  const ids = (T: number) => new Tensor(new Int32Array(T), [1, T]);
  const zeros = (T: number) => new Tensor(new Int32Array(T), [1, T]);
  t.throws(() => model.forward(ids(n + 1), zeros(n + 1), zeros(n + 1), new Int32Array([1])), { code: 'SHAPE_INVALID', message: /n_positions/ }, 'longer than the context');
  t.throws(() => model.forward(ids(4), new Tensor(new Int32Array([0, 1, 2, n]), [1, 4]), zeros(4), new Int32Array([2])), { code: 'SHAPE_INVALID', message: /positions\[0, 3\]/ });
  t.throws(() => model.forward(ids(4), zeros(3), zeros(4), new Int32Array([2])), { code: 'SHAPE_MISMATCH' });
  t.throws(() => model.forward(ids(4), zeros(4), zeros(4), new Int32Array([0])), { message: /prefixLen/ }, 'empty Part A');
  t.throws(() => model.forward(ids(4), zeros(4), zeros(4), new Int32Array([2]), new Int32Array([5])), { message: /kvLen/ });
  t.throws(() => model.forward(ids(4), zeros(4), zeros(4), new Int32Array([2, 2])), { message: /one entry per row/ });
  t.throws(() => new GLM({ ...config, rope_theta: 1 }), { code: 'CONFIG_UNKNOWN_KEY' });
  t.throws(() => new GLM({ ...config, n_head: 3 }), { code: 'CONFIG_INVALID' });
  // A mask over the whole text: Part A = [MASK] alone; loss is finite.
  const all = collateGlm([buildGlmExample([1, 2, 3, 4], [{ start: 0, length: 4 }], [0], sp)], 0);
  const loss = noGrad(() => model.loss(all.input, all.positions, all.blockPositions, all.prefixLen, all.target, all.kvLen)).f32()[0]!;
  t.ok(Number.isFinite(loss), `loss ${loss.toFixed(4)} is finite`);
});
