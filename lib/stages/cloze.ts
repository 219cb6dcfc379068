// GLM cloze fine-tuning, SPEC §6 (Du et al. 2022, §2.3; PET): a
// classification example is a pattern with one [MASK]; each label has a
// verbalizer (a word), scored as the Part B span filling the [MASK];
//   p(y | x) = p(v(y) | c(x)) / Σ_y' p(v(y') | c(x)),   loss = −log p(y* | x),
// cross-entropy over the label set (objectives/glm_cloze.ts). The same weights
// that fill blanks do the classifying: no new head. Optimizer, schedule,
// clipping, accumulation, metrics, checkpoints and resume are pre-training's
// (training_loop.ts). Library code never prints: progress goes to onProgress.
import { ConfigError, DataError } from '../errors.js';
import { CLOZE_MASK, countMasks, type ClozeExample } from '../data/cloze_jsonl.js';
import { logSumExp } from '../generate/scoring.js';
import type { GLM } from '../models/glm.js';
import { glmCheckpointConfig } from '../models/glm_checkpoint.js';
import type { GlmSpecialTokens } from '../objectives/blank_infilling.js';
import { glmClozeLoss, glmVerbalizerScores, type ClozeExample as EncodedCloze } from '../objectives/glm_cloze.js';
import { glmSpecialTokens } from '../objectives/glm_specials.js';
import { AdamW } from '../optim/adamw.js';
import { noGrad } from '../tensor/autograd.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { resumeFolder } from '../distributed/checkpoint_sync.js';
import { checkSameData } from '../distributed/replicas.js';
import { drawShard, isMine } from '../distributed/sharding.js';
import { defaultWorld, type World } from '../distributed/world.js';
import { checkResumedWorld, freshDropoutState, meanOverRanks, resumedDropoutState, worldStateFields } from './distributed_state.js';
import { EpochSampler } from './epoch_sampler.js';
import { STAGE_IDENTITY_KEYS, type ClozeConfig } from './stage_config.js';
import {
  accumulateLosses, checkResumedStage, checkSameKeys, checkSameModel, checkSameTokenizer,
  loadResumePoint, openMetrics, recordsSha256, restoreTraining, runFolder, runTrainingLoop, writeTrainingCheckpoint, type LoopEvent,
} from './training_loop.js';

export type { ClozeExample } from '../data/cloze_jsonl.js';

export type ClozeEvent =
  | { type: 'start'; iter: number; maxIters: number; parameters: number; labels: string[]; trainExamples: number; valExamples: number; resumed: boolean }
  | LoopEvent
  | { type: 'eval'; iter: number; valLoss: number; valAccuracy: number; bestValLoss: number };

export interface ClozeOptions {
  config: ClozeConfig;
  /** The GLM to fine-tune, trained in place; on resume its weights are replaced by the checkpoint's. */
  model: GLM;
  /** The model's tokenizer; it must have [MASK], [gMASK], [S] and [E]. */
  tokenizer: Tokenizer;
  train: readonly ClozeExample[];
  /** Held-out examples for loss and accuracy (none: no evaluation). */
  val?: readonly ClozeExample[];
  /** Label → verbalizer text (e.g. { positive: 'good', negative: 'bad' }); at least two labels. */
  verbalizers: Readonly<Record<string, string>>;
  /** Run folder: checkpoint/ and metrics.jsonl. Without it nothing is written. */
  outDir?: string;
  /** Continue from <outDir>/checkpoint with its weights, optimizer, RNG and step state. */
  resume?: boolean;
  /** The ranks to train on (default: the MPI world under mpirun, else one process); batch_size is per rank. */
  world?: World;
  onProgress?: (event: ClozeEvent) => void;
}

export interface ClozeResult {
  model: GLM;
  /** Optimizer steps done. */
  iter: number;
  /** Last held-out loss and accuracy, when there is a val set. */
  valLoss: number | null;
  valAccuracy: number | null;
  bestValLoss: number;
  checkpointDir: string | null;
}

