// GELU and SiLU, elementwise on Float32Arrays. In place is allowed: out may be
// the same array (same range) as x, and dx the same as dout or x; partially
// overlapping views are rejected.
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export interface GeluOptions {
  /** PyTorch's `approximate`: 'none' = x·Φ(x) (default), 'tanh' = GPT-2's gelu_new. */
  approximate?: 'none' | 'tanh';
}

/** out = gelu(x); out.length must equal x.length. */
export function geluForward(x: F32Buffer, out: F32Buffer, opts: GeluOptions = {}): void {
  addon.geluForward(x, out, opts);
}

/** dx = dout·gelu'(x). */
export function geluBackward(
  dout: F32Buffer,
  x: F32Buffer,
  dx: F32Buffer,
  opts: GeluOptions = {},
): void {
  addon.geluBackward(dout, x, dx, opts);
}

/** out = x·sigmoid(x). */
export function siluForward(x: F32Buffer, out: F32Buffer): void {
  addon.siluForward(x, out);
}

/** dx = dout·silu'(x). */
export function siluBackward(dout: F32Buffer, x: F32Buffer, dx: F32Buffer): void {
  addon.siluBackward(dout, x, dx);
}
