// The machinery the fine-tuning stages (SFT, reward model) share with
// pre-training: the optimizer loop of nanoGPT's train.py (warmup + cosine
// learning rate, gradient accumulation, global-norm clipping, a guard against
// NaN/Inf, AdamW), metrics.jsonl, atomic training checkpoints and resuming
// from them. A stage supplies its batches, loss and evaluation as callbacks.
// Under MPI the loop is data parallel: the stage's micro-batches are its
// rank's share (lib/distributed/sharding.ts), gradients and losses are
// averaged across ranks before the step, and only rank 0 writes.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';

import { DataParallel } from '../distributed/data_parallel.js';
import { checkReplicasAgree } from '../distributed/replicas.js';
import { SINGLE_PROCESS, type World } from '../distributed/world.js';
import { CheckpointError, ConfigError, TrainingError } from '../errors.js';
import { CHECKPOINT_FILES, readCheckpoint, recoverCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../io/checkpoint.js';
import { exportWeights, importWeights } from '../models/weights.js';
import type { Module } from '../nn/module.js';
import type { AdamW } from '../optim/adamw.js';
import { learningRate } from '../optim/schedule.js';
import { backward } from '../tensor/autograd.js';
import type { Tensor } from '../tensor/tensor.js';
import { withMatmulPrecision, type MatmulPrecision } from '../tensor/ops/matmul_precision.js';
import { lmkitVersion } from '../package_info.js';
import type { Tokenizer, TokenizerJson } from '../tokenizer/types.js';
import { commWindow } from './distributed_state.js';
import { parseTrainerState, type TrainerState } from './trainer_state.js';

/** The loop's knobs, under the pre-training config's names. */
export interface LoopConfig {
  max_iters: number;
  learning_rate: number;
  min_lr: number;
  warmup_iters: number;
  lr_decay_iters: number;
  decay_lr: boolean;
  /** 0 turns clipping off. */
  grad_clip: number;
  /** 0 = evaluate only at the end. */
  eval_interval: number;
  log_interval: number;
  /** 0 = checkpoint only at the end. */
  checkpoint_interval: number;
  skip_nonfinite: boolean;
  /** The Linear layers' GEMM precision for training and evaluation (default fp32; matmul_precision.ts). */
  matmul_precision?: MatmulPrecision;
}

export type LoopEvent =
  /** After every optimizer step; `logged` marks the ones written to metrics.jsonl. */
  | { type: 'step'; iter: number; maxIters: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number; elapsedSec: number; etaSec: number; logged: boolean }
  | { type: 'checkpoint'; iter: number; dir: string }
  | { type: 'skip'; iter: number; loss: number; gradNorm: number };

export interface TrainingLoop {
  config: LoopConfig;
  optimizer: AdamW;
  /** Steps already done: 0, or the resumed checkpoint's iteration. */
  startIter: number;
  resumed: boolean;
  /** The ranks (default: a single process); the stage gives only rank 0 a metrics writer. */
  world?: World;
  /** What the optimizer trains: gradients averaged across ranks, replicas compared (needed when world has several ranks). */
  parameters?: readonly Tensor[];
  /**
   * Fills the gradients of one optimizer step from this rank's micro-batches;
   * returns their mean loss and the tokens read. `onLastLeafGrad` goes to the
   * last micro-batch's backward.
   */
  accumulate(onLastLeafGrad?: (leaf: Tensor) => void): { loss: number; tokens: number };
  /** Evaluates and reports (the stage writes its own eval metrics line). */
  evaluate(iter: number): void;
  /** Writes a training checkpoint at `iter`; returns its folder, or null when the run writes none. */
  checkpoint(iter: number): string | null;
  emit(event: LoopEvent): void;
  metrics: MetricsWriter | null;
  /** Where checkpoints go (named in the error when training stops on NaN/Inf). */
  checkpointDir: string | null;
  /** Training seconds, including those before a resume. */
  elapsed(): number;
}

/** Runs optimizer steps from startIter to max_iters; returns the last iteration. */
export function runTrainingLoop(loop: TrainingLoop): number {
  return withMatmulPrecision(loop.config.matmul_precision ?? 'fp32', () => runSteps(loop));
}

function runSteps(loop: TrainingLoop): number {
  const c = loop.config;
  const { optimizer, metrics } = loop;
  const world = loop.world ?? SINGLE_PROCESS, parameters = loop.parameters ?? [];
  let iter = loop.startIter;
  const dp = new DataParallel(world, parameters);
  checkReplicasAgree(world, parameters, loop.resumed ? `resume at iteration ${iter}` : 'the start of training');
  const commSince = commWindow(world);
  if (!loop.resumed && c.eval_interval > 0) loop.evaluate(iter); // nanoGPT evaluates at iteration 0
  const schedule = { lr: c.learning_rate, warmupSteps: c.warmup_iters, decaySteps: c.lr_decay_iters, minLr: c.min_lr };
  let iterSec = 0, windowStart = performance.now(), windowTokens = 0;
  while (iter < c.max_iters) {
    const t0 = performance.now();
    const lr = c.decay_lr ? learningRate(iter, schedule) : c.learning_rate;
    dp.begin();
    const { loss, tokens } = dp.finish(loop.accumulate(dp.onGradReady));
    const gradNorm = optimizer.clipGradNorm(c.grad_clip > 0 ? c.grad_clip : Infinity);
    if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
      optimizer.zeroGrad();
      if (!c.skip_nonfinite) {
        const dir = loop.checkpointDir;
        const last = dir && existsSync(path.join(dir, CHECKPOINT_FILES.config)) ? `the last checkpoint (${dir}) is intact` : 'no checkpoint was written yet';
        throw new TrainingError('TRAIN_NONFINITE', `iteration ${iter}: loss is ${loss} (gradient norm ${gradNorm}); training stopped and ${last}. Try a lower learning_rate (now ${c.learning_rate}), grad_clip (now ${c.grad_clip}), or skip_nonfinite to skip such steps`);
      }
      metrics?.write({ event: 'skip', iter, loss: String(loss), grad_norm: String(gradNorm), elapsed_s: loop.elapsed() });
      loop.emit({ type: 'skip', iter, loss, gradNorm });
    } else {
      optimizer.update(lr);
      optimizer.zeroGrad();
    }
    iter++;

    const dt = (performance.now() - t0) / 1000;
    iterSec = iterSec === 0 ? dt : 0.9 * iterSec + 0.1 * dt; // smoothed for the ETA
    windowTokens += tokens;
    const logged = iter % c.log_interval === 0 || iter === c.max_iters;
    let tokensPerSec = tokens / Math.max(dt, 1e-9);
    if (logged) {
      tokensPerSec = windowTokens / Math.max((performance.now() - windowStart) / 1000, 1e-9);
      metrics?.write({ event: 'train', iter, loss, lr, tokens_per_sec: tokensPerSec, grad_norm: gradNorm, elapsed_s: loop.elapsed(), ...commSince() });
      windowStart = performance.now();
      windowTokens = 0;
    }
    loop.emit({ type: 'step', iter, maxIters: c.max_iters, loss, lr, gradNorm, tokensPerSec, elapsedSec: loop.elapsed(), etaSec: iterSec * (c.max_iters - iter), logged });

    const last = iter === c.max_iters;
    if ((c.eval_interval > 0 && iter % c.eval_interval === 0) || last) loop.evaluate(iter);
    if ((c.checkpoint_interval > 0 && iter % c.checkpoint_interval === 0) || last) {
      if (loop.checkpointDir) checkReplicasAgree(world, parameters, `iteration ${iter}`);
      const dir = loop.checkpoint(iter);
      if (dir) loop.emit({ type: 'checkpoint', iter, dir });
    }
  }
  return iter;
}

