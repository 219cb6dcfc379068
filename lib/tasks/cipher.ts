// "Translation" into a made-up cipher language (cluster "translation"), the
// conditional-generation task of `lmkit compare`: every letter of a random
// word is replaced by its partner in the QWERTY substitution (the alphabet's
// i-th letter becomes the i-th key of the keyboard rows: a→q, b→w, c→e, …),
// a fixed derangement, so no letter stays itself and the output is never a
// copy. The language is invented: a model can only learn it from examples,
// never from pre-training. Not part of the demo's instruction-tuning suite
// (registry.ts lists it apart), so the demo's task mix is unchanged.
import type { Random } from '../tensor/random.js';
import { WORD_PARAMS } from './strings.js';
import type { TaskFamily, TaskInstance, TaskParams } from './types.js';
import { LOWERCASE, randomWord } from './words.js';

/** The cipher alphabet: LOWERCASE[i] is written CIPHER_KEY[i]. */
export const CIPHER_KEY = 'qwertyuiopasdfghjklzxcvbnm';

/** The word in the cipher language. */
export function encipher(word: string): string {
  return [...word].map((ch) => {
    const i = LOWERCASE.indexOf(ch);
    return i < 0 ? ch : CIPHER_KEY[i]!;
  }).join('');
}

export const CIPHER: TaskFamily = {
  name: 'cipher',
  cluster: 'translation',
  description: 'translate the word into the made-up cipher language (a fixed letter substitution)',
  templates: [
    'Translate the word into the cipher language.',
    'Write the word in the secret code.',
    'Encode the word with the letter cipher.',
  ],
  answerKind: 'word',
  hasWorkedSteps: false,
  params: WORD_PARAMS,
  generate(rng: Random, params: TaskParams): TaskInstance {
    const input = randomWord(rng, params.minLength!, params.maxLength!);
    return { task: 'cipher', input, fields: {}, answer: encipher(input) };
  },
};
