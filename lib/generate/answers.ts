// Answer parsers: turn a model's free-text completion into the answer a task
// scores (Kojima et al. 2022 §A.5 "answer cleansing"). Each returns null when
// nothing parses, so "no answer" is counted as wrong, never guessed.

// An optional sign, digits with optional thousands commas, an optional decimal
// part: "-1,234.5", "42", ".5" is read as 5 (a leading dot is punctuation).
const NUMBER = /[-−]?\d{1,3}(?:,\d{3})+(?:\.\d+)?|[-−]?\d+(?:\.\d+)?/;

/** The first number in the text ("It costs $1,200." → 1200), or null. */
export function parseFirstNumber(text: string): number | null {
  const m = NUMBER.exec(text);
  if (!m) return null;
  const value = Number(m[0].replace(/,/g, '').replace('−', '-'));
  return Number.isFinite(value) ? value : null;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The label whose verbalizer word occurs first in the text, matched as a whole
 * word, case-insensitively; at one position the longest word wins ("very
 * good" over "good"). `verbalizers` maps each label to its words, e.g.
 * `{ positive: ['good', 'great'], negative: ['bad'] }`. Null if none occurs.
 */
export function parseLabel<L extends string>(text: string, verbalizers: Readonly<Record<L, readonly string[]>>): L | null {
  let best: { label: L; index: number; length: number } | null = null;
  for (const label of Object.keys(verbalizers) as L[]) {
    for (const word of verbalizers[label]) {
      if (word.trim() === '') continue;
      // \b only knows ASCII word characters; lookarounds on letters/digits work for any script.
      const re = new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(word)}(?![\\p{L}\\p{N}_])`, 'iu');
      const m = re.exec(text);
      if (!m) continue;
      if (!best || m.index < best.index || (m.index === best.index && word.length > best.length)) best = { label, index: m.index, length: word.length };
    }
  }
  return best ? best.label : null;
}

/**
 * The text after the first "the answer is" (case-insensitive), up to the end
 * of the line or sentence, without surrounding quotes, colon or final period:
 * "… so the answer is: Paris." → "Paris". Null if the phrase is absent or
 * nothing follows it.
 */
export function parseAnswerIs(text: string, phrase = 'the answer is'): string | null {
  const m = new RegExp(escapeRegExp(phrase), 'i').exec(text);
  if (!m) return null;
  let rest = text.slice(m.index + m[0].length);
  rest = rest.split('\n')[0]!;
  // A sentence ends at a period followed by space or the end; "3.5" stays whole.
  const end = /[.!?](?=\s|$)/.exec(rest);
  if (end) rest = rest.slice(0, end.index);
  const answer = rest.replace(/^[\s:]+/, '').replace(/^["'“‘(]+|["'”’)]+$/g, '').trim();
  return answer === '' ? null : answer;
}

/** The first standalone "yes" or "no" (case-insensitive), or null. */
export function parseYesNo(text: string): 'yes' | 'no' | null {
  const m = /(?<![\p{L}\p{N}_])(yes|no)(?![\p{L}\p{N}_])/iu.exec(text);
  return m ? (m[1]!.toLowerCase() as 'yes' | 'no') : null;
}
