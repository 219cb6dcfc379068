// GLM cloze scoring against references computed here, independently: the
// chain rule over one unpadded forward per verbalizer prefix with float64
// log-softmax, and the KV-cached session teacher-forced through the
// verbalizer. The loss is the float64 cross-entropy over labels, its gradient
// matches finite differences, and a few descent steps raise the gold label.
import t from 'tap';
import { GlmRows } from '../../lib/generate/glm_session.js';
import { glmClozeClassify, glmClozeClassifyText } from '../../lib/generate/glm_scoring.js';
import { GLM } from '../../lib/models/glm.js';
import { IGNORE_INDEX, type GlmSpecialTokens } from '../../lib/objectives/blank_infilling.js';
import { glmClozeLoss, glmClozeRows, glmVerbalizerScores } from '../../lib/objectives/glm_cloze.js';
import { backward, noGrad } from '../../lib/tensor/autograd.js';
import { gradcheck } from '../../lib/tensor/gradcheck.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { Tensor } from '../../lib/tensor/tensor.js';

const sp: GlmSpecialTokens = { mask: 26, gmask: 27, start: 28, end: 29 };
const V = 30;
// Float32 model with logits of magnitude ~10 (weights scaled up, as in
// scoring.test.ts, so distributions are far from uniform): each log-prob
// carries ~1e-6 rounding and padded vs unpadded batches round differently;
// 5e-5 per sum of ≤ 3 tokens leaves room without hiding a wrong row (~1 nat off).
const TOL = 5e-5;

function tinyModel(seed = 3, scale = 30): GLM {
  const model = new GLM({ vocab_size: V, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 }, seed);
  for (const [name, p] of model.namedParameters()) if (!/ln/.test(name)) p.f32().forEach((x, i, a) => (a[i] = x * scale));
  model.eval();
  return model;
}

function logSoftmax64(row: Float32Array, target: number): number {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  let s = 0;
  for (const x of row) s += Math.exp(x - max);
  return row[target]! - max - Math.log(s);
}

/** log p(v | context) by the chain rule: one unpadded no-cache forward per verbalizer token. */
function bruteForce(model: GLM, context: readonly number[], v: readonly number[]): number {
  const blank = context.indexOf(sp.mask);
  let sum = 0;
  for (let j = 0; j < v.length; j++) {
    const ids = [...context, sp.start, ...v.slice(0, j)];
    const pos = ids.map((_, i) => (i < context.length ? i : blank));
    const block = ids.map((_, i) => (i < context.length ? 0 : i - context.length + 1));
    const T = ids.length;
    const tt = (a: number[]) => new Tensor(Int32Array.from(a), [1, T]);
    const logits = noGrad(() => model.forward(tt(ids), tt(pos), tt(block), Int32Array.of(context.length))).f32();
    sum += logSoftmax64(logits.slice((T - 1) * V, T * V), v[j]!);
  }
  return sum;
}

const contexts = [[3, 7, 11, sp.mask, 2], [4, sp.mask, 9, 12, 6, 20, 25, 1], [sp.mask, 10]];
const verbalizers = [[5], [8, 13], [14, 15, 16]];

t.test('glmClozeRows: Part A, then [S] v_1 … v_{m−1} at the [MASK] position, targets v_1 … v_m', async (t) => {
  const [one, two] = glmClozeRows([3, sp.mask, 7], [[10], [11, 12]], sp);
  t.same([...one!.input], [3, sp.mask, 7, sp.start]);
  t.same([...one!.target], [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 10]);
  t.same([...two!.input], [3, sp.mask, 7, sp.start, 11]);
  t.same([...two!.target], [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, 11, 12]);
  t.same([...two!.positions], [0, 1, 2, 1, 1], 'Part B sits at the [MASK]\'s index');
  t.same([...two!.blockPositions], [0, 0, 0, 1, 2]);
  t.equal(two!.prefixLen, 3);
});

t.test('scores and probabilities equal the float64 chain rule and the KV-cached session', async (t) => {
  const model = tinyModel();
  const scores = noGrad(() => glmVerbalizerScores(model, contexts, verbalizers, sp)).f32(); // (N, L)
  contexts.forEach((c, n) => {
    const want = verbalizers.map((v) => bruteForce(model, c, v));
    const got = [...scores.subarray(n * 3, n * 3 + 3)];
    t.ok(got.every((g, y) => Math.abs(g - want[y]!) < TOL), `example ${n}: ℓ ${got.map((x) => x.toFixed(4))} vs ${want.map((x) => x.toFixed(4))}`);
    const labels = { a: verbalizers[0]!, b: verbalizers[1]!, c: verbalizers[2]! };
    const r = glmClozeClassify(model, c, labels, sp);
    const lse = Math.log(want.reduce((a, x) => a + Math.exp(x), 0));
    t.ok([...r.probs].every((p, y) => Math.abs(p - Math.exp(want[y]! - lse)) < TOL), `example ${n}: p(y|x) ${[...r.probs].map((p) => p.toFixed(4))}`);
    t.ok(Math.abs(r.probs.reduce((a, p) => a + p, 0) - 1) < 1e-12, 'probabilities sum to 1');
    t.equal(r.label, (['a', 'b', 'c'] as const)[want.indexOf(Math.max(...want))]);
    // The cached route: Part A once, then the verbalizer teacher-forced one token per step.
    verbalizers.forEach((v, y) => {
      const rows = new GlmRows(model, [c], c.length + v.length);
      let logits = rows.startSpan(Int32Array.of(c.indexOf(sp.mask)), sp.start);
      let sum = 0;
      v.forEach((id, j) => {
        sum += logSoftmax64(logits, id);
        if (j + 1 < v.length) logits = rows.step(Int32Array.of(id));
      });
      t.ok(Math.abs(sum - want[y]!) < TOL, `example ${n} label ${y}: cached ${sum.toFixed(5)} vs ${want[y]!.toFixed(5)}`);
    });
  });
  t.ok(Math.max(...scores) - Math.min(...scores) > 1, 'the scores differ by nats, not rounding (a meaningful comparison)');
});

