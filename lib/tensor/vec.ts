// Elementwise float32 loops shared by the ops and the autograd walk: short
// vectors stay in JS (a native call costs about as much as a few thousand
// adds), long ones go to the native kernels. Both give the same bits.
import { elementwiseAdd, elementwiseMul } from '../kernels/index.js';
import type { F32Buffer } from './device.js';

/** Below this length the JS loop beats the native call's fixed cost. */
const NATIVE_MIN_LENGTH = 4096;

/** out = a + b; out may be a or b. Device buffers always take the kernel. */
export function addInto(out: F32Buffer, a: F32Buffer, b: F32Buffer): void {
  if (!(out instanceof Float32Array) || !(a instanceof Float32Array) || !(b instanceof Float32Array) || out.length >= NATIVE_MIN_LENGTH)
    return elementwiseAdd(a, b, out);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + b[i]!;
}

/** out = a · b; out may be a or b. */
export function mulInto(out: F32Buffer, a: F32Buffer, b: F32Buffer): void {
  if (!(out instanceof Float32Array) || !(a instanceof Float32Array) || !(b instanceof Float32Array) || out.length >= NATIVE_MIN_LENGTH)
    return elementwiseMul(a, b, out);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! * b[i]!;
}
