// Reward-model training, SPEC §6 / InstructGPT step 2: from the SFT model's
// trunk with a scalar head (RewardModel.fromDecoder), learn to order the
// labeler's rankings: loss = −mean log σ(r_w − r_l) over every pair of every
// prompt in the batch (lib/objectives/pairwise_ranking.ts). Reports held-out
// pair accuracy. Optimizer, schedule, clipping, accumulation, metrics,
// checkpoints and resume are pre-training's (training_loop.ts).
import { DataError } from '../errors.js';
import { RewardModel, rewardModelCheckpointConfig } from '../models/reward_model.js';
import { pairAccuracy, pairwiseRankingLoss } from '../objectives/pairwise_ranking.js';
import { AdamW } from '../optim/adamw.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { resumeFolder } from '../distributed/checkpoint_sync.js';
import { checkSameData } from '../distributed/replicas.js';
import { drawShard, isMine } from '../distributed/sharding.js';
import { defaultWorld, type World } from '../distributed/world.js';
import { checkResumedWorld, freshDropoutState, meanOverRanks, resumedDropoutState, worldStateFields } from './distributed_state.js';
import { EpochSampler } from './epoch_sampler.js';
import { responseEndId } from './instruction_format.js';
import { collatePreferences, encodePreferences, type EncodedPreference } from './reward_data.js';
import type { PreferenceExample } from '../data/records.js';
import { STAGE_IDENTITY_KEYS, type RewardConfig } from './stage_config.js';
import {
  accumulateLosses, checkResumedStage, checkSameKeys, checkSameModel, checkSameTokenizer,
  loadResumePoint, openMetrics, recordsSha256, restoreTraining, runFolder, runTrainingLoop, writeTrainingCheckpoint, type LoopEvent,
} from './training_loop.js';

export type RewardEvent =
  | { type: 'start'; iter: number; maxIters: number; parameters: number; trainPrompts: number; trainPairs: number; valPrompts: number; valPairs: number; resumed: boolean }
  | LoopEvent
  | { type: 'eval'; iter: number; valLoss: number; valAccuracy: number; bestValLoss: number };

export interface RewardOptions {
  config: RewardConfig;
  /** The model to train in place (e.g. RewardModel.fromDecoder(sftModel, rng)); on resume its weights are replaced by the checkpoint's. */
  model: RewardModel;
  /** The tokenizer; it must have the RESPONSE_END token. */
  tokenizer: Tokenizer;
  train: readonly PreferenceExample[];
  /** Held-out preferences for loss and pair accuracy (none: no evaluation). */
  val?: readonly PreferenceExample[];
  /** Run folder: checkpoint/ and metrics.jsonl. Without it nothing is written. */
  outDir?: string;
  resume?: boolean;
  /** The ranks to train on (default: the MPI world under mpirun, else one process); batch_size is per rank. */
  world?: World;
  onProgress?: (event: RewardEvent) => void;
}

export interface RewardResult {
  model: RewardModel;
  iter: number;
  /** Last held-out loss and pair accuracy, when there is a val set. */
  valLoss: number | null;
  valAccuracy: number | null;
  bestValLoss: number;
  checkpointDir: string | null;
}

export interface RewardEvaluation {
  /** −mean log σ(r_w − r_l) over all pairs. */
  loss: number;
  /** Fraction of pairs with r_w > r_l. */
  accuracy: number;
  pairs: number;
}

const STAGE = 'reward';

/** Loss and pair accuracy over encoded preferences, without gradients or dropout. */
export function rewardLossOn(model: RewardModel, prompts: readonly EncodedPreference[], batchSize = 8): RewardEvaluation {
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => {
      let lossSum = 0, right = 0, pairs = 0;
      for (let s = 0; s < prompts.length; s += batchSize) {
        const batch = collatePreferences(prompts.slice(s, s + batchSize));
        const rewards = model.scores(batch.tokens, batch.lengths);
        const P = batch.winners.length;
        lossSum += pairwiseRankingLoss(rewards, batch.winners, batch.losers).item() * P;
        right += pairAccuracy(rewards.f32(), batch.winners, batch.losers) * P;
        pairs += P;
      }
      return { loss: lossSum / pairs, accuracy: right / pairs, pairs };
    });
  } finally {
    model.train(wasTraining);
  }
}

/** Held-out loss and pair accuracy of a reward model on preference records. */
export function evaluateRewardModel(model: RewardModel, tokenizer: Tokenizer, examples: readonly PreferenceExample[], options: { batchSize?: number } = {}): RewardEvaluation {
  const encoded = encodePreferences(tokenizer, examples, responseEndId(tokenizer), model.config.n_positions, 'eval');
  return rewardLossOn(model, encoded, options.batchSize);
}