export interface ClozeEvaluation {
  /** Fraction of examples whose likeliest label is the gold one. */
  accuracy: number;
  /** The likeliest label of each example. */
  predictions: string[];
  /** Mean p(gold | x) over the examples. */
  meanGoldProb: number;
  /** Mean −log p(gold | x): the training loss on these examples. */
  loss: number;
}

/** The label set in token ids: labels[y] is verbalized as ids[y]. */
export interface ClozeLabels {
  labels: string[];
  ids: number[][];
}

const STAGE = 'cloze';

/**
 * Tokenizes the verbalizers. Each must be non-empty text of ordinary tokens,
 * and no two labels may share one (they could never be told apart).
 */
export function encodeVerbalizers(tokenizer: Tokenizer, verbalizers: Readonly<Record<string, string>>, specials: GlmSpecialTokens = glmSpecialTokens(tokenizer)): ClozeLabels {
  const labels = Object.keys(verbalizers);
  if (labels.length < 2)
    throw new ConfigError('CONFIG_INVALID', `cloze: ${labels.length} label(s) given; classification needs at least two, each with a verbalizer, e.g. { good: 'good', bad: 'bad' }`);
  const special = new Set(Object.values(specials));
  const seen = new Map<string, string>();
  const ids = labels.map((label) => {
    const text = verbalizers[label];
    if (typeof text !== 'string' || text.trim() === '')
      throw new ConfigError('CONFIG_INVALID', `cloze: the verbalizer of label "${label}" is ${JSON.stringify(text)}; give it the word that fills the ${CLOZE_MASK}, e.g. "${label}"`);
    const encoded = tokenizer.encode(text);
    if (encoded.some((id) => special.has(id)))
      throw new ConfigError('CONFIG_INVALID', `cloze: the verbalizer of label "${label}" (${JSON.stringify(text)}) contains a GLM special token; verbalizers are plain words`);
    const key = encoded.join(',');
    const other = seen.get(key);
    if (other !== undefined)
      throw new ConfigError('CONFIG_INVALID', `cloze: labels "${other}" and "${label}" have the same verbalizer tokens (${JSON.stringify(text)}); give each label its own word`);
    seen.set(key, label);
    return encoded;
  });
  return { labels, ids };
}

/**
 * Tokenizes cloze examples: each text must hold exactly one [MASK] and a
 * known label, and fit n_positions with the longest verbalizer after it.
 * `set` names the list in errors ("train[3]: ...").
 */
export function encodeClozeExamples(tokenizer: Tokenizer, examples: readonly ClozeExample[], labels: ClozeLabels, specials: GlmSpecialTokens, nPositions: number, set: string): EncodedCloze[] {
  const index = new Map(labels.labels.map((l, y) => [l, y]));
  const longest = Math.max(...labels.ids.map((v) => v.length));
  return examples.map((ex, i) => {
    const where = `${set}[${i}]`;
    const label = index.get(ex.label);
    if (label === undefined)
      throw new DataError('DATA_INVALID', `${where}: label ${JSON.stringify(ex.label)} is not one of the verbalizers' labels (${labels.labels.join(', ')}); add a verbalizer for it or fix the example`);
    const masks = countMasks(ex.text);
    if (masks !== 1)
      throw new DataError('DATA_INVALID', `${where}: the text must hold exactly one ${CLOZE_MASK} (where the label's word goes), found ${masks}: ${JSON.stringify(ex.text).slice(0, 60)}`);
    const context = tokenizer.encode(ex.text);
    const blanks = context.filter((id) => id === specials.mask || id === specials.gmask).length;
    if (blanks !== 1)
      throw new DataError('DATA_INVALID', `${where}: the text encodes to ${blanks} [MASK]/[gMASK] tokens, expected exactly one; remove the extra [gMASK]`);
    if (context.length + longest > nPositions)
      throw new DataError('DATA_INVALID', `${where}: the text (${context.length} tokens) + the longest verbalizer (${longest}) exceed the model's n_positions ${nPositions}; shorten the text`);
    return { context, label };
  });
}

