// Prompt builders for in-context learning (Brown et al. 2020, GPT-3): zero-shot
// (task description + query), one-shot and few-shot (K demonstrations), and
// chain-of-thought (Wei et al. 2022: exemplars with worked steps; Kojima et al.
// 2022: "Let's think step by step." then a second, answer-extraction prompt).
// Templates are data: strings with {named} fields, checked before filling.
import { LmkitError } from '../errors.js';
import { Random } from '../tensor/random.js';

export type PromptErrorCode = 'PROMPT_MISSING_FIELD' | 'PROMPT_BAD_TEMPLATE' | 'PROMPT_BAD_ARGUMENT';

/** A prompt template or its arguments do not fit together. */
export class PromptError extends LmkitError {
  declare readonly code: PromptErrorCode;
  constructor(code: PromptErrorCode, message: string) {
    super(code, message);
  }
}

/** Field values of one example or query, e.g. `{ input: 'cheese', output: 'fromage' }`. */
export type PromptFields = Readonly<Record<string, string>>;

/** How a prompt is laid out (GPT-3 Figure 2.1 is the model). */
export interface FewShotTemplate {
  /** Task description heading the prompt ("Translate English to French:"); '' for none. */
  instruction: string;
  /** One demonstration, e.g. "{input} => {output}". */
  example: string;
  /** The query, written like an example but stopping where the model continues, e.g. "{input} =>". */
  query: string;
  /** Between the instruction, each demonstration and the query. */
  separator: string;
}

/** GPT-3's translation layout: "Translate English to French:\ncheese =>". */
export const TRANSLATION_TEMPLATE: FewShotTemplate = {
  instruction: 'Translate English to French:',
  example: '{input} => {output}',
  query: '{input} =>',
  separator: '\n',
};

// `{name}` is a field; `{{` and `}}` are literal braces.
const TOKEN = /\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|[{}]/g;

/** The field names a template uses, in order of first appearance. Throws on a stray brace. */
export function templateFields(template: string, where = 'template'): string[] {
  const names: string[] = [];
  for (const m of template.matchAll(TOKEN)) {
    if (m[0] === '{{' || m[0] === '}}') continue;
    if (m[1] === undefined)
      throw new PromptError('PROMPT_BAD_TEMPLATE', `${where}: stray "${m[0]}" at offset ${m.index} of ${JSON.stringify(template)}; write {{ or }} for a literal brace, {name} for a field`);
    if (!names.includes(m[1])) names.push(m[1]);
  }
  return names;
}

/**
 * Fills `{name}` fields from `fields`. A field the template names but `fields`
 * lacks is an error naming it; extra fields are allowed (one record can feed
 * both the example and the query template).
 */
export function fillTemplate(template: string, fields: PromptFields, where = 'template'): string {
  for (const name of templateFields(template, where))
    if (typeof fields[name] !== 'string')
      throw new PromptError('PROMPT_MISSING_FIELD', `${where}: field "${name}" is missing (template ${JSON.stringify(template)}, given: ${Object.keys(fields).join(', ') || 'none'})`);
  return template.replace(TOKEN, (whole, name: string | undefined) => (whole === '{{' ? '{' : whole === '}}' ? '}' : fields[name!]!));
}

/**
 * instruction, demonstrations, query joined by the separator. K = 0 is
 * zero-shot, K = 1 one-shot. Demonstrations appear in the order given.
 */
export function fewShotPrompt(template: FewShotTemplate, demonstrations: readonly PromptFields[], query: PromptFields): string {
  const parts: string[] = [];
  if (template.instruction !== '') parts.push(template.instruction);
  demonstrations.forEach((d, i) => parts.push(fillTemplate(template.example, d, `demonstration ${i}`)));
  parts.push(fillTemplate(template.query, query, 'query'));
  return parts.join(template.separator);
}

/** Task description + query, no demonstrations. */
export function zeroShotPrompt(template: FewShotTemplate, query: PromptFields): string {
  return fewShotPrompt(template, [], query);
}

