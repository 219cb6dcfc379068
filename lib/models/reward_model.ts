// RewardModel (InstructGPT, Ouyang et al. 2022): a decoder trunk initialised
// from the SFT model with its LM head replaced by a scalar head,
//   r(x, y) = w · h_T + b,  h_T = the trunk's final hidden state at the last token,
// laid out as Hugging Face's GPT2ForSequenceClassification (transformer.*,
// score.*). Per-position scalars (values) make it a PPO value model too.
import path from 'node:path';

import { CheckpointError, ConfigError, ShapeError } from '../errors.js';
import { CHECKPOINT_FILES, type LoadedCheckpoint } from '../io/checkpoint.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { noGrad } from '../tensor/autograd.js';
import { embedding } from '../tensor/ops/embedding.js';
import { reshape } from '../tensor/ops/shape.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { DecoderLM } from './decoder.js';
import { decoderConfig, type DecoderConfig } from './decoder_config.js';
import { importWeights } from './weights.js';

/** config.json's model_type for reward models. */
export const REWARD_MODEL_TYPE = 'lmkit-reward';

export class RewardModel extends Module {
  readonly config: DecoderConfig;
  /** The decoder trunk (HF GPT2Model): embeddings, blocks, ln_f. */
  transformer: DecoderLM['transformer'];
  /** The scalar head (HF GPT2ForSequenceClassification's score, num_labels = 1). */
  score: Linear;
  // The DecoderLM whose forward computes the hidden states. Not enumerable,
  // so its parameters are listed once, under transformer.*, not twice.
  declare private readonly trunk: DecoderLM;

  /**
   * A randomly initialised reward model. The trunk has no LM head (its config
   * says tie_word_embeddings: true whatever the source model's), as a reward
   * model never predicts tokens.
   */
  constructor(config: DecoderConfig | Record<string, unknown>, seed = 0) {
    super();
    const { model_type: _, ...rest } = config as Record<string, unknown>;
    this.config = decoderConfig({ ...rest, tie_word_embeddings: true });
    const trunk = new DecoderLM(this.config, seed);
    Object.defineProperty(this, 'trunk', { value: trunk, enumerable: false });
    this.transformer = trunk.transformer;
    this.score = new Linear(this.config.n_embd, 1, new Random(seed + 2), { std: this.config.initializer_range });
  }

  /** InstructGPT's initialisation: the SFT model's trunk, copied, under a new scalar head drawn from `rng`. */
  static fromDecoder(lm: DecoderLM, rng: Random): RewardModel {
    const rm = new RewardModel(lm.config, rng.nextUint32());
    const source = new Map(lm.namedParameters());
    for (const [name, p] of rm.namedParameters()) {
      if (name.startsWith('score.')) continue;
      const from = source.get(name);
      if (!from) throw new ShapeError('SHAPE_MISMATCH', `RewardModel.fromDecoder: the decoder has no parameter ${name}`);
      p.f32(name).set(from.f32(name));
    }
    return rm;
  }

  /** Drives the trunk's dropout; saved in checkpoints for exact resume. */
  get dropoutRng(): Random {
    return this.trunk.dropoutRng;
  }

  override train(mode = true): this {
    super.train(mode);
    this.trunk.train(mode);
    return this;
  }

  /** tokens [B, T] (int32) → one scalar per position [B, T] (differentiable). */
  values(tokens: Tensor): Tensor {
    const [B, T] = tokens.shape as [number, number];
    const hidden = this.trunk.hiddenStates(tokens); // (B, T, C)
    return reshape(this.score.forward(hidden), [B, T]); // (B, T, 1) → (B, T)
  }

  /**
   * tokens [B, T] → the scalar at position lengths[i] − 1 of each row [B]
   * (right-padded rows: the reward of each sequence's last token).
   */
  scores(tokens: Tensor, lengths: Int32Array): Tensor {
    if (tokens.ndim !== 2) throw new ShapeError('SHAPE_MISMATCH', `RewardModel.scores: tokens must be [batch, time], got [${tokens.shape}]`);
    const [B, T] = tokens.shape as [number, number];
    if (lengths.length !== B) throw new ShapeError('SHAPE_MISMATCH', `RewardModel.scores: ${lengths.length} lengths for ${B} rows`);
    const rows = new Int32Array(B);
    for (let b = 0; b < B; b++) {
      const n = lengths[b]!;
      if (!Number.isInteger(n) || n < 1 || n > T) throw new ShapeError('SHAPE_INVALID', `RewardModel.scores: lengths[${b}] = ${n}, expected 1..${T}`);
      rows[b] = b * T + n - 1;
    }
    const C = this.config.n_embd;
    const hidden = reshape(this.trunk.hiddenStates(tokens), [B * T, C]); // (B·T, C)
    const last = embedding(new Tensor(rows, [B]), hidden); // gather rows → (B, C)
    return reshape(this.score.forward(last), [B]); // (B, 1) → (B)
  }
}

/**
 * The reward of each token sequence (scored at its last token), in batches
 * of right-padded rows, without gradients or dropout. Plugs into PPO as
 * `(sequences) => scoreSequences(rm, sequences)`.
 */
export function scoreSequences(rm: RewardModel, sequences: readonly (readonly number[])[], batchSize = 16): Float32Array {
  const out = new Float32Array(sequences.length);
  const wasTraining = rm.training;
  rm.eval();
  try {
    noGrad(() => {
      for (let s = 0; s < sequences.length; s += batchSize) {
        const batch = sequences.slice(s, s + batchSize);
        const { tokens, lengths } = padSequences(batch);
        out.set(rm.scores(tokens, lengths).f32(), s);
      }
    });
  } finally {
    rm.train(wasTraining);
  }
  return out;
}

/** Right-pads id sequences (with id 0: a causal model's earlier positions never see padding) → tokens [B, T] and lengths. */
export function padSequences(sequences: readonly (readonly number[] | Int32Array)[]): { tokens: Tensor; lengths: Int32Array } {
  const lengths = Int32Array.from(sequences, (s) => s.length);
  const T = Math.max(...lengths);
  if (!(T >= 1) || lengths.some((n) => n === 0)) throw new ShapeError('SHAPE_INVALID', 'padSequences: every sequence needs at least one token');
  const ids = new Int32Array(sequences.length * T); // (B, T)
  sequences.forEach((s, b) => ids.set(s, b * T));
  return { tokens: new Tensor(ids, [sequences.length, T]), lengths };
}

/** config.json for a reward model: the trunk's decoder config, marked as a reward model. */
export function rewardModelCheckpointConfig(rm: RewardModel): Record<string, unknown> {
  return { model_type: REWARD_MODEL_TYPE, ...rm.config };
}

/** Builds the reward model a checkpoint describes and loads its weights. */
export function rewardModelFromCheckpoint(ckpt: LoadedCheckpoint): RewardModel {
  const configFile = path.join(ckpt.dir, CHECKPOINT_FILES.config);
  if (ckpt.config['model_type'] !== REWARD_MODEL_TYPE)
    throw new CheckpointError('CHECKPOINT_MISMATCH', `${configFile}: model_type is ${JSON.stringify(ckpt.config['model_type'])}, not "${REWARD_MODEL_TYPE}"; this is not a reward model checkpoint (train one with the reward stage)`);
  let rm: RewardModel;
  try {
    rm = new RewardModel(decoderConfig(ckpt.config, configFile), 0);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CheckpointError('CHECKPOINT_INVALID', err.message, { cause: err });
  }
  importWeights(rm, ckpt.weights, path.join(ckpt.dir, CHECKPOINT_FILES.weights));
  return rm;
}
