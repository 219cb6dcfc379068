// Optimizer kernels: one AdamW step (torch.optim.AdamW's arithmetic) and
// global gradient-norm clipping (torch.nn.utils.clip_grad_norm_).
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export interface AdamWOptions {
  /** Learning rate (≥ 0). */
  lr: number;
  /** First-moment decay, in [0, 1). */
  beta1?: number;
  /** Second-moment decay, in [0, 1). */
  beta2?: number;
  /** Added to the bias-corrected sqrt(v) (≥ 0). */
  eps?: number;
  /** Decoupled weight decay (≥ 0): p ← p·(1 − lr·weightDecay). */
  weightDecay?: number;
  /** 1-based step count, after this step (bias corrections use it). */
  step: number;
  /** Per element: decay where nonzero; none where 0 (biases, norms). Default: all decay. */
  decayMask?: Uint8Array;
}

export interface ClipGradNormOptions {
  /** Largest allowed global L2 norm (> 0). */
  maxNorm: number;
}

/** One AdamW step, updating param, m and v in place. */
export function adamwStep(param: F32Buffer, grad: F32Buffer, m: F32Buffer, v: F32Buffer, opts: AdamWOptions): void {
  addon.adamwStep(param, grad, m, v, opts);
}

/**
 * Scales every buffer by maxNorm / (norm + 1e-6) when that is < 1, norm being
 * the global L2 norm over all of them. Returns the norm before clipping; a
 * non-finite norm is returned as is and nothing is scaled (skip the step).
 */
export function clipGradNorm(grads: F32Buffer[], opts: ClipGradNormOptions): number {
  return addon.clipGradNorm(grads, opts);
}
