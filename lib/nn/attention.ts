// Multi-head attention (Vaswani et al. 2017) over the fused attention kernel.
// Self-attention projects q, k, v with one fused matrix (GPT-2's c_attn);
// cross-attention takes queries from x and keys/values from a memory (the
// encoder output of T5). An optional KV cache turns self-attention into the
// incremental form used for decoding.
import { ShapeError } from '../errors.js';
import { attention, packedAttention, type AttentionMask } from '../tensor/ops/attention.js';
import { applyRope, type RopeTables } from '../tensor/ops/rope.js';
import { narrow, permute, reshape } from '../tensor/ops/shape.js';
import type { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/** Keys and values of one layer for decoding, preallocated [B, NH, capacity, HS]. */
export interface LayerKvCache {
  k: Float32Array;
  v: Float32Array;
  capacity: number;
  /** Tokens already cached (the same for every row of the batch). */
  length: number;
}

export interface AttentionOptions {
  mask?: AttentionMask;
  /** Rotary embeddings (LLaMA) and the position of the first token. */
  rope?: { tables: RopeTables; start: number };
  /** Incremental decoding: append this step's k/v and attend over the cache. */
  cache?: LayerKvCache;
}

export class MultiHeadAttention extends Module {
  c_attn: Linear;
  c_proj: Linear;

  constructor(readonly dim: number, readonly heads: number, rng: Random, opts: { bias: boolean; projStd: number }) {
    super();
    if (dim % heads !== 0) throw new ShapeError('SHAPE_INVALID', `MultiHeadAttention: dim ${dim} is not divisible by heads ${heads}`);
    this.c_attn = new Linear(dim, 3 * dim, rng, { bias: opts.bias });
    this.c_proj = new Linear(dim, dim, rng, { bias: opts.bias, std: opts.projStd });
  }

  get headDim(): number {
    return this.dim / this.heads;
  }

  /** x [B, T, C] → [B, T, C]. */
  forward(x: Tensor, opts: AttentionOptions = {}): Tensor {
    const [B, T] = x.shape as [number, number, number];
    const NH = this.heads, HS = this.headDim;
    const qkv = this.c_attn.forward(x); // (B, T, 3C)
    const heads = permute(reshape(qkv, [B, T, 3, NH, HS]), [2, 0, 3, 1, 4]); // (3, B, NH, T, HS)
    if (!opts.rope && !opts.cache) {
      // Plain self-attention reads q, k, v in place from the packed heads.
      const y = packedAttention(heads, opts.mask); // (B, NH, T, HS)
      return this.c_proj.forward(reshape(permute(y, [0, 2, 1, 3]), [B, T, this.dim])); // (B, T, C)
    }
    let q = reshape(narrow(heads, 0, 1), [B, NH, T, HS]);
    let k = reshape(narrow(heads, 1, 1), [B, NH, T, HS]);
    const v = reshape(narrow(heads, 2, 1), [B, NH, T, HS]);
    if (opts.rope) {
      q = applyRope(q, opts.rope.tables, opts.rope.start);
      k = applyRope(k, opts.rope.tables, opts.rope.start);
    }
    const y = opts.cache ? this.attendCached(q, k, v, opts.cache, opts.mask) : attention(q, k, v, opts.mask);
    return this.c_proj.forward(reshape(permute(y, [0, 2, 1, 3]), [B, T, this.dim])); // (B, T, C)
  }

  /** Writes this step's k/v at the cache's end and attends over all of it. */
  private attendCached(q: Tensor, k: Tensor, v: Tensor, cache: LayerKvCache, mask: AttentionMask = {}): Tensor {
    const [B, NH, T, HS] = q.shape as [number, number, number, number];
    if (cache.length + T > cache.capacity)
      throw new ShapeError('SHAPE_INVALID', `attention cache: ${cache.length} cached + ${T} new tokens exceed its capacity ${cache.capacity}`);
    const kd = k.f32(), vd = v.f32();
    for (let bh = 0; bh < B * NH; bh++) {
      const dst = (bh * cache.capacity + cache.length) * HS;
      cache.k.set(kd.subarray(bh * T * HS, (bh + 1) * T * HS), dst);
      cache.v.set(vd.subarray(bh * T * HS, (bh + 1) * T * HS), dst);
    }
    const kvLen = mask.kvLen ?? new Int32Array(B).fill(cache.length + T);
    const shape = [B, NH, cache.capacity, HS];
    const out = attention(q, new Tensor(cache.k, shape), new Tensor(cache.v, shape), {
      ...mask, causal: mask.causal ?? true, qOffset: cache.length, kvLen,
    });
    cache.length += T;
    return out;
  }
}
