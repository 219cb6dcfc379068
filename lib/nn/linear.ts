// Linear layer y = x·Wᵀ + b with PyTorch's weight layout [out, in].
// GPT-2 initialisation: N(0, 0.02), zero bias (Radford et al. 2019).
import { linear } from '../tensor/ops/linear.js';
import type { Random } from '../tensor/random.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import { Module } from './module.js';

export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, rng: Random, opts: { bias?: boolean; std?: number } = {}) {
    super();
    this.weight = zeros([outFeatures, inFeatures], true);
    rng.fillNormal(this.weight.f32(), 0, opts.std ?? 0.02);
    this.bias = opts.bias === false ? null : zeros([outFeatures], true);
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
