// The one tokenizer every family of `lmkit compare` shares: the characters
// of the corpus and of the task texts, then every special token any of the
// four objectives writes. One vocabulary means equal embedding tables, so
// parameter counts differ only where the architectures do.
import { noiseSpanCounts } from '../objectives/span_corruption.js';
import { GLM_TOKENS, MLM_TOKENS, T5_TOKENS, sentinelToken } from '../objectives/special_tokens.js';
import { RESPONSE_END } from '../stages/instruction_format.js';
import { TASK_CHARSET } from '../tasks/registry.js';
import { CharTokenizer } from '../tokenizer/char.js';

/**
 * Specials in id order: the decoder's end of response, BERT's, GLM's (those
 * BERT does not already have), T5's pad and eos, and as many sentinels as a
 * window of blockSize characters needs (highest first, as T5 orders them).
 */
export function compareSpecialTokens(blockSize: number): string[] {
  const { numSpans } = noiseSpanCounts(blockSize);
  const glm = [GLM_TOKENS.gmask, GLM_TOKENS.start, GLM_TOKENS.end];
  const sentinels = Array.from({ length: numSpans }, (_, i) => sentinelToken(numSpans - 1 - i));
  return [RESPONSE_END, MLM_TOKENS.pad, MLM_TOKENS.mask, MLM_TOKENS.cls, MLM_TOKENS.sep, ...glm, T5_TOKENS.pad, T5_TOKENS.eos, ...sentinels];
}

export function compareTokenizer(corpus: string, blockSize: number): CharTokenizer {
  return CharTokenizer.fromCorpus([corpus, TASK_CHARSET, '\n'], {
    specialTokens: compareSpecialTokens(blockSize),
    roles: { eos: RESPONSE_END, pad: MLM_TOKENS.pad, mask: MLM_TOKENS.mask },
  });
}
