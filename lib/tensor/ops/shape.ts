// Shape ops with autograd: reshape and narrow (views of the same data),
// transpose and permute (copies, by the native strided-copy kernel),
// indexSelect (a row gather, by the embedding kernels).
import { ShapeError } from '../../errors.js';
import { embeddingBackward, embeddingForward } from '../../kernels/embedding.js';
import { permute as permuteKernel } from '../../kernels/permute.js';
import { needsGrad, record } from '../autograd.js';
import { indicesOn, zerosLike } from '../device.js';
import { Tensor, numel, type Shape } from '../tensor.js';

/** Same elements, new shape; one dimension may be -1 (inferred). */
export function reshape(a: Tensor, shape: Shape): Tensor {
  const known = shape.filter((d) => d !== -1);
  const inferred = shape.length - known.length;
  if (inferred > 1) throw new ShapeError('SHAPE_INVALID', `reshape: at most one -1 in [${shape.join(', ')}]`);
  const rest = numel(known);
  const resolved = shape.map((d) => (d === -1 ? (rest === 0 ? 0 : a.size / rest) : d));
  if (numel(resolved) !== a.size || resolved.some((d) => !Number.isInteger(d)))
    throw new ShapeError('SHAPE_MISMATCH', `reshape: cannot view [${a.shape.join(', ')}] (${a.size} elements) as [${shape.join(', ')}]`);
  const t = new Tensor(a.buffer, resolved);
  if (needsGrad(a)) record(t, 'reshape', [a], (g) => [g]);
  return t;
}

/** Swaps axes i and j (negative axes count from the end). Copies. */
export function transpose(a: Tensor, i: number, j: number): Tensor {
  const nd = a.ndim;
  const ai = i < 0 ? nd + i : i;
  const aj = j < 0 ? nd + j : j;
  if (ai < 0 || ai >= nd || aj < 0 || aj >= nd)
    throw new ShapeError('SHAPE_INVALID', `transpose: axes ${i}, ${j} out of range for [${a.shape.join(', ')}]`);
  const perm = [...Array(nd).keys()];
  perm[ai] = aj;
  perm[aj] = ai;
  return permute(a, perm);
}

/** out.shape[k] = a.shape[perm[k]]. Copies (native strided copy). */
export function permute(a: Tensor, perm: readonly number[]): Tensor {
  const nd = a.ndim;
  if (perm.length !== nd || [...perm].sort((x, y) => x - y).some((p, k) => p !== k))
    throw new ShapeError('SHAPE_INVALID', `permute: [${perm.join(', ')}] is not a permutation of ${nd} axes`);
  const src = a.f32Buffer('permute');
  const outShape = perm.map((p) => a.shape[p]!);
  const out = zerosLike(src);
  permuteKernel(src, out, { shape: Int32Array.from(a.shape), perm: Int32Array.from(perm) });
  const t = new Tensor(out, outShape);
  if (needsGrad(a)) {
    const inverse = new Int32Array(nd);
    perm.forEach((p, k) => (inverse[p] = k));
    record(t, 'permute', [a], (g) => {
      const ga = zerosLike(g);
      permuteKernel(g, ga, { shape: Int32Array.from(outShape), perm: inverse });
      return [ga];
    });
  }
  return t;
}

/**
 * Entries [start, start + length) of the first axis, sharing the data (no
 * copy). The backward hands back a segment gradient, not a full-size buffer.
 */
export function narrow(a: Tensor, start: number, length: number): Tensor {
  const first = a.shape[0] ?? 0;
  if (a.ndim === 0 || !Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > first)
    throw new ShapeError('SHAPE_INVALID', `narrow: [${start}, ${start + length}) is outside the first axis of [${a.shape.join(', ')}]`);
  const inner = first === 0 ? 0 : a.size / first;
  const offset = start * inner;
  const t = new Tensor(a.buffer.subarray(offset, offset + length * inner), [length, ...a.shape.slice(1)]);
  if (needsGrad(a)) record(t, 'narrow', [a], (g) => [{ offset, values: g }]);
  return t;
}

/**
 * Rows of `a` along its first axis (PyTorch index_select(0, index)):
 * out[i] = a[index[i]], out shape [index.length, ...a.shape[1:]]. Copies;
 * the backward scatter-adds, so repeated indices accumulate.
 */
export function indexSelect(a: Tensor, index: Int32Array): Tensor {
  const first = a.shape[0] ?? 0;
  if (a.ndim === 0) throw new ShapeError('SHAPE_INVALID', 'indexSelect: a scalar has no first axis to select from');
  for (let i = 0; i < index.length; i++)
    if (!(index[i]! >= 0 && index[i]! < first))
      throw new ShapeError('SHAPE_INVALID', `indexSelect: index[${i}] = ${index[i]} is outside the first axis of [${a.shape.join(', ')}]`);
  const inner = first === 0 ? 0 : a.size / first;
  const outShape = [index.length, ...a.shape.slice(1)];
  const src = a.f32Buffer('indexSelect');
  const out = zerosLike(src, index.length * inner);
  const rows = index.length > 0 && inner > 0 ? indicesOn(index, a.device) : index;
  // The embedding kernels are exactly a row gather and its scatter-add.
  if (inner > 0 && index.length > 0) embeddingForward(rows, src, out, { dim: inner });
  const t = new Tensor(out, outShape);
  if (needsGrad(a))
    record(t, 'indexSelect', [a], (g) => {
      const ga = zerosLike(src);
      if (inner > 0 && index.length > 0) embeddingBackward(rows, g, ga, { dim: inner });
      return [ga];
    });
  return t;
}
