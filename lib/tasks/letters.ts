// Letter-level families (cluster "letters"): first letter, last letter, and
// counting one letter in a word. Counting has a worked form: a running tally,
// one "letter:count" per position, so each step depends only on the last.
import type { Random } from '../tensor/random.js';
import { WORD_PARAMS } from './strings.js';
import type { TaskFamily, TaskInstance, TaskParams } from './types.js';
import { LOWERCASE, randomWord, sample } from './words.js';

function pickLetterFamily(name: string, description: string, templates: readonly string[], at: (word: string) => string): TaskFamily {
  return {
    name,
    cluster: 'letters',
    description,
    templates,
    answerKind: 'word',
    hasWorkedSteps: false,
    params: WORD_PARAMS,
    generate(rng: Random, params: TaskParams): TaskInstance {
      const input = randomWord(rng, params.minLength!, params.maxLength!);
      return { task: name, input, fields: {}, answer: at(input) };
    },
  };
}

export const FIRST_LETTER = pickLetterFamily('first_letter', 'the first letter of the word', [
  'What is the first letter?',
  'Give the letter the word starts with.',
  'Which letter comes first in the word?',
], (w) => w[0]!);

export const LAST_LETTER = pickLetterFamily('last_letter', 'the last letter of the word', [
  'What is the last letter?',
  'Give the letter the word ends with.',
  'Which letter comes last in the word?',
], (w) => w[w.length - 1]!);

/** "b:0 a:1 n:1 a:2 n:2 a:3": each letter with the count of `letter` so far. */
export function tallySteps(word: string, letter: string): string {
  let count = 0;
  return [...word].map((ch) => `${ch}:${ch === letter ? ++count : count}`).join(' ');
}

export const COUNT_LETTER: TaskFamily = {
  name: 'count_letter',
  cluster: 'letters',
  description: 'how many times a letter occurs in the word',
  templates: [
    'How many times does the letter {letter} appear?',
    'Count the letter {letter} in the word.',
    'How often is {letter} in the word?',
  ],
  answerKind: 'number',
  hasWorkedSteps: true,
  params: {
    ...WORD_PARAMS,
    // Few distinct letters make repeats (counts above 1) common.
    alphabet: { default: 3, min: 1, max: 26, doc: 'how many distinct letters the word is drawn from' },
  },
  generate(rng: Random, params: TaskParams): TaskInstance {
    const letters = sample(rng, [...LOWERCASE], params.alphabet!).join('');
    const input = randomWord(rng, params.minLength!, params.maxLength!, letters);
    // Drawn from the word's alphabet, not the word, so a count of 0 happens too.
    const letter = letters[rng.int(letters.length)]!;
    const count = [...input].filter((ch) => ch === letter).length;
    return { task: 'count_letter', input, fields: { letter }, answer: String(count), steps: tallySteps(input, letter) };
  },
};
