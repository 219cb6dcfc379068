// Scoring a model on task instances the way the seed article compares
// prompting styles: zero-shot (instruction + query), k-shot (k solved
// demonstrations of the same task before the query), direct or worked
// (chain-of-thought) answers. Greedy decoding, batched; each response is
// read and checked by the task's own verifier (lib/tasks/scoring.ts).
import { fewShotPrompt, type FewShotTemplate } from '../generate/prompts.js';
import { generate } from '../generate/generate.js';
import type { DecoderLM } from '../models/decoder.js';
import type { SampleGeneration } from '../report/model.js';
import { RESPONSE_END, renderPrompt } from '../stages/instruction_format.js';
import { getTask } from '../tasks/registry.js';
import { renderInstance } from '../tasks/render.js';
import { scoreResponse, type AnswerForm } from '../tasks/scoring.js';
import type { TaskInstance } from '../tasks/types.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface EvalSetting {
  /** Solved demonstrations of the same task before the query (0 = zero-shot). */
  shots: number;
  form: AnswerForm;
}

export interface TaskAccuracy {
  task: string;
  /** Fraction exactly right. */
  exact: number;
  /** Mean partial credit (edit similarity for words and numbers). */
  partial: number;
  n: number;
}

export interface EvalResult {
  byTask: TaskAccuracy[];
  /** Mean over tasks (each task weighs the same). */
  exact: number;
  partial: number;
  /** The first response of each task, verbatim. */
  samples: SampleGeneration[];
  /** Every instance's scores, in the order given: what paired tests compare. */
  scores: InstanceScore[];
}

export interface InstanceScore {
  task: string;
  exact: number;
  partial: number;
}

// A demonstration is a whole rendered exchange closed by RESPONSE_END; the
// query stops where the response begins. Separated by newlines, which no task
// text contains, so a base model that never saw RESPONSE_END stops at '\n'.
const EXCHANGE: FewShotTemplate = { instruction: '', example: `{prompt}{output}${RESPONSE_END}`, query: '{prompt}', separator: '\n' };

/** The prompt for one instance: its template rotates with `index` so every phrasing is evaluated. */
export function taskPrompt(instance: TaskInstance, index: number, setting: EvalSetting, demos: readonly TaskInstance[]): string {
  const templates = getTask(instance.task).templates.length;
  const query = renderInstance(instance, { template: index % templates, form: setting.form });
  const shots = demos.slice(0, setting.shots).map((d, j) => {
    const ex = renderInstance(d, { template: (index + j + 1) % templates, form: setting.form });
    return { prompt: renderPrompt(ex), output: ex.output };
  });
  return fewShotPrompt(EXCHANGE, shots, { prompt: renderPrompt(query) });
}

export interface EvaluateOptions {
  setting: EvalSetting;
  /** Demonstrations per task (never evaluation instances); needed when shots > 0. */
  demos?: ReadonlyMap<string, readonly TaskInstance[]>;
  batchSize?: number;
}

export function evaluateTasks(model: DecoderLM, tokenizer: Tokenizer, instances: readonly TaskInstance[], o: EvaluateOptions): EvalResult {
  const { setting } = o;
  const batchSize = o.batchSize ?? 16;
  const stats = new Map<string, { exact: number; partial: number; n: number }>();
  const samples: SampleGeneration[] = [];
  const scores: InstanceScore[] = [];
  for (let start = 0; start < instances.length; start += batchSize) {
    const batch = instances.slice(start, start + batchSize);
    // Room for the reference answer plus slack, so a wrong but longer answer is still read whole.
    const longest = Math.max(...batch.map((inst) => [...renderInstance(inst, { form: setting.form }).output].length));
    const budget = model.config.n_positions - longest - 8;
    // Demonstrations that would push the query out of the context are dropped, the first ones first.
    const prompts = batch.map((inst, i) => {
      const demos = o.demos?.get(inst.task) ?? [];
      for (let shots = setting.shots; ; shots--) {
        const prompt = taskPrompt(inst, start + i, { ...setting, shots }, demos);
        if (shots === 0 || tokenizer.encode(prompt).length <= budget) return prompt;
      }
    });
    const promptRoom = model.config.n_positions - Math.max(...prompts.map((p) => tokenizer.encode(p).length));
    const maxNewTokens = Math.max(1, Math.min(longest + 8, promptRoom));
    const outputs = generate(model, tokenizer, prompts, { maxNewTokens, stopTokens: [RESPONSE_END], stopStrings: ['\n'] });
    batch.forEach((inst, i) => {
      const response = outputs[i]![0]!.text.trim();
      const score = scoreResponse(inst, response, setting.form);
      scores.push({ task: inst.task, exact: score.exact, partial: score.partial });
      const s = stats.get(inst.task) ?? { exact: 0, partial: 0, n: 0 };
      s.exact += score.exact;
      s.partial += score.partial;
      s.n++;
      if (s.n === 1) samples.push({ prompt: prompts[i]!, output: response, label: inst.task, note: score.exact ? 'correct' : `expected ${inst.answer}` });
      stats.set(inst.task, s);
    });
  }
  const byTask = [...stats].map(([task, s]) => ({ task, exact: s.exact / s.n, partial: s.partial / s.n, n: s.n }));
  const mean = (key: 'exact' | 'partial') => byTask.reduce((sum, t) => sum + t[key], 0) / Math.max(byTask.length, 1);
  return { byTask, exact: mean('exact'), partial: mean('partial'), samples, scores };
}
