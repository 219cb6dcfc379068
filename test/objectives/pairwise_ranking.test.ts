// The reward model's ranking loss: hand-computed values and gradients,
// finite differences, stability at large margins, the C(K,2) pairs of a
// ranking, and rankings that are not permutations.
import t from 'tap';
import { checkRanking, negLogSigmoid, pairAccuracy, pairwiseRankingLoss, rankingPairs } from '../../lib/objectives/pairwise_ranking.js';
import { backward } from '../../lib/tensor/autograd.js';
import { gradcheck } from '../../lib/tensor/gradcheck.js';
import { tensor } from '../../lib/tensor/tensor.js';
import { expectClose } from '../helpers/compare.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

t.test('r = [1, 0, −1] ranked [0, 1, 2]: loss = mean(log(1+e^−1), log(1+e^−2), log(1+e^−1)) and its gradient', async (t) => {
  const pairs = rankingPairs([0, 1, 2]);
  t.same(pairs, [{ winner: 0, loser: 1 }, { winner: 0, loser: 2 }, { winner: 1, loser: 2 }]);
  const r = tensor([1, 0, -1], [3], true);
  const loss = pairwiseRankingLoss(r, Int32Array.from(pairs, (p) => p.winner), Int32Array.from(pairs, (p) => p.loser));
  const want = (Math.log(1 + Math.exp(-1)) + Math.log(1 + Math.exp(-2)) + Math.log(1 + Math.exp(-1))) / 3;
  expectClose(t, 'loss', loss.f32(), [want], { atol: 1e-7, rtol: 1e-6 });
  backward(loss);
  // ∂/∂r_w log(1 + e^−(r_w − r_l)) = −σ(−d), ∂/∂r_l = +σ(−d); each pair weighs 1/3.
  // r_1 loses (0,1) with d = 1 and wins (1,2) with d = 1: its two terms cancel.
  const s1 = sigmoid(-1) / 3, s2 = sigmoid(-2) / 3;
  expectClose(t, 'dloss/dr', r.grad!, [-(s1 + s2), 0, s2 + s1], { atol: 1e-7, rtol: 1e-6 });
});

t.test('the gradient matches finite differences on random rewards with every pair of K = 5', async (t) => {
  const pairs = rankingPairs([3, 0, 4, 1, 2]);
  const w = Int32Array.from(pairs, (p) => p.winner), l = Int32Array.from(pairs, (p) => p.loser);
  const r = tensor([0.3, -1.2, 0.7, 2.1, -0.4], [5], true);
  const check = gradcheck((x) => pairwiseRankingLoss(x, w, l), [r], { eps: 1e-2, atol: 1e-4, rtol: 1e-3 });
  t.ok(check.ok, `max |analytic − numeric| ${check.inputs[0]!.maxAbsDiff.toExponential(2)}`);
});

t.test('stable at large margins: no overflow, the right limits', async (t) => {
  t.equal(negLogSigmoid(1000), 0, '−log σ(1000) underflows to 0');
  t.equal(negLogSigmoid(-1000), 1000, '−log σ(−1000) = 1000, not Infinity');
  expectClose(t, '−log σ(0)', [negLogSigmoid(0)], [Math.LN2], { atol: 1e-15 });
  const r = tensor([-60, 60], [2], true);
  const loss = pairwiseRankingLoss(r, Int32Array.of(0), Int32Array.of(1)); // the winner scored 120 below the loser
  expectClose(t, 'loss', loss.f32(), [120], { atol: 1e-4 });
  backward(loss);
  t.same([...r.grad!], [-1, 1], 'gradient saturates at ∓1');
});

t.test('K = 4 gives the 6 pairs ranking[i] ≻ ranking[j], i < j', async (t) => {
  const pairs = rankingPairs([2, 0, 3, 1]);
  t.equal(pairs.length, 6);
  t.same(pairs.map((p) => `${p.winner}>${p.loser}`), ['2>0', '2>3', '2>1', '0>3', '0>1', '3>1']);
});

t.test('pair accuracy: strict r_w > r_l (ties count as wrong)', async (t) => {
  const w = Int32Array.of(0, 0, 1), l = Int32Array.of(1, 2, 2);
  t.equal(pairAccuracy([3, 2, 1], w, l), 1);
  t.equal(pairAccuracy([3, 2, 2], w, l), 2 / 3);
  t.equal(pairAccuracy([1, 2, 3], w, l), 0);
});

t.test('rankings that are not permutations of 0..K−1, and K < 2, are refused naming the record', async (t) => {
  t.doesNotThrow(() => checkRanking([1, 0], 2, 'r'));
  t.throws(() => checkRanking([0], 1, 'prefs.jsonl:3'), { name: 'DataError', code: 'DATA_TOO_FEW_RESPONSES', message: /prefs\.jsonl:3: 1 response; .*K ≥ 2/ });
  t.throws(() => checkRanking([], 0, 'x'), { code: 'DATA_TOO_FEW_RESPONSES' });
  t.throws(() => checkRanking([0, 1, 1], 3, 'x'), { code: 'DATA_BAD_RANKING', message: /lists response 1 twice; it must be a permutation of 0\.\.2/ });
  t.throws(() => checkRanking([0, 3, 1], 3, 'x'), { code: 'DATA_BAD_RANKING', message: /holds 3, not a response index in 0\.\.2/ });
  t.throws(() => checkRanking([0, 1], 3, 'x'), { code: 'DATA_BAD_RANKING', message: /2 entries for 3 responses/ });
  t.throws(() => checkRanking([0, 1.5], 2, 'x'), { code: 'DATA_BAD_RANKING', message: /holds 1\.5/ });
});

t.test('argument checks', async (t) => {
  const r = tensor([1, 2], [2]);
  t.throws(() => pairwiseRankingLoss(r, Int32Array.of(0), Int32Array.of(2)), /pair 0 indexes reward 2/);
  t.throws(() => pairwiseRankingLoss(r, new Int32Array(0), new Int32Array(0)), /non-zero/);
});
