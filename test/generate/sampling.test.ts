// Logits processors and warpers against values worked out by hand from HF's
// definitions; seeded draws follow the softmax.
import t from 'tap';
import { applyNoRepeatNgram, applyRepetitionPenalty, applyTopK, applyTopP, pickToken, processLogits, sampleToken, warpLogits } from '../../lib/generate/sampling.js';
import { Random } from '../../lib/tensor/random.js';

const f = (xs: number[]) => Float32Array.from(xs);
const I = -Infinity;

t.test('repetition penalty divides positive and multiplies negative logits of seen tokens, once each', async (t) => {
  const x = f([2, -1, 3, 0.5]);
  applyRepetitionPenalty(x, [0, 1, 1, 0], 2);
  t.same([...x], [1, -2, 3, 0.5]);
});

t.test('top-k keeps the k largest (ties with the k-th kept); top-p keeps the smallest nucleus, at least one', async (t) => {
  const a = f([1, 3, 2, 3, 0]);
  applyTopK(a, 2);
  t.same([...a], [I, 3, I, 3, I]);
  const b = f([1, 3, 2, 2, 0]);
  applyTopK(b, 3);
  t.same([...b], [I, 3, 2, 2, I], 'ties at the k-th value are kept, as HF');
  // probs of log([0.5, 0.3, 0.15, 0.05]): cumulative ascending 0.05, 0.20, 0.50, 1
  const p = f([0.5, 0.3, 0.15, 0.05].map(Math.log));
  const c = Float32Array.from(p); applyTopP(c, 0.8); // remove cum ≤ 0.2 → tokens 3 and 2
  t.same([...c].map((v) => v === I), [false, false, true, true]);
  const d = Float32Array.from(p); applyTopP(d, 0.85); // remove cum ≤ 0.15 → token 3 only
  t.same([...d].map((v) => v === I), [false, false, false, true]);
  const e = Float32Array.from(p); applyTopP(e, 0.01); // nothing reaches: keep the best one
  t.same([...e].map((v) => v === I), [false, true, true, true]);
});

t.test('temperature divides before top-k/top-p; min new tokens masks eos; n-gram ban', async (t) => {
  const x = f([2, 4, -2]);
  warpLogits(x, { temperature: 2, topK: 0, topP: 1 });
  t.same([...x], [1, 2, -1]);
  const y = f([1, 1, 1]);
  processLogits(y, { tokens: [1], newTokens: 1 }, { repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 2, eosTokenIds: [2] });
  t.same([...y], [1, 1, I]);
  const z = f([0, 0, 0, 0]);
  processLogits(z, { tokens: [1], newTokens: 2 }, { repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 2, eosTokenIds: [2] });
  t.same([...z], [0, 0, 0, 0], 'eos allowed once minNewTokens are generated');
  const g = f([0, 0, 0, 0]);
  applyNoRepeatNgram(g, [1, 2, 3, 1, 2, 0, 1], 2); // bigrams after 1: (1,2) seen twice → ban 2
  t.same([...g], [0, 0, I, 0]);
  const h = f([0, 0, 0, 0]);
  applyNoRepeatNgram(h, [1, 2, 3, 1, 2], 3); // (1,2,3) seen → ban 3
  t.same([...h], [0, 0, 0, I]);
});

t.test('greedy is argmax; seeded draws repeat and follow the softmax', async (t) => {
  t.equal(pickToken(f([0.1, 2, 2, -1]), { temperature: 0, topK: 0, rng: new Random(1) }), 1, 'first max on ties');
  const logits = f([Math.log(0.6), Math.log(0.3), Math.log(0.1)]);
  const draw = (seed: number) => { const r = new Random(seed); return Array.from({ length: 20 }, () => sampleToken(logits, r)); };
  t.same(draw(4), draw(4));
  const rng = new Random(9), counts = [0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[sampleToken(logits, rng)]!++;
  // Binomial std for p = 0.6 over 20000 draws is 0.0035; 0.015 is > 4 std.
  t.ok(counts.every((c, i) => Math.abs(c / 20000 - [0.6, 0.3, 0.1][i]!) < 0.015), `frequencies ${counts.map((c) => c / 20000)}`);
  for (let i = 0; i < 50; i++) t.equal(pickToken(logits, { temperature: 1, topK: 0, topP: 0.5, rng }), 0, 'top-p 0.5 keeps only the 0.6 token');
});