/**
 * One optimizer step's gradients from `steps` micro-batch losses, each scaled
 * by 1/steps before backward so the accumulated gradient is that of their
 * mean (nanoGPT's `loss / gradient_accumulation_steps`). Returns that mean.
 */
export function accumulateLosses(steps: number, microBatchLoss: () => Tensor, onLastLeafGrad?: (leaf: Tensor) => void): number {
  const scale = new Float32Array([1 / steps]);
  let total = 0;
  for (let s = 0; s < steps; s++) {
    const loss = microBatchLoss();
    total += loss.item();
    backward(loss, scale, s === steps - 1 ? onLastLeafGrad : undefined);
  }
  return total / steps;
}

// --- run folder: <out>/checkpoint and <out>/metrics.jsonl

export interface RunFolder {
  checkpointDir: string | null;
  metricsFile: string | null;
}

export function runFolder(outDir: string | undefined): RunFolder {
  return {
    checkpointDir: outDir ? path.join(outDir, 'checkpoint') : null,
    metricsFile: outDir ? path.join(outDir, 'metrics.jsonl') : null,
  };
}

/**
 * The checkpoint and trainer state to continue from (resume), or null for a
 * fresh run, which must not overwrite another run's checkpoint.
 */
export function loadResumePoint(checkpointDir: string | null, resume: boolean): { ckpt: LoadedCheckpoint; state: TrainerState } | null {
  if (!resume) {
    if (checkpointDir && existsSync(path.join(checkpointDir, CHECKPOINT_FILES.config)))
      throw new ConfigError('CONFIG_OUT_EXISTS', `${checkpointDir} already holds a checkpoint; pass resume to continue that run, or choose another output folder`);
    return null;
  }
  if (!checkpointDir) throw new ConfigError('CONFIG_INVALID', 'resume needs the run folder (outDir) that holds checkpoint/');
  if (!recoverCheckpoint(checkpointDir))
    throw new CheckpointError('CHECKPOINT_NOTHING_TO_RESUME', `nothing to resume: ${checkpointDir} holds no checkpoint; run without resume to start training, or point outDir at the run to continue`);
  const ckpt = readCheckpoint(checkpointDir, { training: true });
  const state = parseTrainerState(ckpt.trainerState!, path.join(ckpt.dir, CHECKPOINT_FILES.trainerState));
  return { ckpt, state };
}

