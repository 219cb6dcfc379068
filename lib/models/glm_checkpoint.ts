// GLM ↔ checkpoint directory (lib/io/checkpoint.ts), in the layout the
// generic loader (model_checkpoint.ts, `lmkit train --arch glm`) writes and
// reads: config.json holds GLM's config keys with model_type "glm" and
// lmkit_arch "glm"; the weights keep GLM's parameter names.
import path from 'node:path';

import { CheckpointError, ConfigError } from '../errors.js';
import { CHECKPOINT_FILES, type LoadedCheckpoint } from '../io/checkpoint.js';
import { GLM } from './glm.js';
import { glmConfig, type GlmConfig } from './glm_config.js';
import { importWeights } from './weights.js';

export const GLM_MODEL_TYPE = 'glm';

/** config.json for a GLM. */
export function glmCheckpointConfig(c: GlmConfig): Record<string, unknown> {
  return { model_type: GLM_MODEL_TYPE, lmkit_arch: 'glm', ...c };
}

/** Builds the GLM a checkpoint describes and loads its weights; another family's checkpoint is a CheckpointError. */
export function glmFromCheckpoint(ckpt: LoadedCheckpoint): GLM {
  const configFile = path.join(ckpt.dir, CHECKPOINT_FILES.config);
  const { lmkit_arch: arch, ...fields } = ckpt.config;
  if (fields['model_type'] !== GLM_MODEL_TYPE || (arch !== undefined && arch !== 'glm'))
    throw new CheckpointError('CHECKPOINT_WRONG_ARCH', `${configFile}: model_type is ${JSON.stringify(fields['model_type'])}${arch === undefined ? '' : ` (lmkit_arch ${JSON.stringify(arch)})`}, not a GLM checkpoint; pre-train one with lmkit train --arch glm`);
  let model: GLM;
  try {
    model = new GLM(glmConfig(fields, configFile), 0);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CheckpointError('CHECKPOINT_INVALID', err.message, { cause: err });
  }
  importWeights(model, ckpt.weights, path.join(ckpt.dir, CHECKPOINT_FILES.weights));
  return model;
}
