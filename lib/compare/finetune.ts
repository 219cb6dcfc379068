// The fine-tuning every family gets in `lmkit compare`: the same optimizer
// (AdamW, β2 0.99, no weight decay), schedule (linear warmup, cosine to a
// tenth), clipping (1.0), steps and batch size, over a loss the family
// supplies. Batches come from seeded epochs in length-grouped order (HF's
// group_by_length: little padding without packing). Runs in memory on
// pre-training's loop (lib/stages/training_loop.ts): no checkpoints, no
// metrics file; a NaN/Inf loss stops it with a TrainingError.
import type { Module } from '../nn/module.js';
import { AdamW } from '../optim/adamw.js';
import { EpochSampler } from '../stages/epoch_sampler.js';
import { lengthGroupedOrder } from '../stages/sft_data.js';
import { accumulateLosses, runTrainingLoop, type LoopConfig } from '../stages/training_loop.js';
import { Random } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

export interface FineTuneSettings {
  /** Optimizer steps. */
  iters: number;
  /** Examples per step. */
  batchSize: number;
  /** Peak learning rate (2e-3 – 3e-3 suits these small models). */
  learningRate: number;
  /** Seeds the data order (and the caller's new heads). */
  seed: number;
}

export interface FineTuneStats {
  /** Mean loss of the last step. */
  finalLoss: number;
  /** (step, loss) every tenth of the run, for curves. */
  curve: [number, number][];
  seconds: number;
}

/**
 * Trains `model` in place: each step draws batchSize example indices and
 * `lossOf` turns them into the mean loss. `lengths[i]` (tokens of example i)
 * groups similar lengths into the same batch.
 */
export function fineTune(model: Module, lengths: readonly number[], s: FineTuneSettings, lossOf: (indices: readonly number[]) => Tensor): FineTuneStats {
  const started = performance.now();
  const grouping = new Random(s.seed + 3);
  const sampler = new EpochSampler(lengths.length, s.seed + 2, (order) => lengthGroupedOrder(order, lengths, s.batchSize, grouping));
  const optimizer = new AdamW(model.namedParameters(), { beta1: 0.9, beta2: 0.99, weightDecay: 0 });
  const config: LoopConfig = {
    max_iters: s.iters, learning_rate: s.learningRate, min_lr: s.learningRate / 10,
    warmup_iters: Math.min(20, Math.floor(s.iters / 10)), lr_decay_iters: s.iters, decay_lr: true, grad_clip: 1,
    eval_interval: 0, log_interval: Math.max(1, Math.floor(s.iters / 10)), checkpoint_interval: 0, skip_nonfinite: false,
  };
  const curve: [number, number][] = [];
  let finalLoss = NaN;
  model.train();
  runTrainingLoop({
    config, optimizer, startIter: 0, resumed: false, metrics: null, checkpointDir: null,
    elapsed: () => (performance.now() - started) / 1000,
    emit: (e) => {
      if (e.type !== 'step') return;
      finalLoss = e.loss;
      if (e.logged) curve.push([e.iter, e.loss]);
    },
    accumulate: () => {
      const batch = sampler.next(s.batchSize);
      return { loss: accumulateLosses(1, () => lossOf(batch)), tokens: batch.reduce((n, i) => n + lengths[i]!, 0) };
    },
    evaluate: () => {},
    checkpoint: () => null,
  });
  model.eval();
  return { finalLoss, curve, seconds: (performance.now() - started) / 1000 };
}
