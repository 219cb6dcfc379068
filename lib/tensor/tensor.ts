// Tensor: a shape over a contiguous row-major buffer (float32 or int32), plus
// the autograd links of the op that produced it.
import { ShapeError } from '../errors.js';
import type { GradFn } from './autograd.js';

export type DType = 'float32' | 'int32';
export type Shape = readonly number[];

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

export class Tensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly data: Float32Array | Int32Array;
  /** Leaf tensors that want gradients (parameters) set this. */
  requiresGrad: boolean;
  /** Accumulated gradient of a leaf after backward(). */
  grad: Float32Array | null = null;
  /** The op that produced this tensor (null for leaves and under noGrad). */
  gradFn: GradFn | null = null;

  constructor(data: Float32Array | Int32Array, shape: Shape, requiresGrad = false) {
    checkShape(shape, 'Tensor');
    if (numel(shape) !== data.length)
      throw new ShapeError('SHAPE_MISMATCH', `Tensor: shape [${shape.join(', ')}] needs ${numel(shape)} elements but the data has ${data.length}`);
    this.shape = Object.freeze([...shape]);
    this.dtype = data instanceof Float32Array ? 'float32' : 'int32';
    this.data = data;
    this.requiresGrad = requiresGrad;
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** The float32 buffer; throws for int32 tensors. */
  f32(where = 'Tensor'): Float32Array {
    if (!(this.data instanceof Float32Array))
      throw new ShapeError('DTYPE_MISMATCH', `${where}: expected a float32 tensor but received int32 [${this.shape.join(', ')}]`);
    return this.data;
  }

  /** The int32 buffer; throws for float32 tensors. */
  i32(where = 'Tensor'): Int32Array {
    if (!(this.data instanceof Int32Array))
      throw new ShapeError('DTYPE_MISMATCH', `${where}: expected an int32 tensor but received float32 [${this.shape.join(', ')}]`);
    return this.data;
  }

  /** Size of the last dimension. */
  get lastDim(): number {
    return this.shape.length ? this.shape[this.shape.length - 1]! : 1;
  }

  /** Product of all but the last dimension. */
  get rows(): number {
    return this.shape.length ? this.data.length / Math.max(this.lastDim, 1) : 1;
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.data.length !== 1)
      throw new ShapeError('SHAPE_MISMATCH', `item(): tensor has ${this.data.length} elements, expected 1`);
    return this.data[0]!;
  }

  toString(): string {
    return `Tensor(${this.dtype} [${this.shape.join(', ')}]${this.requiresGrad ? ', requiresGrad' : ''})`;
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