t.test('the loss is −mean log p(y*|x) and its gradient matches finite differences', async (t) => {
  const model = tinyModel(5, 3);
  model.train();
  const examples = contexts.map((context, n) => ({ context, label: (n + 1) % 3 }));
  const want = -examples.reduce((acc, e) => {
    const l = verbalizers.map((v) => bruteForce(model, e.context, v));
    return acc + l[e.label]! - Math.log(l.reduce((a, x) => a + Math.exp(x), 0));
  }, 0) / examples.length;
  const loss = glmClozeLoss(model, examples, verbalizers, sp);
  t.ok(Math.abs(loss.item() - want) < TOL, `loss ${loss.item().toFixed(6)} vs float64 ${want.toFixed(6)}`);
  const params = new Map(model.namedParameters());
  for (const name of ['transformer.wte.weight', 'transformer.h.0.attn.c_attn.weight', 'transformer.block_wpe.weight']) {
    const p = params.get(name)!;
    const r = gradcheck(() => glmClozeLoss(model, examples, verbalizers, sp), [p], { eps: 1e-2, atol: 2e-3, rtol: 3e-2, maxElements: 48 });
    const w = r.inputs[0]!;
    t.ok(r.ok, `d loss / d ${name}: worst |analytic − numeric| ${w.maxAbsDiff.toExponential(2)} (analytic ${w.analytic.toExponential(3)}, numeric ${w.numeric.toExponential(3)})`);
  }
  for (const p of params.values()) p.grad = null;
});

t.test('gradient descent on the cloze loss raises the gold labels', async (t) => {
  const model = tinyModel(7, 3);
  model.train();
  const examples = contexts.map((context, n) => ({ context, label: n % 3 }));
  const params = model.namedParameters().map(([, p]) => p);
  const first = glmClozeLoss(model, examples, verbalizers, sp).item();
  for (let step = 0; step < 30; step++) {
    const loss = glmClozeLoss(model, examples, verbalizers, sp);
    backward(loss);
    for (const p of params) {
      const d = p.f32(), g = p.grad!;
      for (let i = 0; i < d.length; i++) d[i]! -= 0.05 * g[i]!;
      p.grad = null;
    }
  }
  const last = glmClozeLoss(model, examples, verbalizers, sp).item();
  t.ok(last < first * 0.5, `loss ${first.toFixed(4)} → ${last.toFixed(4)} after 30 steps`);
  model.eval();
  const labels = { a: verbalizers[0]!, b: verbalizers[1]!, c: verbalizers[2]! };
  t.same(contexts.map((c) => glmClozeClassify(model, c, labels, sp).label), ['a', 'b', 'c'], 'every example now predicts its gold label');
});

t.test('glmClozeClassifyText: "[MASK]" in the pattern and verbalizer words through the tokenizer', async (t) => {
  const tokenizer = CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxy ', { specialTokens: ['[MASK]', '[gMASK]', '[S]', '[E]'] });
  const model = new GLM({ vocab_size: tokenizer.vocabSize, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 }, 1);
  const tsp = { mask: 26, gmask: 27, start: 28, end: 29 };
  const byText = glmClozeClassifyText(model, tokenizer, 'abc it was [MASK]', { yes: 'good', no: 'bad' });
  const byIds = glmClozeClassify(model, tokenizer.encode('abc it was [MASK]'), { yes: tokenizer.encode('good'), no: tokenizer.encode('bad') }, tsp);
  t.same([...byText.probs], [...byIds.probs]);
  t.equal(tokenizer.tokenToId('[MASK]'), 26, 'the specials follow the 26 characters');
});

t.test('bad input: clear errors', async (t) => {
  const model = tinyModel();
  const ex = (context: number[], label = 0) => [{ context, label }];
  t.throws(() => glmClozeLoss(model, ex([3, 4, 5]), verbalizers, sp), /exactly one \[MASK\] \(id 26\) for the verbalizer, found 0/);
  t.throws(() => glmClozeLoss(model, ex([sp.mask, 4, sp.mask]), verbalizers, sp), /found 2/);
  t.throws(() => glmClozeLoss(model, ex([]), verbalizers, sp), /pattern is empty/);
  t.throws(() => glmClozeLoss(model, ex([sp.mask], 3), verbalizers, sp), /example 0 has label 3; labels index the 3 verbalizers/);
  t.throws(() => glmClozeLoss(model, ex([sp.mask]), [[5], []], sp), /verbalizer of label 1 is empty/);
  t.throws(() => glmClozeLoss(model, ex([sp.mask]), [], sp), /no labels/);
  t.throws(() => glmClozeLoss(model, ex([sp.mask]), [[5, 30]], sp), /token id 30, outside the vocabulary \[0, 30\)/);
  t.throws(() => glmClozeLoss(model, ex([...Array.from({ length: 30 }, () => 1), sp.mask]), verbalizers, sp), /pattern \(31 tokens\) \+ the longest verbalizer \(3\) exceed n_positions 32/);
  t.throws(() => glmClozeLoss(model, [], verbalizers, sp), /no examples/);
  t.throws(() => glmClozeClassify(model, [sp.mask], {}, sp), /no labels/);
});
