// Scaled dot-product attention with autograd over the fused native kernel
// (FlashAttention-style: the T×T scores never exist, backward recomputes them).
import { ShapeError } from '../../errors.js';
import { attentionBackward, attentionForward, type AttentionOptions } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { zerosLike, type F32Buffer } from '../device.js';
import { Tensor, sameDevice } from '../tensor.js';

export interface AttentionMask {
  /** Query i may only see keys j ≤ i + qOffset (decoder). */
  causal?: boolean;
  /** Keys j < prefixLen[b] are visible to every query (GLM Part A). */
  prefixLen?: Int32Array;
  /** Keys j ≥ kvLen[b] are padding (never visible). */
  kvLen?: Int32Array;
  /** Position of query 0 among the keys (KV-cached decoding). */
  qOffset?: number;
  /** Defaults to 1/sqrt(headDim). */
  scale?: number;
}

/** softmax(q·kᵀ·scale + mask)·v; q [B, NH, Tq, HS], k/v [B, NH, Tk, HS]. */
export function attention(q: Tensor, k: Tensor, v: Tensor, mask: AttentionMask = {}): Tensor {
  if (q.ndim !== 4 || k.ndim !== 4 || v.ndim !== 4)
    throw new ShapeError('SHAPE_MISMATCH', `attention: q, k, v must be [batch, heads, time, headDim]; got [${q.shape}], [${k.shape}], [${v.shape}]`);
  const [batch, heads, tq, headDim] = q.shape as [number, number, number, number];
  const tk = k.shape[2]!;
  if (k.shape[0] !== batch || k.shape[1] !== heads || k.shape[3] !== headDim || v.shape.some((d, i) => d !== k.shape[i]))
    throw new ShapeError('SHAPE_MISMATCH', `attention: q [${q.shape}], k [${k.shape}], v [${v.shape}] do not fit together`);
  const opts = kernelOptions(batch, heads, tq, tk, headDim, mask);
  sameDevice('attention', q, k, v);
  const qd = q.f32Buffer('attention'), kd = k.f32Buffer('attention'), vd = v.f32Buffer('attention');
  const { out, lse } = forward(qd, kd, vd, opts);
  const y = new Tensor(out, q.shape);
  if (needsGrad(q, k, v))
    record(y, 'attention', [q, k, v], (g) => {
      const dq = zerosLike(qd), dk = zerosLike(kd), dv = zerosLike(vd);
      attentionBackward(g, qd, kd, vd, out, lse, dq, dk, dv, opts);
      return [dq, dk, dv];
    });
  return y;
}

/**
 * Self-attention over q, k, v packed in one tensor qkv [3, B, NH, T, HS]
 * (the fused projection's heads, split by one permute). The backward writes
 * dq, dk, dv straight into one gradient for qkv: no per-part buffers to sum.
 */
export function packedAttention(qkv: Tensor, mask: AttentionMask = {}): Tensor {
  if (qkv.ndim !== 5 || qkv.shape[0] !== 3)
    throw new ShapeError('SHAPE_MISMATCH', `packedAttention: qkv must be [3, batch, heads, time, headDim]; got [${qkv.shape}]`);
  const [, batch, heads, time, headDim] = qkv.shape as [3, number, number, number, number];
  const opts = kernelOptions(batch, heads, time, time, headDim, mask);
  const d = qkv.f32Buffer('packedAttention');
  const n = d.length / 3;
  const part = (buf: F32Buffer, i: number): F32Buffer => buf.subarray(i * n, (i + 1) * n); // (B, NH, T, HS)
  const { out, lse } = forward(part(d, 0), part(d, 1), part(d, 2), opts);
  const y = new Tensor(out, qkv.shape.slice(1));
  if (needsGrad(qkv))
    record(y, 'packedAttention', [qkv], (g) => {
      const dqkv = zerosLike(d);
      attentionBackward(g, part(d, 0), part(d, 1), part(d, 2), out, lse, part(dqkv, 0), part(dqkv, 1), part(dqkv, 2), opts);
      return [dqkv];
    });
  return y;
}

function kernelOptions(batch: number, heads: number, tq: number, tk: number, headDim: number, mask: AttentionMask): AttentionOptions {
  return {
    batch, heads, tq, tk, headDim,
    causal: mask.causal ?? false,
    qOffset: mask.qOffset ?? 0,
    ...(mask.scale !== undefined ? { scale: mask.scale } : {}),
    ...(mask.prefixLen ? { prefixLen: mask.prefixLen } : {}),
    ...(mask.kvLen ? { kvLen: mask.kvLen } : {}),
  };
}

function forward(q: F32Buffer, k: F32Buffer, v: F32Buffer, opts: AttentionOptions): { out: F32Buffer; lse: F32Buffer } {
  const out = zerosLike(q);
  const lse = zerosLike(q, opts.batch * opts.heads * opts.tq);
  attentionForward(q, k, v, out, lse, opts);
  return { out, lse };
}
