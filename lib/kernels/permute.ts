// Axis permutation of a contiguous float32 tensor (a strided copy).
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export interface PermuteOptions {
  /** Shape of x (at most 8 axes). */
  shape: Int32Array;
  /** out axis k is x axis perm[k]. */
  perm: Int32Array;
}

/** out = x.permute(perm): out.shape[k] = shape[perm[k]]. out must not overlap x. */
export function permute(x: F32Buffer, out: F32Buffer, opts: PermuteOptions): void {
  addon.permute(x, out, opts);
}
