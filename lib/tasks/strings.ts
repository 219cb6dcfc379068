// String-transformation families (cluster "strings"): copy, reverse, sort
// letters, uppercase. Input: one random lowercase word; answer: the word
// transformed. They share one skill (emit the input's letters) in different
// orders or cases, which is what zero-shot transfer to a held-out one needs.
import type { Random } from '../tensor/random.js';
import type { ParamSpec, TaskFamily, TaskInstance, TaskParams } from './types.js';
import { randomWord } from './words.js';

export const WORD_PARAMS: Readonly<Record<string, ParamSpec>> = {
  minLength: { default: 3, min: 1, max: 12, doc: 'fewest letters in the input word' },
  maxLength: { default: 8, min: 1, max: 12, doc: 'most letters in the input word' },
};

function wordFamily(
  name: string, description: string, templates: readonly string[], transform: (word: string) => string,
): TaskFamily {
  return {
    name,
    cluster: 'strings',
    description,
    templates,
    answerKind: 'word',
    hasWorkedSteps: false,
    params: WORD_PARAMS,
    generate(rng: Random, params: TaskParams): TaskInstance {
      const input = randomWord(rng, params.minLength!, params.maxLength!);
      return { task: name, input, fields: {}, answer: transform(input) };
    },
  };
}

export const COPY = wordFamily('copy', 'repeat the word unchanged', [
  'Copy the word.',
  'Repeat the text exactly.',
  'Write the same word again.',
  'Say it back exactly as given.',
], (w) => w);

export const REVERSE = wordFamily('reverse', 'write the word backwards', [
  'Reverse the letters.',
  'Write the word backwards.',
  'Spell the word in reverse order.',
  'Turn the word around, last letter first.',
], (w) => [...w].reverse().join(''));

export const SORT_LETTERS = wordFamily('sort_letters', 'sort the letters from a to z', [
  'Sort the letters.',
  'Put the letters in alphabetical order.',
  'Arrange the letters from a to z.',
  'Rewrite the word with its letters sorted.',
], (w) => [...w].sort().join(''));

export const UPPERCASE = wordFamily('uppercase', 'write the word in capital letters', [
  'Write it in capitals.',
  'Convert the word to upper case.',
  'Make every letter a capital letter.',
  'Shout the word in uppercase.',
], (w) => w.toUpperCase());