/** Loads a checkpoint's weights and optimizer moments into a freshly built model and optimizer. */
export function restoreTraining(model: Module, optimizer: AdamW, ckpt: LoadedCheckpoint): void {
  importWeights(model, ckpt.weights, path.join(ckpt.dir, CHECKPOINT_FILES.weights));
  try {
    optimizer.loadState(ckpt.optimizer!, path.join(ckpt.dir, CHECKPOINT_FILES.optimizer));
  } catch (err) {
    throw new CheckpointError('CHECKPOINT_MISMATCH', (err as Error).message, { cause: err });
  }
}

/** A fine-tuning stage's trainer_state.json: pre-training's fields plus the stage that wrote it. */
export type StageState = TrainerState & { stage: string };

/** Throws unless the checkpoint was written by `stage` (pre-training writes no stage). */
export function checkResumedStage(ckpt: LoadedCheckpoint, stage: string): void {
  const saved = ckpt.trainerState?.['stage'] ?? 'pretrain';
  if (saved !== stage)
    throw new ConfigError('CONFIG_RESUME_MISMATCH', `${ckpt.dir}: this checkpoint was written by the ${String(saved)} stage, not ${stage}; resume it with that stage, or give this run another output folder`);
}

/** Throws unless the checkpoint's config.json describes the model being trained. */
export function checkSameModel(ckpt: LoadedCheckpoint, config: Record<string, unknown>): void {
  const file = path.join(ckpt.dir, CHECKPOINT_FILES.config);
  for (const key of new Set([...Object.keys(config), ...Object.keys(ckpt.config)]))
    if (JSON.stringify(ckpt.config[key]) !== JSON.stringify(config[key]))
      throw new ConfigError('CONFIG_RESUME_MISMATCH', `${file}: the checkpoint's model has ${key} = ${JSON.stringify(ckpt.config[key])} but the model given has ${JSON.stringify(config[key])}; resume with the model the run started from`);
}

