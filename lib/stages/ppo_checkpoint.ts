// PPO's run folder, so a killed RLHF run continues exactly where it was:
//   <out>/metrics.jsonl          one line per iteration: its PpoStepStats
//   <out>/checkpoint/            the policy, a plain decoder checkpoint (sample,
//                                generate and chat load it), its AdamW moments,
//                                and trainer_state.json: iteration, prompt order,
//                                sampling and minibatch RNGs, the KL controller's β
//   <out>/checkpoint/value/      the value model and its AdamW moments
// Policy and value model are swapped in as one (io/checkpoint.ts attachments),
// never one iteration apart.
import path from 'node:path';
import { createHash } from 'node:crypto';

import { CheckpointError, TrainingError } from '../errors.js';
import { CHECKPOINT_FILES, readCheckpoint, saveCheckpoint, type LoadedCheckpoint } from '../io/checkpoint.js';
import type { DecoderLM } from '../models/decoder.js';
import { decoderCheckpointConfig } from '../models/decoder_checkpoint.js';
import { RewardModel, rewardModelCheckpointConfig } from '../models/reward_model.js';
import { exportWeights } from '../models/weights.js';
import type { Module } from '../nn/module.js';
import type { AdamW } from '../optim/adamw.js';
import { lmkitVersion } from '../package_info.js';
import { Random, type RngState } from '../tensor/random.js';
import type { TokenizerJson } from '../tokenizer/types.js';
import type { PpoStepStats } from './ppo.js';
import type { MetricsWriter } from './training_loop.js';

/** The value model's folder inside the policy checkpoint. */
export const VALUE_CHECKPOINT = 'value';

/** config.json's model_type for a value model that is not a RewardModel. */
export const VALUE_MODEL_TYPE = 'lmkit-value-model';

/** Batches of prompt indices: a seeded shuffle of all prompts, reshuffled when used up. */
export class PromptOrder {
  private readonly rng: Random;
  private pending: number[] = [];

  constructor(private readonly count: number, seed: number | RngState, pending: readonly number[] = []) {
    this.rng = new Random(seed);
    this.pending = [...pending];
  }

  next(size: number): number[] {
    const out: number[] = [];
    while (out.length < size) {
      if (this.pending.length === 0) this.pending = this.rng.shuffle([...Array(this.count).keys()]);
      out.push(this.pending.shift()!);
    }
    return out;
  }

  /** The RNG and the rest of the current pass: all a resumed run needs to draw the same batches. */
  state(): { rng: RngState; pending: number[] } {
    return { rng: this.rng.state(), pending: [...this.pending] };
  }
}

/** What trainer_state.json holds beyond pre-training's fields. */
export interface PpoRunState {
  promptRng: RngState;
  promptPending: number[];
  samplingRng: RngState;
  minibatchRng: RngState;
  /** β for the next rollout (after the last update). */
  klCoef: number;
  referenceSha256: string;
  endTokenId: number | null;
}

