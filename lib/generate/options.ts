// Generation options: typed, defaulted, and validated in one place with one
// message form ("generate: <option> must be ..., got ...") before any work.
import { ConfigError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { EarlyStopping } from './beam_search.js';

export interface GenerateOptions {
  /** Tokens to add after each prompt (HF max_new_tokens). */
  maxNewTokens?: number;
  /** End-of-sequence tokens are masked until this many are generated. */
  minNewTokens?: number;
  /** 0 = greedy (the default); > 0 samples from softmax(logits / temperature). */
  temperature?: number;
  /** Sample among the k most likely tokens; 0 = all. */
  topK?: number;
  /** Nucleus sampling: the smallest set of tokens with probability ≥ topP; 1 = all. */
  topP?: number;
  /** HF repetition_penalty (1 = off, > 1 discourages repeats). */
  repetitionPenalty?: number;
  /** Never repeat an n-gram of this size; 0 = off. */
  noRepeatNgramSize?: number;
  /** Beam search when > 1. */
  numBeams?: number;
  /** Beam score = Σ log p / len^lengthPenalty. */
  lengthPenalty?: number;
  earlyStopping?: EarlyStopping;
  /** Sequences per prompt: ≤ numBeams with beam search; with sampling, independent draws. */
  numReturnSequences?: number;
  /** Tokens that end a sequence, by id or vocabulary spelling; default the tokenizer's eos, if any. */
  stopTokens?: readonly (number | string)[];
  /** Text that ends a sequence; the returned text stops just before it. */
  stopStrings?: readonly string[];
  /** Seeds sampling; each returned sequence j draws from its own stream (seed, j), so batching does not change results. */
  seed?: number;
  /** Cancels generation: stream() ends, generate() throws an AbortError. */
  signal?: AbortSignal;
}

export interface ResolvedOptions {
  maxNewTokens: number;
  minNewTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  repetitionPenalty: number;
  noRepeatNgramSize: number;
  numBeams: number;
  lengthPenalty: number;
  earlyStopping: EarlyStopping;
  numReturnSequences: number;
  eosTokenIds: number[];
  stopStrings: string[];
  seed: number;
  signal: AbortSignal | undefined;
}

const KNOWN = new Set(['maxNewTokens', 'minNewTokens', 'temperature', 'topK', 'topP', 'repetitionPenalty', 'noRepeatNgramSize',
  'numBeams', 'lengthPenalty', 'earlyStopping', 'numReturnSequences', 'stopTokens', 'stopStrings', 'seed', 'signal']);

function int(name: string, v: number | undefined, fallback: number, min: number): number {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n < min) throw new RangeError(`generate: ${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

function num(name: string, v: number | undefined, fallback: number, ok: (n: number) => boolean, range: string): number {
  const n = v ?? fallback;
  if (typeof n !== 'number' || !Number.isFinite(n) || !ok(n)) throw new RangeError(`generate: ${name} must be ${range}, got ${v}`);
  return n;
}

/** Defaults and checks; `context` is the model's n_positions and `longestPrompt` the longest prompt in tokens. */
export function resolveOptions(o: GenerateOptions, tokenizer: Tokenizer, context: number, longestPrompt: number): ResolvedOptions {
  for (const key of Object.keys(o))
    if (!KNOWN.has(key)) throw new ConfigError('CONFIG_UNKNOWN_KEY', `generate: unknown option "${key}"; known: ${[...KNOWN].join(', ')}`);
  const maxNewTokens = int('maxNewTokens', o.maxNewTokens, 32, 1);
  if (longestPrompt + maxNewTokens > context)
    throw new RangeError(`generate: maxNewTokens ${maxNewTokens} + the longest prompt's ${longestPrompt} tokens exceed the model's context of ${context} positions; lower maxNewTokens to ≤ ${context - longestPrompt} or shorten the prompt`);
  const minNewTokens = int('minNewTokens', o.minNewTokens, 0, 0);
  if (minNewTokens > maxNewTokens) throw new RangeError(`generate: minNewTokens ${minNewTokens} exceeds maxNewTokens ${maxNewTokens}`);
  const numBeams = int('numBeams', o.numBeams, 1, 1);
  const numReturnSequences = int('numReturnSequences', o.numReturnSequences, 1, 1);
  const temperature = num('temperature', o.temperature, 0, (n) => n >= 0, 'a number ≥ 0 (0 = greedy)');
  if (numBeams > 1 && numReturnSequences > numBeams)
    throw new RangeError(`generate: numReturnSequences ${numReturnSequences} exceeds numBeams ${numBeams}; beam search returns at most numBeams sequences`);
  if (numBeams === 1 && temperature === 0 && numReturnSequences > 1)
    throw new RangeError(`generate: numReturnSequences ${numReturnSequences} with greedy decoding would repeat one sequence; set numBeams ≥ ${numReturnSequences} or temperature > 0`);
  if (numBeams > 1 && temperature > 0)
    throw new RangeError('generate: beam search with sampling (numBeams > 1 and temperature > 0) is not supported; set temperature 0');
  const earlyStopping = o.earlyStopping ?? false;
  if (earlyStopping !== true && earlyStopping !== false && earlyStopping !== 'never')
    throw new RangeError(`generate: earlyStopping must be true, false or "never", got ${JSON.stringify(earlyStopping)}`);
  const eosTokenIds = (o.stopTokens ?? (tokenizer.eos !== undefined ? [tokenizer.eos] : [])).map((t) => {
    const id = typeof t === 'number' ? t : tokenizer.tokenToId(t);
    if (id === undefined || !Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize)
      throw new RangeError(`generate: stop token ${JSON.stringify(t)} is not in the tokenizer's vocabulary (${tokenizer.vocabSize} tokens)`);
    return id;
  });
  const stopStrings = [...(o.stopStrings ?? [])];
  for (const s of stopStrings) if (typeof s !== 'string' || s === '') throw new RangeError(`generate: stopStrings must be non-empty strings, got ${JSON.stringify(s)}`);
  return {
    maxNewTokens, minNewTokens, temperature, numBeams, numReturnSequences, earlyStopping, eosTokenIds, stopStrings,
    topK: int('topK', o.topK, 0, 0),
    topP: num('topP', o.topP, 1, (n) => n > 0 && n <= 1, 'in (0, 1]'),
    repetitionPenalty: num('repetitionPenalty', o.repetitionPenalty, 1, (n) => n > 0, 'a number > 0 (1 = off)'),
    noRepeatNgramSize: int('noRepeatNgramSize', o.noRepeatNgramSize, 0, 0),
    lengthPenalty: num('lengthPenalty', o.lengthPenalty, 1, () => true, 'a finite number'),
    seed: int('seed', o.seed, 0, 0),
    signal: o.signal,
  };
}
