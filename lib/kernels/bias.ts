// Bias add over rows and its backward (column sums).
import { addon } from '../native.js';

export interface BiasOptions {
  rows: number;
  /** Length of the bias. */
  cols: number;
}

/** x[r, :] += bias, in place. */
export function biasAdd(x: Float32Array, bias: Float32Array, opts: BiasOptions): void {
  addon.biasAdd(x, bias, opts);
}

/** dbias += Σ_r dout[r, :] (accumulates, summed in double, deterministic). */
export function biasBackward(dout: Float32Array, dbias: Float32Array, opts: BiasOptions): void {
  addon.biasBackward(dout, dbias, opts);
}
