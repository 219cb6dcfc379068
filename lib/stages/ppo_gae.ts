// Generalised advantage estimation (Schulman et al. 2016) over response
// tokens, as TRL's compute_advantages: with δ_t = r_t + γ·V_{t+1} − V_t,
//   A_t = δ_t + γλ·A_{t+1},   returns_t = A_t + V_t,
// where values and rewards are zeroed on padding first, so the value after
// a response's last token is 0 (the episode ends there).
import { ConfigError } from '../errors.js';
import { checkTokenGrid, type TokenGrid } from './token_grid.js';

export interface GaeOptions extends TokenGrid {
  /** Discount γ in [0, 1] (TRL gamma 1: an episode is one short response). */
  gamma: number;
  /** GAE λ in [0, 1]: 0 is one-step TD (low variance, biased), 1 is Monte Carlo (TRL lam 0.95). */
  lambda: number;
}

export interface Gae {
  /** [rows, cols] advantages A_t, not whitened; 0 on padding. */
  advantages: Float32Array;
  /** [rows, cols] value targets A_t + V_t; 0 on padding. */
  returns: Float32Array;
}

/** Throws a ConfigError unless x is a number in [0, 1]; `name` is the option's name. */
export function checkUnitInterval(where: string, name: string, x: number): void {
  if (!(typeof x === 'number' && x >= 0 && x <= 1))
    throw new ConfigError('CONFIG_INVALID', `${where}: ${name} must be in [0, 1], got ${x}`);
}

/** rewards, values, mask [rows, cols] → advantages and returns. Float64 accumulation. */
export function gae(rewards: Float32Array, values: Float32Array, mask: Float32Array, opts: GaeOptions): Gae {
  const { rows, cols, gamma, lambda } = opts;
  checkUnitInterval('gae', 'gamma', gamma);
  checkUnitInterval('gae', 'lambda', lambda);
  checkTokenGrid('gae', opts, { rewards, values }, mask);
  const advantages = new Float32Array(rows * cols);
  const returns = new Float32Array(rows * cols);
  for (let b = 0; b < rows; b++) {
    let nextValue = 0, nextAdvantage = 0;
    for (let j = cols - 1; j >= 0; j--) {
      const i = b * cols + j;
      const on = mask[i] === 1;
      const v = on ? values[i]! : 0;
      const delta = (on ? rewards[i]! : 0) + gamma * nextValue - v;
      const a = delta + gamma * lambda * nextAdvantage;
      if (on) {
        advantages[i] = a;
        returns[i] = a + v;
      }
      nextValue = v;
      nextAdvantage = a;
    }
  }
  return { advantages, returns };
}