/** sha256 of a model's weights: a resumed run must keep the same frozen reference. */
export function weightsSha256(model: Module): string {
  const hash = createHash('sha256');
  for (const [name, p] of model.namedParameters()) {
    const data = p.f32(name);
    hash.update(name).update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return hash.digest('hex');
}

/** config.json of the value model's checkpoint. */
export function valueModelConfig(valueModel: Module): Record<string, unknown> {
  return valueModel instanceof RewardModel ? rewardModelCheckpointConfig(valueModel) : { model_type: VALUE_MODEL_TYPE };
}

export interface PpoCheckpointParts {
  iter: number;
  policy: DecoderLM;
  valueModel: Module;
  policyOptimizer: AdamW;
  valueOptimizer: AdamW;
  tokenizer: TokenizerJson;
  run: PpoRunState;
  /** trainer_state.json's pre-training fields. */
  promptsSha256: string;
  config: Record<string, unknown>;
  elapsedSec: number;
  /** Ranks the run trains on (recorded when > 1; a resume needs as many). */
  worldSize?: number;
}

/** Writes policy + value model + optimizer moments + run state; never a checkpoint holding NaN/Inf. */
export function writePpoCheckpoint(dir: string, p: PpoCheckpointParts): void {
  for (const [which, model] of [['policy', p.policy], ['value model', p.valueModel]] as const)
    for (const [name, param] of model.namedParameters())
      if (!param.f32().every(Number.isFinite))
        throw new TrainingError('TRAIN_NONFINITE', `ppo iteration ${p.iter}: ${which} parameter ${name} holds NaN/Inf; not writing a checkpoint (the previous one in ${dir} is intact). Try a lower learning_rate or max_grad_norm`);
  const r = p.run;
  const trainerState = {
    iter: p.iter, sampler_rng: r.promptRng, dropout_rng: p.policy.dropoutRng.state(), best_val_loss: null, elapsed_s: p.elapsedSec,
    data_sha256: p.promptsSha256, data_file: '', config: p.config, stage: 'ppo',
    prompt_pending: r.promptPending, sampling_rng: r.samplingRng, minibatch_rng: r.minibatchRng,
    kl_coef: r.klCoef, reference_sha256: r.referenceSha256, end_token_id: r.endTokenId,
    ...((p.worldSize ?? 1) > 1 ? { world_size: p.worldSize } : {}),
  };
  saveCheckpoint(dir, {
    weights: exportWeights(p.policy), config: decoderCheckpointConfig(p.policy.config), tokenizer: p.tokenizer,
    optimizer: p.policyOptimizer.state(), trainerState,
    attachments: {
      [VALUE_CHECKPOINT]: {
        weights: exportWeights(p.valueModel), config: valueModelConfig(p.valueModel), tokenizer: p.tokenizer,
        optimizer: p.valueOptimizer.state(), trainerState: { iter: p.iter, stage: 'ppo_value' },
      },
    },
  }, lmkitVersion());
}

/** The PPO fields of a policy checkpoint's trainer_state.json, validated. */
export function parsePpoRunState(ckpt: LoadedCheckpoint): PpoRunState {
  const raw = ckpt.trainerState ?? {};
  const file = path.join(ckpt.dir, CHECKPOINT_FILES.trainerState);
  const bad = (key: string, want: string): never => {
    throw new CheckpointError('CHECKPOINT_INVALID', `${file}: ${key} must be ${want}, got ${JSON.stringify(raw[key])?.slice(0, 60)}; the file is corrupt`);
  };
  const rng = (key: string): RngState => {
    const v = raw[key];
    const ok = Array.isArray(v) && v.length === 4 && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff) && v.some((x) => x !== 0);
    return ok ? (v as RngState) : bad(key, 'four uint32 values, not all zero');
  };
  const pending = raw['prompt_pending'];
  if (!Array.isArray(pending) || !pending.every((i) => Number.isSafeInteger(i) && i >= 0)) bad('prompt_pending', 'a list of prompt indices');
  const klCoef = raw['kl_coef'];
  if (typeof klCoef !== 'number' || !(klCoef >= 0)) bad('kl_coef', 'a number ≥ 0');
  const sha = raw['reference_sha256'];
  if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) bad('reference_sha256', 'a hex sha256');
  const end = raw['end_token_id'];
  if (end !== null && !Number.isSafeInteger(end)) bad('end_token_id', 'a token id or null');
  return {
    promptRng: rng('sampler_rng'), promptPending: pending as number[], samplingRng: rng('sampling_rng'), minibatchRng: rng('minibatch_rng'),
    klCoef: klCoef as number, referenceSha256: sha as string, endTokenId: end as number | null,
  };
}

/** The value model's checkpoint inside a policy checkpoint; its iteration must be the policy's. */
export function readValueCheckpoint(ckpt: LoadedCheckpoint, iter: number): LoadedCheckpoint {
  const dir = path.join(ckpt.dir, VALUE_CHECKPOINT);
  const value = readCheckpoint(dir, { training: true });
  if (value.trainerState!['iter'] !== iter)
    throw new CheckpointError('CHECKPOINT_MISMATCH', `${dir}: the value model is from iteration ${JSON.stringify(value.trainerState!['iter'])} but the policy from ${iter}; the checkpoint was assembled by hand, resume from a folder ppo wrote`);
  return value;
}

// --- metrics.jsonl: PpoStepStats under snake_case names, one line per iteration

const METRIC_NAMES: readonly (readonly [keyof PpoStepStats, string])[] = [
  ['iter', 'iter'], ['score', 'score'], ['kl', 'kl'], ['klCoef', 'kl_coef'], ['rlhfReward', 'rlhf_reward'],
  ['policyLoss', 'policy_loss'], ['valueLoss', 'value_loss'], ['clipFrac', 'clip_frac'], ['valueClipFrac', 'value_clip_frac'],
  ['entropy', 'entropy'], ['approxKl', 'approx_kl'], ['ptxLoss', 'ptx_loss'], ['responseLength', 'response_length'],
];

export function writePpoMetrics(metrics: MetricsWriter, stats: PpoStepStats, elapsedSec: number): void {
  const line: Record<string, unknown> = { event: 'train' };
  for (const [key, name] of METRIC_NAMES) line[name] = stats[key];
  line['elapsed_s'] = elapsedSec;
  metrics.write(line);
}

/** The iterations recorded in metrics.jsonl lines (a resumed run's history before the resume). */
export function ppoStatsFromMetrics(lines: readonly string[]): PpoStepStats[] {
  return lines.flatMap((text) => {
    const line = JSON.parse(text) as Record<string, unknown>;
    if (line['event'] !== 'train') return [];
    const stats: Record<string, unknown> = {};
    for (const [key, name] of METRIC_NAMES) stats[key] = line[name];
    return [stats as unknown as PpoStepStats];
  });
}
