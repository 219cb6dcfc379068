// Supervised (instruction) fine-tuning, SPEC §6 / FLAN / InstructGPT step 1:
// a pre-trained DecoderLM learns to continue renderPrompt(instruction, input)
// with the output and RESPONSE_END. The loss is the mean cross-entropy over
// output tokens only (sft_data.ts); optimizer, schedule, clipping,
// accumulation, metrics, checkpoints and resume are pre-training's
// (training_loop.ts). Library code never prints: progress goes to onProgress.
import { DataError } from '../errors.js';
import type { DecoderLM } from '../models/decoder.js';
import { decoderCheckpointConfig } from '../models/decoder_checkpoint.js';
import { AdamW } from '../optim/adamw.js';
import { noGrad } from '../tensor/autograd.js';
import { Random } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { resumeFolder } from '../distributed/checkpoint_sync.js';
import { checkSameData } from '../distributed/replicas.js';
import { drawShard, isMine } from '../distributed/sharding.js';
import { defaultWorld, type World } from '../distributed/world.js';
import { checkResumedWorld, freshDropoutState, meanOverRanks, resumedDropoutState, worldStateFields } from './distributed_state.js';
import { EpochSampler } from './epoch_sampler.js';
import { responseEndId } from './instruction_format.js';
import { collateSft, encodeInstructions, lengthGroupedOrder, packRows, type EncodedExample } from './sft_data.js';
import type { InstructionExample } from '../data/records.js';
import { STAGE_IDENTITY_KEYS, type SftConfig } from './stage_config.js';
import {
  accumulateLosses, checkResumedStage, checkSameKeys, checkSameModel, checkSameTokenizer,
  loadResumePoint, openMetrics, recordsSha256, restoreTraining, runFolder, runTrainingLoop, writeTrainingCheckpoint, type LoopEvent,
} from './training_loop.js';

export type SftEvent =
  | { type: 'start'; iter: number; maxIters: number; parameters: number; trainExamples: number; valExamples: number; trainTargets: number; resumed: boolean }
  | LoopEvent
  | { type: 'eval'; iter: number; valLoss: number; bestValLoss: number };

export interface SftOptions {
  config: SftConfig;
  /** The model to fine-tune, trained in place; on resume its weights are replaced by the checkpoint's. */
  model: DecoderLM;
  /** The model's tokenizer; it must have the RESPONSE_END token. */
  tokenizer: Tokenizer;
  train: readonly InstructionExample[];
  /** Held-out examples for the eval loss (none: no evaluation). */
  val?: readonly InstructionExample[];
  /** Run folder: checkpoint/ and metrics.jsonl. Without it nothing is written. */
  outDir?: string;
  /** Continue from <outDir>/checkpoint with its weights, optimizer, RNG and step state. */
  resume?: boolean;
  /** The ranks to train on (default: the MPI world under mpirun, else one process); batch_size is per rank. */
  world?: World;
  onProgress?: (event: SftEvent) => void;
}

export interface SftResult {
  model: DecoderLM;
  /** Optimizer steps done. */
  iter: number;
  /** Last val loss, when there is a val set. */
  valLoss: number | null;
  bestValLoss: number;
  checkpointDir: string | null;
}

const STAGE = 'sft';

/**
 * Mean loss per output token over encoded examples (the exact mean over the
 * set, not a mean of batch means), without gradients or dropout.
 */
export function sftLossOn(model: DecoderLM, examples: readonly EncodedExample[], padId: number, batchSize = 16): { loss: number; targets: number } {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let sum = 0, targets = 0;
      for (let s = 0; s < examples.length; s += batchSize) {
        const batch = collateSft(examples.slice(s, s + batchSize).map((ex) => [ex]), padId);
        sum += model.loss(batch.x, batch.y).item() * batch.targets;
        targets += batch.targets;
      }
      return { loss: targets === 0 ? NaN : sum / targets, targets };
    });
  } finally {
    model.train(wasTraining);
  }
}

/** Mean loss per output token of `model` on instruction examples. */
export function evaluateSft(model: DecoderLM, tokenizer: Tokenizer, examples: readonly InstructionExample[], options: { batchSize?: number } = {}): { loss: number; targets: number } {
  const endId = responseEndId(tokenizer);
  const encoded = encodeInstructions(tokenizer, examples, endId, model.config.n_positions + 1, 'eval');
  return sftLossOn(model, encoded, endId, options.batchSize);
}

