// LayerNorm and RMSNorm over the last dim of row-major [rows, cols] Float32Arrays.
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export interface NormShape {
  /** Rows normalized independently (may be 0). */
  rows: number;
  /** Features per row (≥ 1): the normalized dim. */
  cols: number;
}

export interface LayerNormOptions extends NormShape {
  /** Added to the variance before the square root (default 1e-5, PyTorch's). */
  eps?: number;
}

export interface RmsNormOptions extends NormShape {
  /** Added to mean(x²) before the square root (default 1e-6, LLaMA's). */
  eps?: number;
}

/**
 * out = (x − mean)·rstd·weight + bias per row; writes mean and rstd [rows]
 * for the backward pass. Outputs must not overlap inputs.
 */
export function layerNormForward(
  x: F32Buffer,
  weight: F32Buffer,
  bias: F32Buffer,
  out: F32Buffer,
  mean: F32Buffer,
  rstd: F32Buffer,
  opts: LayerNormOptions,
): void {
  addon.layerNormForward(x, weight, bias, out, mean, rstd, opts);
}

/** Overwrites dx; ADDS into dweight and dbias (parameter gradients accumulate). */
export function layerNormBackward(
  dout: F32Buffer,
  x: F32Buffer,
  weight: F32Buffer,
  mean: F32Buffer,
  rstd: F32Buffer,
  dx: F32Buffer,
  dweight: F32Buffer,
  dbias: F32Buffer,
  opts: NormShape,
): void {
  addon.layerNormBackward(dout, x, weight, mean, rstd, dx, dweight, dbias, opts);
}

/** RMSNorm (LLaMA): out = x·rstd·weight, rstd = 1/sqrt(mean(x²) + eps), saved [rows]. */
export function rmsNormForward(
  x: F32Buffer,
  weight: F32Buffer,
  out: F32Buffer,
  rstd: F32Buffer,
  opts: RmsNormOptions,
): void {
  addon.rmsNormForward(x, weight, out, rstd, opts);
}

/** Overwrites dx; ADDS into dweight. */
export function rmsNormBackward(
  dout: F32Buffer,
  x: F32Buffer,
  weight: F32Buffer,
  rstd: F32Buffer,
  dx: F32Buffer,
  dweight: F32Buffer,
  opts: NormShape,
): void {
  addon.rmsNormBackward(dout, x, weight, rstd, dx, dweight, opts);
}