/** Task description + one demonstration + query. */
export function oneShotPrompt(template: FewShotTemplate, demonstration: PromptFields, query: PromptFields): string {
  return fewShotPrompt(template, [demonstration], query);
}

/**
 * K distinct demonstrations drawn from `pool`, in a random order fixed by
 * `seed` (a partial Fisher–Yates shuffle), so an evaluation run can be repeated
 * and different seeds probe GPT-3's sensitivity to the choice and order.
 */
export function selectDemonstrations<T>(pool: readonly T[], k: number, seed: number): T[] {
  if (!Number.isInteger(k) || k < 0 || k > pool.length)
    throw new PromptError('PROMPT_BAD_ARGUMENT', `selectDemonstrations: expected an integer k from 0 to the pool size ${pool.length}, got ${k}`);
  const rng = new Random(seed);
  const order = pool.map((_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(order.length - i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, k).map((i) => pool[i]!);
}

// ---- Chain of thought ------------------------------------------------------

/**
 * Few-shot chain of thought (Wei et al. 2022): each exemplar shows its worked
 * steps before the answer, so the model imitates the reasoning.
 */
export const CHAIN_OF_THOUGHT_TEMPLATE: FewShotTemplate = {
  instruction: '',
  example: 'Q: {question}\nA: {steps} The answer is {answer}.',
  query: 'Q: {question}\nA:',
  separator: '\n\n',
};

/** A chain-of-thought exemplar: the question, its worked steps, the answer. */
export interface CotExemplar {
  question: string;
  steps: string;
  answer: string;
}

/** Exemplars with worked steps, then the question; the model continues after "A:". */
export function chainOfThoughtPrompt(exemplars: readonly CotExemplar[], question: string, template: FewShotTemplate = CHAIN_OF_THOUGHT_TEMPLATE): string {
  const fields = templateFields(template.example, 'chain-of-thought example template');
  if (!fields.includes('steps'))
    throw new PromptError('PROMPT_BAD_TEMPLATE', `chainOfThoughtPrompt: the example template must show the worked steps through a {steps} field, got ${JSON.stringify(template.example)}`);
  return fewShotPrompt(template, exemplars.map((e) => ({ ...e })), { question });
}

/** Zero-shot CoT layout (Kojima et al. 2022, Table 1 and §3). */
export interface ZeroShotCotTemplate {
  /** The question with the answer cue, "Q: {question}\nA:". */
  query: string;
  /** Stage 1 trigger appended after the cue. */
  reasoningTrigger: string;
  /** Stage 2 trigger appended after the model's reasoning; its format hint picks the answer kind. */
  answerTrigger: string;
}

export const ZERO_SHOT_COT_TEMPLATE: ZeroShotCotTemplate = {
  query: 'Q: {question}\nA:',
  reasoningTrigger: "Let's think step by step.",
  answerTrigger: 'Therefore, the answer is',
};

/** Stage 1, reasoning extraction: "Q: … A: Let's think step by step." */
export function zeroShotCotPrompt(question: string, template: ZeroShotCotTemplate = ZERO_SHOT_COT_TEMPLATE): string {
  return `${fillTemplate(template.query, { question }, 'zero-shot CoT query')} ${template.reasoningTrigger}`;
}

/**
 * Stage 2, answer extraction: the stage 1 prompt, the model's reasoning (its
 * first completion, trimmed), then the answer trigger, joined by single spaces
 * as Kojima et al.'s code does (`x + z + " " + trigger`). The model's short
 * continuation of this is parsed for the answer (see answers.ts).
 */
export function zeroShotCotAnswerPrompt(question: string, reasoning: string, template: ZeroShotCotTemplate = ZERO_SHOT_COT_TEMPLATE): string {
  const steps = reasoning.trim();
  return `${zeroShotCotPrompt(question, template)}${steps === '' ? '' : ` ${steps}`} ${template.answerTrigger}`;
}
