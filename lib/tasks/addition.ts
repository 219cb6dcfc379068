// Multi-digit addition (cluster "arithmetic"), direct or with worked steps.
// The worked form is schoolbook column addition, least significant column
// first, one step per column: "da+db+carry=sum, digits so far", e.g.
//   345+659 → "5+9+0=14, 4; 4+5+1=10, 04; 3+6+1=10, 004; 0+0+1=1, 1004"
// A carry left after the last column gets its own "0+0+1=1" step. Every step
// is computable from the one before it (its carry and its running digits), the
// property that lets chain-of-thought beat a direct answer (Wei et al. 2022).
import type { Random } from '../tensor/random.js';
import type { TaskFamily, TaskInstance, TaskParams } from './types.js';
import { intBetween } from './words.js';

/** A random number with exactly `digits` digits (no leading zero unless it is 0..9). */
function randomNumber(rng: Random, digits: number): number {
  const lo = digits === 1 ? 0 : 10 ** (digits - 1);
  return intBetween(rng, lo, 10 ** digits - 1);
}

/** The worked column steps for a + b (non-negative integers), joined by "; ". */
export function additionSteps(a: number, b: number): string {
  const da = [...String(a)].reverse().map(Number);
  const db = [...String(b)].reverse().map(Number);
  const steps: string[] = [];
  let carry = 0;
  let written = '';
  for (let i = 0; i < Math.max(da.length, db.length) || carry > 0; i++) {
    const x = da[i] ?? 0;
    const y = db[i] ?? 0;
    const sum = x + y + carry;
    written = String(sum % 10) + written;
    steps.push(`${x}+${y}+${carry}=${sum}, ${written}`);
    carry = sum >= 10 ? 1 : 0;
  }
  return steps.join('; ');
}

export const ADDITION: TaskFamily = {
  name: 'addition',
  cluster: 'arithmetic',
  description: 'add two multi-digit numbers',
  templates: [
    'Add the numbers.',
    'What is the sum?',
    'Work out the total of the two numbers.',
    'Compute the sum of these numbers.',
  ],
  answerKind: 'number',
  hasWorkedSteps: true,
  params: {
    minDigits: { default: 2, min: 1, max: 6, doc: 'fewest digits in an operand' },
    maxDigits: { default: 3, min: 1, max: 6, doc: 'most digits in an operand' },
  },
  generate(rng: Random, params: TaskParams): TaskInstance {
    const a = randomNumber(rng, intBetween(rng, params.minDigits!, params.maxDigits!));
    const b = randomNumber(rng, intBetween(rng, params.minDigits!, params.maxDigits!));
    return { task: 'addition', input: `${a}+${b}`, fields: {}, answer: String(a + b), steps: additionSteps(a, b) };
  },
};
