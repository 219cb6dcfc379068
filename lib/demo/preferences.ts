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
  /** Prompts dropped: fewer than 2 distinct samples. An empty response stays: it is a (bad) answer the labeler ranks. */
  dropped: number;
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
  o: { k: number; seed: number; maxNewTokens: number; batchPrompts?: number },
): CollectedPreferences {
  const examples: PreferenceExample[] = [];
  let dropped = 0, exact = 0, samples = 0;
  const perBatch = o.batchPrompts ?? 4;
  for (let start = 0; start < instances.length; start += perBatch) {
    const batch = instances.slice(start, start + perBatch);
    const prompts = batch.map((inst, i) => instancePrompt(inst, start + i));
    // K samples per prompt (a seeded row repeats itself, so K rows of one prompt would be K copies).
    const out = generate(model, tokenizer, prompts, { maxNewTokens: o.maxNewTokens, temperature: 1, seed: o.seed + start, numReturnSequences: o.k, stopTokens: [RESPONSE_END] });
    batch.forEach((instance, i) => {
      const sampled = out[i]!.map((seq) => seq.text);
      exact += sampled.reduce((s, r) => s + labeler.assess(instance, r).score.exact, 0);
      samples += sampled.length;
      // Identical samples make pairs no ranking can order; keep the distinct ones.
      const responses = [...new Set(sampled)];
      if (responses.length < 2) dropped++;
      else examples.push({ prompt: prompts[i]!, responses, ranking: labeler.rank(instance, responses).ranking });
    });
  }
  return { examples, dropped, sampleAccuracy: samples === 0 ? 0 : exact / samples };
}
