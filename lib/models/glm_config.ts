// GLM configuration, in the key names DecoderLM uses (Hugging Face GPT-2's):
// one shared pre-LN transformer with learned position and block-position
// tables. Unknown keys are errors, not silently ignored.
import { ConfigError } from '../errors.js';

export interface GlmConfig {
  /** Tokens in the vocabulary, the four GLM specials included. */
  vocab_size: number;
  /** Longest Part A + Part B; also the size of both position tables (GLM shares max_sequence_length). */
  n_positions: number;
  /** Model width. */
  n_embd: number;
  n_layer: number;
  n_head: number;
  /** MLP hidden width (default 4·n_embd). */
  n_inner: number;
  /** gelu (exact, as GLM) or gelu_new (tanh, GPT-2). */
  activation_function: 'gelu' | 'gelu_new';
  layer_norm_epsilon: number;
  dropout: number;
  /** Std of the normal initialisation. */
  initializer_range: number;
}

const DEFAULTS = { activation_function: 'gelu', layer_norm_epsilon: 1e-5, dropout: 0, initializer_range: 0.02 } as const;
const REQUIRED = ['vocab_size', 'n_positions', 'n_embd', 'n_layer', 'n_head'] as const;
const KNOWN = new Set<string>([...REQUIRED, 'n_inner', 'model_type', ...Object.keys(DEFAULTS)]);

/** Validates a JSON config (e.g. config.json) and fills in defaults. */
export function glmConfig(raw: unknown, source = 'config'): GlmConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_INVALID', `${source}: expected a JSON object`);
  const input = raw as Record<string, unknown>;
  for (const key of Object.keys(input))
    if (!KNOWN.has(key)) throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known: ${[...KNOWN].sort().join(', ')})`);
  if (input.model_type !== undefined && input.model_type !== 'glm')
    throw new ConfigError('CONFIG_INVALID', `${source}: model_type must be "glm", got ${JSON.stringify(input.model_type)}`);
  const positiveInt = (key: string): number => {
    const v = input[key];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const number = (key: keyof typeof DEFAULTS, ok: (v: number) => boolean, range: string): number => {
    const v = input[key] ?? DEFAULTS[key];
    if (typeof v !== 'number' || !ok(v)) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be ${range}, got ${JSON.stringify(v)}`);
    return v;
  };
  const act = input.activation_function ?? DEFAULTS.activation_function;
  if (act !== 'gelu' && act !== 'gelu_new') throw new ConfigError('CONFIG_INVALID', `${source}: activation_function must be one of gelu, gelu_new, got ${JSON.stringify(act)}`);
  const c: GlmConfig = {
    vocab_size: positiveInt('vocab_size'),
    n_positions: positiveInt('n_positions'),
    n_embd: positiveInt('n_embd'),
    n_layer: positiveInt('n_layer'),
    n_head: positiveInt('n_head'),
    n_inner: input.n_inner === undefined || input.n_inner === null ? 4 * (input.n_embd as number) : positiveInt('n_inner'),
    activation_function: act,
    layer_norm_epsilon: number('layer_norm_epsilon', (v) => v > 0, '> 0'),
    dropout: number('dropout', (v) => v >= 0 && v < 1, 'in [0, 1)'),
    initializer_range: number('initializer_range', (v) => v > 0, '> 0'),
  };
  if (c.n_embd % c.n_head !== 0) throw new ConfigError('CONFIG_INVALID', `${source}: n_embd ${c.n_embd} must be divisible by n_head ${c.n_head}`);
  return c;
}
