// Sentiment over a made-up lexicon (cluster "sentiment"): "the soup was zarby
// and grosk and flimo" → good, because two of its three invented words are
// positive (words.ts fixes each word's polarity). An odd number of polar words
// means there is never a tie. Worked form: each polar word with its label,
// "zarby good; grosk bad; flimo good". The labels are the short "good"/"bad"
// rather than FLAN's positive/negative: every character costs a char model.
import type { Random } from '../tensor/random.js';
import type { TaskFamily, TaskInstance, TaskParams } from './types.js';
import { NEGATIVE_WORDS, POSITIVE_WORDS, SENTIMENT_SUBJECTS, intBetween, pick } from './words.js';

export const SENTIMENT_LABELS = ['good', 'bad'] as const;

/** The polarity of a lexicon word, or null for any other word. */
export function polarity(word: string): 'good' | 'bad' | null {
  if (POSITIVE_WORDS.includes(word)) return 'good';
  if (NEGATIVE_WORDS.includes(word)) return 'bad';
  return null;
}

export const SENTIMENT: TaskFamily = {
  name: 'sentiment',
  cluster: 'sentiment',
  description: 'good or bad, by the majority of invented polar words',
  templates: [
    'Is this good or bad?',
    'Classify the sentiment as good or bad.',
    'Does the sentence sound good or bad?',
  ],
  answerKind: 'label',
  labels: SENTIMENT_LABELS,
  hasWorkedSteps: true,
  params: {
    maxPolarWords: { default: 3, min: 1, max: 5, doc: 'most lexicon words in a sentence (an odd count is drawn, 1 up to this)' },
  },
  generate(rng: Random, params: TaskParams): TaskInstance {
    const odd = intBetween(rng, 0, Math.floor((params.maxPolarWords! - 1) / 2)) * 2 + 1;
    const words: string[] = [];
    let balance = 0;
    for (let i = 0; i < odd; i++) {
      const positive = rng.uniform() < 0.5;
      words.push(pick(rng, positive ? POSITIVE_WORDS : NEGATIVE_WORDS));
      balance += positive ? 1 : -1;
    }
    const input = `${pick(rng, SENTIMENT_SUBJECTS)} was ${words.join(' and ')}`;
    const steps = words.map((w) => `${w} ${polarity(w)}`).join('; ');
    return { task: 'sentiment', input, fields: {}, answer: balance > 0 ? 'good' : 'bad', steps };
  },
};
