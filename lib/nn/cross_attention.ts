// Multi-head cross-attention (Vaswani et al. 2017, the decoder's second
// sublayer in T5): queries come from x [B, Tq, C], keys and values from a
// memory [B, Tk, C] (the encoder output). The memory's k/v can be projected
// once and reused for every decoding step, since the encoder runs once.
import { ShapeError } from '../errors.js';
import { attention } from '../tensor/ops/attention.js';
import { narrow, permute, reshape } from '../tensor/ops/shape.js';
import type { Random } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/** The memory's keys and values, each [B, NH, Tk, HS]. */
export interface MemoryKv {
  k: Tensor;
  v: Tensor;
}

export class CrossAttention extends Module {
  c_q: Linear;
  c_kv: Linear;
  c_proj: Linear;

  constructor(readonly dim: number, readonly heads: number, rng: Random, opts: { bias: boolean; projStd: number }) {
    super();
    if (dim % heads !== 0) throw new ShapeError('SHAPE_INVALID', `CrossAttention: dim ${dim} is not divisible by heads ${heads}`);
    this.c_q = new Linear(dim, dim, rng, { bias: opts.bias });
    this.c_kv = new Linear(dim, 2 * dim, rng, { bias: opts.bias });
    this.c_proj = new Linear(dim, dim, rng, { bias: opts.bias, std: opts.projStd });
  }

  get headDim(): number {
    return this.dim / this.heads;
  }

  /** Projects the memory [B, Tk, C] to per-head keys and values (once per sequence). */
  projectMemory(memory: Tensor): MemoryKv {
    const [B, Tk, C] = memory.shape as [number, number, number];
    if (memory.ndim !== 3 || C !== this.dim)
      throw new ShapeError('SHAPE_MISMATCH', `CrossAttention: memory must be [batch, time, ${this.dim}], got [${memory.shape}]`);
    const NH = this.heads, HS = this.headDim;
    const kv = permute(reshape(this.c_kv.forward(memory), [B, Tk, 2, NH, HS]), [2, 0, 3, 1, 4]); // (2, B, NH, Tk, HS)
    return { k: reshape(narrow(kv, 0, 1), [B, NH, Tk, HS]), v: reshape(narrow(kv, 1, 1), [B, NH, Tk, HS]) };
  }

  /**
   * x [B, Tq, C] attends to the memory (given as a tensor, or as k/v from
   * projectMemory); memoryLen[b] marks the padding at the end of row b.
   */
  forward(x: Tensor, memory: Tensor | MemoryKv, memoryLen?: Int32Array): Tensor {
    const [B, Tq] = x.shape as [number, number, number];
    const NH = this.heads, HS = this.headDim;
    const { k, v } = 'k' in memory ? memory : this.projectMemory(memory);
    if (k.shape[0] !== B) throw new ShapeError('SHAPE_MISMATCH', `CrossAttention: x has batch ${B} but the memory has ${k.shape[0]}`);
    const q = permute(reshape(this.c_q.forward(x), [B, Tq, NH, HS]), [0, 2, 1, 3]); // (B, NH, Tq, HS)
    const y = attention(q, k, v, memoryLen ? { kvLen: memoryLen } : {}); // (B, NH, Tq, HS)
    return this.c_proj.forward(reshape(permute(y, [0, 2, 1, 3]), [B, Tq, this.dim])); // (B, Tq, C)
  }
}
