// Equal parameter counts across the four families. GLM, the family under
// test, keeps the plain shape (MLP 4·n_embd); each other family's MLP width
// (n_inner) is solved so its count lands on GLM's. The count is affine in
// n_inner, so two trial models give the slope. The models measured are the
// ones pre-training builds (same adapter, same config), and the result is
// checked: every family within `tolerance` of GLM, else a ConfigError.
import { ConfigError } from '../errors.js';
import type { Arch } from '../models/arch.js';
import { pretrainConfig, resolvedModelKeys, resolvedObjectiveKeys, type ModelKeys, type PretrainConfig } from '../stages/pretrain_config.js';
import { ARCH_ADAPTERS } from '../stages/pretrain_task.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { CompareConfig } from './config.js';

export const FAMILIES: readonly Arch[] = ['decoder', 'encoder', 'encoder-decoder', 'glm'];

export interface FamilyShape {
  arch: Arch;
  /** The pre-training config's model keys (DecoderConfig names; mapped to each family's own). */
  model: ModelKeys;
  /** Parameters of the pre-trained model (the encoder's classification head, added for fine-tuning, not counted). */
  parameters: number;
  /** e.g. "2 × 128, MLP 684, RoPE". */
  shape: string;
}

/** Within ±10% of GLM's count, as the comparison promises. */
export const PARAMETER_TOLERANCE = 0.1;

/** The model keys of a family before its MLP width is solved. */
function baseKeys(arch: Arch, c: CompareConfig): ModelKeys {
  const { n_layer, n_head, n_embd } = c.model;
  const common = { n_head, n_embd, dropout: 0, n_inner: 4 * n_embd };
  switch (arch) {
    // RoPE: the decoder's best setting at this scale (it learns copying sooner than with learned positions).
    case 'decoder': return { ...common, n_layer, position_embedding: 'rope', bias: true };
    case 'encoder-decoder': return { ...common, n_layer: n_layer / 2 };
    default: return { ...common, n_layer };
  }
}

/** The pre-training config of one family: the shared budget, the family's model keys and objective. */
export function familyPretrainConfig(arch: Arch, model: ModelKeys, c: CompareConfig, tokenizerFile: string): PretrainConfig {
  const p = c.pretrain;
  return pretrainConfig({
    arch, tokenizer: tokenizerFile, ...model,
    block_size: p.block_size, batch_size: p.batch_size, max_iters: p.iters, lr_decay_iters: p.iters,
    learning_rate: p.learning_rate, min_lr: p.learning_rate / 10, warmup_iters: Math.min(100, Math.floor(p.iters / 10)), beta2: 0.99,
    eval_interval: p.iters, eval_iters: 10, log_interval: Math.max(1, Math.floor(p.iters / 20)), checkpoint_interval: 0, seed: c.seed,
    ...(arch === 'glm' ? { gmask_probability: p.glmDocumentShare } : {}),
  }, `compare pre-training (${arch})`);
}

function countParameters(arch: Arch, model: ModelKeys, c: CompareConfig, tokenizer: Tokenizer): number {
  const config = familyPretrainConfig(arch, model, c, 'unused.json');
  const task = ARCH_ADAPTERS[arch].createTask({ tokenizer, blockSize: c.pretrain.block_size, model: resolvedModelKeys(config), objective: resolvedObjectiveKeys(config), seed: 0 });
  return task.model.numParameters();
}

function describe(arch: Arch, m: ModelKeys): string {
  const depth = arch === 'encoder-decoder' ? `${m.n_layer} + ${m.n_layer} layers` : `${m.n_layer} layers`;
  const positions = arch === 'decoder' ? 'RoPE' : arch === 'glm' ? 'learned 2D positions' : 'learned positions';
  return `${depth} × ${m.n_embd}, MLP ${m.n_inner}, ${positions}`;
}

/** Every family's shape at GLM's parameter count. */
export function sizeFamilies(c: CompareConfig, tokenizer: Tokenizer, tolerance = PARAMETER_TOLERANCE): FamilyShape[] {
  const glmKeys = baseKeys('glm', c);
  const target = countParameters('glm', glmKeys, c, tokenizer);
  const shapes = FAMILIES.map((arch): FamilyShape => {
    const keys = baseKeys(arch, c);
    if (arch !== 'glm') {
      const k0 = keys.n_inner!, k1 = k0 + 64;
      const c0 = countParameters(arch, keys, c, tokenizer);
      const slope = (countParameters(arch, { ...keys, n_inner: k1 }, c, tokenizer) - c0) / (k1 - k0);
      keys.n_inner = Math.max(4, Math.round((k0 + (target - c0) / slope) / 4) * 4);
    }
    return { arch, model: keys, parameters: countParameters(arch, keys, c, tokenizer), shape: describe(arch, keys) };
  });
  for (const s of shapes)
    if (Math.abs(s.parameters - target) > tolerance * target)
      throw new ConfigError('CONFIG_INVALID', `compare: the ${s.arch} has ${s.parameters} parameters, more than ${100 * tolerance}% from GLM's ${target} even with MLP ${s.model.n_inner}; change model.n_embd or model.n_layer`);
  return shapes;
}
