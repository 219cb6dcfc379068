// The one validator behind every model config (DecoderLM, EncoderLM, GLM, …):
// unknown keys are errors naming the key, required sizes are positive
// integers, every other key has a default whose type a given value must
// match, string keys may be restricted to a set of choices. Model-specific
// rules (divisibility, ranges) are checked by each config after this.
import { ConfigError } from '../errors.js';

export interface ConfigSchema<T> {
  /** Sizes with no default: positive integers. */
  required: readonly (keyof T & string)[];
  /** Every other key, with its default (its type is the only accepted type). */
  defaults: Partial<T>;
  /** Optional positive integers computed from the rest when absent (e.g. n_inner = 4·n_embd). */
  derived?: Partial<Record<keyof T & string, (c: T) => number>>;
  /** Allowed values of string keys. */
  choices?: Partial<Record<keyof T & string, readonly string[]>>;
  /** Number keys that must be non-negative integers. */
  nonNegativeInts?: readonly (keyof T & string)[];
  /** Accepted (and ignored) in config.json, checked when given. */
  modelType?: readonly string[];
}

export function validateConfig<T>(raw: unknown, source: string, schema: ConfigSchema<T>): T {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('CONFIG_INVALID', `${source}: expected a JSON object`);
  const input = raw as Record<string, unknown>;
  const derived = Object.keys(schema.derived ?? {});
  const known = new Set<string>([...schema.required, ...derived, ...Object.keys(schema.defaults), 'model_type']);
  for (const key of Object.keys(input))
    if (!known.has(key)) throw new ConfigError('CONFIG_UNKNOWN_KEY', `${source}: unknown key "${key}" (known: ${[...known].sort().join(', ')})`);
  if (schema.modelType && input.model_type !== undefined && !schema.modelType.includes(input.model_type as string))
    throw new ConfigError('CONFIG_INVALID', `${source}: model_type must be ${schema.modelType.map((t) => JSON.stringify(t)).join(' or ')}, got ${JSON.stringify(input.model_type)}`);
  const positiveInt = (key: string): number => {
    const v = input[key];
    if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const out: Record<string, unknown> = { ...schema.defaults };
  for (const key of schema.required) out[key] = positiveInt(key);
  for (const [key, fallback] of Object.entries(schema.defaults)) {
    const v = input[key];
    if (v === undefined) continue;
    if (typeof v !== typeof fallback) throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a ${typeof fallback}, got ${JSON.stringify(v)}`);
    if (schema.nonNegativeInts?.includes(key as keyof T & string) && !(Number.isSafeInteger(v) && (v as number) >= 0))
      throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
    const allowed = schema.choices?.[key as keyof T & string];
    if (allowed && !allowed.includes(v as string))
      throw new ConfigError('CONFIG_INVALID', `${source}: ${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    out[key] = v;
  }
  for (const [key, compute] of Object.entries(schema.derived ?? {}) as [string, (c: T) => number][])
    out[key] = input[key] === undefined || input[key] === null ? compute(out as T) : positiveInt(key);
  return out as T;
}

/** A ConfigError when `ok` is false: `${source}: ${message}`. */
export function requireConfig(ok: boolean, source: string, message: string): void {
  if (!ok) throw new ConfigError('CONFIG_INVALID', `${source}: ${message}`);
}
