// PPO for RLHF (Schulman et al. 2017; Ziegler et al. 2019; InstructGPT,
// Ouyang et al. 2022), with TRL's PPOTrainer semantics. Each iteration:
//   1. rollout: sample a response per prompt from the policy; read old and
//      reference log-probs, values, and the reward model's scores;
//   2. rewards r_t = −β·(log π − log π_ref) with the score at the last token;
//      GAE advantages (γ, λ), whitened over the batch; returns = A + V;
//   3. ppo_epochs passes over shuffled minibatches: the clipped surrogate and
//      clipped value loss (fused native kernels), + γ_ptx·LM loss (PPO-ptx),
//      one AdamW step each for the policy and the value model;
//   4. β ← adaptive KL controller(measured sequence KL).
// The policy and value model are trained in place; the reference is frozen.
// Dropout stays off throughout, so a ratio compares the same function before
// and after an update. With a run folder (outDir): metrics.jsonl and
// checkpoints (ppo_checkpoint.ts), and resume continues bitwise.
// Under MPI it is data parallel: each rank rolls out its share of every
// global prompt batch (batch_size prompts per rank), advantages are whitened
// and the KL measured over all ranks, and every minibatch gradient is
// averaged across ranks before the policy and value steps; rank 0 writes.
// Library code never prints: progress goes to onProgress.
import { readFileSync } from 'node:fs';

import { resumeFolder } from '../distributed/checkpoint_sync.js';
import { DataParallel } from '../distributed/data_parallel.js';
import { checkReplicasAgree, checkSameData } from '../distributed/replicas.js';
import { drawShard, sumOverRanks } from '../distributed/sharding.js';
import { defaultWorld, type World } from '../distributed/world.js';
import { ConfigError, DataError, TrainingError } from '../errors.js';
import type { Batch } from '../data/text_corpus.js';
import type { DecoderLM } from '../models/decoder.js';
import { decoderCheckpointConfig } from '../models/decoder_checkpoint.js';
import type { Module } from '../nn/module.js';
import { AdamW } from '../optim/adamw.js';
import { backward } from '../tensor/autograd.js';
import { add, scale } from '../tensor/ops/elementwise.js';
import { ppoPolicyLoss, ppoValueLoss } from '../tensor/ops/ppo_loss.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { AdaptiveKlController, FixedKlController, type KlController } from './kl_controller.js';
import { ppoConfig, type PpoConfig } from './ppo_config.js';
import { gae } from './ppo_gae.js';
import { tokenRewards } from './ppo_rewards.js';
import {
  checkPrompts, collectRollout, responseBatch, responseLogProbs, responseValues, sampleResponses,
  type RewardFn, type Rollout, type ValueModel,
} from './ppo_rollout.js';
import { maskedWhitenOverRanks } from './ppo_whiten.js';
import { checkResumedWorld } from './distributed_state.js';
import {
  parsePpoRunState, ppoStatsFromMetrics, PromptOrder, readValueCheckpoint, valueModelConfig, weightsSha256, writePpoCheckpoint, writePpoMetrics,
  type PpoRunState,
} from './ppo_checkpoint.js';
import {
  checkResumedStage, checkSameKeys, checkSameModel, checkSameTokenizer, loadResumePoint, openMetrics, recordsSha256, restoreTraining, runFolder,
} from './training_loop.js';

/** What one PPO iteration measured. Losses and ratios are means over its optimizer steps. */
export interface PpoStepStats {
  /** Iterations done, this one included. */
  iter: number;
  /** Mean reward-model score of the rollout's responses. */
  score: number;
  /** Mean over samples of Σ_t (log π − log π_ref): the sequence KL the controller steers (TRL objective/kl). */
  kl: number;
  /** β that priced this rollout's KL. */
  klCoef: number;
  /** Mean over samples of Σ_t r_t = score − β·KL (TRL's non-score + score reward). */
  rlhfReward: number;
  /** Clipped surrogate −min(r·A, clip(r)·A), masked mean. */
  policyLoss: number;
  /** ½·max((V − R)², (clip(V) − R)²), masked mean. */
  valueLoss: number;
  /** Fraction of tokens where the clipped surrogate was the active term. */
  clipFrac: number;
  /** Fraction of tokens where the clipped value loss was the larger. */
  valueClipFrac: number;
  /** Mean policy entropy per response token (nats), during the updates. */
  entropy: number;
  /** Masked mean of ½(log π − log π_old)²: how far the updates moved the policy. */
  approxKl: number;
  /** Pre-training LM loss of the ptx batches; null without PPO-ptx. */
  ptxLoss: number | null;
  /** Mean response length in tokens. */
  responseLength: number;
}

