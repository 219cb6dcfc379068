// Multi-head self-attention (Vaswani et al. 2017) over the fused attention
// kernel: q, k, v come from one fused projection (GPT-2's c_attn). An optional
// KV cache turns it into the incremental form used for decoding. (The kernel
// already supports tq ≠ tk; cross-attention layers arrive with the
// encoder-decoder family.)
import { ShapeError } from '../errors.js';
import { attention, packedAttention, type AttentionMask } from '../tensor/ops/attention.js';
import { applyRope, type RopeTables } from '../tensor/ops/rope.js';
import { narrow, permute, reshape } from '../tensor/ops/shape.js';
import type { Random } from '../tensor/random.js';
import { copyInto, type F32Buffer } from '../tensor/device.js';
import { Tensor } from '../tensor/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/**
 * Keys and values of one layer for decoding, preallocated [B, NH, capacity, HS],
 * with a cached length per row so prompts of different lengths decode together.
 */
export class LayerKvCache {
  /** Tokens cached in each row; row b's keys are [0, lengths[b]). */
  readonly lengths: Int32Array;

  constructor(
    readonly k: F32Buffer,
    readonly v: F32Buffer,
    readonly batch: number,
    readonly capacity: number,
    lengths?: Int32Array,
  ) {
    this.lengths = lengths ?? new Int32Array(batch);
  }

  /** True when every row holds the same number of tokens (the plain batched case). */
  get uniform(): boolean {
    return this.lengths.every((n) => n === this.lengths[0]);
  }

  /** The cached length when all rows agree; setting it resets every row (e.g. 0 to clear). */
  get length(): number {
    if (!this.uniform)
      throw new ShapeError('SHAPE_INVALID', `attention cache: rows hold different lengths [${this.lengths}]; read cache.lengths instead`);
    return this.lengths[0] ?? 0;
  }

  set length(n: number) {
    this.lengths.fill(n);
  }

  /** Row b as a batch-1 cache sharing this one's memory (prefill one prompt at a time). */
  row(b: number): LayerKvCache {
    const n = this.k.length / this.batch;
    return new LayerKvCache(this.k.subarray(b * n, (b + 1) * n), this.v.subarray(b * n, (b + 1) * n), 1, this.capacity, this.lengths.subarray(b, b + 1));
  }
}

export interface AttentionOptions {
  mask?: AttentionMask;
  /** Rotary embeddings (LLaMA): the first token's position, or one per (row, step) [B·T]. */
  rope?: { tables: RopeTables; start: number | Int32Array };
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

  /**
   * Writes this step's k/v after each row's cached tokens and attends over
   * them. Uniform rows use one causal offset; rows of different lengths
   * decode one token at a time, where row b's query sees keys j < kvLen[b]
   * = lengths[b] + 1 and needs no causal mask.
   */
  private attendCached(q: Tensor, k: Tensor, v: Tensor, cache: LayerKvCache, mask: AttentionMask = {}): Tensor {
    const [B, NH, T, HS] = q.shape as [number, number, number, number];
    if (B !== cache.batch) throw new ShapeError('SHAPE_MISMATCH', `attention cache: built for ${cache.batch} rows, got a batch of ${B}`);
    const uniform = cache.uniform;
    if (!uniform && T !== 1)
      throw new ShapeError('SHAPE_INVALID', `attention cache: rows hold different lengths [${cache.lengths}], so steps must be one token (got ${T}); prefill each row through cache.row(b)`);
    const longest = cache.lengths.reduce((a, n) => Math.max(a, n), 0);
    if (longest + T > cache.capacity)
      throw new ShapeError('SHAPE_INVALID', `attention cache: ${longest} cached + ${T} new tokens exceed its capacity ${cache.capacity}`);
    const kd = k.f32Buffer(), vd = v.f32Buffer();
    if (kd instanceof Float32Array !== cache.k instanceof Float32Array)
      throw new ShapeError('SHAPE_MISMATCH', `attention cache: the cache is on ${cache.k instanceof Float32Array ? 'cpu' : 'cuda'} but the keys are on ${k.device}; create the cache after moving the model`);
    for (let bh = 0; bh < B * NH; bh++) {
      const dst = (bh * cache.capacity + cache.lengths[Math.floor(bh / NH)]!) * HS;
      copyInto(cache.k.subarray(dst, dst + T * HS), kd.subarray(bh * T * HS, (bh + 1) * T * HS));
      copyInto(cache.v.subarray(dst, dst + T * HS), vd.subarray(bh * T * HS, (bh + 1) * T * HS));
    }
    const kvLen = mask.kvLen ?? cache.lengths.map((n) => n + T);
    const shape = [B, NH, cache.capacity, HS];
    const out = attention(q, new Tensor(cache.k, shape), new Tensor(cache.v, shape), uniform
      ? { ...mask, causal: mask.causal ?? true, qOffset: cache.lengths[0] ?? 0, kvLen }
      : { ...mask, causal: false, qOffset: 0, kvLen });
    for (let b = 0; b < B; b++) cache.lengths[b]! += T;
    return out;
  }
}
