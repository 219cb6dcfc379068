// The four model families lmkit trains, by the name configs, checkpoints and
// `lmkit train --arch` use for them.
import { CheckpointError, ConfigError } from '../errors.js';
import { DecoderLM } from './decoder.js';
import { EncoderDecoderLM } from './encoder_decoder.js';
import { EncoderLM } from './encoder.js';
import { GLM } from './glm.js';

export const ARCHS = ['decoder', 'encoder', 'encoder-decoder', 'glm'] as const;

/** decoder: GPT (causal LM); encoder: BERT (MLM); encoder-decoder: T5 (span corruption); glm: GLM (blank infilling). */
export type Arch = (typeof ARCHS)[number];

/** A model of any family. */
export type LanguageModel = DecoderLM | EncoderLM | EncoderDecoderLM | GLM;

/** The model class of each family. */
export interface ModelOf {
  decoder: DecoderLM;
  encoder: EncoderLM;
  'encoder-decoder': EncoderDecoderLM;
  glm: GLM;
}

/**
 * config.json's model_type per family. Only "gpt2" promises that Hugging
 * Face's class loads the weights as they are; "lmkit-bert" and "lmkit-t5"
 * use BERT's and T5's key names for lmkit's pre-LN layouts; "glm" is GLM's.
 */
export const MODEL_TYPES: Readonly<Record<Arch, readonly string[]>> = {
  decoder: ['gpt2', 'lmkit-decoder'],
  encoder: ['lmkit-bert'],
  'encoder-decoder': ['lmkit-t5'],
  glm: ['glm'],
};

export function isArch(value: unknown): value is Arch {
  return typeof value === 'string' && (ARCHS as readonly string[]).includes(value);
}

/** Checks a user-given architecture name; `source` names where it came from (a flag, a config file). */
export function parseArch(value: unknown, source: string): Arch {
  if (isArch(value)) return value;
  throw new ConfigError('CONFIG_UNKNOWN_ARCH', `${source}: unknown architecture ${JSON.stringify(value)} (architectures: ${ARCHS.join(', ')})`);
}

export function archOf(model: LanguageModel): Arch {
  if (model instanceof DecoderLM) return 'decoder';
  if (model instanceof EncoderLM) return 'encoder';
  if (model instanceof EncoderDecoderLM) return 'encoder-decoder';
  return 'glm';
}

/**
 * The family a checkpoint's config.json describes: its lmkit_arch, else
 * (checkpoints written before lmkit_arch existed) the family of its
 * model_type, else decoder. `file` names config.json in errors.
 */
export function checkpointArch(config: Record<string, unknown>, file: string): Arch {
  const recorded = config['lmkit_arch'];
  const modelType = config['model_type'];
  const byType = ARCHS.find((a) => MODEL_TYPES[a].includes(modelType as string));
  if (recorded !== undefined) {
    if (!isArch(recorded))
      throw new CheckpointError('CHECKPOINT_INVALID', `${file}: lmkit_arch is ${JSON.stringify(recorded)}, expected one of ${ARCHS.join(', ')}; the file is corrupt or from a newer lmkit`);
    if (modelType !== undefined && byType !== recorded)
      throw new CheckpointError('CHECKPOINT_INVALID', `${file}: lmkit_arch "${recorded}" does not match model_type ${JSON.stringify(modelType)} (a ${recorded} checkpoint has model_type ${MODEL_TYPES[recorded].map((t) => `"${t}"`).join(' or ')})`);
    return recorded;
  }
  return byType ?? 'decoder';
}
