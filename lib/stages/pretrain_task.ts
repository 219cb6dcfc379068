// What the pre-training loop needs from a model family: the special tokens
// its objective writes, a fresh model, and "windows of text → batch → loss".
// One file per family implements it (pretrain_decoder.ts, pretrain_encoder.ts,
// pretrain_encoder_decoder.ts, pretrain_glm.ts); the loop in pretrain.ts
// never switches on the arch.
import { DataError } from '../errors.js';
import type { Batch, TextCorpus } from '../data/text_corpus.js';
import type { Arch, LanguageModel } from '../models/arch.js';
import type { Random } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { ModelKeys, ObjectiveKeys } from './pretrain_config.js';
import { decoderPretraining } from './pretrain_decoder.js';
import { encoderDecoderPretraining } from './pretrain_encoder_decoder.js';
import { encoderPretraining } from './pretrain_encoder.js';
import { glmPretraining } from './pretrain_glm.js';

/** One micro-batch after the objective: what the loss predicts, and the loss itself. */
export interface ObjectiveBatch {
  /** The ids the loss averages over, −100 where ignored (the unigram baseline scores these). */
  targets: Int32Array;
  /** Runs the model: the objective's mean cross-entropy over `targets`. */
  loss(): Tensor;
}

/** A model bound to its objective and to the tokenizer's special ids. */
export interface PretrainTask {
  readonly arch: Arch;
  readonly model: LanguageModel;
  /**
   * Applies the objective to `windows` (x: [B, block_size] text; y: x shifted
   * by one), drawing its random choices (masks, spans, order) from rng, so a
   * seeded run, and a resumed one, sees the same batches.
   */
  makeBatch(windows: Batch, rng: Random): ObjectiveBatch;
}

export interface TaskSetup {
  tokenizer: Tokenizer;
  /** Text tokens per example; the model's position tables are sized for what the objective makes of them. */
  blockSize: number;
  /** Model keys with the arch's defaults filled in. */
  model: ModelKeys;
  /** The arch's objective keys with their defaults filled in. */
  objective: ObjectiveKeys;
  /** Seeds the weights and dropout. */
  seed: number;
}

export interface ArchAdapter {
  readonly arch: Arch;
  /** Added tokens the tokenizer must hold; lmkit's char and BPE tokenizers get them in this order. */
  specialTokens(blockSize: number, objective: ObjectiveKeys): string[];
  createTask(setup: TaskSetup): PretrainTask;
}

/** The family adapters, by arch. */
export const ARCH_ADAPTERS: Readonly<Record<Arch, ArchAdapter>> = {
  decoder: decoderPretraining,
  encoder: encoderPretraining,
  'encoder-decoder': encoderDecoderPretraining,
  glm: glmPretraining,
};

/**
 * A special token inside the training text would reach the objective as if
 * it were its own marker; refuse such text up front, naming the token.
 */
export function checkNoSpecialTokens(corpus: TextCorpus, tokens: readonly string[], arch: Arch): void {
  const reserved = new Map<number, string>();
  for (const token of tokens) {
    const id = corpus.tokenizer.tokenToId(token);
    if (id !== undefined) reserved.set(id, token);
  }
  if (reserved.size === 0) return;
  for (const split of ['train', 'val'] as const) {
    const ids = corpus[split];
    for (let i = 0; i < ids.length; i++) {
      const token = reserved.get(ids[i]!);
      if (token !== undefined)
        throw new DataError('DATA_HAS_SPECIAL', `${corpus.file}: the text contains ${JSON.stringify(token)} (${split} token ${i}), which the ${arch} objective reserves as a special token; remove or respell it in the data`);
    }
  }
}
