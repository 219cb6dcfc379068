// Tensor: a shape over a contiguous row-major buffer (float32 or int32) on a
// device, plus the autograd links of the op that produced it. On 'cpu' the
// buffer is a typed array (`data`); on 'cuda' it is device memory, reached
// only through ops and explicit transfers (.to('cpu'), toHost()).
import { DeviceError, ShapeError } from '../errors.js';
import type { GradFn } from './autograd.js';
import { deviceOf, toDevice, toHost, type CudaArray, type Device, type F32Buffer, type HostArray, type I32Buffer, type Storage } from './device.js';

export type DType = 'float32' | 'int32';
export type Shape = readonly number[];
export type { Device };

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(shape: Shape, where: string): void {
  for (const d of shape)
    if (!Number.isSafeInteger(d) || d < 0)
      throw new ShapeError('SHAPE_INVALID', `${where}: shape [${shape.join(', ')}] must hold non-negative integers`);
}

function onDeviceError(t: Tensor, where: string): DeviceError {
  return new DeviceError('TENSOR_ON_DEVICE', `${where}: tensor [${t.shape.join(', ')}] is on ${t.device}; copy it to the host with .to('cpu') or toHost()`);
}

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  private storage: Storage;
  /** Leaf tensors that want gradients (parameters) set this. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after backward(), on the tensor's device. */
  gradBuffer: F32Buffer | null = null;
  /** The op that produced this tensor (null for leaves and under noGrad). */
  gradFn: GradFn | null = null;

  constructor(data: HostArray | CudaArray, shape: Shape, requiresGrad = false) {
    checkShape(shape, 'Tensor');
    if (numel(shape) !== data.length)
      throw new ShapeError('SHAPE_MISMATCH', `Tensor: shape [${shape.join(', ')}] needs ${numel(shape)} elements but the data has ${data.length}`);
    this.shape = Object.freeze([...shape]);
    this.dtype = data instanceof Float32Array ? 'float32' : data instanceof Int32Array ? 'int32' : data.dtype === 'int32' ? 'int32' : 'float32';
    this.storage = data;
    this.requiresGrad = requiresGrad;
  }

  get device(): Device {
    return deviceOf(this.storage);
  }

  /** The host buffer; throws for a tensor on 'cuda'. */
  get data(): HostArray {
    const s = this.storage;
    if (s instanceof Float32Array || s instanceof Int32Array) return s;
    throw onDeviceError(this, 'data');
  }

  /** The buffer on whichever device the tensor lives (what ops hand to kernels). */
  get buffer(): Storage {
    return this.storage;
  }

  /** The gradient of a CPU leaf as a typed array; throws for a tensor on 'cuda' (use gradBuffer). */
  get grad(): Float32Array | null {
    const g = this.gradBuffer;
    if (g === null || g instanceof Float32Array) return g;
    throw onDeviceError(this, 'grad');
  }

  set grad(g: Float32Array | null) {
    this.gradBuffer = g;
  }

  get size(): number {
    return this.storage.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The float32 host buffer; throws for int32 tensors and for tensors on 'cuda'. */
  f32(where = 'Tensor'): Float32Array {
    const s = this.storage;
    if (s instanceof Float32Array) return s;
    if (s instanceof Int32Array || (s as CudaArray).dtype === 'int32')
      throw new ShapeError('DTYPE_MISMATCH', `${where}: expected a float32 tensor but received int32 [${this.shape.join(', ')}]`);
    throw onDeviceError(this, where);
  }

  /** The int32 host buffer; throws for float32 tensors and for tensors on 'cuda'. */
  i32(where = 'Tensor'): Int32Array {
    const s = this.storage;
    if (s instanceof Int32Array) return s;
    if (s instanceof Float32Array || (s as CudaArray).dtype === 'float32')
      throw new ShapeError('DTYPE_MISMATCH', `${where}: expected an int32 tensor but received float32 [${this.shape.join(', ')}]`);
    throw onDeviceError(this, where);
  }

  /** The float32 buffer on the tensor's device (a Float32Array or a CudaArray). */
  f32Buffer(where = 'Tensor'): F32Buffer {
    if (this.dtype !== 'float32')
      throw new ShapeError('DTYPE_MISMATCH', `${where}: expected a float32 tensor but received int32 [${this.shape.join(', ')}]`);
    return this.storage as F32Buffer;
  }

  /** The int32 buffer on the tensor's device. */
  i32Buffer(where = 'Tensor'): I32Buffer {
    if (this.dtype !== 'int32')
      throw new ShapeError('DTYPE_MISMATCH', `${where}: expected an int32 tensor but received float32 [${this.shape.join(', ')}]`);
    return this.storage as I32Buffer;
  }

  /** Size of the last dimension. */
  get lastDim(): number {
    return this.shape.length ? this.shape[this.shape.length - 1]! : 1;
  }

  /** Product of all but the last dimension. */
  get rows(): number {
    return this.shape.length ? this.storage.length / Math.max(this.lastDim, 1) : 1;
  }

  /** The single value of a one-element tensor (copied from the device if need be). */
  item(): number {
    if (this.storage.length !== 1)
      throw new ShapeError('SHAPE_MISMATCH', `item(): tensor has ${this.storage.length} elements, expected 1`);
    return toHost(this.storage)[0]!;
  }

  /**
   * This tensor's values on `device`: `this` when it is there already, else
   * a copy (a new leaf, not connected to this tensor's autograd graph).
   */
  to(device: Device): Tensor {
    if (device === this.device) return this;
    return new Tensor(toDevice(this.storage, device) as HostArray | CudaArray, this.shape, false);
  }

  /** The values as a host typed array: the buffer itself on 'cpu', a copy from 'cuda'. */
  toHost(): HostArray {
    return toHost(this.storage);
  }

  /**
   * Moves this tensor's storage to `device` in place (Module.to() moves
   * parameters so that tied weights stay one tensor). Drops any gradient.
   */
  moveTo(device: Device): void {
    if (device === this.device) return;
    this.storage = toDevice(this.storage, device);
    this.gradBuffer = null;
  }

  /** Frees device memory now instead of at garbage collection; the tensor is unusable after. */
  dispose(): void {
    const s = this.storage;
    if (!(s instanceof Float32Array) && !(s instanceof Int32Array)) s.dispose();
    const g = this.gradBuffer;
    if (g && !(g instanceof Float32Array)) g.dispose();
    this.gradBuffer = null;
  }

  toString(): string {
    return `Tensor(${this.dtype} [${this.shape.join(', ')}]${this.device === 'cpu' ? '' : `, ${this.device}`}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }
}

export function zeros(shape: Shape, requiresGrad = false): Tensor {
  checkShape(shape, 'zeros');
  return new Tensor(new Float32Array(numel(shape)), shape, requiresGrad);
}

export function full(shape: Shape, value: number): Tensor {
  checkShape(shape, 'full');
  return new Tensor(new Float32Array(numel(shape)).fill(value), shape);
}

export function tensor(values: ArrayLike<number>, shape?: Shape, requiresGrad = false): Tensor {
  return new Tensor(Float32Array.from(values), shape ?? [values.length], requiresGrad);
}

export function intTensor(values: ArrayLike<number>, shape?: Shape): Tensor {
  return new Tensor(Int32Array.from(values), shape ?? [values.length]);
}

/** Throws unless two shapes are equal; `where` names the op. */
export function expectSameShape(a: Tensor, b: Tensor, where: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw new ShapeError('SHAPE_MISMATCH', `${where}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
}

/** Throws a DeviceError unless every float tensor given sits on one device; returns it. */
export function sameDevice(where: string, ...tensors: (Tensor | null | undefined)[]): Device {
  let device: Device | null = null;
  for (const t of tensors) {
    if (!t) continue;
    if (device === null) device = t.device;
    else if (t.device !== device)
      throw new DeviceError('DEVICE_MISMATCH', `${where}: tensors are on ${device} and ${t.device}; move them to one device with .to()`);
  }
  return device ?? 'cpu';
}
