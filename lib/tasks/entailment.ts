// Yes/no entailment over simple facts (cluster "inference"): "kim has a cat.
// bob has a pen. does kim have a pen?" → no. The question is about a person
// the facts mention; half the time it asks about that person's own object
// (yes), otherwise another object (no: the facts do not say so).
import type { Random } from '../tensor/random.js';
import type { TaskFamily, TaskInstance, TaskParams } from './types.js';
import { NOUNS, PEOPLE, intBetween, pick, sample } from './words.js';

export const ENTAILMENT: TaskFamily = {
  name: 'entailment',
  cluster: 'inference',
  description: 'whether the facts say the person has the object',
  templates: [
    'Answer yes or no.',
    'Do the facts say so? Answer yes or no.',
    'Is the question true given the facts? Say yes or no.',
  ],
  answerKind: 'yesno',
  hasWorkedSteps: false,
  params: {
    minFacts: { default: 1, min: 1, max: 4, doc: 'fewest facts before the question' },
    maxFacts: { default: 2, min: 1, max: 4, doc: 'most facts before the question' },
  },
  generate(rng: Random, params: TaskParams): TaskInstance {
    const n = intBetween(rng, params.minFacts!, params.maxFacts!);
    const people = sample(rng, PEOPLE, n);
    const owned = people.map(() => pick(rng, NOUNS));
    const asked = rng.int(n);
    const yes = rng.uniform() < 0.5;
    const noun = yes ? owned[asked]! : pick(rng, NOUNS.filter((x) => x !== owned[asked]));
    const facts = people.map((p, i) => `${p} has a ${owned[i]}.`).join(' ');
    return { task: 'entailment', input: `${facts} does ${people[asked]} have a ${noun}?`, fields: {}, answer: yes ? 'yes' : 'no' };
  },
};
