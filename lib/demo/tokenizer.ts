// The demo's one tokenizer, shared by the decoder family and the GLM: the
// characters of the corpus and of every synthetic task (digits, capitals and
// '+' hardly occur in Shakespeare), then the special tokens the stages need.
import { GLM_SPECIAL_SPELLINGS } from '../objectives/glm_specials.js';
import { RESPONSE_END } from '../stages/instruction_format.js';
import { TASK_CHARSET } from '../tasks/registry.js';
import { CharTokenizer } from '../tokenizer/char.js';

/** '<|end|>' closes every response; [PAD] and the GLM tokens serve the blank-infilling model. */
export const DEMO_SPECIAL_TOKENS: readonly string[] = [
  RESPONSE_END, '[PAD]', GLM_SPECIAL_SPELLINGS.mask, GLM_SPECIAL_SPELLINGS.gmask, GLM_SPECIAL_SPELLINGS.start, GLM_SPECIAL_SPELLINGS.end,
];

export function demoTokenizer(corpus: string): CharTokenizer {
  return CharTokenizer.fromCorpus([corpus, TASK_CHARSET, '\n'], {
    specialTokens: DEMO_SPECIAL_TOKENS,
    roles: { eos: RESPONSE_END, pad: '[PAD]', mask: GLM_SPECIAL_SPELLINGS.mask },
  });
}