export function trainRewardModel(o: RewardOptions): RewardResult {
  const c = o.config;
  const { model, tokenizer } = o;
  const emit = o.onProgress ?? (() => {});
  const world = o.world ?? defaultWorld();
  const writer = world.rank === 0; // the one rank that writes checkpoints and metrics
  const { checkpointDir, metricsFile: runMetrics } = runFolder(o.outDir);
  const metricsFile = writer ? runMetrics : null;

  // --- data
  if (o.train.length === 0) throw new DataError('DATA_EMPTY', 'reward: no training preferences; pass at least one { prompt, responses, ranking }');
  const endId = responseEndId(tokenizer);
  const train = encodePreferences(tokenizer, o.train, endId, model.config.n_positions, 'train');
  const val = encodePreferences(tokenizer, o.val ?? [], endId, model.config.n_positions, 'val');
  const dataSha256 = recordsSha256(o.train);
  checkSameData(world, dataSha256, 'the training preferences');
  const sampler = new EpochSampler(train.length, c.seed + 2, (order) => order);

  // --- resume
  const resumed = loadResumePoint(resumeFolder(world, checkpointDir, o.resume ?? false), o.resume ?? false);
  const optimizer = new AdamW(model.namedParameters(), { beta1: c.beta1, beta2: c.beta2, weightDecay: c.weight_decay });
  let iter = 0, bestValLoss = Infinity, elapsedBefore = 0;
  if (resumed) {
    const { ckpt, state } = resumed;
    checkResumedStage(ckpt, STAGE);
    checkSameModel(ckpt, rewardModelCheckpointConfig(model));
    checkSameTokenizer(ckpt, tokenizer);
    checkSameKeys(state.config, { ...c }, STAGE_IDENTITY_KEYS, 'resume');
    if (state.data_sha256 !== dataSha256)
      throw new DataError('DATA_CHANGED', `resume: these are not the preferences the checkpoint was trained on (sha256 ${dataSha256.slice(0, 12)}…, the checkpoint's ${state.data_sha256.slice(0, 12)}…); resume with the original preferences`);
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
  let valLoss: number | null = null, valAccuracy: number | null = null;
  const evaluate = (at: number): void => {
    if (val.length === 0) return;
    // Each rank scores its share of the val prompts; the means are over all their pairs.
    const share = val.filter((_, i) => isMine(world, i));
    const mine = share.length > 0 ? rewardLossOn(model, share, c.batch_size) : null;
    const [loss, accuracy] = meanOverRanks(world, mine && { means: [mine.loss, mine.accuracy], weight: mine.pairs }, 2, 'all-reduce of the val loss') as [number, number];
    const r = { loss, accuracy };
    ({ loss: valLoss, accuracy: valAccuracy } = r);
    bestValLoss = Math.min(bestValLoss, r.loss);
    metrics?.write({ event: 'eval', iter: at, val_loss: r.loss, val_accuracy: r.accuracy, best_val_loss: bestValLoss, elapsed_s: elapsed() });
    emit({ type: 'eval', iter: at, valLoss: r.loss, valAccuracy: r.accuracy, bestValLoss });
  };

  // --- checkpoint
  const checkpoint = (at: number): string | null => {
    if (!checkpointDir) return null;
    const worldFields = worldStateFields(world, model.dropoutRng.state());
    if (!writer) return null;
    writeTrainingCheckpoint(checkpointDir, model, {
      config: rewardModelCheckpointConfig(model), tokenizer: tokenizer.toJSON(), optimizer,
      state: {
        iter: at, sampler_rng: sampler.state(), dropout_rng: model.dropoutRng.state(),
        best_val_loss: Number.isFinite(bestValLoss) ? bestValLoss : null, elapsed_s: elapsed(),
        data_sha256: dataSha256, data_file: '', config: { ...c }, stage: STAGE, ...worldFields,
      },
    });
    return checkpointDir;
  };

  // --- loop: each micro-batch is batch_size whole prompts with all their pairs
  const pairCount = (set: readonly EncodedPreference[]): number => set.reduce((n, p) => n + p.pairs.length, 0);
  emit({ type: 'start', iter, maxIters: c.max_iters, parameters: model.numParameters(), trainPrompts: train.length, trainPairs: pairCount(train), valPrompts: val.length, valPairs: pairCount(val), resumed: resumed !== null });
  try {
    iter = runTrainingLoop({
      config: c, optimizer, startIter: iter, resumed: resumed !== null, metrics, checkpointDir, elapsed, emit,
      world, parameters: model.parameters(),
      accumulate: (onLastLeafGrad) => {
        let tokens = 0;
        const loss = accumulateLosses(c.gradient_accumulation_steps, () => {
          const batch = collatePreferences(drawShard(world, () => sampler.next(c.batch_size)).map((i) => train[i]!));
          tokens += batch.tokenCount;
          return pairwiseRankingLoss(model.scores(batch.tokens, batch.lengths), batch.winners, batch.losers);
        }, onLastLeafGrad);
        return { loss, tokens };
      },
      evaluate, checkpoint,
    });
  } finally {
    metrics?.close();
  }
  return { model, iter, valLoss, valAccuracy, bestValLoss, checkpointDir };
}
