// PPO rollouts: seeded sampling that stops at the end token, the
// prompt ++ response layout, log-probs and values at the positions that
// predict each response token (against each sequence run alone, in float64),
// the reward function's inputs, and bad input.
import t from 'tap';
import { ConfigError, DataError, ShapeError } from '../../lib/errors.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { collectRollout, rewardFnFromScorer, responseBatch, responseLogProbs, responseValues, sampleResponses } from '../../lib/stages/ppo_rollout.js';
import { expectClose } from '../helpers/compare.js';
import { LogitsValueModel } from '../helpers/value_model.js';

const V = 7, END = 6;
const cfg = { vocab_size: V, n_positions: 24, n_embd: 16, n_layer: 2, n_head: 2 };
// A larger init spread than GPT-2's 0.02, so the toy distributions are not near uniform.
const policy = new DecoderLM({ ...cfg, initializer_range: 0.2 }, 11);
const reference = new DecoderLM({ ...cfg, initializer_range: 0.2 }, 12);
const valueModel = new LogitsValueModel(cfg, 13);
const prompts = [[1, 2, 3], [4], [5, 5, 1, 2, 0], [3, 3]];
const sampling = { maxNewTokens: 6, temperature: 1, topK: 0, endTokenId: END, seed: 42 };

/** float64 log-softmax(logits / temperature)[target] of one sequence run alone. */
function aloneLogProbs(model: DecoderLM, prompt: number[], response: number[], temperature: number): number[] {
  const seq = [...prompt, ...response];
  const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(seq), [1, seq.length]))).f32();
  return response.map((tok, j) => {
    const p = prompt.length + j - 1; // the position that predicts response token j
    const row = Array.from(logits.subarray(p * V, (p + 1) * V), (x) => x / temperature);
    const max = Math.max(...row);
    return row[tok]! - max - Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
  });
}

t.test('sampling: same seed same responses, another seed others; rows stop after the end token', async (t) => {
  const a = sampleResponses(policy, prompts, sampling);
  t.same(sampleResponses(policy, prompts, sampling), a, 'same seed, same responses');
  t.notSame(sampleResponses(policy, prompts, { ...sampling, seed: 43 }), a, 'another seed, other responses');
  for (const seed of [1, 2, 3, 4, 5]) {
    for (const r of sampleResponses(policy, prompts, { ...sampling, seed })) {
      t.ok(r.length >= 1 && r.length <= 6, `length ${r.length} in [1, maxNewTokens]`);
      t.ok(r.indexOf(END) === -1 || r.indexOf(END) === r.length - 1, `the end token, if any, is last: [${r}]`);
    }
  }
  const all = [1, 2, 3, 4, 5].flatMap((seed) => sampleResponses(policy, prompts, { ...sampling, seed }));
  t.ok(all.some((r) => r[r.length - 1] === END) && all.some((r) => r.length === 6 && r[5] !== END), 'both endings occur: end token and length cap');
  const noEnd = sampleResponses(policy, prompts, { ...sampling, endTokenId: null });
  t.ok(noEnd.every((r) => r.length === 6), 'without an end token every response runs to maxNewTokens');
  const top1 = sampleResponses(policy, prompts, { ...sampling, topK: 1, endTokenId: null });
  t.same(top1, sampleResponses(policy, prompts, { ...sampling, topK: 1, endTokenId: null, seed: 999 }), 'top-k 1 is greedy: the seed does not matter');
});

t.test('responseBatch: right-padded prompt ++ response, positions P + j − 1, mask on response tokens', async (t) => {
  const b = responseBatch([[1, 2], [3]], [[4, 5, 6], [0]]);
  t.same(b.ids.shape, [2, 5]);
  t.same(Array.from(b.ids.i32()), [1, 2, 4, 5, 6, 3, 0, 0, 0, 0]);
  t.same([b.rows, b.cols], [2, 3]);
  t.same(Array.from(b.positions), [1, 2, 3, 5, 5, 5], 'row 0: positions 1..3; row 1: position 0 of row 1 (flat 5), padding → 5');
  t.same(Array.from(b.targets.i32()), [4, 5, 6, 0, 0, 0]);
  t.same(Array.from(b.mask), [1, 1, 1, 1, 0, 0]);
  t.same(responseBatch([[1]], [[2]], 4).cols, 4, 'cols can be wider than the longest response (minibatches keep the rollout width)');
});

t.test('log-probs and values of a padded batch equal each sequence run alone', async (t) => {
  const responses = sampleResponses(policy, prompts, sampling);
  const batch = responseBatch(prompts, responses);
  for (const temperature of [1, 0.7]) {
    const { logp } = noGrad(() => responseLogProbs(policy, batch, temperature));
    prompts.forEach((p, b) => {
      const want = aloneLogProbs(policy, p, responses[b]!, temperature);
      // Same math, different GEMM row counts: float32 rounding, measured ≤ 3e-7.
      expectClose(t, `T=${temperature} row ${b} logp`, logp.f32().subarray(b * batch.cols, b * batch.cols + want.length), want, { atol: 5e-6, rtol: 1e-6 });
    });
  }
  const values = noGrad(() => responseValues(valueModel, batch)).f32();
  prompts.forEach((p, b) => {
    const seq = [...p, ...responses[b]!];
    const alone = noGrad(() => valueModel.values(new Tensor(Int32Array.from(seq), [1, seq.length]))).f32();
    const want = responses[b]!.map((_, j) => alone[p.length + j - 1]!);
    expectClose(t, `row ${b} values at positions P + j − 1`, values.subarray(b * batch.cols, b * batch.cols + want.length), want, { atol: 5e-6, rtol: 1e-6 });
  });
});

