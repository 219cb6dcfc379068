// Devices and their buffers: 'cpu' (typed arrays) and 'cuda' (CudaArray,
// device memory behind the addon's caching allocator). The CUDA backend is
// found and opened on first use — never at import — so a machine without
// a driver pays nothing (see native/binding/cuda_backend.h for the search).
// Every transfer between host and device is explicit: toDevice / toHost.
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { DeviceError } from '../errors.js';
import { addon, addonPath, type CudaArray, type CudaStatus, type F32Buffer, type I32Buffer } from '../native.js';

export type Device = 'cpu' | 'cuda';
export type { CudaArray, F32Buffer, I32Buffer };
export type HostArray = Float32Array | Int32Array;
export type Storage = HostArray | CudaArray;

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let status: CudaStatus | null = null;

/** LMKIT_BACKEND, normalised; unknown values count as 'auto'. */
export function requestedBackend(): 'cpu' | 'cuda' | 'auto' {
  const v = (process.env.LMKIT_BACKEND ?? 'auto').toLowerCase();
  return v === 'cpu' || v === 'cuda' ? v : 'auto';
}

/** Finds and opens the CUDA backend once; later calls return the first answer. */
export function cudaStatus(): CudaStatus {
  if (status) return status;
  const explicit = process.env.LMKIT_CUDA_LIBRARY;
  const disabled = requestedBackend() === 'cpu' ? 'LMKIT_BACKEND=cpu: the CUDA backend is not loaded' : '';
  const candidates = explicit
    ? [path.resolve(explicit)]
    : [
        // Beside the loaded addon first: a prebuild ships its own library in the same folder.
        ...new Set([
          path.join(path.dirname(addonPath), 'liblmkit_cuda.so'),
          path.join(packageRoot, 'build', 'Release', 'liblmkit_cuda.so'),
          path.join(packageRoot, 'build-cuda', 'liblmkit_cuda.so'),
          path.join(packageRoot, 'prebuilds', `${process.platform}-${process.arch}`, 'liblmkit_cuda.so'),
        ]),
      ];
  status = addon.cudaLoad(candidates, explicit !== undefined && explicit !== '', disabled);
  return status;
}

/** Throws a DeviceError naming the reason unless CUDA is usable. */
export function requireCuda(where: string): void {
  const s = cudaStatus();
  if (!s.available)
    throw new DeviceError('CUDA_UNAVAILABLE', `${where}: the CUDA backend is not available: ${s.reason}`);
}

export function isCudaArray(b: unknown): b is CudaArray {
  return b instanceof addon.CudaArray;
}

export function deviceOf(b: Storage): Device {
  return b instanceof Float32Array || b instanceof Int32Array ? 'cpu' : 'cuda';
}

/** n zeros on `device`. */
export function zerosF32(device: Device, n: number): F32Buffer {
  if (device === 'cpu') return new Float32Array(n);
  requireCuda('zeros');
  return addon.cudaAlloc('float32', n, true);
}

/** n zeros on the device of `like`. */
export function zerosLike(like: Storage, n = like.length): F32Buffer {
  return like instanceof Float32Array || like instanceof Int32Array ? new Float32Array(n) : addon.cudaAlloc('float32', n, true);
}

/** `b` on `device`: the same object when it is there already, else a copy. */
export function toDevice(b: Storage, device: Device): Storage {
  if (deviceOf(b) === device) return b;
  if (device === 'cuda') {
    requireCuda('toDevice');
    return addon.cudaUpload(b as HostArray);
  }
  return toHost(b);
}

/** A host copy of a device buffer (a host buffer itself is returned as is). */
export function toHost(b: Storage): HostArray {
  if (b instanceof Float32Array || b instanceof Int32Array) return b;
  const host = b.dtype === 'int32' ? new Int32Array(b.length) : new Float32Array(b.length);
  addon.cudaDownload(b, host);
  return host;
}

export function toHostF32(b: F32Buffer): Float32Array {
  return toHost(b) as Float32Array;
}

export function f32On(b: F32Buffer, device: Device): F32Buffer {
  return toDevice(b, device) as F32Buffer;
}

/** Int32 indices on `device` (ids and targets usually come from the host). */
export function indicesOn(ids: I32Buffer, device: Device): I32Buffer {
  return toDevice(ids, device) as I32Buffer;
}

/** A copy of `b` on its own device (Float32Array.slice()). */
export function cloneF32(b: F32Buffer): F32Buffer {
  if (b instanceof Float32Array) return b.slice();
  const out = addon.cudaAlloc('float32', b.length, false);
  addon.cudaCopy(out, b);
  return out;
}

/** dst ← src, same length and device. */
export function copyInto(dst: F32Buffer, src: F32Buffer): void {
  if (dst instanceof Float32Array && src instanceof Float32Array) dst.set(src);
  else if (!(dst instanceof Float32Array) && !(src instanceof Float32Array)) addon.cudaCopy(dst, src);
  else throw new DeviceError('DEVICE_MISMATCH', `copyInto: dst is on ${deviceOf(dst)} but src is on ${deviceOf(src)}`);
}

/** out = alpha·x elementwise (out may be x). */
export function scaleInto(out: F32Buffer, x: F32Buffer, alpha: number): void {
  if (out instanceof Float32Array && x instanceof Float32Array) {
    for (let i = 0; i < out.length; i++) out[i] = x[i]! * alpha;
  } else if (!(out instanceof Float32Array) && !(x instanceof Float32Array)) addon.cudaScale(x, out, alpha);
  else throw new DeviceError('DEVICE_MISMATCH', `scale: out is on ${deviceOf(out)} but x is on ${deviceOf(x)}`);
}

/** n copies of `value` on `device`. */
export function fullF32(device: Device, n: number, value: number): F32Buffer {
  if (device === 'cpu') return new Float32Array(n).fill(value);
  requireCuda('full');
  const out = addon.cudaAlloc('float32', n, false);
  addon.cudaFill(out, value);
  return out;
}

/**
 * Runs a host-only elementwise computation on a device buffer: copies in,
 * computes, copies out. For the few small ops without a CUDA kernel
 * (rotary embeddings, tanh, dropout masks); correct, not fast.
 */
export function viaHost(x: F32Buffer, fn: (host: Float32Array) => Float32Array): F32Buffer {
  if (x instanceof Float32Array) return fn(x);
  return addon.cudaUpload(fn(toHostF32(x)));
}

/** The value of a one-element buffer on either device. */
export function scalarOf(b: F32Buffer): number {
  return b instanceof Float32Array ? b[0]! : toHostF32(b)[0]!;
}
