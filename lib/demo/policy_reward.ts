// How much the reward model likes a policy, measured on held-out prompts:
// one sampled response per prompt (temperature 1, as PPO samples; seeded, so
// two policies are compared on the same random draws), each scored by the
// reward model on prompt ++ response ++ RESPONSE_END, the text it was
// trained on. The demo compares the SFT model and the PPO policy this way.
import { generate } from '../generate/generate.js';
import type { DecoderLM } from '../models/decoder.js';
import { scoreSequences, type RewardModel } from '../models/reward_model.js';
import { RESPONSE_END, responseEndId } from '../stages/instruction_format.js';
import type { Tokenizer } from '../tokenizer/types.js';

export interface PolicyReward {
  /** The reward model's score of each prompt's response, in prompt order. */
  scores: number[];
  mean: number;
  /** One response per prompt, verbatim. */
  responses: string[];
}

export function policyReward(
  policy: DecoderLM, rm: RewardModel, tokenizer: Tokenizer, prompts: readonly string[],
  o: { seed: number; maxNewTokens: number },
): PolicyReward {
  const endId = responseEndId(tokenizer);
  const out = generate(policy, tokenizer, prompts, { maxNewTokens: o.maxNewTokens, temperature: 1, seed: o.seed, stopTokens: [RESPONSE_END] });
  const responses = out.map((seqs) => seqs[0]!.text);
  const sequences = prompts.map((prompt, i) => [...tokenizer.encode(prompt), ...tokenizer.encode(responses[i]!), endId]);
  const scores = [...scoreSequences(rm, sequences)];
  return { scores, mean: scores.reduce((s, x) => s + x, 0) / Math.max(scores.length, 1), responses };
}