export function sft(o: SftOptions): SftResult {
  const c = o.config;
  const { model, tokenizer } = o;
  const emit = o.onProgress ?? (() => {});
  const world = o.world ?? defaultWorld();
  const writer = world.rank === 0; // the one rank that writes checkpoints and metrics
  const { checkpointDir, metricsFile: runMetrics } = runFolder(o.outDir);
  const metricsFile = writer ? runMetrics : null;

  // --- data
  if (o.train.length === 0) throw new DataError('DATA_EMPTY', 'sft: no training examples; pass at least one { instruction, input, output }');
  const endId = responseEndId(tokenizer);
  const maxLength = model.config.n_positions + 1;
  const train = encodeInstructions(tokenizer, o.train, endId, maxLength, 'train');
  const val = encodeInstructions(tokenizer, o.val ?? [], endId, maxLength, 'val');
  const dataSha256 = recordsSha256(o.train);
  checkSameData(world, dataSha256, 'the training examples');
  const lengths = train.map((ex) => ex.ids.length);
  // Grouping draws from its own stream, seeded apart from the epoch shuffles, so the sampler's replay on resume sees the same draws.
  const grouping = new Random(c.seed + 3);
  const arrange = (order: number[]): number[][] => {
    if (c.packing) return packRows(order, lengths, maxLength);
    return (c.group_by_length ? lengthGroupedOrder(order, lengths, c.batch_size, grouping) : order).map((i) => [i]);
  };
  const sampler = new EpochSampler(train.length, c.seed + 2, arrange);
  const padId = endId; // any id: padding positions have no loss and no later position sees them

  // --- resume
  const resumed = loadResumePoint(resumeFolder(world, checkpointDir, o.resume ?? false), o.resume ?? false);
  const optimizer = new AdamW(model.namedParameters(), { beta1: c.beta1, beta2: c.beta2, weightDecay: c.weight_decay });
  let iter = 0, bestValLoss = Infinity, elapsedBefore = 0;
  if (resumed) {
    const { ckpt, state } = resumed;
    checkResumedStage(ckpt, STAGE);
    checkSameModel(ckpt, decoderCheckpointConfig(model.config));
    checkSameTokenizer(ckpt, tokenizer);
    checkSameKeys(state.config, { ...c }, [...STAGE_IDENTITY_KEYS, 'packing', 'group_by_length'], 'resume');
    if (state.data_sha256 !== dataSha256)
      throw new DataError('DATA_CHANGED', `resume: these are not the training examples the checkpoint was trained on (sha256 ${dataSha256.slice(0, 12)}…, the checkpoint's ${state.data_sha256.slice(0, 12)}…); resume with the original examples`);
    checkResumedWorld(state, world);
    restoreTraining(model, optimizer, ckpt);
    sampler.replay(state.iter * c.gradient_accumulation_steps * world.worldSize, c.batch_size, state.sampler_rng);
    model.dropoutRng.setState(resumedDropoutState(state, world));
    ({ iter, elapsed_s: elapsedBefore } = state);
    bestValLoss = state.best_val_loss ?? Infinity;
  } else {
    model.dropoutRng.setState(freshDropoutState(c.seed + 1, world));
  }
  model.train();
  const metrics = metricsFile ? openMetrics(metricsFile, resumed ? iter : null) : null;
  const started = performance.now();
  const elapsed = (): number => elapsedBefore + (performance.now() - started) / 1000;

  // --- eval
  let valLoss: number | null = null;
  const evaluate = (at: number): void => {
    if (val.length === 0) return;
    // Each rank scores its share of the val set; the mean is over all its output tokens.
    const share = val.filter((_, i) => isMine(world, i));
    const mine = share.length > 0 ? sftLossOn(model, share, padId, c.batch_size) : null;
    const [loss] = meanOverRanks(world, mine && { means: [mine.loss], weight: mine.targets }, 1, 'all-reduce of the val loss') as [number];
    valLoss = loss;
    bestValLoss = Math.min(bestValLoss, loss);
    metrics?.write({ event: 'eval', iter: at, val_loss: loss, best_val_loss: bestValLoss, elapsed_s: elapsed() });
    emit({ type: 'eval', iter: at, valLoss: loss, bestValLoss });
  };

  // --- checkpoint
  const checkpoint = (at: number): string | null => {
    if (!checkpointDir) return null;
    const worldFields = worldStateFields(world, model.dropoutRng.state());
    if (!writer) return null;
    writeTrainingCheckpoint(checkpointDir, model, {
      config: decoderCheckpointConfig(model.config), tokenizer: tokenizer.toJSON(), optimizer,
      state: {
        iter: at, sampler_rng: sampler.state(), dropout_rng: model.dropoutRng.state(),
        best_val_loss: Number.isFinite(bestValLoss) ? bestValLoss : null, elapsed_s: elapsed(),
        data_sha256: dataSha256, data_file: '', config: { ...c }, stage: STAGE, ...worldFields,
      },
    });
    return checkpointDir;
  };

  // --- loop
  emit({ type: 'start', iter, maxIters: c.max_iters, parameters: model.numParameters(), trainExamples: train.length, valExamples: val.length, trainTargets: train.reduce((n, ex) => n + ex.ids.length - ex.promptLength, 0), resumed: resumed !== null });
  try {
    iter = runTrainingLoop({
      config: c, optimizer, startIter: iter, resumed: resumed !== null, metrics, checkpointDir, elapsed, emit,
      world, parameters: model.parameters(),
      accumulate: (onLastLeafGrad) => {
        let tokens = 0;
        const loss = accumulateLosses(c.gradient_accumulation_steps, () => {
          const batch = collateSft(drawShard(world, () => sampler.next(c.batch_size)).map((row) => row.map((i) => train[i]!)), padId);
          tokens += batch.tokens;
          return model.loss(batch.x, batch.y);
        }, onLastLeafGrad);
        return { loss, tokens };
      },
      evaluate, checkpoint,
    });
  } finally {
    metrics?.close();
  }
  return { model, iter, valLoss, bestValLoss, checkpointDir };
}
