// Per-token rewards for PPO on language (Ziegler et al. 2019; InstructGPT,
// Ouyang et al. 2022; TRL's compute_rewards): each response token is paid
// −β·KL_t, KL_t = log π(y_t) − log π_ref(y_t), and the reward model's score
// is added at the last response token. The penalty keeps the policy near
// the reference, where the reward model's judgement can be trusted.
import { ConfigError, DataError } from '../errors.js';
import { checkTokenGrid, type TokenGrid } from './token_grid.js';

export interface TokenRewardsOptions extends TokenGrid {
  /** β, the KL penalty coefficient (≥ 0): the KL controller's current value. */
  klCoef: number;
}

export interface TokenRewards {
  /** [rows, cols]: −β·KL_t, plus the score at each row's last response token; 0 on padding. */
  rewards: Float32Array;
  /** [rows, cols]: KL_t = logp − refLogp (TRL's default "kl" estimator k1); 0 on padding. */
  kl: Float32Array;
  /** Per row: Σ_t KL_t, the sequence KL estimate the adaptive controller tracks (TRL's objective/kl before the mean). */
  sequenceKl: Float64Array;
}

/** scores [rows] (one reward-model score per sample); logp, refLogp, mask [rows, cols]. */
export function tokenRewards(
  scores: ArrayLike<number>,
  logp: Float32Array,
  refLogp: Float32Array,
  mask: Float32Array,
  opts: TokenRewardsOptions,
): TokenRewards {
  const { rows, cols, klCoef } = opts;
  if (!(typeof klCoef === 'number' && Number.isFinite(klCoef) && klCoef >= 0))
    throw new ConfigError('CONFIG_INVALID', `tokenRewards: klCoef (β) must be a finite number ≥ 0, got ${klCoef}; a negative β would reward drifting away from the reference`);
  checkTokenGrid('tokenRewards', opts, { logp, refLogp }, mask);
  if (scores.length !== rows)
    throw new DataError('DATA_INVALID', `tokenRewards: ${scores.length} scores for ${rows} samples; the reward function must return one score per sample`);
  const rewards = new Float32Array(rows * cols);
  const kl = new Float32Array(rows * cols);
  const sequenceKl = new Float64Array(rows);
  for (let b = 0; b < rows; b++) {
    const score = scores[b]!;
    if (!Number.isFinite(score)) throw new DataError('DATA_INVALID', `tokenRewards: the score of sample ${b} is ${score}; the reward function must return finite numbers`);
    let last = -1;
    for (let j = 0; j < cols; j++) {
      const i = b * cols + j;
      if (mask[i] === 0) continue;
      const k = logp[i]! - refLogp[i]!;
      kl[i] = k;
      rewards[i] = -klCoef * k;
      sequenceKl[b]! += k;
      last = i;
    }
    if (last < 0)
      throw new DataError('DATA_EMPTY_RESPONSE', `tokenRewards: sample ${b} has no response tokens, so there is no token to carry its score; every rollout needs at least one generated token per sample (max_new_tokens ≥ 1)`);
    rewards[last]! += score;
  }
  return { rewards, kl, sequenceKl };
}