/** log p(y | x) for every example and label ([N][L], float64, normalised over labels), without gradients or dropout. */
export function clozeLabelLogProbs(model: GLM, examples: readonly EncodedCloze[], labels: ClozeLabels, specials: GlmSpecialTokens, batchSize = 16): Float64Array[] {
  const wasTraining = model.training;
  model.eval();
  try {
    const out: Float64Array[] = [];
    const L = labels.ids.length;
    noGrad(() => {
      for (let s = 0; s < examples.length; s += batchSize) {
        const batch = examples.slice(s, s + batchSize);
        const scores = glmVerbalizerScores(model, batch.map((e) => e.context), labels.ids, specials).f32(); // (N, L)
        batch.forEach((_, n) => {
          const ll = Float64Array.from(scores.subarray(n * L, (n + 1) * L));
          const lse = logSumExp(ll);
          out.push(ll.map((x) => x - lse));
        });
      }
    });
    return out;
  } finally {
    model.train(wasTraining);
  }
}

/** Accuracy, predictions, mean gold probability and loss over encoded examples. */
export function clozeEvaluationOn(model: GLM, examples: readonly EncodedCloze[], labels: ClozeLabels, specials: GlmSpecialTokens, batchSize = 16): ClozeEvaluation {
  if (examples.length === 0) throw new DataError('DATA_EMPTY', 'cloze: no examples to evaluate');
  const logp = clozeLabelLogProbs(model, examples, labels, specials, batchSize);
  let right = 0, goldProb = 0, loss = 0;
  const predictions = logp.map((row, n) => {
    let best = 0;
    for (let y = 1; y < row.length; y++) if (row[y]! > row[best]!) best = y;
    const gold = examples[n]!.label;
    if (best === gold) right++;
    goldProb += Math.exp(row[gold]!);
    loss -= row[gold]!;
    return labels.labels[best]!;
  });
  const N = examples.length;
  return { accuracy: right / N, predictions, meanGoldProb: goldProb / N, loss: loss / N };
}

/** Cloze classification accuracy of a GLM on `{text, label}` examples with the given verbalizers. */
export function clozeAccuracy(model: GLM, tokenizer: Tokenizer, examples: readonly ClozeExample[], verbalizers: Readonly<Record<string, string>>): ClozeEvaluation {
  const specials = glmSpecialTokens(tokenizer);
  const labels = encodeVerbalizers(tokenizer, verbalizers, specials);
  const encoded = encodeClozeExamples(tokenizer, examples, labels, specials, model.config.n_positions, 'examples');
  return clozeEvaluationOn(model, encoded, labels, specials);
}

