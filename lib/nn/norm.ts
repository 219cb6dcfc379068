// LayerNorm (GPT-2, BERT) and RMSNorm (LLaMA) over the last dimension.
import { layerNorm, rmsNorm } from '../tensor/ops/norm.js';
import { Tensor, full, zeros } from '../tensor/tensor.js';
import { Module } from './module.js';

export class LayerNorm extends Module {
  weight: Tensor;
  /** null without a bias (nanoGPT's bias=False): a constant zero is used. */
  bias: Tensor | null;
  private readonly zeroBias: Tensor | null;
  constructor(dim: number, readonly eps = 1e-5, bias = true) {
    super();
    this.weight = full([dim], 1);
    this.weight.requiresGrad = true;
    this.bias = bias ? zeros([dim], true) : null;
    this.zeroBias = bias ? null : zeros([dim]);
  }
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, (this.bias ?? this.zeroBias)!, this.eps);
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
