// How an instruction becomes model text: one fixed, documented prompt format
// (Alpaca's sections, with shorter headers because the demo model is a
// character-level decoder with a context of ~128-256 characters):
//
//   Instruction: {instruction}
//   Input: {input}              <- omitted when input is empty
//   Response: {output}<|end|>
//
// The model is conditioned on everything up to and including "Response: ";
// the response follows directly and ends with the RESPONSE_END token, on which
// generation stops. The header text uses only letters, ':', ' ' and '\n', so
// any character vocabulary built over English text covers it.
import { ConfigError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/types.js';

/** The end-of-response special token: one token in the tokenizer, generation stops on it. */
export const RESPONSE_END = '<|end|>';

/** The text the model is conditioned on; the response follows it directly. */
export function renderPrompt(ex: { instruction: string; input: string }): string {
  const input = ex.input === '' ? '' : `Input: ${ex.input}\n`;
  return `Instruction: ${ex.instruction}\n${input}Response: `;
}

/**
 * The id of RESPONSE_END, checked to be a single token of its own: a
 * tokenizer that would spell it out character by character cannot end a
 * response in one step.
 */
export function responseEndId(tokenizer: Tokenizer): number {
  const id = tokenizer.tokenToId(RESPONSE_END);
  const encoded = id === undefined ? [] : tokenizer.encode(RESPONSE_END);
  if (id === undefined || encoded.length !== 1 || encoded[0] !== id)
    throw new ConfigError('CONFIG_INVALID',
      `the tokenizer has no "${RESPONSE_END}" token: instruction tuning ends every response with it. Build the tokenizer with it as a special token, e.g. CharTokenizer.fromCorpus(text, { specialTokens: ['${RESPONSE_END}'] })`);
  return id;
}
