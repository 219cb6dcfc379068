// Fine-tuning stages, InstructGPT's three: supervised fine-tuning on
// instructions (sft), a reward model from ranked responses
// (trainRewardModel), then PPO against that reward model with a KL penalty
// to the SFT model (ppo). The same functions back `lmkit sft`, `lmkit rm`
// and `lmkit ppo`. A real run starts from a pre-trained checkpoint
// (decoderFromCheckpoint); this one starts from a random tiny model so that
// it finishes in seconds.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  DecoderLM, RESPONSE_END, Random, RewardModel, decoderFromCheckpoint, evaluateRewardModel, evaluateSft, ppo, readCheckpoint,
  renderPrompt, rewardConfig, rewardModelFromCheckpoint, scoreSequences, sft, sftConfig, tokenizer, trainRewardModel,
  type InstructionExample, type PreferenceExample,
} from 'lmkit';

const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-stages-'));
// A character tokenizer with the end-of-response token the stages need.
const tok = tokenizer.CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ:\n', { specialTokens: [RESPONSE_END] });
const base = new DecoderLM({ vocab_size: tok.vocabSize, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 2 }, 5);

// --- 1. SFT: loss on the response tokens only
const instructions: InstructionExample[] = [
  { instruction: 'Greet', input: '', output: 'hello' },
  { instruction: 'Reverse', input: 'abc', output: 'cba' },
  { instruction: 'Shout', input: 'hi', output: 'HI' },
];
const before = evaluateSft(base, tok, instructions).loss;
const sftRun = sft({
  model: base, tokenizer: tok, train: instructions, outDir: path.join(dir, 'sft'),
  config: sftConfig({ max_iters: 40, batch_size: 3, learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: 5, eval_interval: 0 }),
});
console.log(`sft: loss per response token ${before.toFixed(3)} → ${evaluateSft(sftRun.model, tok, instructions).loss.toFixed(3)} after ${sftRun.iter} steps`);
console.log(`sft prompt format: ${JSON.stringify(renderPrompt(instructions[1]!))}`);

// --- 2. Reward model: the SFT trunk with a scalar head, −log σ(r_winner − r_loser) over all ranked pairs
const preferences: PreferenceExample[] = ['Greet: ', 'Say hi: ', 'Hello: ', 'Wave: '].map((prompt) => ({
  prompt, responses: ['bbb', 'hello', 'xq'], ranking: [1, 2, 0], // responses[1] is best, responses[0] worst
}));
const rmRun = trainRewardModel({
  model: RewardModel.fromDecoder(sftRun.model, new Random(3)), tokenizer: tok, train: preferences, outDir: path.join(dir, 'rm'),
  config: rewardConfig({ max_iters: 20, batch_size: 2, learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: 2, eval_interval: 0 }),
});
console.log(`reward model: pair accuracy on its training preferences ${evaluateRewardModel(rmRun.model, tok, preferences).accuracy.toFixed(2)}`);

// --- 3. PPO: the policy and the frozen reference both start as the SFT model; the value model as the reward model
const sftCheckpoint = readCheckpoint(sftRun.checkpointDir!);
const rmCheckpoint = readCheckpoint(rmRun.checkpointDir!);
const rewardModel = rewardModelFromCheckpoint(rmCheckpoint);
const run = ppo({
  policy: decoderFromCheckpoint(sftCheckpoint),
  reference: decoderFromCheckpoint(sftCheckpoint),
  valueModel: rewardModelFromCheckpoint(rmCheckpoint),
  rewardFn: (sequences) => scoreSequences(rewardModel, sequences),
  prompts: preferences.map((p) => tok.encode(p.prompt)),
  endTokenId: tok.tokenToId(RESPONSE_END),
  tokenizer: tok, outDir: path.join(dir, 'ppo'),
  config: { iterations: 3, batch_size: 4, mini_batch_size: 2, ppo_epochs: 2, max_new_tokens: 6, learning_rate: 1e-3, seed: 1 },
});
for (const s of run.history)
  console.log(`ppo iter ${s.iter}: reward ${s.score.toFixed(3)}, KL ${s.kl.toFixed(3)}, β ${s.klCoef.toFixed(4)}, policy loss ${s.policyLoss.toFixed(4)}`);
