// GELU and SiLU, elementwise on Float32Arrays. In place is allowed: out may be
// the same array (same range) as x, and dx the same as dout or x; partially
// overlapping views are rejected.
import { addon } from '../native.js';

export interface GeluOptions {
  /** PyTorch's `approximate`: 'none' = x·Φ(x) (default), 'tanh' = GPT-2's gelu_new. */
  approximate?: 'none' | 'tanh';
}

/** out = gelu(x); out.length must equal x.length. */
export function geluForward(x: Float32Array, out: Float32Array, opts: GeluOptions = {}): void {
  addon.geluForward(x, out, opts);
}

/** dx = dout·gelu'(x). */
export function geluBackward(
  dout: Float32Array,
  x: Float32Array,
  dx: Float32Array,
  opts: GeluOptions = {},
): void {
  addon.geluBackward(dout, x, dx, opts);
}

/** out = x·sigmoid(x). */
export function siluForward(x: Float32Array, out: Float32Array): void {
  addon.siluForward(x, out);
}

/** dx = dout·silu'(x). */
export function siluBackward(dout: Float32Array, x: Float32Array, dx: Float32Array): void {
  addon.siluBackward(dout, x, dx);
}
