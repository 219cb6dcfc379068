// The KL penalty coefficient β of RLHF rewards. Adaptive (Ziegler et al.
// 2019, §2.2; TRL AdaptiveKLController): after each rollout batch,
//   e = clip(KL / KL_target − 1, −0.2, 0.2),   β ← β·(1 + e·n_steps / horizon),
// a proportional controller that steers the measured sequence KL toward
// the target. Fixed: β never changes.
import { ConfigError } from '../errors.js';

export interface KlController {
  /** The current β. */
  readonly value: number;
  /** Feeds the KL measured on a rollout batch of nSteps samples. */
  update(currentKl: number, nSteps: number): void;
}

function checkBeta(where: string, beta: number): void {
  if (!(typeof beta === 'number' && Number.isFinite(beta) && beta >= 0))
    throw new ConfigError('CONFIG_INVALID', `${where}: the initial KL coefficient β must be a finite number ≥ 0, got ${beta}; a negative β would reward drifting from the reference`);
}

function checkUpdate(where: string, currentKl: number, nSteps: number): void {
  if (!Number.isFinite(currentKl)) throw new ConfigError('CONFIG_INVALID', `${where}.update: the measured KL must be finite, got ${currentKl}`);
  if (!Number.isSafeInteger(nSteps) || nSteps < 0) throw new ConfigError('CONFIG_INVALID', `${where}.update: nSteps must be a non-negative integer, got ${nSteps}`);
}

export class FixedKlController implements KlController {
  readonly value: number;

  constructor(klCoef: number) {
    checkBeta('FixedKlController', klCoef);
    this.value = klCoef;
  }

  update(currentKl: number, nSteps: number): void {
    checkUpdate('FixedKlController', currentKl, nSteps);
  }
}

export interface AdaptiveKlOptions {
  /** β before the first update (TRL init_kl_coef 0.2). */
  initKlCoef: number;
  /** The sequence KL (nats) to steer toward (TRL target 6). */
  target: number;
  /** Samples over which a full ±20% error moves β by 20% (TRL horizon 10000). */
  horizon: number;
}

export class AdaptiveKlController implements KlController {
  private beta: number;
  readonly target: number;
  readonly horizon: number;

  constructor(o: AdaptiveKlOptions) {
    checkBeta('AdaptiveKlController', o.initKlCoef);
    if (!(Number.isFinite(o.target) && o.target > 0)) throw new ConfigError('CONFIG_INVALID', `AdaptiveKlController: target must be a finite KL > 0, got ${o.target}`);
    if (!(Number.isFinite(o.horizon) && o.horizon > 0)) throw new ConfigError('CONFIG_INVALID', `AdaptiveKlController: horizon must be a finite number > 0, got ${o.horizon}`);
    this.beta = o.initKlCoef;
    this.target = o.target;
    this.horizon = o.horizon;
  }

  get value(): number {
    return this.beta;
  }

  update(currentKl: number, nSteps: number): void {
    checkUpdate('AdaptiveKlController', currentKl, nSteps);
    const error = Math.min(Math.max(currentKl / this.target - 1, -0.2), 0.2);
    this.beta *= 1 + (error * nSteps) / this.horizon;
  }
}
