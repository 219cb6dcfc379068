// Flag values shared by `lmkit generate` and `lmkit chat`: numbers parsed
// strictly (so "--top-k 4x" is an error, not 4), the checkpoint folder found
// from a run folder, and generation-option errors re-worded with flag names.
import { existsSync } from 'node:fs';
import path from 'node:path';

import { ConfigError } from '../errors.js';
import { CHECKPOINT_FILES } from '../io/checkpoint.js';

/** `<out>/checkpoint` when given the run folder `<out>`, else the folder as given. */
export function resolveCheckpointDir(dir: string): string {
  const nested = path.join(dir, 'checkpoint');
  return !existsSync(path.join(dir, CHECKPOINT_FILES.config)) && existsSync(nested) ? nested : dir;
}

/** A finite number, or undefined when the flag is absent (the library default applies). */
export function numberFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new ConfigError('CONFIG_INVALID', `--${flag}: expected a number, got ${JSON.stringify(text)}`);
  return n;
}

/** An integer ≥ min, or undefined when the flag is absent. */
export function intFlag(flag: string, text: string | undefined, min = 0): number | undefined {
  const n = numberFlag(flag, text);
  if (n !== undefined && (!Number.isSafeInteger(n) || n < min))
    throw new ConfigError('CONFIG_INVALID', `--${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return n;
}

// GenerateOptions field → the flag that sets it, for error messages.
const FLAG_OF: Readonly<Record<string, string>> = {
  maxNewTokens: '--max-new-tokens', minNewTokens: '--min-new-tokens', temperature: '--temperature', topK: '--top-k',
  topP: '--top-p', repetitionPenalty: '--repetition-penalty', noRepeatNgramSize: '--no-repeat-ngram', numBeams: '--beams',
  numReturnSequences: '--num-return', lengthPenalty: '--length-penalty', earlyStopping: '--early-stopping',
  stopStrings: '--stop', seed: '--seed',
};

/**
 * The generator's validation throws RangeErrors worded for the library
 * ("generate: numReturnSequences 5 exceeds numBeams 2"); on the command line
 * the same check reads in flags and is a ConfigError (one line, exit 1).
 */
export function asFlagError(err: unknown): unknown {
  if (!(err instanceof RangeError)) return err;
  const message = err.message
    .replace(/^(generate|stream): /, '')
    .replace(/\b(maxNewTokens|minNewTokens|temperature|topK|topP|repetitionPenalty|noRepeatNgramSize|numBeams|numReturnSequences|lengthPenalty|earlyStopping|stopStrings|seed)\b/g,
      (name) => FLAG_OF[name] ?? name);
  return new ConfigError('CONFIG_INVALID', message, { cause: err });
}
