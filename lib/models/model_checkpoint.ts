// Any family's model ↔ checkpoint directory (lib/io/checkpoint.ts). config.json
// holds the family's own config keys (GPT-2's, BERT's, T5's or GLM's names),
// its model_type, and lmkit_arch naming the family, so a loader needs nothing
// but the folder. Weights keep each family's parameter names (weights.ts).
import path from 'node:path';

import { CheckpointError, ConfigError } from '../errors.js';
import { CHECKPOINT_FILES, readCheckpoint, type LoadedCheckpoint } from '../io/checkpoint.js';
import { checkpointArch, MODEL_TYPES, type Arch, type LanguageModel, type ModelOf } from './arch.js';
import { decoderCheckpointConfig, decoderFromCheckpoint } from './decoder_checkpoint.js';
import { EncoderDecoderLM } from './encoder_decoder.js';
import { encoderDecoderConfig } from './encoder_decoder_config.js';
import { EncoderLM } from './encoder.js';
import { encoderConfig } from './encoder_config.js';
import { GLM } from './glm.js';
import { glmConfig } from './glm_config.js';
import { importWeights } from './weights.js';

/** config.json for a model of any family: model_type, lmkit_arch, then the family's config keys. */
export function modelCheckpointConfig(model: LanguageModel): Record<string, unknown> {
  if (model instanceof EncoderLM) return { model_type: MODEL_TYPES.encoder[0], lmkit_arch: 'encoder', ...model.config };
  if (model instanceof EncoderDecoderLM) return { model_type: MODEL_TYPES['encoder-decoder'][0], lmkit_arch: 'encoder-decoder', ...model.config };
  if (model instanceof GLM) return { model_type: MODEL_TYPES.glm[0], lmkit_arch: 'glm', ...model.config };
  return decoderCheckpointConfig(model.config);
}

/**
 * Builds the model a checkpoint describes (its family from config.json) and
 * loads its weights. Takes the checkpoint folder or a readCheckpoint() result.
 * With `arch`, a checkpoint of another family is a CheckpointError.
 */
export function modelFromCheckpoint(source: string | LoadedCheckpoint): LanguageModel;
export function modelFromCheckpoint<A extends Arch>(source: string | LoadedCheckpoint, arch: A): ModelOf[A];
export function modelFromCheckpoint(source: string | LoadedCheckpoint, arch?: Arch): LanguageModel {
  const ckpt = typeof source === 'string' ? readCheckpoint(source) : source;
  const configFile = path.join(ckpt.dir, CHECKPOINT_FILES.config);
  const found = checkpointArch(ckpt.config, configFile);
  if (arch !== undefined && found !== arch)
    throw new CheckpointError('CHECKPOINT_WRONG_ARCH', `${ckpt.dir}: this is a ${found} checkpoint, not the ${arch} one asked for; train with --arch ${arch} or load it as ${found}`);
  if (found === 'decoder') return decoderFromCheckpoint(ckpt);
  const { lmkit_arch: _arch, ...fields } = ckpt.config;
  const model = build(found, fields, configFile);
  importWeights(model, ckpt.weights, path.join(ckpt.dir, CHECKPOINT_FILES.weights));
  return model;
}

function build(arch: Exclude<Arch, 'decoder'>, fields: Record<string, unknown>, configFile: string): LanguageModel {
  try {
    switch (arch) {
      case 'encoder':
        return new EncoderLM(encoderConfig(fields, configFile), 0);
      case 'encoder-decoder':
        return new EncoderDecoderLM(encoderDecoderConfig(fields, configFile), 0);
      case 'glm':
        return new GLM(glmConfig(fields, configFile), 0);
    }
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CheckpointError('CHECKPOINT_INVALID', err.message, { cause: err });
  }
}
