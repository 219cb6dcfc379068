// Learning-rate schedule: linear warmup, then cosine decay to minLr
// (nanoGPT's get_lr). Steps are 0-based optimizer steps.

export interface CosineSchedule {
  /** Peak learning rate, reached at the end of warmup. */
  lr: number;
  /** Steps of linear warmup from 0 (nanoGPT: warmup_iters). */
  warmupSteps: number;
  /** Step at which the decay reaches minLr (nanoGPT: lr_decay_iters). */
  decaySteps: number;
  /** Floor of the decay (nanoGPT: min_lr, typically lr / 10). */
  minLr: number;
}

export function learningRate(step: number, s: CosineSchedule): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / (s.warmupSteps + 1);
  if (step > s.decaySteps) return s.minLr;
  const span = Math.max(s.decaySteps - s.warmupSteps, 1);
  const progress = (step - s.warmupSteps) / span;
  const coeff = 0.5 * (1 + Math.cos(Math.PI * progress)); // 1 → 0
  return s.minLr + coeff * (s.lr - s.minLr);
}
