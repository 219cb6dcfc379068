// Preference records → reward-model batches. A response is scored as the
// sequence
//   prompt ++ response ++ RESPONSE_END
// at its last token (RESPONSE_END, which has seen the whole response). The
// prompt is the text the policy is conditioned on (for instruction data,
// renderPrompt's output), so the reward model reads exactly what PPO's
// rollouts produce. A batch holds whole prompts: all K responses of each, and
// all C(K,2) pairs its ranking implies.
import { DataError } from '../errors.js';
import { checkRanking, rankingPairs } from '../objectives/pairwise_ranking.js';
import { padSequences } from '../models/reward_model.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { PreferenceExample } from '../data/records.js';
import { RESPONSE_END } from './instruction_format.js';

/** One prompt's K responses as token sequences, and the comparisons between them. */
export interface EncodedPreference {
  sequences: Int32Array[];
  /** Indices into sequences: winner beats loser. */
  pairs: { winner: number; loser: number }[];
}

export interface PreferenceBatch {
  /** Every response of every prompt in the batch, right-padded: [N, T] int32. */
  tokens: Tensor;
  /** Sequence lengths [N]: the reward is read at position length − 1. */
  lengths: Int32Array;
  /** Pairs as row indices into tokens [P]. */
  winners: Int32Array;
  losers: Int32Array;
  /** Which prompt of the batch each pair belongs to [P]. */
  pairPrompt: Int32Array;
  /** Non-padding tokens. */
  tokenCount: number;
}

/**
 * Validates and tokenizes preference records. `maxLength` is the model's
 * n_positions (every token of a sequence is read). `source` names the set in errors.
 */
export function encodePreferences(tokenizer: Tokenizer, examples: readonly PreferenceExample[], endId: number, maxLength: number, source = 'examples'): EncodedPreference[] {
  return examples.map((ex, i) => {
    const where = `${source}[${i}]`;
    if (typeof ex !== 'object' || ex === null) throw new DataError('DATA_BAD_RECORD', `${where}: expected an object { prompt, responses, ranking }`);
    if (typeof ex.prompt !== 'string' || ex.prompt === '') throw new DataError('DATA_BAD_RECORD', `${where}: "prompt" must be a non-empty string`);
    if (!Array.isArray(ex.responses) || !ex.responses.every((r) => typeof r === 'string'))
      throw new DataError('DATA_BAD_RECORD', `${where}: "responses" must be an array of strings`);
    checkRanking(ex.ranking, ex.responses.length, where);
    const encode = (what: string, text: string): number[] => {
      try {
        return tokenizer.encode(text);
      } catch (err) {
        throw new DataError('DATA_UNENCODABLE', `${where}: the tokenizer cannot encode the ${what} (${(err as Error).message})`, { cause: err });
      }
    };
    const prompt = encode('prompt', ex.prompt);
    const sequences = ex.responses.map((response, k) => {
      if (response.includes(RESPONSE_END)) throw new DataError('DATA_BAD_RECORD', `${where}: responses[${k}] contains ${RESPONSE_END}, which marks the end of a response; remove it (it is appended automatically)`);
      const ids = Int32Array.from([...prompt, ...encode(`responses[${k}]`, response), endId]);
      if (ids.length > maxLength)
        throw new DataError('DATA_TOO_LONG', `${where}: prompt + responses[${k}] + end token are ${ids.length} tokens, more than the model's ${maxLength} positions; shorten them or use a model with a longer context`);
      return ids;
    });
    return { sequences, pairs: rankingPairs(ex.ranking) };
  });
}

/** Whole prompts → one batch: all their responses as rows and all their pairs. */
export function collatePreferences(prompts: readonly EncodedPreference[]): PreferenceBatch {
  const sequences: Int32Array[] = [];
  const winners: number[] = [], losers: number[] = [], pairPrompt: number[] = [];
  prompts.forEach((p, i) => {
    const first = sequences.length;
    sequences.push(...p.sequences);
    for (const { winner, loser } of p.pairs) {
      winners.push(first + winner);
      losers.push(first + loser);
      pairPrompt.push(i);
    }
  });
  const { tokens, lengths } = padSequences(sequences);
  return {
    tokens, lengths,
    winners: Int32Array.from(winners), losers: Int32Array.from(losers), pairPrompt: Int32Array.from(pairPrompt),
    tokenCount: lengths.reduce((n, l) => n + l, 0),
  };
}

