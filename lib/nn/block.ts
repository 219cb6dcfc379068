// The pre-LN transformer block (GPT-2, Radford et al. 2019):
//   x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))
import { add } from '../tensor/ops/elementwise.js';
import { dropout } from '../tensor/ops/dropout.js';
import type { Random } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { MultiHeadAttention, type AttentionOptions } from './attention.js';
import { MLP, type Activation } from './mlp.js';
import { Module } from './module.js';
import { LayerNorm, RMSNorm, type Norm } from './norm.js';

export interface BlockConfig {
  dim: number;
  heads: number;
  hidden: number;
  activation: Activation;
  norm: 'layernorm' | 'rmsnorm';
  normEps: number;
  bias: boolean;
  dropout: number;
  /** Std of the residual output projections (GPT-2: 0.02/sqrt(2·layers)). */
  projStd: number;
}

export class TransformerBlock extends Module {
  ln_1: Norm;
  attn: MultiHeadAttention;
  ln_2: Norm;
  mlp: MLP;

  constructor(readonly config: BlockConfig, rng: Random, private readonly dropoutRng: Random) {
    super();
    const makeNorm = () => (config.norm === 'rmsnorm' ? new RMSNorm(config.dim, config.normEps) : new LayerNorm(config.dim, config.normEps, config.bias));
    this.ln_1 = makeNorm();
    this.attn = new MultiHeadAttention(config.dim, config.heads, rng, { bias: config.bias, projStd: config.projStd });
    this.ln_2 = makeNorm();
    this.mlp = new MLP(config.dim, config.hidden, config.activation, rng, { bias: config.bias, projStd: config.projStd });
  }

  forward(x: Tensor, opts: AttentionOptions = {}): Tensor {
    const p = this.training ? this.config.dropout : 0;
    x = add(x, dropout(this.attn.forward(this.ln_1.forward(x), opts), p, this.dropoutRng));
    return add(x, dropout(this.mlp.forward(this.ln_2.forward(x)), p, this.dropoutRng));
  }
}
