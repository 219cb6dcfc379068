// The reward model's objective (InstructGPT, Ouyang et al. 2022, eq. 1): a
// labeler ranks K responses to a prompt, which gives C(K,2) comparisons
// (winner w, loser l), and the model's scalar rewards should order them:
//   loss = −mean over pairs of log σ(r_w − r_l).
// Every pair of a prompt goes in the same batch, so each response is scored
// once per step however many pairs it is in.
import { DataError } from '../errors.js';
import { needsGrad, record } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { scalarOf } from '../tensor/device.js';

/** Checks that `ranking` is a permutation of 0..K−1 with K ≥ 2; `where` names the record in errors. */
export function checkRanking(ranking: readonly number[], responses: number, where: string): void {
  if (responses < 2)
    throw new DataError('DATA_TOO_FEW_RESPONSES', `${where}: ${responses} response${responses === 1 ? '' : 's'}; a ranking needs K ≥ 2 responses to compare`);
  if (!Array.isArray(ranking) || ranking.length !== responses)
    throw new DataError('DATA_BAD_RANKING', `${where}: the ranking has ${Array.isArray(ranking) ? ranking.length : 'no'} entries for ${responses} responses; it must list every response index once, best first`);
  const seen = new Set<number>();
  for (const r of ranking) {
    if (!Number.isInteger(r) || r < 0 || r >= responses)
      throw new DataError('DATA_BAD_RANKING', `${where}: the ranking [${ranking.join(', ')}] holds ${JSON.stringify(r)}, not a response index in 0..${responses - 1}`);
    if (seen.has(r)) throw new DataError('DATA_BAD_RANKING', `${where}: the ranking [${ranking.join(', ')}] lists response ${r} twice; it must be a permutation of 0..${responses - 1}`);
    seen.add(r);
  }
}

/** The C(K,2) comparisons a ranking (best first) implies: ranking[i] beats ranking[j] for every i < j. */
export function rankingPairs(ranking: readonly number[]): { winner: number; loser: number }[] {
  const pairs: { winner: number; loser: number }[] = [];
  for (let i = 0; i < ranking.length; i++)
    for (let j = i + 1; j < ranking.length; j++) pairs.push({ winner: ranking[i]!, loser: ranking[j]! });
  return pairs;
}

/** −log σ(d) = softplus(−d) = max(−d, 0) + log(1 + e^(−|d|)): no overflow for any d. */
export function negLogSigmoid(d: number): number {
  return Math.max(-d, 0) + Math.log1p(Math.exp(-Math.abs(d)));
}

/** σ(−d) = 1 − σ(d), evaluated without overflow. */
function sigmoidOfNegative(d: number): number {
  if (d >= 0) {
    const e = Math.exp(-d);
    return e / (1 + e);
  }
  return 1 / (1 + Math.exp(d));
}

/**
 * rewards [N] → scalar −mean_p log σ(r[winners[p]] − r[losers[p]]), summed in
 * float64. ∂/∂r_w = −σ(−d)/P and ∂/∂r_l = +σ(−d)/P for each pair's margin d.
 */
export function pairwiseRankingLoss(rewards: Tensor, winners: Int32Array, losers: Int32Array): Tensor {
  const r = rewards.f32('pairwiseRankingLoss');
  const P = winners.length;
  if (losers.length !== P || P === 0) throw new RangeError(`pairwiseRankingLoss: ${P} winners and ${losers.length} losers; expected equal, non-zero counts`);
  for (let p = 0; p < P; p++)
    for (const i of [winners[p]!, losers[p]!])
      if (i < 0 || i >= r.length) throw new RangeError(`pairwiseRankingLoss: pair ${p} indexes reward ${i}, outside the ${r.length} rewards`);
  let total = 0;
  for (let p = 0; p < P; p++) total += negLogSigmoid(r[winners[p]!]! - r[losers[p]!]!);
  const out = new Tensor(new Float32Array([total / P]), []);
  if (needsGrad(rewards))
    record(out, 'pairwiseRankingLoss', [rewards], (g) => {
      const grad = new Float64Array(r.length);
      for (let p = 0; p < P; p++) {
        const s = sigmoidOfNegative(r[winners[p]!]! - r[losers[p]!]!) / P;
        grad[winners[p]!] -= s;
        grad[losers[p]!] += s;
      }
      const scale = scalarOf(g);
      return [Float32Array.from(grad, (v) => v * scale)];
    });
  return out;
}

/** Fraction of pairs the rewards order correctly (r_w > r_l; a tie counts as wrong). */
export function pairAccuracy(rewards: ArrayLike<number>, winners: Int32Array, losers: Int32Array): number {
  let right = 0;
  for (let p = 0; p < winners.length; p++) if (rewards[winners[p]!]! > rewards[losers[p]!]!) right++;
  return winners.length === 0 ? NaN : right / winners.length;
}
