// Scoring against references computed here, independently: float64
// log-softmax over logits of one-sequence forward passes, and the chain rule
// (one forward per prefix) for multi-token verbalizers.
import t from 'tap';
import { clozeClassify, clozeClassifyText, logSumExp, scoreContinuations, sequenceLogLikelihood } from '../../lib/generate/scoring.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';

const V = 13;
// Tolerances: the model runs in float32 with logits of magnitude ~10 (weights
// scaled ×40), so each log-prob carries ~1e-6 rounding, and batched vs single
// forward passes may round differently (observed max 4e-6 per token); 2e-5 per
// token and 5e-5 per sum of ≤ 5 tokens leave room without hiding a wrong row
// (a wrong row is off by ~1 nat here).

// A tiny model with its weights scaled up so the next-token distributions are
// far from uniform (the 0.02-std init gives near-equal log-probs, a weak test).
function tinyModel(position: 'learned' | 'rope' = 'learned'): DecoderLM {
  const model = new DecoderLM({ vocab_size: V, n_positions: 24, n_embd: 16, n_layer: 2, n_head: 2, position_embedding: position }, 3);
  for (const [name, p] of model.namedParameters()) if (!/ln|norm/.test(name)) p.f32().forEach((x, i, a) => (a[i] = x * 40));
  model.eval();
  return model;
}

/** log softmax(row)[target] in float64. */
function logSoftmaxAt(row: Float32Array, target: number): number {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - max);
  return row[target]! - max - Math.log(s);
}

/** Logits of the last position of `ids`, from a forward pass of that sequence alone. */
function lastLogits(model: DecoderLM, ids: readonly number[]): Float32Array {
  const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(ids), [1, ids.length]))).f32();
  return logits.slice((ids.length - 1) * V, ids.length * V);
}

/** Σ_j log p(cont_j | ctx, cont_<j) from one full forward pass of ctx + cont. */
function referenceLogLik(model: DecoderLM, ctx: number[], cont: number[]): number[] {
  const seq = [...ctx, ...cont];
  const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(seq), [1, seq.length]))).f32();
  return cont.map((y, j) => logSoftmaxAt(logits.subarray((ctx.length - 1 + j) * V, (ctx.length + j) * V), y));
}

const requests = [
  { context: [1, 2, 3, 4, 5], continuation: [6, 7] },
  { context: [9], continuation: [0, 12, 5, 5, 1] },
  { context: [4, 4, 4, 4, 4, 4, 4, 4, 4, 4], continuation: [2] },
  { context: [11, 3], continuation: [8, 8, 8] },
  { context: [7, 6, 5], continuation: [10] },
];

for (const position of ['learned', 'rope'] as const) {
  t.test(`sequence log-likelihood = Σ float64 log-softmax of the model's logits (${position} positions, batched, mixed lengths)`, async (t) => {
    const model = tinyModel(position);
    for (const batchSize of [1, 2, 8]) {
      const got = scoreContinuations(model, requests, { batchSize });
      requests.forEach((r, i) => {
        const want = referenceLogLik(model, [...r.context], [...r.continuation]);
        const wantSum = want.reduce((a, b) => a + b, 0);
        const tokDiff = Math.max(...want.map((w, j) => Math.abs(w - got[i]!.tokenLogProbs[j]!)));
        t.ok(tokDiff < 2e-5, `batch ${batchSize}, request ${i}: per-token max diff ${tokDiff.toExponential(1)}`);
        t.ok(Math.abs(got[i]!.logProb - wantSum) < 5e-5, `batch ${batchSize}, request ${i}: logProb ${got[i]!.logProb.toFixed(5)} vs ${wantSum.toFixed(5)}`);
      });
    }
    const spread = Math.max(...requests.map((r) => -referenceLogLik(model, [...r.context], [...r.continuation])[0]!));
    t.ok(spread > 3, `the distributions are far from uniform (a -log p of ${spread.toFixed(2)} vs ${Math.log(V).toFixed(2)} uniform)`);
  });
}

t.test('sequenceLogLikelihood of one pair equals the chain rule over prefix forward passes', async (t) => {
  const model = tinyModel();
  const ctx = [3, 1, 4, 1, 5];
  const cont = [9, 2, 6];
  let chain = 0;
  for (let j = 0; j < cont.length; j++) chain += logSoftmaxAt(lastLogits(model, [...ctx, ...cont.slice(0, j)]), cont[j]!);
  const got = sequenceLogLikelihood(model, ctx, cont);
  t.ok(Math.abs(got.logProb - chain) < 5e-5, `${got.logProb} vs chain rule ${chain}`);
  t.equal(got.tokenLogProbs.length, 3);
});

