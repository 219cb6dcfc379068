// The position-wise feed-forward network of a transformer block:
// GPT-2: c_proj(GELU(c_fc(x)));  LLaMA (Shazeer 2020, SwiGLU):
// c_proj(SiLU(c_gate(x)) ∘ c_fc(x)).
import { gelu, silu, type GeluApproximation } from '../tensor/ops/activation.js';
import { mul } from '../tensor/ops/elementwise.js';
import type { Random } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

export type Activation = 'gelu' | 'gelu_tanh' | 'swiglu';

export class MLP extends Module {
  c_fc: Linear;
  c_gate: Linear | null;
  c_proj: Linear;

  constructor(dim: number, hidden: number, readonly activation: Activation, rng: Random, opts: { bias: boolean; projStd: number }) {
    super();
    this.c_fc = new Linear(dim, hidden, rng, { bias: opts.bias });
    this.c_gate = activation === 'swiglu' ? new Linear(dim, hidden, rng, { bias: opts.bias }) : null;
    this.c_proj = new Linear(hidden, dim, rng, { bias: opts.bias, std: opts.projStd });
  }

  forward(x: Tensor): Tensor {
    const up = this.c_fc.forward(x);
    let h: Tensor;
    if (this.c_gate) h = mul(silu(this.c_gate.forward(x)), up);
    else h = gelu(up, (this.activation === 'gelu_tanh' ? 'tanh' : 'none') as GeluApproximation);
    return this.c_proj.forward(h);
  }
}
