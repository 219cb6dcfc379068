// Task instance → instruction example (lib/data/records.ts), the form the
// fine-tuning stages read. FLAN renders each example through one of several
// templates; here a template is the instruction's phrasing, the input stays
// in its own field. The worked (CoT) form adds a trigger to the instruction
// (so the model can tell which form is asked for) and answers with steps
// then "; so the answer is X", which parseTaskAnswer(…, 'cot') reads back.
import type { InstructionExample } from '../data/records.js';
import { ConfigError } from '../errors.js';
import { fillTemplate } from '../generate/prompts.js';
import type { Random } from '../tensor/random.js';
import { getTask } from './registry.js';
import { COT_ANSWER_PREFIX, type AnswerForm } from './scoring.js';
import type { TaskInstance } from './types.js';

/** Appended to the instruction in the worked form (Kojima et al. 2022's trigger, shortened). */
export const COT_TRIGGER = 'Think step by step.';

export interface RenderOptions {
  /** Index into the family's templates (default 0). */
  template?: number;
  /** `direct` (default) or `cot`, the latter only for families with worked steps. */
  form?: AnswerForm;
}

/** The instruction example of `instance` in the chosen template and form. */
export function renderInstance(instance: TaskInstance, options: RenderOptions = {}): InstructionExample {
  const family = getTask(instance.task);
  const index = options.template ?? 0;
  const form = options.form ?? 'direct';
  if (!Number.isInteger(index) || index < 0 || index >= family.templates.length)
    throw new ConfigError('CONFIG_INVALID', `template must be an integer in [0, ${family.templates.length - 1}] for task "${family.name}", got ${index}`);
  let instruction = fillTemplate(family.templates[index]!, instance.fields, `task "${family.name}" template ${index}`);
  let output = instance.answer;
  if (form === 'cot') {
    if (!family.hasWorkedSteps || instance.steps === undefined)
      throw new ConfigError('CONFIG_INVALID', `task "${family.name}" has no worked-steps form; render it with form "direct"`);
    instruction = `${instruction} ${COT_TRIGGER}`;
    output = `${instance.steps}${COT_ANSWER_PREFIX}${instance.answer}`;
  }
  return { instruction, input: instance.input, output, task: family.name };
}

/**
 * Which forms to emit per instance: `direct`; `cot` (worked form where the
 * family has one, direct otherwise); `both` (two examples for families with
 * worked steps, one for the rest).
 */
export type FormMix = 'direct' | 'cot' | 'both';

/** Renders each instance with a template drawn from `rng` (FLAN's template mixing). */
export function renderInstances(instances: readonly TaskInstance[], rng: Random, forms: FormMix = 'direct'): InstructionExample[] {
  const out: InstructionExample[] = [];
  for (const instance of instances) {
    const family = getTask(instance.task);
    const pickTemplate = (): number => rng.int(family.templates.length);
    const worked = family.hasWorkedSteps && instance.steps !== undefined;
    if (forms === 'direct' || forms === 'both' || !worked) out.push(renderInstance(instance, { template: pickTemplate(), form: 'direct' }));
    if (worked && forms !== 'direct') out.push(renderInstance(instance, { template: pickTemplate(), form: 'cot' }));
  }
  return out;
}
