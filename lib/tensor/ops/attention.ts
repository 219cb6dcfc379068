// Scaled dot-product attention with autograd over the fused native kernel
// (FlashAttention-style: the T×T scores never exist, backward recomputes them).
import { ShapeError } from '../../errors.js';
import { attentionBackward, attentionForward } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { Tensor } from '../tensor.js';

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
  const opts = {
    batch, heads, tq, tk, headDim,
    causal: mask.causal ?? false,
    qOffset: mask.qOffset ?? 0,
    ...(mask.scale !== undefined ? { scale: mask.scale } : {}),
    ...(mask.prefixLen ? { prefixLen: mask.prefixLen } : {}),
    ...(mask.kvLen ? { kvLen: mask.kvLen } : {}),
  };
  const qd = q.f32('attention'), kd = k.f32('attention'), vd = v.f32('attention');
  const out = new Float32Array(qd.length);
  const lse = new Float32Array(batch * heads * tq);
  attentionForward(qd, kd, vd, out, lse, opts);
  const y = new Tensor(out, q.shape);
  if (needsGrad(q, k, v))
    record(y, 'attention', [q, k, v], (g) => {
      const dq = new Float32Array(qd.length), dk = new Float32Array(kd.length), dv = new Float32Array(vd.length);
      attentionBackward(g, qd, kd, vd, out, lse, dq, dk, dv, opts);
      return [dq, dk, dv];
    });
  return y;
}
