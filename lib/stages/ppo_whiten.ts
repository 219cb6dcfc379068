// Masked statistics and whitening over the response tokens of a rollout
// batch, as TRL's masked_mean / masked_var / masked_whiten: one mean and one
// (Bessel-corrected) variance over all counted tokens of the batch.
import { sumOverRanks } from '../distributed/sharding.js';
import type { World } from '../distributed/world.js';
import { DataError } from '../errors.js';
import { checkTokenGrid, type TokenGrid } from './token_grid.js';

/** TRL's masked_whiten adds this to the variance before the square root. */
export const WHITEN_EPS = 1e-8;

function count(mask: Float32Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i]!;
  return n;
}

/** Mean of values where mask = 1 (float64). Throws when nothing is counted. */
export function maskedMean(values: Float32Array, mask: Float32Array, grid: TokenGrid): number {
  checkTokenGrid('maskedMean', grid, { values }, mask);
  const n = count(mask);
  if (n === 0) throw new DataError('DATA_EMPTY_RESPONSE', 'maskedMean: the mask selects no tokens; the rollout has no response tokens to average');
  let sum = 0;
  for (let i = 0; i < values.length; i++) if (mask[i] === 1) sum += values[i]!;
  return sum / n;
}

/** Unbiased variance (÷ (n − 1)) of values where mask = 1. Needs n ≥ 2. */
export function maskedVar(values: Float32Array, mask: Float32Array, grid: TokenGrid): number {
  const mean = maskedMean(values, mask, grid);
  const n = count(mask);
  if (n < 2)
    throw new DataError('DATA_TOO_SMALL', `maskedVar: the mask selects ${n} token; the unbiased variance needs at least 2 (use a larger rollout batch)`);
  let ss = 0;
  for (let i = 0; i < values.length; i++) if (mask[i] === 1) ss += (values[i]! - mean) ** 2;
  return ss / (n - 1);
}

/**
 * (x − mean) / sqrt(var + 1e-8) on counted tokens, 0 on padding (TRL leaves
 * (0 − mean)/σ there, which no loss reads). shiftMean = false adds the mean
 * back: rescaled, not centred (TRL's whiten_rewards).
 */
export function maskedWhiten(values: Float32Array, mask: Float32Array, grid: TokenGrid & { shiftMean?: boolean }): Float32Array {
  const mean = maskedMean(values, mask, grid);
  const invStd = 1 / Math.sqrt(maskedVar(values, mask, grid) + WHITEN_EPS);
  const shift = grid.shiftMean === false ? mean : 0;
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) if (mask[i] === 1) out[i] = (values[i]! - mean) * invStd + shift;
  return out;
}

/**
 * maskedWhiten with the mean and variance over every rank's rollout, as if
 * their batches were one (data-parallel PPO). A world of one is maskedWhiten.
 */
export function maskedWhitenOverRanks(world: World, values: Float32Array, mask: Float32Array, grid: TokenGrid): Float32Array {
  if (world.worldSize === 1) return maskedWhiten(values, mask, grid);
  checkTokenGrid('maskedWhitenOverRanks', grid, { values }, mask);
  let localSum = 0;
  for (let i = 0; i < values.length; i++) if (mask[i] === 1) localSum += values[i]!;
  const [n, sum] = sumOverRanks(world, [count(mask), localSum], 'all-reduce of the advantage mean') as [number, number];
  if (n < 2)
    throw new DataError('DATA_TOO_SMALL', `maskedWhitenOverRanks: the masks select ${n} token over all ranks; the unbiased variance needs at least 2 (use a larger rollout batch)`);
  const mean = sum / n;
  let localSs = 0;
  for (let i = 0; i < values.length; i++) if (mask[i] === 1) localSs += (values[i]! - mean) ** 2;
  const [ss] = sumOverRanks(world, [localSs], 'all-reduce of the advantage variance') as [number];
  const invStd = 1 / Math.sqrt(ss / (n - 1) + WHITEN_EPS);
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) if (mask[i] === 1) out[i] = (values[i]! - mean) * invStd;
  return out;
}
