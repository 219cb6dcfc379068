// A pre-LN decoder block with a cross-attention sublayer (the decoder block of
// an encoder-decoder transformer, Vaswani et al. 2017; T5 orders it the same):
//   x = x + self_attn(ln_1(x))
//   x = x + cross_attn(ln_cross(x), memory)
//   x = x + mlp(ln_2(x))
// Self-attention is causal over the target; cross-attention sees every real
// memory position (memoryLen hides the source padding).
import { add } from '../tensor/ops/elementwise.js';
import { dropout } from '../tensor/ops/dropout.js';
import type { Random } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { MultiHeadAttention, type AttentionOptions } from './attention.js';
import type { BlockConfig } from './block.js';
import { CrossAttention, type MemoryKv } from './cross_attention.js';
import { MLP } from './mlp.js';
import { Module } from './module.js';
import { LayerNorm, RMSNorm, type Norm } from './norm.js';

export class DecoderBlockWithCross extends Module {
  ln_1: Norm;
  attn: MultiHeadAttention;
  ln_cross: Norm;
  crossattention: CrossAttention;
  ln_2: Norm;
  mlp: MLP;

  constructor(readonly config: BlockConfig, rng: Random, private readonly dropoutRng: Random) {
    super();
    const makeNorm = () => (config.norm === 'rmsnorm' ? new RMSNorm(config.dim, config.normEps) : new LayerNorm(config.dim, config.normEps, config.bias));
    const proj = { bias: config.bias, projStd: config.projStd };
    this.ln_1 = makeNorm();
    this.attn = new MultiHeadAttention(config.dim, config.heads, rng, proj);
    this.ln_cross = makeNorm();
    this.crossattention = new CrossAttention(config.dim, config.heads, rng, proj);
    this.ln_2 = makeNorm();
    this.mlp = new MLP(config.dim, config.hidden, config.activation, rng, proj);
  }

  /** memory: the encoder output [B, Tk, C] or its k/v from crossattention.projectMemory (reused across decoding steps). */
  forward(x: Tensor, memory: Tensor | MemoryKv, memoryLen: Int32Array | undefined, opts: AttentionOptions = {}): Tensor {
    const p = this.training ? this.config.dropout : 0;
    x = add(x, dropout(this.attn.forward(this.ln_1.forward(x), { mask: { causal: true }, ...opts }), p, this.dropoutRng));
    x = add(x, dropout(this.crossattention.forward(this.ln_cross.forward(x), memory, memoryLen), p, this.dropoutRng));
    return add(x, dropout(this.mlp.forward(this.ln_2.forward(x)), p, this.dropoutRng));
  }
}
