// Named pre-training configs for `lmkit train --config <name>`.
import { ConfigError } from '../errors.js';
import { pretrainConfig, type PretrainConfig } from './pretrain_config.js';

/**
 * nanoGPT's config/train_shakespeare_char.py with the CPU overrides from its
 * README (--device=cpu --compile=False --eval_iters=20 --log_interval=1
 * --block_size=64 --batch_size=12 --n_layer=4 --n_head=4 --n_embd=128
 * --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0), on train.py's
 * defaults (bias False, weight_decay 0.1 on every 2-D weight including the
 * tied embedding, grad_clip 1.0, exact GELU).
 */
const SHAKESPEARE_CHAR = {
  tokenizer: 'char',
  batch_size: 12, block_size: 64, gradient_accumulation_steps: 1,
  n_layer: 4, n_head: 4, n_embd: 128, dropout: 0.0, bias: false, activation_function: 'gelu',
  max_iters: 2000, lr_decay_iters: 2000,
  learning_rate: 1e-3, min_lr: 1e-4, beta2: 0.99, warmup_iters: 100,
  weight_decay: 0.1, decay_embeddings: true, grad_clip: 1.0,
  eval_interval: 250, eval_iters: 20, log_interval: 1,
  // nanoGPT checkpoints at evals; we checkpoint every eval too.
  checkpoint_interval: 250,
};

/** A model small enough for tests: a few hundred steps in seconds. */
const TINY = {
  tokenizer: 'char',
  batch_size: 8, block_size: 16, gradient_accumulation_steps: 1,
  n_layer: 2, n_head: 2, n_embd: 32, dropout: 0.0, bias: true,
  max_iters: 200, lr_decay_iters: 200, warmup_iters: 10,
  learning_rate: 3e-3, min_lr: 3e-4, beta2: 0.99,
  eval_interval: 50, eval_iters: 5, log_interval: 10, checkpoint_interval: 50,
};

/**
 * shakespeare-char's model and optimizer for the other families, with no
 * decoder-only keys (bias). MLM, span corruption and blank infilling predict
 * ~15–30% of the tokens a causal LM predicts per window, so they learn less
 * per step; max_iters is what fits in about 2 minutes on 2 threads (measured
 * 64, 81 and 67 ms per step for encoder, encoder-decoder and GLM).
 */
function shakespeareChar(arch: string, maxIters: number): Record<string, unknown> {
  const { bias: _decoderOnly, ...shared } = SHAKESPEARE_CHAR;
  return { ...shared, arch, max_iters: maxIters, lr_decay_iters: maxIters };
}

/**
 * TINY for the other families: tests train these for a few hundred steps,
 * with more eval batches since only ~15% of the tokens are targets. Masked
 * LM needs the most steps: a masked character is predicted from its
 * neighbours only once attention has learned to find them (a causal LM's
 * bigram statistics need no attention), so it leaves the unigram plateau late.
 */
function tiny(arch: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  const { bias: _decoderOnly, ...shared } = TINY;
  return { ...shared, arch, eval_iters: 20, ...over };
}

export const PRESETS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'shakespeare-char': SHAKESPEARE_CHAR,
  tiny: TINY,
  'shakespeare-char-encoder': shakespeareChar('encoder', 1500),
  'shakespeare-char-encoder-decoder': shakespeareChar('encoder-decoder', 1200),
  'shakespeare-char-glm': shakespeareChar('glm', 1500),
  'tiny-encoder': tiny('encoder', { max_iters: 800, lr_decay_iters: 800, eval_interval: 200, checkpoint_interval: 200 }),
  'tiny-encoder-decoder': tiny('encoder-decoder'),
  'tiny-glm': tiny('glm'),
};

/** Presets whose default corpus is the shipped data/tinyshakespeare.txt. */
export const SHAKESPEARE_PRESETS: ReadonlySet<string> = new Set(Object.keys(PRESETS));

export function presetConfig(name: string): PretrainConfig {
  const preset = PRESETS[name];
  if (!preset) throw new ConfigError('CONFIG_UNKNOWN_PRESET', `unknown preset "${name}" (presets: ${Object.keys(PRESETS).join(', ')}); or pass a .json config file`);
  return pretrainConfig(preset, `preset ${name}`);
}
