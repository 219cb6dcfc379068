// Vocabulary and small random helpers shared by the task generators. The
// invented words (sentiment lexicon, names) are not English, so a model can
// only know their meaning from the task data, never from pre-training.
import type { Random } from '../tensor/random.js';

export const LOWERCASE = 'abcdefghijklmnopqrstuvwxyz';

/** Integer uniform in [lo, hi]. */
export function intBetween(rng: Random, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

export function pick<T>(rng: Random, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** A random string of `alphabet` letters, its length uniform in [minLength, maxLength]. */
export function randomWord(rng: Random, minLength: number, maxLength: number, alphabet = LOWERCASE): string {
  const n = intBetween(rng, minLength, maxLength);
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[rng.int(alphabet.length)]!;
  return s;
}

/** `k` distinct items in random order. */
export function sample<T>(rng: Random, items: readonly T[], k: number): T[] {
  return rng.shuffle([...items]).slice(0, k);
}

/** Invented words with a fixed polarity: the sentiment task's lexicon. */
export const POSITIVE_WORDS: readonly string[] = ['zarby', 'flimo', 'blent', 'quavo', 'mirsy', 'dopel', 'lunic', 'tovy'];
export const NEGATIVE_WORDS: readonly string[] = ['grosk', 'snerb', 'vusk', 'plak', 'krebo', 'murl', 'thazz', 'yoft'];

/** Sentence openings for the sentiment task ("the soup was zarby"). */
export const SENTIMENT_SUBJECTS: readonly string[] = ['the soup', 'my day', 'the show', 'his song', 'our trip', 'the room', 'her cake'];

/** Invented given names for entity extraction; the only capitalised words in its sentences. */
export const NAMES: readonly string[] = [
  'Talo', 'Mirek', 'Quen', 'Zadie', 'Orvo', 'Bexa', 'Junn', 'Pello', 'Ferro', 'Ilsa', 'Kato', 'Ushi',
  'Varn', 'Nelo', 'Greta', 'Hobi', 'Dax', 'Yuma', 'Sorel', 'Embo', 'Wilka', 'Ricco', 'Xeni', 'Lavo',
];

/** Plain English words for the sentence frames and simple facts. */
export const NOUNS: readonly string[] = ['cat', 'dog', 'hat', 'cup', 'box', 'pen', 'map', 'key', 'fox', 'pie'];
export const PEOPLE: readonly string[] = ['ann', 'bob', 'kim', 'tom', 'sue', 'max', 'eva', 'joe'];
export const PAST_VERBS: readonly string[] = ['saw', 'found', 'lost', 'took', 'made', 'sold'];
export const TIMES: readonly string[] = ['today', 'then', 'later', 'once'];