t.test('collectRollout: old/ref log-probs, values, entropy and scores from the reward function', async (t) => {
  const responses = sampleResponses(policy, prompts, sampling);
  const seen: { sequences: number[][]; promptLengths: number[] }[] = [];
  const rewardFn = (sequences: readonly (readonly number[])[], promptLengths: readonly number[]) => {
    seen.push({ sequences: sequences.map((s) => [...s]), promptLengths: [...promptLengths] });
    return Float32Array.from(sequences, (s, i) => s.length - promptLengths[i]!);
  };
  const r = collectRollout({ policy, reference, valueModel, rewardFn, prompts, responses, temperature: 1 });
  t.same(seen, [{ sequences: prompts.map((p, b) => [...p, ...responses[b]!]), promptLengths: prompts.map((p) => p.length) }], 'the reward function saw prompt ++ response and the prompt lengths');
  t.same(Array.from(r.scores), responses.map((x) => x.length), 'scores are what it returned');
  prompts.forEach((p, b) => {
    const n = responses[b]!.length, row = (a: Float32Array) => a.subarray(b * r.cols, b * r.cols + n);
    expectClose(t, `row ${b} logp (policy)`, row(r.logp), aloneLogProbs(policy, p, responses[b]!, 1), { atol: 5e-6, rtol: 1e-6 });
    expectClose(t, `row ${b} refLogp (reference)`, row(r.refLogp), aloneLogProbs(reference, p, responses[b]!, 1), { atol: 5e-6, rtol: 1e-6 });
    t.ok(row(r.entropy).every((h) => h > 0 && h <= Math.log(V) + 1e-6), `row ${b} entropies in (0, ln V]`);
    t.ok(r.entropy.subarray(b * r.cols + n, (b + 1) * r.cols).every((h) => h === 0), `row ${b} padding entropy 0`);
  });
  const same = collectRollout({ policy, reference: policy, valueModel, rewardFn, prompts, responses, temperature: 1 });
  t.same(same.logp, same.refLogp, 'a reference equal to the policy gives KL 0 exactly');
});

t.test('rewardFnFromScorer: right-pads the sequences and reads each score at its length', async (t) => {
  const calls: { ids: number[]; shape: number[]; lengths: number[] }[] = [];
  // A scorer whose score is the token at position lengths[b] − 1, times 10.
  const scorer = {
    scores(tokens: Tensor, lengths: Int32Array) {
      calls.push({ ids: Array.from(tokens.i32()), shape: [...tokens.shape], lengths: Array.from(lengths) });
      const T = tokens.shape[1]!;
      return new Tensor(Float32Array.from(lengths, (n, b) => 10 * tokens.i32()[b * T + n - 1]!), [lengths.length]);
    },
  };
  const scores = rewardFnFromScorer(scorer, 6)([[1, 2, 3], [4], [5, 0]], [1, 1, 1]);
  t.same(Array.from(scores), [30, 40, 0]);
  t.same(calls, [{ ids: [1, 2, 3, 4, 6, 6, 5, 0, 6], shape: [3, 3], lengths: [3, 1, 2] }], 'one padded batch, padded with padId');
  const wrong = { scores: () => new Tensor(new Float32Array(2), [2]) };
  t.throws(() => rewardFnFromScorer(wrong)([[1], [2], [3]], [1, 1, 1]), ShapeError, 'a scorer returning the wrong count');
});

t.test('bad input: no prompts, an empty prompt, a too-long prompt, temperature 0, empty responses, bad scores', async (t) => {
  const rewardFn = (s: readonly (readonly number[])[]) => new Float32Array(s.length);
  t.throws(() => sampleResponses(policy, [], sampling), { name: 'ConfigError', message: /prompt list is empty/ }, 'empty prompt list');
  t.throws(() => sampleResponses(policy, [[1], []], sampling), { name: 'ConfigError', message: /prompt 1 is empty/ }, 'an empty prompt');
  t.throws(() => sampleResponses(policy, [[1, 99]], sampling), ConfigError, 'a token outside the vocabulary');
  t.throws(() => sampleResponses(policy, [Array(20).fill(1)], sampling), { message: /exceed the policy's context of 24/ }, 'prompt + max new tokens > context');
  t.throws(() => sampleResponses(policy, prompts, { ...sampling, temperature: 0 }), ConfigError, 'temperature 0');
  const base = { policy, reference, valueModel, prompts: [[1], [2]], temperature: 1 };
  const err = t.throws(() => collectRollout({ ...base, rewardFn, responses: [[3], []] }));
  t.ok(err instanceof DataError && /response 1 has no tokens/.test(err.message), `a rollout with no response tokens: ${(err as Error).message}`);
  t.throws(() => collectRollout({ ...base, rewardFn: () => new Float32Array(1), responses: [[3], [4]] }), DataError, 'one score for two sequences');
  t.throws(() => collectRollout({ ...base, rewardFn: () => Float32Array.of(0, NaN), responses: [[3], [4]] }), { message: /sequence 1 as NaN/ }, 'a NaN score');
  const wrongShape = { values: (ids: Tensor) => new Tensor(new Float32Array(ids.size + 1), [ids.size + 1]) };
  t.throws(() => collectRollout({ ...base, valueModel: wrongShape, rewardFn, responses: [[3], [4]] }), ShapeError, 'a value model that does not return [B, T]');
  const other = new DecoderLM({ ...cfg, vocab_size: V + 1 }, 1);
  t.throws(() => collectRollout({ ...base, reference: other, rewardFn, responses: [[3], [4]] }), ConfigError, 'reference vocabulary differs');
});
