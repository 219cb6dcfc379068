// Entity extraction (cluster "extraction"): find the person's name in a short
// made-up sentence, "then Zadie found a key" → "Zadie". The names are invented
// and the only capitalised word, at varying positions in a few frames.
import type { Random } from '../tensor/random.js';
import type { TaskFamily, TaskInstance } from './types.js';
import { NAMES, NOUNS, PAST_VERBS, TIMES, pick } from './words.js';

/** Sentence frames; `name` lands at the start, the middle or the end. */
const FRAMES: readonly ((name: string, rng: Random) => string)[] = [
  (name, rng) => `${name} ${pick(rng, PAST_VERBS)} a ${pick(rng, NOUNS)}`,
  (name, rng) => `${pick(rng, TIMES)} ${name} ${pick(rng, PAST_VERBS)} a ${pick(rng, NOUNS)}`,
  (name, rng) => `the ${pick(rng, NOUNS)} is with ${name}`,
];

export const ENTITY: TaskFamily = {
  name: 'entity',
  cluster: 'extraction',
  description: 'the invented name in a short sentence',
  templates: [
    'Who is named in the sentence?',
    'Extract the name of the person.',
    'Find the name in the text.',
  ],
  answerKind: 'word',
  hasWorkedSteps: false,
  params: {},
  generate(rng: Random): TaskInstance {
    const name = pick(rng, NAMES);
    return { task: 'entity', input: pick(rng, FRAMES)(name, rng), fields: {}, answer: name };
  },
};
