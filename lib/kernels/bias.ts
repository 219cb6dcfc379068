// Bias add over rows and its backward (column sums).
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export interface BiasOptions {
  rows: number;
  /** Length of the bias. */
  cols: number;
}

/** x[r, :] += bias, in place. */
export function biasAdd(x: F32Buffer, bias: F32Buffer, opts: BiasOptions): void {
  addon.biasAdd(x, bias, opts);
}

/** dbias += Σ_r dout[r, :] (accumulates, summed in double, deterministic). */
export function biasBackward(dout: F32Buffer, dbias: F32Buffer, opts: BiasOptions): void {
  addon.biasBackward(dout, dbias, opts);
}
