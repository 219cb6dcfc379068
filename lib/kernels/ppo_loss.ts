// PPO losses (SPEC §2): the clipped policy surrogate with a KL penalty and the
// clipped value loss, each a fused forward + gradient over [rows, cols] tokens.
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export type KlMode = 'k1' | 'k3';

export interface PpoLossOptions {
  rows: number;
  cols: number;
  /** Ratio clip ε, in (0, 1): r is clipped to [1−ε, 1+ε]. */
  clipEps?: number;
  /** Weight of the per-token KL penalty (≥ 0); > 0 needs refLogp. */
  klCoef?: number;
  /** k1 = logp − refLogp; k3 = exp(refLogp − logp) − 1 − (refLogp − logp) (unbiased, ≥ 0). */
  klMode?: KlMode;
}

export interface PpoStats {
  /** Σ mask·(policy + klCoef·k) / Σ mask; 0 when the mask is empty. */
  loss: number;
  /** Masked mean of the clipped surrogate −min(r·A, clip(r)·A). */
  policyLoss: number;
  /** Masked mean of the per-token k (k1 or k3); 0 without refLogp. */
  kl: number;
  /** Masked fraction of tokens whose clipped term is the active one (TRL's pg_clipfrac). */
  clipFrac: number;
  /** Masked mean of ½(logp − oldLogp)². */
  approxKl: number;
}

export interface ValueLossOptions {
  rows: number;
  cols: number;
  /** Values are clipped to oldValues ± clipRange (≥ 0). */
  clipRange?: number;
}

export interface ValueLossStats {
  /** ½·Σ mask·max((v − R)², (clip(v) − R)²) / Σ mask. */
  loss: number;
  /** Masked fraction where the clipped loss is the larger (TRL's vf_clipfrac). */
  clipFrac: number;
}

/**
 * PPO policy loss; writes dlogp = ∂loss/∂logp. Tokens with mask = 0 are
 * skipped entirely (NaN there does not reach the loss); NaN/Inf in a counted
 * token propagates to the loss. refLogp may be null when klCoef = 0.
 */
export function ppoLoss(
  logp: F32Buffer,
  oldLogp: F32Buffer,
  refLogp: F32Buffer | null,
  advantages: F32Buffer,
  mask: F32Buffer,
  dlogp: F32Buffer,
  opts: PpoLossOptions,
): PpoStats {
  return addon.ppoLoss(logp, oldLogp, refLogp, advantages, mask, dlogp, opts);
}

/** Clipped value loss; writes dvalues = ∂loss/∂values. */
export function valueLoss(
  values: F32Buffer,
  oldValues: F32Buffer,
  returns: F32Buffer,
  mask: F32Buffer,
  dvalues: F32Buffer,
  opts: ValueLossOptions,
): ValueLossStats {
  return addon.valueLoss(values, oldValues, returns, mask, dvalues, opts);
}
