// Elementwise add and multiply of float32 vectors (residual adds, SwiGLU,
// gradient accumulation). Each element is one float32 operation: the result
// equals a JS loop storing into a Float32Array, bit for bit.
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

/** out[i] = a[i] + b[i]; out may be a or b itself (in place). */
export function elementwiseAdd(a: F32Buffer, b: F32Buffer, out: F32Buffer): void {
  addon.elementwiseAdd(a, b, out);
}

/** out[i] = a[i] · b[i]; out may be a or b itself (in place). */
export function elementwiseMul(a: F32Buffer, b: F32Buffer, out: F32Buffer): void {
  addon.elementwiseMul(a, b, out);
}
