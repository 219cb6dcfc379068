// GLM's four special tokens looked up in a tokenizer by their usual spellings
// ([MASK], [gMASK], [S], [E]; the GLM paper's [START]/[END] are written [S]/[E]
// here), so text with "[MASK]" in it reaches the model as the right ids.
import { ConfigError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { GlmSpecialTokens } from './blank_infilling.js';

export const GLM_SPECIAL_SPELLINGS: Readonly<Record<keyof GlmSpecialTokens, string>> = {
  mask: '[MASK]', gmask: '[gMASK]', start: '[S]', end: '[E]',
};

/** The ids of [MASK], [gMASK], [S] and [E] in `tokenizer`; an error names the missing ones. */
export function glmSpecialTokens(tokenizer: Pick<Tokenizer, 'tokenToId'>): GlmSpecialTokens {
  const ids = {} as GlmSpecialTokens;
  const missing: string[] = [];
  for (const [role, spelling] of Object.entries(GLM_SPECIAL_SPELLINGS) as [keyof GlmSpecialTokens, string][]) {
    const id = tokenizer.tokenToId(spelling);
    if (id === undefined) missing.push(spelling);
    else ids[role] = id;
  }
  if (missing.length > 0)
    throw new ConfigError('CONFIG_INVALID', `GLM: the tokenizer has no ${missing.join(', ')} token; add ${Object.values(GLM_SPECIAL_SPELLINGS).join(', ')} as special tokens when training it (e.g. specialTokens: ['[MASK]', '[gMASK]', '[S]', '[E]'])`);
  return ids;
}
