// The layout of a rollout batch's per-token arrays (log-probs, values,
// rewards, advantages, mask): row-major [rows, cols], one row per sample and
// one column per response token, right-padded; the mask is 1 on response
// tokens and 0 on padding. The PPO math and the fused losses share it.
import { ShapeError } from '../errors.js';

export interface TokenGrid {
  /** Samples in the batch. */
  rows: number;
  /** Response tokens of the longest sample. */
  cols: number;
}

/**
 * Throws a ShapeError unless every array holds rows·cols values and the mask
 * holds only 0 and 1. `where` names the function in the message.
 */
export function checkTokenGrid(where: string, grid: TokenGrid, arrays: Record<string, ArrayLike<number>>, mask: ArrayLike<number>): void {
  const { rows, cols } = grid;
  if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(cols) || cols < 0)
    throw new ShapeError('SHAPE_INVALID', `${where}: rows and cols must be non-negative integers, got ${rows} and ${cols}`);
  const n = rows * cols;
  for (const [name, a] of Object.entries({ ...arrays, mask }))
    if (a.length !== n) throw new ShapeError('SHAPE_MISMATCH', `${where}: ${name} has ${a.length} values, expected rows·cols = ${rows}·${cols} = ${n}`);
  for (let i = 0; i < n; i++)
    if (mask[i] !== 0 && mask[i] !== 1)
      throw new ShapeError('SHAPE_INVALID', `${where}: mask[${i}] (row ${Math.floor(i / Math.max(cols, 1))}) is ${mask[i]}; the mask must be 1 on response tokens and 0 on padding`);
}

/** Number of mask = 1 tokens in each row. */
export function rowLengths(mask: ArrayLike<number>, grid: TokenGrid): Int32Array {
  const lengths = new Int32Array(grid.rows);
  for (let b = 0; b < grid.rows; b++) for (let j = 0; j < grid.cols; j++) lengths[b]! += mask[b * grid.cols + j]!;
  return lengths;
}