export function clozeFineTune(o: ClozeOptions): ClozeResult {
  const c = o.config;
  const { model, tokenizer } = o;
  const emit = o.onProgress ?? (() => {});
  const world = o.world ?? defaultWorld();
  const writer = world.rank === 0; // the one rank that writes checkpoints and metrics
  const { checkpointDir, metricsFile: runMetrics } = runFolder(o.outDir);
  const metricsFile = writer ? runMetrics : null;

  // --- data
  if (o.train.length === 0) throw new DataError('DATA_EMPTY', 'cloze: no training examples; pass at least one { text: "... [MASK] ...", label }');
  const specials = glmSpecialTokens(tokenizer);
  const labels = encodeVerbalizers(tokenizer, o.verbalizers, specials);
  const P = model.config.n_positions;
  const train = encodeClozeExamples(tokenizer, o.train, labels, specials, P, 'train');
  const val = encodeClozeExamples(tokenizer, o.val ?? [], labels, specials, P, 'val');
  const dataSha256 = recordsSha256(o.train);
  checkSameData(world, dataSha256, 'the training examples');
  const sampler = new EpochSampler(train.length, c.seed + 2, (order) => order);
  const verbalizers = { ...o.verbalizers };

  // --- resume
  const resumed = loadResumePoint(resumeFolder(world, checkpointDir, o.resume ?? false), o.resume ?? false);
  const optimizer = new AdamW(model.namedParameters(), { beta1: c.beta1, beta2: c.beta2, weightDecay: c.weight_decay });
  let iter = 0, bestValLoss = Infinity, elapsedBefore = 0;
  if (resumed) {
    const { ckpt, state } = resumed;
    checkResumedStage(ckpt, STAGE);
    checkSameModel(ckpt, glmCheckpointConfig(model.config));
    checkSameTokenizer(ckpt, tokenizer);
    checkSameKeys(state.config, { ...c }, STAGE_IDENTITY_KEYS, 'resume');
    checkSameKeys(ckpt.trainerState!, { verbalizers }, ['verbalizers'], 'resume');
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
  let valLoss: number | null = null, valAccuracy: number | null = null;
  const evaluate = (at: number): void => {
    if (val.length === 0) return;
    // Each rank scores its share of the val examples; the means are over all of them.
    const share = val.filter((_, i) => isMine(world, i));
    const mine = share.length > 0 ? clozeEvaluationOn(model, share, labels, specials, c.batch_size) : null;
    const [loss, accuracy, meanGoldProb] = meanOverRanks(world, mine && { means: [mine.loss, mine.accuracy, mine.meanGoldProb], weight: share.length }, 3, 'all-reduce of the val loss') as [number, number, number];
    const r = { loss, accuracy, meanGoldProb };
    ({ loss: valLoss, accuracy: valAccuracy } = r);
    bestValLoss = Math.min(bestValLoss, r.loss);
    metrics?.write({ event: 'eval', iter: at, val_loss: r.loss, val_accuracy: r.accuracy, val_gold_prob: r.meanGoldProb, best_val_loss: bestValLoss, elapsed_s: elapsed() });
    emit({ type: 'eval', iter: at, valLoss: r.loss, valAccuracy: r.accuracy, bestValLoss });
  };

  // --- checkpoint: a plain GLM checkpoint (blank filling loads it as it is) + the label set
  const checkpoint = (at: number): string | null => {
    if (!checkpointDir) return null;
    const worldFields = worldStateFields(world, model.dropoutRng.state());
    if (!writer) return null;
    const state = {
      iter: at, sampler_rng: sampler.state(), dropout_rng: model.dropoutRng.state(),
      best_val_loss: Number.isFinite(bestValLoss) ? bestValLoss : null, elapsed_s: elapsed(),
      data_sha256: dataSha256, data_file: '', config: { ...c }, stage: STAGE, verbalizers, ...worldFields,
    };
    writeTrainingCheckpoint(checkpointDir, model, { config: glmCheckpointConfig(model.config), tokenizer: tokenizer.toJSON(), optimizer, state });
    return checkpointDir;
  };

  // --- loop: each micro-batch is batch_size examples, each scored against every label
  const rowTokens = (ex: EncodedCloze): number => labels.ids.reduce((n, v) => n + ex.context.length + v.length, 0);
  emit({ type: 'start', iter, maxIters: c.max_iters, parameters: model.numParameters(), labels: labels.labels, trainExamples: train.length, valExamples: val.length, resumed: resumed !== null });
  try {
    iter = runTrainingLoop({
      config: c, optimizer, startIter: iter, resumed: resumed !== null, metrics, checkpointDir, elapsed, emit,
      world, parameters: model.parameters(),
      accumulate: (onLastLeafGrad) => {
        let tokens = 0;
        const loss = accumulateLosses(c.gradient_accumulation_steps, () => {
          const batch = drawShard(world, () => sampler.next(c.batch_size)).map((i) => train[i]!);
          tokens += batch.reduce((n, ex) => n + rowTokens(ex), 0);
          return glmClozeLoss(model, batch, labels.ids, specials);
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
