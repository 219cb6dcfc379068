// GPT-2's pre-tokenizer: the text is cut into words, numbers, punctuation runs
// and whitespace before BPE, so merges never cross those boundaries. A leading
// space stays with the word after it (" the"); of a whitespace run before a
// word, all but the last character form their own piece (`\s+(?!\S)`).

/**
 * The pattern from openai/gpt-2 encoder.py (also tiktoken's r50k_base and the
 * Hugging Face ByteLevel pre-tokenizer), with the `u` flag so \p{L} and \p{N}
 * are Unicode classes. Contractions are case-sensitive, as in GPT-2.
 */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Calls `piece` for each pre-token, in order; together they are exactly `text`. */
export function forEachPretoken(text: string, piece: (word: string) => void): void {
  const re = new RegExp(GPT2_PATTERN.source, GPT2_PATTERN.flags);
  for (let m = re.exec(text); m !== null; m = re.exec(text)) piece(m[0]);
}

/** The pre-tokens of `text`, in order. */
export function pretokenize(text: string): string[] {
  const out: string[] = [];
  forEachPretoken(text, (w) => out.push(w));
  return out;
}
