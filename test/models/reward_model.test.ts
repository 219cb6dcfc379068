// RewardModel: the SFT trunk copied under a scalar head; values = w·h + b per
// position (float64 reference from the trunk's hidden states); scores read at
// each row's last token and unaffected by padding; gradients by finite
// differences; checkpoint round trip.
import t from 'tap';
import path from 'node:path';
import { readCheckpoint, saveCheckpoint } from '../../lib/io/checkpoint.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderCheckpointConfig } from '../../lib/models/decoder_checkpoint.js';
import { RewardModel, padSequences, rewardModelCheckpointConfig, rewardModelFromCheckpoint, scoreSequences } from '../../lib/models/reward_model.js';
import { exportWeights } from '../../lib/models/weights.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { gradcheck } from '../../lib/tensor/gradcheck.js';
import { sum } from '../../lib/tensor/ops/elementwise.js';
import { Random } from '../../lib/tensor/random.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { expectBitwise, expectClose } from '../helpers/compare.js';

const config = { vocab_size: 20, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 };
// An untied decoder: the reward model must drop its LM head.
const lm = new DecoderLM({ ...config, tie_word_embeddings: false }, 4);
const rm = RewardModel.fromDecoder(lm, new Random(9));
rm.eval();
const ids = new Tensor(Int32Array.from({ length: 2 * 7 }, (_, i) => (i * 7 + 3) % 20), [2, 7]);

t.test('fromDecoder: parameters transformer.* copied from the decoder, a new score head, no LM head', async (t) => {
  const names = rm.namedParameters().map(([n]) => n);
  t.same(names.filter((n) => !n.startsWith('transformer.')), ['score.weight', 'score.bias']);
  const source = new Map(lm.namedParameters());
  for (const [name, p] of rm.namedParameters()) {
    if (name.startsWith('score.')) continue;
    t.not(p.f32(), source.get(name)!.f32(), `${name}: its own buffer`);
    expectBitwise(t, name, p.f32(), source.get(name)!.f32());
  }
  t.equal(rm.numParameters(), lm.numParameters() - 20 * 16 + 16 + 1, 'the decoder\'s parameters − lm_head + score (16 weights, 1 bias)');
  t.ok(rm.score.weight.f32().some((v) => v !== 0), 'head weights drawn, not zero');
  const again = RewardModel.fromDecoder(lm, new Random(9));
  expectBitwise(t, 'same rng, same head', again.score.weight.f32(), rm.score.weight.f32());
});

t.test('values = w·h + b at every position, h the decoder\'s final hidden states (float64 reference)', async (t) => {
  const h = noGrad(() => lm.hiddenStates(ids)).f32(); // (2, 7, 16)
  const w = rm.score.weight.f32(), b = rm.score.bias!.f32()[0]!;
  const want = Array.from({ length: 14 }, (_, r) => {
    let acc = b;
    for (let c = 0; c < 16; c++) acc += w[c]! * h[r * 16 + c]!;
    return acc;
  });
  const values = noGrad(() => rm.values(ids));
  t.same(values.shape, [2, 7]);
  expectClose(t, 'values', values.f32(), want, { atol: 1e-6, rtol: 1e-5 });
});

t.test('scores read position lengths[i] − 1; padding after it changes nothing', async (t) => {
  const values = noGrad(() => rm.values(ids)).f32();
  const scores = noGrad(() => rm.scores(ids, Int32Array.of(7, 3))).f32();
  expectClose(t, 'scores', scores, [values[6]!, values[7 + 2]!], { atol: 1e-6 });
  const seqs = [[1, 2, 3], [4, 5, 6, 7, 8, 9], [10]];
  const alone = seqs.map((s) => noGrad(() => rm.scores(new Tensor(Int32Array.from(s), [1, s.length]), Int32Array.of(s.length))).f32()[0]!);
  expectClose(t, 'scoreSequences (batched, padded) vs one at a time', scoreSequences(rm, seqs, 2), alone, { atol: 1e-6 });
  t.throws(() => rm.scores(ids, Int32Array.of(7, 8)), { name: 'ShapeError', message: /lengths\[1\] = 8, expected 1\.\.7/ });
  t.throws(() => rm.scores(ids, Int32Array.of(7)), { name: 'ShapeError', message: /1 lengths for 2 rows/ });
  t.throws(() => padSequences([[1], []]), /at least one token/);
});

t.test('gradients of the scores w.r.t. the head and a trunk weight match finite differences', async (t) => {
  const model = RewardModel.fromDecoder(new DecoderLM(config, 4), new Random(2));
  model.eval();
  const lengths = Int32Array.of(5, 7);
  const params = [model.score.weight, model.score.bias!, model.transformer.h[1]!.mlp.c_fc.weight, model.transformer.wte.weight];
  // The inputs of fn are the parameters themselves (gradcheck perturbs them in place).
  const check = gradcheck(() => sum(model.scores(ids, lengths)), params, { eps: 1e-2, atol: 1e-4, rtol: 2e-2, maxElements: 24 });
  check.inputs.forEach((r, i) => t.ok(r.maxAbsDiff <= 1e-4 + 2e-2 * Math.abs(r.numeric), `param ${i}: max |analytic − numeric| ${r.maxAbsDiff.toExponential(2)}`));
  t.ok(check.ok);
});

t.test('checkpoint round trip: config.json says reward model; scores bitwise equal after load', async (t) => {
  const dir = path.join(t.testdir(), 'rm');
  const tok = CharTokenizer.fromCorpus('abcdefghijklmnopqrst');
  saveCheckpoint(dir, { weights: exportWeights(rm), config: rewardModelCheckpointConfig(rm), tokenizer: tok.toJSON() }, 'test');
  const ckpt = readCheckpoint(dir);
  t.equal(ckpt.config['model_type'], 'lmkit-reward');
  const loaded = rewardModelFromCheckpoint(ckpt);
  loaded.eval();
  expectBitwise(t, 'scores', noGrad(() => loaded.scores(ids, Int32Array.of(7, 4))).f32(), noGrad(() => rm.scores(ids, Int32Array.of(7, 4))).f32());

  const lmDir = path.join(t.testdir(), 'lm');
  saveCheckpoint(lmDir, { weights: exportWeights(lm), config: decoderCheckpointConfig(lm.config), tokenizer: tok.toJSON() }, 'test');
  t.throws(() => rewardModelFromCheckpoint(readCheckpoint(lmDir)), { name: 'CheckpointError', message: /model_type is "lmkit-decoder", not "lmkit-reward"; this is not a reward model checkpoint/ });
});

t.test('train()/eval() reach the trunk: dropout is on only in training', async (t) => {
  const model = RewardModel.fromDecoder(new DecoderLM({ ...config, dropout: 0.5 }, 4), new Random(1));
  model.eval();
  const a = noGrad(() => model.values(ids)).f32(), b = noGrad(() => model.values(ids)).f32();
  expectBitwise(t, 'eval: deterministic', a, b);
  model.train();
  const c = noGrad(() => model.values(ids)).f32();
  t.ok(c.some((v, i) => v !== a[i]), 'train: dropout changes the values');
});