export type PpoEvent =
  | { type: 'start'; iter: number; iterations: number; batchSize: number; prompts: number; policyParameters: number; valueParameters: number; resumed: boolean }
  | { type: 'step'; iterations: number; stats: PpoStepStats; elapsedSec: number; etaSec: number }
  | { type: 'checkpoint'; iter: number; dir: string };

export interface PpoOptions {
  /** Validated with ppoConfig(); missing keys take DEFAULT_PPO. */
  config: Partial<PpoConfig>;
  /** The policy, trained in place (starts as a copy of the SFT model). */
  policy: DecoderLM;
  /** The frozen reference (the SFT model); never updated. */
  reference: DecoderLM;
  /** The value model (initialised from the reward model), trained in place. */
  valueModel: Module & ValueModel;
  rewardFn: RewardFn;
  /** Prompt token ids; batches are drawn in a seeded shuffled order, reshuffled each pass. */
  prompts: readonly (readonly number[])[];
  /** Responses end after this token (e.g. '<|end|>'); without it they run to max_new_tokens. */
  endTokenId?: number;
  /**
   * Pre-training batches for PPO-ptx; required when config.ptx_coef > 0. A
   * resumed run is bitwise only if this stream continues where it was too.
   */
  ptxBatch?: () => Batch;
  /** Run folder: checkpoint/ (policy, value/ model, optimizers, RNGs, β) and metrics.jsonl. Without it nothing is written. */
  outDir?: string;
  /** Continue from <outDir>/checkpoint; the policy's and value model's weights are replaced by the checkpoint's. */
  resume?: boolean;
  /** The policy's tokenizer, saved with the checkpoints; required with outDir. */
  tokenizer?: Tokenizer;
  onProgress?: (event: PpoEvent) => void;
  /** The ranks to train on (default: the MPI world under mpirun, else one process); batch_size is per rank. */
  world?: World;
}

export interface PpoResult {
  /** Iterations done. */
  iter: number;
  /** One entry per iteration (on resume, those before it too, read back from metrics.jsonl). */
  history: PpoStepStats[];
  /** β after the last update. */
  klCoef: number;
  checkpointDir: string | null;
}

/** Config keys a resumed run may change: every other one shapes the run's random draws or updates. */
const RESUMABLE_KEYS = new Set(['iterations', 'checkpoint_interval']);

/** Rows `index` of a [rows, cols] array. */
function pickRows(a: Float32Array, index: readonly number[], cols: number): Float32Array {
  const out = new Float32Array(index.length * cols);
  index.forEach((r, i) => out.set(a.subarray(r * cols, (r + 1) * cols), i * cols));
  return out;
}

function checkModels(o: PpoOptions): void {
  if (o.reference === o.policy)
    throw new ConfigError('CONFIG_INVALID', 'ppo: the reference is the policy itself; pass a frozen copy of the SFT model as the reference');
  const policyParams = new Set(o.policy.parameters());
  if (o.valueModel.parameters().some((p) => policyParams.has(p)))
    throw new ConfigError('CONFIG_INVALID', 'ppo: the value model shares parameters with the policy; give it its own copy (e.g. RewardModel.fromDecoder) so each optimizer owns its weights');
  if (o.endTokenId !== undefined && !(Number.isInteger(o.endTokenId) && o.endTokenId >= 0 && o.endTokenId < o.policy.config.vocab_size))
    throw new ConfigError('CONFIG_INVALID', `ppo: endTokenId ${o.endTokenId} is outside the policy's vocabulary [0, ${o.policy.config.vocab_size})`);
}

