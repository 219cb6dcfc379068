// How subcommands report failures: lmkit's own errors (bad config, data,
// checkpoint, training) as one line without a stack, usage errors with a
// pointer to --help; anything else is a bug and keeps its stack.
import { LmkitError } from '../errors.js';
import { TokenizerError } from '../tokenizer/errors.js';

/** Exit status for a command-line usage error (unknown flag, missing value). */
export const EXIT_USAGE = 2;

export function usageError(command: string, err: unknown): number {
  console.error(`lmkit ${command}: ${(err as Error).message.replace(/\.$/, '')}. Run: lmkit ${command} --help`);
  return EXIT_USAGE;
}

export function cliError(command: string, err: unknown): number {
  if (err instanceof LmkitError || err instanceof TokenizerError) {
    console.error(`lmkit ${command}: ${err.message} [${err.code}]`);
    return 1;
  }
  throw err;
}