/** Throws unless the checkpoint's tokenizer is the one given. */
export function checkSameTokenizer(ckpt: LoadedCheckpoint, tokenizer: Tokenizer): void {
  if (JSON.stringify(ckpt.tokenizer.toJSON()) !== JSON.stringify(tokenizer.toJSON()))
    throw new ConfigError('CONFIG_RESUME_MISMATCH', `${path.join(ckpt.dir, CHECKPOINT_FILES.tokenizer)}: the checkpoint's tokenizer differs from the one given; resume with the tokenizer the run started with`);
}

/** Throws a ConfigError naming the first key whose value differs from the one the checkpoint was trained with. */
export function checkSameKeys(saved: Record<string, unknown>, now: Record<string, unknown>, keys: readonly string[], source: string): void {
  for (const key of keys)
    if (JSON.stringify(saved[key]) !== JSON.stringify(now[key]))
      throw new ConfigError('CONFIG_RESUME_MISMATCH', `${source}: the checkpoint was trained with ${key} = ${JSON.stringify(saved[key])} but the config now says ${JSON.stringify(now[key])}; resume with the original value or start a new run in another output folder`);
}

/**
 * Writes a training checkpoint (weights, config, tokenizer, AdamW moments,
 * trainer state). Never replaces a good checkpoint with one holding NaN/Inf.
 */
export function writeTrainingCheckpoint(dir: string, model: Module, parts: { config: Record<string, unknown>; tokenizer: TokenizerJson; optimizer: AdamW; state: StageState }): void {
  for (const [name, p] of model.namedParameters())
    if (!p.f32().every(Number.isFinite))
      throw new TrainingError('TRAIN_NONFINITE', `iteration ${parts.state.iter}: parameter ${name} holds NaN/Inf; not writing a checkpoint (the previous one in ${dir} is intact). Try a lower learning_rate or grad_clip`);
  saveCheckpoint(dir, {
    weights: exportWeights(model), config: parts.config, tokenizer: parts.tokenizer,
    optimizer: parts.optimizer.state(), trainerState: parts.state as unknown as Record<string, unknown>,
  }, lmkitVersion());
}

/** sha256 of the training records' JSON: a resumed run must see the same data. */
export function recordsSha256(records: readonly unknown[]): string {
  const hash = createHash('sha256');
  for (const r of records) hash.update(JSON.stringify(r)).update('\n');
  return hash.digest('hex');
}

// --- metrics.jsonl

export interface MetricsWriter {
  write(record: Record<string, unknown>): void;
  close(): void;
}

/**
 * metrics.jsonl, one JSON object per event. On resume, lines past the
 * checkpoint's iteration (written before the kill) are dropped so the file
 * reads as one uninterrupted run.
 */
export function openMetrics(file: string, resumeIter: number | null): MetricsWriter {
  mkdirSync(path.dirname(file), { recursive: true });
  if (resumeIter === null) writeFileSync(file, '');
  else if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').split('\n').filter((line) => {
      try {
        return line !== '' && (JSON.parse(line) as { iter: number }).iter <= resumeIter;
      } catch {
        return false; // a line cut short by the kill
      }
    });
    writeFileSync(file, kept.map((l) => l + '\n').join(''));
  }
  const fd = openSync(file, 'a');
  return {
    write: (record) => void writeSync(fd, JSON.stringify(record) + '\n'),
    close: () => closeSync(fd),
  };
}
