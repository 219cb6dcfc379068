// Verifiers: read the answer out of a model's raw response (lib/generate/
// answers.ts does the parsing) and compare it with the instance's answer.
//   exact   1 when the parsed answer equals the answer, else 0.
//   partial edit similarity 1 − lev(parsed, answer) / max(|parsed|, |answer|)
//           for word and number answers (a digit or letter off earns most of
//           the credit; nothing parsed earns 0); equal to exact for label and
//           yes/no answers, where a near miss is simply the other class.
// Direct responses are read from their first line (a pre-trained model keeps
// writing past the answer); worked (CoT) responses from after "the answer is".
import { parseAnswerIs, parseFirstNumber, parseLabel, parseYesNo } from '../generate/answers.js';
import { getTask } from './registry.js';
import type { TaskFamily, TaskInstance } from './types.js';

/** `direct`: the answer alone; `cot`: worked steps, then "so the answer is X". */
export type AnswerForm = 'direct' | 'cot';

/** Joins worked steps and the answer in the CoT form. */
export const COT_ANSWER_PREFIX = '; so the answer is ';

export interface TaskScore {
  /** 1 = exactly right. */
  exact: 0 | 1;
  /** In [0, 1], >= exact (see the module comment). */
  partial: number;
  /** The answer read from the response; null when none could be read. */
  parsed: string | null;
}

/** Levenshtein distance over code points (insert, delete, substitute cost 1). */
export function editDistance(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const row = [i];
    for (let j = 1; j <= y.length; j++)
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[y.length]!;
}

/** 1 − editDistance / longer length, in [0, 1]; two empty strings are identical (1). */
export function editSimilarity(a: string, b: string): number {
  const longest = Math.max([...a].length, [...b].length);
  return longest === 0 ? 1 : 1 - editDistance(a, b) / longest;
}

/** Reads the family's kind of answer from `text`; null if there is none. */
function readAnswer(family: TaskFamily, text: string): string | null {
  switch (family.answerKind) {
    case 'word': {
      const token = text.trim().split(/\s+/)[0]!.replace(/[.,;:!?]+$/, '');
      return token === '' ? null : token;
    }
    case 'number': {
      const n = parseFirstNumber(text);
      return n === null ? null : String(n);
    }
    case 'label': {
      const labels = family.labels ?? [];
      return parseLabel(text, Object.fromEntries(labels.map((l) => [l, [l]])));
    }
    case 'yesno':
      return parseYesNo(text);
  }
}

/** The answer in a raw response, in the given form; null when it has none. */
export function parseTaskAnswer(family: TaskFamily, response: string, form: AnswerForm = 'direct'): string | null {
  if (form === 'cot') {
    const tail = parseAnswerIs(response, 'the answer is');
    return tail === null ? null : readAnswer(family, tail);
  }
  return readAnswer(family, response.trimStart().split('\n')[0]!);
}

/** Scores a model's raw response to `instance`, given in `form`. */
export function scoreResponse(instance: TaskInstance, response: string, form: AnswerForm = 'direct'): TaskScore {
  const family = getTask(instance.task);
  const parsed = parseTaskAnswer(family, response, form);
  const exact = parsed === instance.answer ? 1 : 0;
  if (family.answerKind === 'label' || family.answerKind === 'yesno') return { exact, partial: exact, parsed };
  return { exact, partial: parsed === null ? 0 : editSimilarity(parsed, instance.answer), parsed };
}
