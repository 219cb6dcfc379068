// InstructGPT step 2's data: K sampled responses per prompt from the SFT
// model, ranked by a labeler — here the simulated one, which ranks by the
// task verifier plus stated preferences (concise, well-formed) with noise.
import type { PreferenceExample } from '../data/records.js';
import { generate } from '../generate/generate.js';
import type { DecoderLM } from '../models/decoder.js';
import { RESPONSE_END, renderPrompt } from '../stages/instruction_format.js';
import type { SimulatedLabeler } from '../tasks/labeler.js';
import { getTask } from '../tasks/registry.js';
import { renderInstance } from '../tasks/render.js';
import type { TaskInstance } from '../tasks/types.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface CollectedPreferences {
  examples: PreferenceExample[];
  /** Prompts dropped: fewer than 2 responses the labeler can tell apart. An empty response stays: it is a (bad) answer the labeler ranks. */
  dropped: number;
  /** Responses left out because they tie with an earlier one of the same prompt (same text, or the same utility). */
  tiedResponses: number;
  /** Fraction of all samples the verifier scores exactly right: how good the SFT policy is. */
  sampleAccuracy: number;
}

/** The conditioning text of an instance, as SFT rendered it (template rotating with index). */
export function instancePrompt(instance: TaskInstance, index: number): string {
  const template = index % getTask(instance.task).templates.length;
  return renderPrompt(renderInstance(instance, { template }));
}

export function collectPreferences(
  model: DecoderLM, tokenizer: Tokenizer, instances: readonly TaskInstance[], labeler: SimulatedLabeler,
  o: { seed: number; maxNewTokens: number; temperatures: readonly number[]; batchPrompts?: number },
): CollectedPreferences {
  if (o.temperatures.length < 2) throw new RangeError(`collectPreferences: K = ${o.temperatures.length} temperatures; a ranking needs K >= 2 responses`);
  const examples: PreferenceExample[] = [];
  let dropped = 0, exact = 0, samples = 0, tiedResponses = 0;
  const perBatch = o.batchPrompts ?? 4;
  for (let start = 0; start < instances.length; start += perBatch) {
    const batch = instances.slice(start, start + perBatch);
    const prompts = batch.map((inst, i) => instancePrompt(inst, start + i));
    // Response k of every prompt is sampled at temperatures[k] (its own seed: a seeded row repeats itself), so
    // a prompt's K responses range from the policy's confident answers to looser ones, as InstructGPT's
    // comparisons span outputs of several models.
    const outs = o.temperatures.map((temperature, k) =>
      generate(model, tokenizer, prompts, { maxNewTokens: o.maxNewTokens, temperature, seed: o.seed + 1000 * k + start, stopTokens: [RESPONSE_END] }));
    batch.forEach((instance, i) => {
      const sampled = outs.map((out) => out[i]![0]!.text);
      exact += sampled.reduce((s, r) => s + labeler.assess(instance, r).score.exact, 0);
      samples += sampled.length;
      // Two responses the labeler values the same (identical text, or e.g. two wrong sums with the same
      // partial credit) make a pair whose order would be arbitrary: a label the reward model cannot learn and
      // a held-out pair no model can get right more than half the time. Keep the first of each utility.
      const seen = new Set<number>();
      const responses = sampled.filter((r) => {
        const u = Math.round(labeler.assess(instance, r).utility * 1e9);
        if (seen.has(u)) return false;
        seen.add(u);
        return true;
      });
      tiedResponses += sampled.length - responses.length;
      if (responses.length < 2) dropped++;
      else examples.push({ prompt: prompts[i]!, responses, ranking: labeler.rank(instance, responses).ranking });
    });
  }
  return { examples, dropped, tiedResponses, sampleAccuracy: samples === 0 ? 0 : exact / samples };
}