/** Rewards, GAE and whitening (over every rank's rollout) for one rollout at the current β. */
function advantagesOf(r: Rollout, klCoef: number, c: PpoConfig, world: World): { advantages: Float32Array; returns: Float32Array; sequenceKl: Float64Array } {
  const { rewards, sequenceKl } = tokenRewards(r.scores, r.logp, r.refLogp, r.mask, { rows: r.rows, cols: r.cols, klCoef });
  const { advantages, returns } = gae(rewards, r.values, r.mask, { rows: r.rows, cols: r.cols, gamma: c.gamma, lambda: c.lam });
  return { advantages: maskedWhitenOverRanks(world, advantages, r.mask, r), returns, sequenceKl };
}

const mean = (xs: ArrayLike<number>): number => Array.from(xs).reduce((s, x) => s + x, 0) / Math.max(xs.length, 1);

export function ppo(o: PpoOptions): PpoResult {
  const c = ppoConfig(o.config, 'ppo config');
  const emit = o.onProgress ?? (() => {});
  checkModels(o);
  checkPrompts(o.policy, o.prompts, c.max_new_tokens, 'ppo');
  const ptxBatch = c.ptx_coef > 0 ? o.ptxBatch : undefined;
  if (c.ptx_coef > 0 && !ptxBatch)
    throw new ConfigError('CONFIG_INVALID', `ppo: ptx_coef is ${c.ptx_coef} but no ptxBatch was given; pass pre-training batches or set ptx_coef to 0`);
  const { policy, reference, valueModel } = o;
  const world = o.world ?? defaultWorld();
  const writer = world.rank === 0; // the one rank that writes checkpoints and metrics
  const { checkpointDir, metricsFile: runMetrics } = runFolder(o.outDir);
  const metricsFile = writer ? runMetrics : null;
  if (o.outDir !== undefined && !o.tokenizer)
    throw new ConfigError('CONFIG_INVALID', 'ppo: outDir needs the tokenizer, which checkpoints carry; pass tokenizer');
  policy.eval();
  reference.eval();
  valueModel.eval();

  // --- optimizers and controller
  const adam = { beta1: c.beta1, beta2: c.beta2, weightDecay: c.weight_decay };
  const policyOpt = new AdamW(policy.namedParameters(), adam);
  const valueOpt = new AdamW(valueModel.namedParameters(), adam);
  const maxNorm = c.max_grad_norm > 0 ? c.max_grad_norm : Infinity;
  const klController = (beta: number): KlController => c.adap_kl_ctrl
    ? new AdaptiveKlController({ initKlCoef: beta, target: c.kl_target, horizon: c.horizon })
    : new FixedKlController(beta);

  // --- seeded streams: prompt order, sampling, minibatch order; or where a checkpoint left them
  const promptsSha256 = recordsSha256(o.prompts);
  checkSameData(world, promptsSha256, 'the prompts');
  const referenceSha256 = checkpointDir ? weightsSha256(reference) : '';
  const endTokenId = o.endTokenId ?? null;
  const resumed = loadResumePoint(resumeFolder(world, checkpointDir, o.resume ?? false), o.resume ?? false);
  let klCtl = klController(c.init_kl_coef);
  let promptOrder = new PromptOrder(o.prompts.length, c.seed);
  let samplingSeeds = new Random(c.seed + 1);
  let minibatchOrder = new Random(c.seed + 2);
  let startIter = 0, elapsedBefore = 0;
  if (resumed) {
    const { ckpt, state } = resumed;
    checkResumedStage(ckpt, 'ppo');
    checkResumedWorld(state, world);
    checkSameModel(ckpt, decoderCheckpointConfig(policy.config));
    checkSameTokenizer(ckpt, o.tokenizer!);
    checkSameKeys(state.config, { ...c }, Object.keys(c).filter((k) => !RESUMABLE_KEYS.has(k)), 'resume');
    if (state.data_sha256 !== promptsSha256)
      throw new DataError('DATA_CHANGED', `resume: these are not the prompts the checkpoint was trained on (sha256 ${promptsSha256.slice(0, 12)}…, the checkpoint's ${state.data_sha256.slice(0, 12)}…); resume with the original prompts`);
    const run = parsePpoRunState(ckpt);
    if (run.referenceSha256 !== referenceSha256)
      throw new ConfigError('CONFIG_RESUME_MISMATCH', 'resume: the reference model differs from the one the run started with; pass the same SFT model as the frozen reference');
    if (run.endTokenId !== endTokenId)
      throw new ConfigError('CONFIG_RESUME_MISMATCH', `resume: the run ended responses at token ${run.endTokenId} but endTokenId is now ${endTokenId}; resume with the original end token`);
    const valueCkpt = readValueCheckpoint(ckpt, state.iter);
    checkSameModel(valueCkpt, valueModelConfig(valueModel));
    restoreTraining(policy, policyOpt, ckpt);
    restoreTraining(valueModel, valueOpt, valueCkpt);
    klCtl = klController(run.klCoef);
    promptOrder = new PromptOrder(o.prompts.length, run.promptRng, run.promptPending);
    samplingSeeds = new Random(run.samplingRng);
    minibatchOrder = new Random(run.minibatchRng);
    ({ iter: startIter, elapsed_s: elapsedBefore } = state);
  }
  const metrics = metricsFile ? openMetrics(metricsFile, resumed ? startIter : null) : null;
  const history: PpoStepStats[] = resumed && metricsFile ? ppoStatsFromMetrics(readFileSync(metricsFile, 'utf8').split('\n').filter((l) => l !== '')) : [];
  const started = performance.now();
  const elapsed = (): number => elapsedBefore + (performance.now() - started) / 1000;

  // Policy and value model train together: one set of gradient buckets, one replica check.
  const trained = [...policy.parameters(), ...valueModel.parameters()];
  const dp = new DataParallel(world, trained);
  checkReplicasAgree(world, trained, resumed ? `resume at iteration ${startIter}` : 'the start of training');

  const checkpoint = (iter: number): void => {
    if (!checkpointDir) return;
    checkReplicasAgree(world, trained, `ppo iteration ${iter}`);
    if (!writer) return;
    const prompt = promptOrder.state();
    const run: PpoRunState = {
      promptRng: prompt.rng, promptPending: prompt.pending, samplingRng: samplingSeeds.state(), minibatchRng: minibatchOrder.state(),
      klCoef: klCtl.value, referenceSha256, endTokenId,
    };
    writePpoCheckpoint(checkpointDir, {
      iter, policy, valueModel, policyOptimizer: policyOpt, valueOptimizer: valueOpt, tokenizer: o.tokenizer!.toJSON(),
      run, promptsSha256, config: { ...c }, elapsedSec: elapsed(), worldSize: world.worldSize,
    });
    emit({ type: 'checkpoint', iter, dir: checkpointDir });
  };

  emit({ type: 'start', iter: startIter, iterations: c.iterations, batchSize: c.batch_size, prompts: o.prompts.length, policyParameters: policy.numParameters(), valueParameters: valueModel.numParameters(), resumed: resumed !== null });
  let iterSec = 0;
  try {
    for (let iter = startIter; iter < c.iterations; iter++) {
      const t0 = performance.now();

      // --- 1. rollout
      // This rank's share of the global prompt batch, and its own sampling seed from the shared stream.
      const prompts = drawShard(world, () => promptOrder.next(c.batch_size)).map((i) => o.prompts[i]!);
      const seed = drawShard(world, () => samplingSeeds.nextUint32());
      const responses = sampleResponses(policy, prompts, {
        maxNewTokens: c.max_new_tokens, temperature: c.temperature, topK: c.top_k, endTokenId: o.endTokenId ?? null, seed,
      });
      const r = collectRollout({ policy, reference, valueModel, rewardFn: o.rewardFn, prompts, responses, temperature: c.temperature });

      // --- 2. rewards and advantages at the current β
      const klCoef = klCtl.value;
      const { advantages, returns, sequenceKl } = advantagesOf(r, klCoef, c, world);

      // --- 3. PPO epochs over minibatches
      const sums = { policyLoss: 0, valueLoss: 0, clipFrac: 0, valueClipFrac: 0, entropy: 0, approxKl: 0, ptxLoss: 0 };
      let steps = 0;
      for (let epoch = 0; epoch < c.ppo_epochs; epoch++) {
        const order = minibatchOrder.shuffle([...Array(r.rows).keys()]);
        for (let start = 0; start < r.rows; start += c.mini_batch_size) {
          const idx = order.slice(start, start + c.mini_batch_size);
          const grid = (a: Float32Array): Tensor => new Tensor(pickRows(a, idx, r.cols), [idx.length, r.cols]);
          const mb = responseBatch(idx.map((i) => r.prompts[i]!), idx.map((i) => r.responses[i]!), r.cols);
          const { logp, entropy } = responseLogProbs(policy, mb, c.temperature);
          const values = responseValues(valueModel, mb);
          const pg = ppoPolicyLoss(logp, grid(r.logp), null, grid(advantages), grid(r.mask), { clipEps: c.cliprange });
          const vf = ppoValueLoss(values, grid(r.values), grid(returns), grid(r.mask), { clipRange: c.cliprange_value });
          let loss = add(pg.loss, scale(vf.loss, c.vf_coef));
          if (ptxBatch) {
            const { x, y } = drawShard(world, ptxBatch);
            const lm = policy.loss(x, y);
            sums.ptxLoss += lm.item();
            loss = add(loss, scale(lm, c.ptx_coef));
          }
          dp.begin();
          backward(loss, undefined, dp.onGradReady);
          const { loss: total } = dp.finish({ loss: loss.item(), tokens: 0 }); // the mean over ranks
          const gradNorm = Math.max(policyOpt.clipGradNorm(maxNorm), valueOpt.clipGradNorm(maxNorm));
          if (!Number.isFinite(total) || !Number.isFinite(gradNorm))
            throw new TrainingError('TRAIN_NONFINITE', `ppo iteration ${iter + 1}, epoch ${epoch + 1}: loss is ${total} (gradient norm ${gradNorm}); training stopped. Try a lower learning_rate (now ${c.learning_rate}) or max_grad_norm (now ${c.max_grad_norm})`);
          policyOpt.update(c.learning_rate);
          valueOpt.update(c.value_learning_rate);
          policyOpt.zeroGrad();
          valueOpt.zeroGrad();

          let entropySum = 0, tokens = 0;
          mb.mask.forEach((m, i) => {
            if (m === 1) (entropySum += entropy[i]!), tokens++;
          });
          sums.policyLoss += pg.stats.policyLoss;
          sums.valueLoss += vf.stats.loss;
          sums.clipFrac += pg.stats.clipFrac;
          sums.valueClipFrac += vf.stats.clipFrac;
          sums.approxKl += pg.stats.approxKl;
          sums.entropy += entropySum / Math.max(tokens, 1);
          steps++;
        }
      }

      // --- 4. β update on the KL this rollout measured (TRL: n_steps = batch size); every
      // statistic is the mean over ranks (equal shares: batch_size rows and as many steps each)
      const local = [
        mean(r.scores), mean(sequenceKl), sums.policyLoss / steps, sums.valueLoss / steps, sums.clipFrac / steps, sums.valueClipFrac / steps,
        sums.entropy / steps, sums.approxKl / steps, sums.ptxLoss / steps, mean(r.responses.map((x) => x.length)),
      ];
      const [score, kl, policyLoss, valueLoss, clipFrac, valueClipFrac, entropy, approxKl, ptxLoss, responseLength] = (world.worldSize === 1 ? local
        : sumOverRanks(world, local, 'all-reduce of the PPO statistics').map((x) => x / world.worldSize)) as number[];
      klCtl.update(kl!, r.rows * world.worldSize);

      const stats: PpoStepStats = {
        iter: iter + 1,
        score: score!,
        kl: kl!,
        klCoef,
        rlhfReward: score! - klCoef * kl!,
        policyLoss: policyLoss!,
        valueLoss: valueLoss!,
        clipFrac: clipFrac!,
        valueClipFrac: valueClipFrac!,
        entropy: entropy!,
        approxKl: approxKl!,
        ptxLoss: ptxBatch ? ptxLoss! : null,
        responseLength: responseLength!,
      };
      history.push(stats);
      if (metrics) writePpoMetrics(metrics, stats, elapsed());
      const dt = (performance.now() - t0) / 1000;
      iterSec = iterSec === 0 ? dt : 0.9 * iterSec + 0.1 * dt; // smoothed for the ETA
      emit({ type: 'step', iterations: c.iterations, stats, elapsedSec: elapsed(), etaSec: iterSec * (c.iterations - iter - 1) });
      if ((c.checkpoint_interval > 0 && (iter + 1) % c.checkpoint_interval === 0) || iter + 1 === c.iterations) checkpoint(iter + 1);
    }
  } finally {
    metrics?.close();
  }
  return { iter: Math.max(startIter, c.iterations), history, klCoef: klCtl.value, checkpointDir };
}