t.test('cloze: probabilities sum to 1 and equal the brute-force normalisation, multi-token verbalizers included', async (t) => {
  const model = tinyModel();
  const context = [2, 7, 1, 8];
  const verbalizers = { positive: [5], negative: [6, 3, 12], neutral: [0, 9] };
  const got = clozeClassify(model, context, verbalizers, { batchSize: 2 });
  t.same(got.labels, ['positive', 'negative', 'neutral']);
  // Brute force: p(v|c) as a product of per-token probabilities, each from its own prefix forward pass.
  const p = Object.values(verbalizers).map((v) => {
    let prob = 1;
    for (let j = 0; j < v.length; j++) prob *= Math.exp(logSoftmaxAt(lastLogits(model, [...context, ...v.slice(0, j)]), v[j]!));
    return prob;
  });
  const z = p.reduce((a, b) => a + b, 0);
  const want = p.map((x) => x / z);
  const sum = got.probs.reduce((a, b) => a + b, 0);
  t.ok(Math.abs(sum - 1) < 1e-12, `Σ p(y|x) = ${sum}`);
  want.forEach((w, i) => t.ok(Math.abs(got.probs[i]! - w) < 1e-4 * Math.max(w, 1e-3), `p(${got.labels[i]}|x) = ${got.probs[i]!.toPrecision(6)} vs brute force ${w.toPrecision(6)}`));
  p.forEach((x, i) => t.ok(Math.abs(got.logLikelihoods[i]! - Math.log(x)) < 5e-5, `log p(v(${got.labels[i]})|c) matches`));
  const argmax = want.indexOf(Math.max(...want));
  t.equal(got.label, got.labels[argmax]);
});

t.test('log-space normalisation stays finite when every verbalizer is very unlikely', async (t) => {
  t.ok(Math.abs(logSumExp([-1000, -1000]) - (-1000 + Math.log(2))) < 1e-9, 'no underflow to log 0');
  t.equal(logSumExp([]), -Infinity);
  t.equal(logSumExp([-Infinity, -Infinity]), -Infinity);
  // A long multi-token verbalizer: its probability is tiny yet the normalised probabilities stay exact.
  const model = tinyModel();
  const long = Array.from({ length: 15 }, (_, i) => (i * 5) % V);
  const got = clozeClassify(model, [1, 2], { short: [3], long });
  t.ok(got.logLikelihoods[1]! < -20, `log p(long) = ${got.logLikelihoods[1]!.toFixed(1)}`);
  const sum = got.probs[0]! + got.probs[1]!;
  t.ok(Math.abs(sum - 1) < 1e-12 && got.probs.every((x) => Number.isFinite(x)));
  t.ok(Math.abs(Math.log(got.probs[1]!) - (got.logLikelihoods[1]! - logSumExp(got.logLikelihoods))) < 1e-9);
});

t.test('clozeClassifyText tokenizes the pattern and the verbalizer words', async (t) => {
  const tok = CharTokenizer.fromCorpus('abcdefghijk ');
  const model = tinyModel();
  const got = clozeClassifyText(model, tok, 'a cab', { yes: ' k', no: ' bad' });
  const ids = clozeClassify(model, tok.encode('a cab'), { yes: tok.encode(' k'), no: tok.encode(' bad') });
  t.same([...got.probs], [...ids.probs]);
});

t.test('bad scoring input: clear errors', async (t) => {
  const model = tinyModel();
  t.throws(() => sequenceLogLikelihood(model, [], [1]), { code: 'SHAPE_INVALID', message: /empty context.*prepend the tokenizer's bos/ });
  t.throws(() => sequenceLogLikelihood(model, [1], []), { code: 'SHAPE_INVALID', message: /empty continuation/ });
  t.throws(() => sequenceLogLikelihood(model, [1, V], [1]), { code: 'SHAPE_INVALID', message: new RegExp(`context\\[1\\] = ${V} is not a token id in \\[0, ${V}\\)`) });
  t.throws(() => sequenceLogLikelihood(model, [1], [-1]), { code: 'SHAPE_INVALID', message: /continuation\[0\] = -1/ });
  t.throws(() => sequenceLogLikelihood(model, new Array(20).fill(1), new Array(6).fill(1)), { code: 'SHAPE_INVALID', message: /needs 25 positions.*n_positions 24/ });
  t.doesNotThrow(() => sequenceLogLikelihood(model, new Array(20).fill(1), new Array(5).fill(1)), '24 fed positions fit exactly');
  t.throws(() => scoreContinuations(model, requests, { batchSize: 0 }), { code: 'CONFIG_INVALID', message: /batchSize/ });
  t.throws(() => clozeClassify(model, [1], {}), { code: 'CONFIG_INVALID', message: /no labels/ });
  t.throws(() => clozeClassify(model, [1], { a: [1], b: [] }), { code: 'CONFIG_INVALID', message: /label "b" has an empty verbalizer/ });
  t.same(scoreContinuations(model, []), []);
});
