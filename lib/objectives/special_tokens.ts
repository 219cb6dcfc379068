// The special tokens each pre-training objective writes into inputs and
// targets, spelled as the papers' tokenizers spell them, and how to find
// their ids in a tokenizer. The tokenizer holds them as added tokens, so a
// checkpoint's tokenizer.json says which id each one has; code that uses a
// trained model (generation, cloze scoring) looks them up with the *TokenIds
// functions below rather than assuming numbers.
//
// Id assignment when lmkit builds the tokenizer (`lmkit train`):
//   char  the corpus characters sorted by code point take ids 0..C−1, then
//         the arch's tokens in the order of the lists below (C, C+1, ...);
//   bpe   the arch's tokens first (0, 1, ...), then the 256 bytes and merges.
// The T5 list ends with <extra_id_0>, so with the char tokenizer
// <extra_id_0> = vocab_size−1, <extra_id_1> = vocab_size−2, ... as in T5.
import { ConfigError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { GlmSpecialTokens } from './blank_infilling.js';

/** BERT's tokens: [PAD] pads, [MASK] replaces chosen tokens, [CLS] opens and [SEP] closes a sequence. */
export const MLM_TOKENS = { pad: '[PAD]', mask: '[MASK]', cls: '[CLS]', sep: '[SEP]' } as const;

/** T5's tokens; sentinels are <extra_id_0>, <extra_id_1>, ... (sentinelToken). */
export const T5_TOKENS = { pad: '<pad>', eos: '</s>' } as const;

/** GLM's tokens ([S]/[E] are GLM's <|startofpiece|>/<|endofpiece|>), plus [PAD] for collation. */
export const GLM_TOKENS = { pad: '[PAD]', mask: '[MASK]', gmask: '[gMASK]', start: '[S]', end: '[E]' } as const;

export function sentinelToken(k: number): string {
  return `<extra_id_${k}>`;
}

/** The added tokens an MLM tokenizer needs, in id order. */
export function mlmSpecialTokens(): string[] {
  return [MLM_TOKENS.pad, MLM_TOKENS.mask, MLM_TOKENS.cls, MLM_TOKENS.sep];
}

/** T5: <pad>, </s>, then numSentinels sentinels from the highest down to <extra_id_0> (T5 puts them at the top of the vocabulary). */
export function t5SpecialTokens(numSentinels: number): string[] {
  return [T5_TOKENS.pad, T5_TOKENS.eos, ...Array.from({ length: numSentinels }, (_, i) => sentinelToken(numSentinels - 1 - i))];
}

export function glmAddedTokens(): string[] {
  return [GLM_TOKENS.pad, GLM_TOKENS.mask, GLM_TOKENS.gmask, GLM_TOKENS.start, GLM_TOKENS.end];
}

function requireId(tokenizer: Tokenizer, token: string, objective: string): number {
  const id = tokenizer.tokenToId(token);
  if (id === undefined || !tokenizer.addedTokens.some((t) => t.id === id))
    throw new ConfigError('CONFIG_TOKENIZER', `the tokenizer has no ${JSON.stringify(token)} token, which ${objective} needs; use tokenizer "char" or "bpe" (lmkit adds it) or add it to the tokenizer file's added_tokens`);
  return id;
}

export interface MlmTokenIds {
  pad: number;
  mask: number;
  cls: number;
  sep: number;
}

export function mlmTokenIds(tokenizer: Tokenizer): MlmTokenIds {
  const id = (token: string) => requireId(tokenizer, token, 'BERT masked-LM');
  return { pad: id(MLM_TOKENS.pad), mask: id(MLM_TOKENS.mask), cls: id(MLM_TOKENS.cls), sep: id(MLM_TOKENS.sep) };
}

export interface T5TokenIds {
  pad: number;
  eos: number;
  /** Ids of <extra_id_0>, <extra_id_1>, ... : every sentinel the tokenizer holds, in order. */
  sentinels: number[];
}

export function t5TokenIds(tokenizer: Tokenizer): T5TokenIds {
  const id = (token: string) => requireId(tokenizer, token, 'T5 span corruption');
  const pad = id(T5_TOKENS.pad), eos = id(T5_TOKENS.eos);
  const sentinels = [id(sentinelToken(0))];
  for (let k = 1; ; k++) {
    const s = tokenizer.tokenToId(sentinelToken(k));
    if (s === undefined) break;
    sentinels.push(s);
  }
  return { pad, eos, sentinels };
}

export interface GlmTokenIds extends GlmSpecialTokens {
  pad: number;
}

export function glmTokenIds(tokenizer: Tokenizer): GlmTokenIds {
  const id = (token: string) => requireId(tokenizer, token, 'GLM blank infilling');
  return { pad: id(GLM_TOKENS.pad), mask: id(GLM_TOKENS.mask), gmask: id(GLM_TOKENS.gmask), start: id(GLM_TOKENS.start), end: id(GLM_TOKENS.end) };
}
