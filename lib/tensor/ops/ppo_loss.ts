// PPO losses with autograd over the fused native kernels: the clipped
// surrogate (with an optional per-token KL penalty) into the policy's
// log-probs, and the clipped value loss into the value head's outputs. Each
// forward computes the loss, its statistics and the gradient in one pass;
// the backward only scales that stored gradient.
import { ShapeError } from '../../errors.js';
import {
  ppoLoss as ppoLossKernel, valueLoss as valueLossKernel,
  type KlMode, type PpoStats, type ValueLossStats,
} from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { scalarOf, scaleInto, zerosLike, type F32Buffer } from '../device.js';
import { Tensor, expectSameShape, sameDevice } from '../tensor.js';

export interface PpoPolicyLossOptions {
  /** Ratio clip ε in (0, 1) (Schulman et al. 2017; TRL cliprange 0.2). */
  clipEps?: number;
  /** Weight of a per-token KL penalty in the loss (≥ 0); 0 when the KL is in the reward, as InstructGPT does. */
  klCoef?: number;
  klMode?: KlMode;
}

export interface PpoValueLossOptions {
  /** Values move at most this far from the rollout's values before the clipped loss takes over (TRL cliprange_value). */
  clipRange?: number;
}

function grid(t: Tensor, where: string): { rows: number; cols: number } {
  if (t.ndim === 0) throw new ShapeError('SHAPE_INVALID', `${where}: expected [rows, cols] per-token tensors, got a scalar`);
  return { rows: t.rows, cols: t.lastDim };
}

/** A scalar whose backward hands `grad`·g to `input`. */
function withStoredGrad(loss: number, input: Tensor, grad: F32Buffer, name: string): Tensor {
  const out = new Tensor(new Float32Array([loss]), []);
  if (needsGrad(input))
    record(out, name, [input], (g) => {
      const s = scalarOf(g);
      if (s !== 1) scaleInto(grad, grad, s);
      return [grad];
    });
  return out;
}

/**
 * L = masked mean of −min(r·A, clip(r, 1−ε, 1+ε)·A) (+ klCoef·k), r = exp(logp − oldLogp).
 * logp is differentiable; the other tensors are rollout constants of the same shape.
 */
export function ppoPolicyLoss(
  logp: Tensor,
  oldLogp: Tensor,
  refLogp: Tensor | null,
  advantages: Tensor,
  mask: Tensor,
  opts: PpoPolicyLossOptions = {},
): { loss: Tensor; stats: PpoStats } {
  for (const [name, t] of [['oldLogp', oldLogp], ['advantages', advantages], ['mask', mask], ['refLogp', refLogp]] as const)
    if (t) expectSameShape(logp, t, `ppoPolicyLoss: logp and ${name}`);
  const { rows, cols } = grid(logp, 'ppoPolicyLoss');
  sameDevice('ppoPolicyLoss', logp, oldLogp, refLogp, advantages, mask);
  const dlogp = zerosLike(logp.f32Buffer('ppoPolicyLoss'));
  const stats = ppoLossKernel(
    logp.f32Buffer('ppoPolicyLoss'), oldLogp.f32Buffer('ppoPolicyLoss'), refLogp ? refLogp.f32Buffer('ppoPolicyLoss') : null,
    advantages.f32Buffer('ppoPolicyLoss'), mask.f32Buffer('ppoPolicyLoss'), dlogp,
    { rows, cols, clipEps: opts.clipEps ?? 0.2, klCoef: opts.klCoef ?? 0, klMode: opts.klMode ?? 'k1' },
  );
  return { loss: withStoredGrad(stats.loss, logp, dlogp, 'ppoPolicyLoss'), stats };
}

/**
 * L = ½ · masked mean of max((v − R)², (clip(v, v_old ± c) − R)²).
 * values is differentiable; oldValues, returns and mask are rollout constants.
 */
export function ppoValueLoss(
  values: Tensor,
  oldValues: Tensor,
  returns: Tensor,
  mask: Tensor,
  opts: PpoValueLossOptions = {},
): { loss: Tensor; stats: ValueLossStats } {
  for (const [name, t] of [['oldValues', oldValues], ['returns', returns], ['mask', mask]] as const)
    expectSameShape(values, t, `ppoValueLoss: values and ${name}`);
  const { rows, cols } = grid(values, 'ppoValueLoss');
  sameDevice('ppoValueLoss', values, oldValues, returns, mask);
  const dvalues = zerosLike(values.f32Buffer('ppoValueLoss'));
  const stats = valueLossKernel(
    values.f32Buffer('ppoValueLoss'), oldValues.f32Buffer('ppoValueLoss'), returns.f32Buffer('ppoValueLoss'), mask.f32Buffer('ppoValueLoss'), dvalues,
    { rows, cols, clipRange: opts.clipRange ?? 0.2 },
  );
  return { loss: withStoredGrad(stats.loss, values, dvalues, 'ppoValueLoss'), stats };
}
