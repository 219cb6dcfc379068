// Pre-training on a text file, as nanoGPT's train.py: AdamW, warmup + cosine
// learning rate, gradient clipping and accumulation, periodic train/val loss
// estimates (with the objective's unigram baseline), metrics JSONL and atomic
// checkpoints from which a killed run resumes to bitwise the same weights.
// One loop for every family: config.arch picks the adapter (pretrain_task.ts)
// that turns windows of text into the family's objective and loss. Under
// MPI the loop is data parallel (lib/distributed): each rank trains on its
// share of every global batch, gradients are averaged across ranks, rank 0
// writes the checkpoints and metrics. Library code never prints: progress
// goes to the onProgress callback, which the CLI renders.
import { existsSync } from 'node:fs';
import path from 'node:path';

import { CheckpointError, ConfigError, DataError, TrainingError } from '../errors.js';
import { TextCorpus, type Batch, type TokenizerSpec } from '../data/text_corpus.js';
import { resumeFolder } from '../distributed/checkpoint_sync.js';
import { DataParallel } from '../distributed/data_parallel.js';
import { checkReplicasAgree, checkSameData } from '../distributed/replicas.js';
import { drawShard, isMine, sumOverRanks } from '../distributed/sharding.js';
import { defaultWorld, SINGLE_PROCESS, type World } from '../distributed/world.js';
import { CHECKPOINT_FILES, readCheckpoint, recoverCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../io/checkpoint.js';
import type { Arch, LanguageModel } from '../models/arch.js';
import type { DecoderLM } from '../models/decoder.js';
import { modelCheckpointConfig } from '../models/model_checkpoint.js';
import { exportWeights, importWeights } from '../models/weights.js';
import { AdamW } from '../optim/adamw.js';
import { learningRate } from '../optim/schedule.js';
import { lmkitVersion } from '../package_info.js';
import { backward, noGrad } from '../tensor/autograd.js';
import { Random } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { checkResumable, flattenConfig, resolvedModelKeys, resolvedObjectiveKeys, type PretrainConfig } from './pretrain_config.js';
import { ARCH_ADAPTERS, checkNoSpecialTokens, type ObjectiveBatch, type PretrainTask } from './pretrain_task.js';
import { checkResumedWorld, commWindow, freshDropoutState, resumedDropoutState, worldStateFields } from './distributed_state.js';
import { parseTrainerState, type TrainerState } from './trainer_state.js';
import { openMetrics } from './training_loop.js';
import { unigramBaseline, type UnigramBaseline } from './unigram_baseline.js';
import { withMatmulPrecision } from '../tensor/ops/matmul_precision.js';

export type PretrainEvent =
  /** tokensPerIter counts every rank's tokens; worldSize is 1 without MPI. */
  | { type: 'start'; arch: Arch; iter: number; maxIters: number; parameters: number; vocabSize: number; trainTokens: number; valTokens: number; tokensPerIter: number; resumed: boolean; worldSize: number }
  /** After every optimizer step; `logged` marks the ones written to metrics.jsonl. */
  | { type: 'step'; iter: number; maxIters: number; loss: number; lr: number; gradNorm: number; tokensPerSec: number; elapsedSec: number; etaSec: number; logged: boolean }
  /** unigramValLoss: the objective's unigram baseline on the same val targets (unigram_baseline.ts). */
  | { type: 'eval'; iter: number; trainLoss: number; valLoss: number; bestValLoss: number; unigramValLoss?: number }
  | { type: 'checkpoint'; iter: number; dir: string }
  | { type: 'skip'; iter: number; loss: number; gradNorm: number };

export interface PretrainOptions {
  config: PretrainConfig;
  /** UTF-8 text to train on. */
  dataFile: string;
  /** Run folder: checkpoint/ and metrics.jsonl. Without it nothing is written. */
  outDir?: string;
  /** Continue from <outDir>/checkpoint with its optimizer, RNG and step state. */
  resume?: boolean;
  onProgress?: (event: PretrainEvent) => void;
  /**
   * The ranks to train on (default: the MPI world under mpirun, else a
   * single process). batch_size is per rank: a step reads
   * batch_size × gradient_accumulation_steps × worldSize windows.
   */
  world?: World;
}

export interface PretrainResult {
  arch: Arch;
  /** The family config.arch names (modelFromCheckpoint loads it back). */
  model: LanguageModel;
  tokenizer: Tokenizer;
  /** Optimizer steps done (= config.max_iters unless stopped). */
  iter: number;
  /** Last estimate, when evaluation ran. */
  trainLoss: number | null;
  valLoss: number | null;
  /** The objective's unigram baseline on the val targets, when evaluation ran. */
  unigramValLoss: number | null;
  bestValLoss: number;
  checkpointDir: string | null;
}

/**
 * One optimizer step's gradients: `steps` micro-batches, each loss scaled by
 * 1/steps before backward so the accumulated gradient is that of the mean
 * loss (nanoGPT's `loss / gradient_accumulation_steps`). Returns that mean.
 */
export function accumulateGradients(model: DecoderLM, nextBatch: () => Batch, steps: number): number {
  return accumulateLoss(() => {
    const { x, y } = nextBatch();
    return model.loss(x, y);
  }, steps);
}

/**
 * accumulateGradients for any objective: `nextLoss` builds the next
 * micro-batch's loss. `onLastLeafGrad` goes to the last backward (data
 * parallelism starts its all-reduces from it).
 */
export function accumulateLoss(nextLoss: () => Tensor, steps: number, onLastLeafGrad?: (leaf: Tensor) => void): number {
  const scale = new Float32Array([1 / steps]);
  let total = 0;
  for (let s = 0; s < steps; s++) {
    const loss = nextLoss();
    total += loss.item();
    backward(loss, scale, s === steps - 1 ? onLastLeafGrad : undefined);
  }
  return total / steps;
}

export interface LossEstimate {
  train: number;
  val: number;
  /** The unigram baseline on exactly the val targets `val` averages over (null without a baseline). */
  unigramVal: number | null;
}

/**
 * Mean objective loss over eval_iters batches per split, without gradients
 * or dropout; with `baseline`, also its cross-entropy on the same val batches.
 * In a world of several ranks each evaluates every worldSize-th batch and
 * the sums are reduced: the same batches and mean as one process.
 */
export function estimateLoss(task: PretrainTask, corpus: TextCorpus, c: PretrainConfig, baseline?: UnigramBaseline, world: World = SINGLE_PROCESS): LossEstimate {
  // The same eval batches (and masks) every time, so successive estimates compare like with like.
  const rng = new Random(c.seed + 3);
  const model = task.model;
  model.eval();
  try {
    return noGrad(() => {
      // Every rank draws every batch (the masks come from the same stream) and scores its own.
      const sum = (split: 'train' | 'val', score: (b: ObjectiveBatch) => number): number => {
        let total = 0;
        for (let k = 0; k < c.eval_iters; k++) {
          const batch = task.makeBatch(corpus.getBatch(split, c.batch_size, c.block_size, rng), rng);
          if (isMine(world, k)) total += score(batch);
        }
        return total;
      };
      let unigramSum = 0;
      const trainSum = sum('train', (b) => b.loss().item());
      const valSum = sum('val', (b) => {
        if (baseline) unigramSum += baseline.crossEntropy(b.targets);
        return b.loss().item();
      });
      const [train, val, unigram] = sumOverRanks(world, [trainSum, valSum, unigramSum], 'all-reduce of the eval losses').map((x) => x / c.eval_iters);
      return { train: train!, val: val!, unigramVal: baseline ? unigram! : null };
    });
  } finally {
    model.train();
  }
}

export function pretrain(o: PretrainOptions): PretrainResult {
  // Training and evaluation both run in the config's matmul precision.
  return withMatmulPrecision(o.config.matmul_precision, () => pretrainIn(o));
}

function pretrainIn(o: PretrainOptions): PretrainResult {
  const c = o.config;
  const world = o.world ?? defaultWorld();
  const writer = world.rank === 0; // the one rank that writes checkpoints and metrics
  const emit = o.onProgress ?? (() => {});
  const ckptDir = o.outDir ? path.join(o.outDir, 'checkpoint') : null;
  const metricsFile = o.outDir && writer ? path.join(o.outDir, 'metrics.jsonl') : null;

  // --- resume: the checkpoint's tokenizer, weights, moments, RNGs and step
  let resumed: { ckpt: LoadedCheckpoint; state: TrainerState } | null = null;
  if (o.resume) {
    if (!ckptDir) throw new ConfigError('CONFIG_INVALID', 'resume needs the run folder (outDir / --out) that holds checkpoint/');
    const source = resumeFolder(world, ckptDir, true)!; // rank 0's folder, or its copy on the other ranks
    if (!recoverCheckpoint(source))
      throw new CheckpointError('CHECKPOINT_NOTHING_TO_RESUME', `nothing to resume: ${ckptDir} holds no checkpoint; run without --resume to start training, or point --out at the run to continue`);
    const ckpt = readCheckpoint(source, { training: true });
    const state = parseTrainerState(ckpt.trainerState!, path.join(ckpt.dir, CHECKPOINT_FILES.trainerState));
    checkResumable(state.config, c, 'resume');
    checkResumedWorld(state, world);
    resumed = { ckpt, state };
  } else if (ckptDir && writer && existsSync(path.join(ckptDir, CHECKPOINT_FILES.config))) {
    throw new ConfigError('CONFIG_OUT_EXISTS', `${ckptDir} already holds a checkpoint; pass --resume to continue that run, or choose another --out`);
  }

  // --- data: the arch's special tokens join the tokenizer; the objective draws from the sampler too
  const adapter = ARCH_ADAPTERS[c.arch];
  const objective = resolvedObjectiveKeys(c);
  const specialTokens = adapter.specialTokens(c.block_size, objective);
  const tokenizer: TokenizerSpec = resumed ? { kind: 'given', tokenizer: resumed.ckpt.tokenizer } : tokenizerSpec(c, specialTokens);
  const corpus = TextCorpus.fromFile(o.dataFile, { tokenizer, valFraction: c.val_fraction });
  if (resumed && corpus.sha256 !== resumed.state.data_sha256)
    throw new DataError('DATA_CHANGED', `${o.dataFile}: this is not the text the checkpoint was trained on (sha256 ${corpus.sha256.slice(0, 12)}…, the checkpoint's ${resumed.state.data_sha256.slice(0, 12)}…); resume with the original data file`);
  checkSameData(world, corpus.sha256, `--data ${o.dataFile}`);
  corpus.checkBlockSize(c.block_size);
  checkNoSpecialTokens(corpus, specialTokens, c.arch);
  const sampler = new Random(c.seed + 2);

  // --- model and objective
  const task = adapter.createTask({ tokenizer: corpus.tokenizer, blockSize: c.block_size, model: resolvedModelKeys(c), objective, seed: c.seed });
  const model = task.model;
  model.train();
  if (world.rank !== 0) model.dropoutRng.setState(freshDropoutState(c.seed + 1, world));
  // Its own RNG stream (seed + 4): counting the baseline must not move the sampler.
  const baseline = c.eval_iters > 0 ? unigramBaseline(task, corpus, c.block_size, c.seed + 4) : null;

  // --- optimizer
  const optimizer = new AdamW(model.namedParameters(), {
    beta1: c.beta1, beta2: c.beta2, weightDecay: c.weight_decay,
    ...(c.decay_embeddings ? { decays: (_name: string, p: Tensor) => p.ndim >= 2 } : {}),
  });
  let iter = 0, bestValLoss = Infinity, elapsedBefore = 0;
  if (resumed) {
    const { ckpt, state } = resumed;
    importWeights(model, ckpt.weights, path.join(ckpt.dir, CHECKPOINT_FILES.weights));
    try {
      optimizer.loadState(ckpt.optimizer!, path.join(ckpt.dir, CHECKPOINT_FILES.optimizer));
    } catch (err) {
      throw new CheckpointError('CHECKPOINT_MISMATCH', (err as Error).message, { cause: err });
    }
    sampler.setState(state.sampler_rng);
    model.dropoutRng.setState(resumedDropoutState(state, world));
    ({ iter, elapsed_s: elapsedBefore } = state);
    bestValLoss = state.best_val_loss ?? Infinity;
  }
  const metrics = metricsFile ? openMetrics(metricsFile, resumed ? iter : null) : null;
  const dp = new DataParallel(world, model.parameters());
  checkReplicasAgree(world, model.parameters(), resumed ? `resume at iteration ${iter}` : 'the start of training');

  // --- checkpoint
  const checkpoint = (): void => {
    if (!ckptDir) return;
    // Never replace a good checkpoint with a broken one.
    for (const [name, p] of model.namedParameters())
      if (!p.f32().every(Number.isFinite))
        throw new TrainingError('TRAIN_NONFINITE', `iteration ${iter}: parameter ${name} holds NaN/Inf; not writing a checkpoint (the previous one in ${ckptDir} is intact). Try a lower learning_rate or grad_clip`);
    checkReplicasAgree(world, model.parameters(), `iteration ${iter}`);
    const worldFields = worldStateFields(world, model.dropoutRng.state());
    if (!writer) return;
    const state: TrainerState = {
      iter, sampler_rng: sampler.state(), dropout_rng: model.dropoutRng.state(),
      best_val_loss: Number.isFinite(bestValLoss) ? bestValLoss : null, elapsed_s: elapsed(),
      data_sha256: corpus.sha256, data_file: path.resolve(o.dataFile), config: flattenConfig(c), ...worldFields,
    };
    saveCheckpoint(ckptDir, {
      weights: exportWeights(model), config: modelCheckpointConfig(model), tokenizer: corpus.tokenizer.toJSON(),
      optimizer: optimizer.state(), trainerState: state as unknown as Record<string, unknown>,
    }, lmkitVersion());
    emit({ type: 'checkpoint', iter, dir: ckptDir });
  };

  // --- eval
  const started = performance.now();
  const elapsed = (): number => elapsedBefore + (performance.now() - started) / 1000;
  let trainLoss: number | null = null, valLoss: number | null = null, unigramValLoss: number | null = null;
  const evaluate = (): void => {
    if (c.eval_iters === 0 || !baseline) return;
    const losses = estimateLoss(task, corpus, c, baseline, world);
    ({ train: trainLoss, val: valLoss, unigramVal: unigramValLoss } = losses);
    bestValLoss = Math.min(bestValLoss, losses.val);
    metrics?.write({ event: 'eval', iter, train_loss: losses.train, val_loss: losses.val, unigram_val_loss: unigramValLoss, best_val_loss: bestValLoss, elapsed_s: elapsed() });
    emit({ type: 'eval', iter, trainLoss: losses.train, valLoss: losses.val, bestValLoss, ...(unigramValLoss === null ? {} : { unigramValLoss }) });
  };

  // --- loop
  const tokensPerRank = c.batch_size * c.block_size * c.gradient_accumulation_steps;
  const tokensPerIter = tokensPerRank * world.worldSize;
  emit({ type: 'start', arch: c.arch, iter, maxIters: c.max_iters, parameters: model.numParameters(), vocabSize: corpus.tokenizer.vocabSize, trainTokens: corpus.train.length, valTokens: corpus.val.length, tokensPerIter, resumed: resumed !== null, worldSize: world.worldSize });
  if (!resumed && c.eval_interval > 0) evaluate(); // nanoGPT evaluates at iteration 0
  const schedule = { lr: c.learning_rate, warmupSteps: c.warmup_iters, decaySteps: c.lr_decay_iters, minLr: c.min_lr };
  let iterSec = 0, logWindowStart = performance.now(), logWindowIters = 0;
  const commSince = commWindow(world);
  try {
    while (iter < c.max_iters) {
      const t0 = performance.now();
      const lr = c.decay_lr ? learningRate(iter, schedule) : c.learning_rate;
      dp.begin();
      // Each rank's micro-batch is its share of a global one (sharding.ts); the loss is the mean over ranks.
      const nextLoss = (): Tensor => drawShard(world, () => task.makeBatch(corpus.getBatch('train', c.batch_size, c.block_size, sampler), sampler)).loss();
      const { loss } = dp.finish({ loss: accumulateLoss(nextLoss, c.gradient_accumulation_steps, dp.onGradReady), tokens: tokensPerRank });
      const gradNorm = optimizer.clipGradNorm(c.grad_clip > 0 ? c.grad_clip : Infinity);
      if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
        optimizer.zeroGrad();
        if (!c.skip_nonfinite) {
          const last = ckptDir && existsSync(path.join(ckptDir, CHECKPOINT_FILES.config)) ? `the last checkpoint (${ckptDir}) is intact` : 'no checkpoint was written yet';
          throw new TrainingError('TRAIN_NONFINITE', `iteration ${iter}: loss is ${loss} (gradient norm ${gradNorm}); training stopped and ${last}. Try a lower learning_rate (now ${c.learning_rate}), grad_clip (now ${c.grad_clip}), or --skip-nonfinite to skip such steps`);
        }
        metrics?.write({ event: 'skip', iter, loss: String(loss), grad_norm: String(gradNorm), elapsed_s: elapsed() });
        emit({ type: 'skip', iter, loss, gradNorm });
      } else {
        optimizer.update(lr);
        optimizer.zeroGrad();
      }
      iter++;

      const dt = (performance.now() - t0) / 1000;
      iterSec = iterSec === 0 ? dt : 0.9 * iterSec + 0.1 * dt; // smoothed for the ETA
      logWindowIters++;
      const logged = iter % c.log_interval === 0 || iter === c.max_iters;
      let tokensPerSec = tokensPerIter / Math.max(dt, 1e-9);
      if (logged) {
        tokensPerSec = (tokensPerIter * logWindowIters) / Math.max((performance.now() - logWindowStart) / 1000, 1e-9);
        metrics?.write({ event: 'train', iter, loss, lr, tokens_per_sec: tokensPerSec, grad_norm: gradNorm, elapsed_s: elapsed(), ...commSince() });
        logWindowStart = performance.now();
        logWindowIters = 0;
      }
      emit({ type: 'step', iter, maxIters: c.max_iters, loss, lr, gradNorm, tokensPerSec, elapsedSec: elapsed(), etaSec: iterSec * (c.max_iters - iter), logged });

      const last = iter === c.max_iters;
      if ((c.eval_interval > 0 && iter % c.eval_interval === 0) || last) evaluate();
      if ((c.checkpoint_interval > 0 && iter % c.checkpoint_interval === 0) || last) checkpoint();
    }
  } finally {
    metrics?.close();
  }
  return { arch: c.arch, model, tokenizer: corpus.tokenizer, iter, trainLoss, valLoss, unigramValLoss, bestValLoss, checkpointDir: ckptDir };
}

/** char and bpe tokenizers are built with the arch's special tokens; a tokenizer file must already hold them. */
function tokenizerSpec(c: PretrainConfig, specialTokens: readonly string[]): TokenizerSpec {
  if (c.tokenizer === 'char') return { kind: 'char', specialTokens };
  if (c.tokenizer === 'bpe') return { kind: 'bpe', vocabSize: c.bpe_vocab_size, specialTokens };
  return { kind: 'file', path: c.tokenizer };
}
