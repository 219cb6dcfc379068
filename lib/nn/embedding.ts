// Token / position embedding table [vocab, dim], N(0, 0.02) like GPT-2.
import { embedding } from '../tensor/ops/embedding.js';
import type { Random } from '../tensor/random.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import { Module } from './module.js';

export class Embedding extends Module {
  weight: Tensor;

  constructor(count: number, dim: number, rng: Random, std = 0.02) {
    super();
    this.weight = zeros([count, dim], true);
    rng.fillNormal(this.weight.f32(), 0, std);
  }

  forward(ids: Tensor): Tensor {
    return embedding(ids, this.weight);
  }
}
