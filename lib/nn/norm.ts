// LayerNorm (GPT-2, BERT) and RMSNorm (LLaMA) over the last dimension.
import { layerNorm, rmsNorm } from '../tensor/ops/norm.js';
import { Tensor, full, zeros } from '../tensor/tensor.js';
import { Module } from './module.js';

export class LayerNorm extends Module {
  weight: Tensor;
  bias: Tensor;
  constructor(dim: number, readonly eps = 1e-5) {
    super();
    this.weight = full([dim], 1);
    this.weight.requiresGrad = true;
    this.bias = zeros([dim], true);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}

export class RMSNorm extends Module {
  weight: Tensor;
  constructor(dim: number, readonly eps = 1e-6) {
    super();
    this.weight = full([dim], 1);
    this.weight.requiresGrad = true;
  }
  forward(x: Tensor): Tensor {
    return rmsNorm(x, this.weight, this.eps);
  }
}

export type Norm = LayerNorm | RMSNorm;
