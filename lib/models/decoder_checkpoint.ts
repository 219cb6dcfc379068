// DecoderLM ↔ checkpoint directory (lib/io/checkpoint.ts): the config.json a
// DecoderLM is saved with, and a model rebuilt from a loaded checkpoint with
// every inconsistency reported as a CheckpointError naming the file.
import path from 'node:path';

import { CheckpointError, ConfigError } from '../errors.js';
import { CHECKPOINT_FILES, type LoadedCheckpoint } from '../io/checkpoint.js';
import { checkpointArch } from './arch.js';
import { DecoderLM } from './decoder.js';
import { decoderConfig, type DecoderConfig } from './decoder_config.js';
import { importWeights } from './weights.js';

/**
 * config.json for a DecoderLM. model_type is "gpt2" when Hugging Face's GPT-2
 * class can load the weights as they are (biases, learned positions,
 * LayerNorm, GELU, tied head), else "lmkit-decoder".
 */
export function decoderCheckpointConfig(c: DecoderConfig): Record<string, unknown> {
  const gpt2 = c.bias && c.position_embedding === 'learned' && c.norm === 'layernorm' && c.activation_function !== 'swiglu' && c.tie_word_embeddings;
  const { vocab_size, n_positions, n_embd, n_layer, n_head, n_inner, ...rest } = c;
  return { model_type: gpt2 ? 'gpt2' : 'lmkit-decoder', lmkit_arch: 'decoder', vocab_size, n_positions, n_embd, n_layer, n_head, n_inner, ...rest };
}

/** Builds the model a checkpoint describes and loads its weights. */
export function decoderFromCheckpoint(ckpt: LoadedCheckpoint): DecoderLM {
  const configFile = path.join(ckpt.dir, CHECKPOINT_FILES.config);
  const arch = checkpointArch(ckpt.config, configFile);
  if (arch !== 'decoder')
    throw new CheckpointError('CHECKPOINT_WRONG_ARCH', `${ckpt.dir}: this is a ${arch} checkpoint, but a decoder (causal LM) one is needed here (lmkit sample, generate and chat run decoders); in code, modelFromCheckpoint() loads any family`);
  const { lmkit_arch: _arch, ...fields } = ckpt.config;
  let config: DecoderConfig;
  try {
    config = decoderConfig(fields, configFile);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new CheckpointError('CHECKPOINT_INVALID', err.message, { cause: err });
  }
  const model = new DecoderLM(config, 0);
  importWeights(model, ckpt.weights, path.join(ckpt.dir, CHECKPOINT_FILES.weights));
  return model;
}
