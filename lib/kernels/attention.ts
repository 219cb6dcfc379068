// Fused attention entry points (FlashAttention-style, memory O(T·d)) on
// row-major Float32Arrays: q/out [batch, heads, tq, headDim],
// k/v [batch, heads, tk, headDim], lse [batch, heads, tq].
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export interface AttentionOptions {
  batch: number;
  heads: number;
  /** Query rows per head. */
  tq: number;
  /** Key/value rows per head (≠ tq for cross-attention and KV-cached decoding). */
  tk: number;
  headDim: number;
  /** Multiplies Q·Kᵀ before the softmax; default 1/sqrt(headDim). */
  scale?: number;
  /** Query i sees key j only when j ≤ i + qOffset (unless j < prefixLen[b]). */
  causal?: boolean;
  /** Position of query row 0 among the keys: the cache length when decoding with a KV cache. */
  qOffset?: number;
  /** Per batch entry: keys [0, prefixLen[b]) are visible to every query even when causal (GLM Part A). */
  prefixLen?: Int32Array;
  /** Per batch entry: only keys [0, kvLen[b]) are valid (right padding). kvLen[b] = 0 masks every row. */
  kvLen?: Int32Array;
}

/**
 * out = softmax(scale·Q·Kᵀ + mask)·V, and lse = log of each row's softmax
 * denominator (saved for the backward pass). Query i may see key j when
 * j < kvLen[b] and (!causal or j ≤ i + qOffset or j < prefixLen[b]); a fully
 * masked row gets out = 0 and lse = −Infinity.
 */
export function attentionForward(
  q: F32Buffer,
  k: F32Buffer,
  v: F32Buffer,
  out: F32Buffer,
  lse: F32Buffer,
  opts: AttentionOptions,
): void {
  addon.attentionForward(q, k, v, out, lse, opts);
}

/**
 * Gradients of attentionForward given dout = ∂loss/∂out and the forward's
 * out and lse. dq, dk and dv are overwritten (not accumulated).
 */
export function attentionBackward(
  dout: F32Buffer,
  q: F32Buffer,
  k: F32Buffer,
  v: F32Buffer,
  out: F32Buffer,
  lse: F32Buffer,
  dq: F32Buffer,
  dk: F32Buffer,
  dv: F32Buffer,
  opts: AttentionOptions,
): void {
  addon.attentionBackward(dout, q, k, v, out, lse, dq, dk, dv, opts);
}
