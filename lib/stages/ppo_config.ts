// The PPO (RLHF) config: TRL PPOConfig's knobs under TRL's names where one
// exists, defaults scaled to small CPU models. Unknown keys and out-of-range
// values are ConfigErrors that name the key.
import { ConfigError } from '../errors.js';

export interface PpoConfig {
  /** Rollout batches in the run; each is followed by ppo_epochs passes of updates. */
  iterations: number;
  /** Prompts (one sampled response each) per rollout batch (TRL batch_size); ≥ 2 so advantages can be whitened. */
  batch_size: number;
  /** Samples per optimizer step; must divide batch_size (TRL mini_batch_size). */
  mini_batch_size: number;
  /** Passes over each rollout batch: reuse of samples is what makes PPO sample-efficient (TRL ppo_epochs 4). */
  ppo_epochs: number;
  /** Policy learning rate (constant). */
  learning_rate: number;
  /** Value model learning rate (constant). */
  value_learning_rate: number;
  /** AdamW decoupled decay; 0 = Adam, as TRL. */
  weight_decay: number;
  beta1: number;
  beta2: number;
  /** Gradient-norm clip of each model, applied separately; 0 turns clipping off. */
  max_grad_norm: number;
  /** PPO ratio clip ε in (0, 1) (TRL cliprange). */
  cliprange: number;
  /** Value clip: new values stay within this of the rollout's values (TRL cliprange_value). */
  cliprange_value: number;
  /** Weight of the value loss in the total loss (TRL vf_coef). */
  vf_coef: number;
  /** Discount γ in [0, 1]. */
  gamma: number;
  /** GAE λ in [0, 1] (TRL lam). */
  lam: number;
  /** β at the start (≥ 0) (TRL init_kl_coef). */
  init_kl_coef: number;
  /** Adapt β toward kl_target (Ziegler et al. 2019); false keeps it fixed. */
  adap_kl_ctrl: boolean;
  /** Target sequence KL in nats (TRL target). */
  kl_target: number;
  /** Samples over which β adapts (TRL horizon). */
  horizon: number;
  /** γ_ptx: weight of the pre-training LM loss mixed into each step (InstructGPT PPO-ptx); 0 = off. */
  ptx_coef: number;
  /** Response length cap in tokens. */
  max_new_tokens: number;
  /** Sampling temperature (> 0); log-probs are of logits / temperature. */
  temperature: number;
  /** Sample among the k likeliest tokens; 0 = all. Log-probs still use the full softmax, as TRL's do. */
  top_k: number;
  /** Seeds prompt order, sampling and minibatch order: same seed, same run. */
  seed: number;
  /** With a run folder: checkpoint every this many iterations (and after the last); 0 = after the last only. */
  checkpoint_interval: number;
}

export const DEFAULT_PPO: PpoConfig = {
  iterations: 20,
  batch_size: 16,
  mini_batch_size: 8,
  ppo_epochs: 4,
  learning_rate: 1e-4,
  value_learning_rate: 1e-4,
  weight_decay: 0,
  beta1: 0.9,
  beta2: 0.999,
  max_grad_norm: 1.0,
  cliprange: 0.2,
  cliprange_value: 0.2,
  vf_coef: 0.1,
  gamma: 1,
  lam: 0.95,
  init_kl_coef: 0.2,
  adap_kl_ctrl: true,
  kl_target: 6,
  horizon: 10000,
  ptx_coef: 0,
  max_new_tokens: 16,
  temperature: 1,
  top_k: 0,
  seed: 1337,
  checkpoint_interval: 0,
};

type Key = keyof PpoConfig;
const POSITIVE_INTS = new Set<Key>(['batch_size', 'mini_batch_size', 'ppo_epochs', 'max_new_tokens']);
const NON_NEGATIVE_INTS = new Set<Key>(['iterations', 'top_k', 'seed', 'checkpoint_interval']);
const UNIT_INTERVAL = new Set<Key>(['gamma', 'lam']);
const POSITIVE = new Set<Key>(['kl_target', 'horizon', 'temperature', 'learning_rate', 'value_learning_rate']);

/** Validates a config object on top of the defaults; `source` names it in errors. */
export function ppoConfig(raw: unknown, source = 'ppo config', base: PpoConfig = DEFAULT_PPO): PpoConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_INVALID', `${source}: expected an object of config keys`);
  const out: PpoConfig = { ...base };
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    if (!(key in DEFAULT_PPO))
      throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known keys: ${Object.keys(DEFAULT_PPO).sort().join(', ')})`);
    (out as unknown as Record<string, unknown>)[key] = checkValue(key as Key, value, source);
  }
  const bad = (msg: string): never => {
    throw new ConfigError('CONFIG_INVALID', `${source}: ${msg}`);
  };
  if (out.batch_size < 2) bad(`batch_size must be at least 2 (advantages are whitened over the batch), got ${out.batch_size}`);
  if (out.mini_batch_size > out.batch_size || out.batch_size % out.mini_batch_size !== 0)
    bad(`mini_batch_size ${out.mini_batch_size} must divide batch_size ${out.batch_size}`);
  if (!(out.cliprange > 0 && out.cliprange < 1)) bad(`cliprange must be in (0, 1), got ${out.cliprange}`);
  if (!(out.beta1 < 1 && out.beta2 < 1)) bad(`beta1 and beta2 must be in [0, 1), got ${out.beta1}, ${out.beta2}`);
  return out;
}

function checkValue(key: Key, value: unknown, source: string): unknown {
  const bad = (want: string): never => {
    const hint = key === 'init_kl_coef' ? '; a negative β would reward drifting away from the reference' : '';
    throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be ${want}, got ${JSON.stringify(value)}${hint}`);
  };
  const isNum = typeof value === 'number' && Number.isFinite(value);
  if (POSITIVE_INTS.has(key)) return Number.isSafeInteger(value) && (value as number) >= 1 ? value : bad('a positive integer');
  if (NON_NEGATIVE_INTS.has(key)) return Number.isSafeInteger(value) && (value as number) >= 0 ? value : bad('a non-negative integer');
  if (UNIT_INTERVAL.has(key)) return isNum && value >= 0 && value <= 1 ? value : bad('a number in [0, 1]');
  if (POSITIVE.has(key)) return isNum && value > 0 ? value : bad('a finite number > 0');
  if (typeof DEFAULT_PPO[key] === 'boolean') return typeof value === 'boolean' ? value : bad('true or false');
  return isNum && value >= 0 ? value : bad('a finite number ≥ 0');
}
