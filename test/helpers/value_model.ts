// A small value model for the PPO tests (the RewardModel of lib/models is
// another helper's; it plugs into the same ValueModel interface): a tiny
// causal DecoderLM whose per-position logits a linear layer maps to V(s).
import { DecoderLM } from '../../lib/models/decoder.js';
import { Linear } from '../../lib/nn/linear.js';
import { Module } from '../../lib/nn/module.js';
import { reshape } from '../../lib/tensor/ops/shape.js';
import { Random } from '../../lib/tensor/random.js';
import type { Tensor } from '../../lib/tensor/tensor.js';

export class LogitsValueModel extends Module {
  trunk: DecoderLM;
  head: Linear;

  constructor(config: Record<string, unknown>, seed: number) {
    super();
    this.trunk = new DecoderLM(config, seed);
    this.head = new Linear(this.trunk.config.vocab_size, 1, new Random(seed + 100), { std: 0.1 });
  }

  /** tokens [B, T] → values [B, T]. */
  values(tokens: Tensor): Tensor {
    const [B, T] = tokens.shape as [number, number];
    return reshape(this.head.forward(this.trunk.forward(tokens)), [B, T]); // (B, T, V) → (B, T, 1) → (B, T)
  }
}
