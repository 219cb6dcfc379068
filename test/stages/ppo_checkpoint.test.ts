// PPO's run folder: metrics.jsonl has one line per iteration with its stats;
// a run killed after iteration 3 (last checkpoint at 2) and resumed ends with
// policy and value weights bitwise those of an uninterrupted run, the same
// history and the same metrics; the checkpoint loads as a plain decoder and a
// reward model; a resume that would not be the same run is refused.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { RewardModel, rewardModelFromCheckpoint } from '../../lib/models/reward_model.js';
import { ppo, type PpoEvent, type PpoOptions } from '../../lib/stages/ppo.js';
import { Random } from '../../lib/tensor/random.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { expectBitwise } from '../helpers/compare.js';

// Tokens: 0..4 = "a".."e", 5 = "<|end|>" (the end of a response).
const tok = CharTokenizer.fromCorpus('abcde', { specialTokens: ['<|end|>'] });
const END = 5;
const model = { vocab_size: tok.vocabSize, n_positions: 16, n_embd: 16, n_layer: 1, n_head: 2 };
const prompts = [[1, 2], [3, 4, 1], [2, 2, 3, 4], [4], [1, 3], [0, 1, 2]];

function fractionOfA(sequences: readonly (readonly number[])[], promptLengths: readonly number[]): Float32Array {
  return Float32Array.from(sequences, (s, i) => {
    const response = s.slice(promptLengths[i]).filter((tok) => tok !== END);
    return response.length === 0 ? 0 : response.filter((tok) => tok === 0).length / response.length;
  });
}

const CONFIG = {
  iterations: 6, batch_size: 4, mini_batch_size: 2, ppo_epochs: 2, learning_rate: 3e-3, value_learning_rate: 3e-3,
  max_new_tokens: 6, init_kl_coef: 0.2, kl_target: 1, horizon: 8, seed: 5, checkpoint_interval: 2,
};

function options(outDir: string, over: Partial<PpoOptions> = {}, config: Record<string, unknown> = {}): PpoOptions {
  const sft = new DecoderLM(model, 7);
  return {
    config: { ...CONFIG, ...config }, policy: sft, reference: new DecoderLM(model, 7),
    valueModel: RewardModel.fromDecoder(sft, new Random(3)), rewardFn: fractionOfA, prompts, endTokenId: END,
    tokenizer: tok, outDir, ...over,
  };
}

const metrics = (file: string) => readFileSync(file, 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l) as Record<string, unknown>).map(({ elapsed_s: _, ...rest }) => rest);

t.test('killed after iteration 3, resumed from the checkpoint at 2: bitwise the uninterrupted run', async (t) => {
  const dir = t.testdir();
  const whole = options(path.join(dir, 'whole'));
  const wholeResult = ppo(whole);
  t.equal(wholeResult.checkpointDir, path.join(dir, 'whole', 'checkpoint'));

  // The kill: an exception out of the progress callback after iteration 3's step.
  const killed = options(path.join(dir, 'split'));
  t.throws(() => ppo({ ...killed, onProgress: (e) => { if (e.type === 'step' && e.stats.iter === 3) throw new Error('killed'); } }), { message: 'killed' });
  t.equal(metrics(path.join(dir, 'split', 'metrics.jsonl')).length, 3, 'the killed run logged 3 iterations');
  t.equal(readCheckpoint(path.join(dir, 'split', 'checkpoint')).trainerState!['iter'], 2, 'its last checkpoint is at iteration 2');

  const events: PpoEvent[] = [];
  const resumed = options(path.join(dir, 'split'), { resume: true, onProgress: (e) => events.push(e) });
  const result = ppo(resumed);
  t.match(events[0], { type: 'start', iter: 2, resumed: true });
  t.equal(events.filter((e) => e.type === 'step').length, 4, 'iterations 3-6 ran again from the checkpoint');
  t.same(events.filter((e) => e.type === 'checkpoint').map((e) => (e as { iter: number }).iter), [4, 6]);

  const weights = (o: PpoOptions) => [...o.policy.namedParameters().map(([n, p]) => [`policy ${n}`, p] as const), ...o.valueModel.namedParameters().map(([n, p]) => [`value ${n}`, p] as const)];
  const want = weights(whole);
  weights(resumed).forEach(([name, p], i) => expectBitwise(t, name, p.f32(), want[i]![1].f32()));
  t.same(result.history, wholeResult.history, 'the history (read back for iterations 1-2) equals the uninterrupted one');
  t.equal(result.klCoef, wholeResult.klCoef, 'β after the last update');
  t.same(metrics(path.join(dir, 'split', 'metrics.jsonl')), metrics(path.join(dir, 'whole', 'metrics.jsonl')), 'metrics.jsonl reads as the uninterrupted run (timings aside)');

  // metrics.jsonl: one line per iteration with every stat.
  const lines = metrics(path.join(dir, 'whole', 'metrics.jsonl'));
  t.same(lines.map((l) => l['iter']), [1, 2, 3, 4, 5, 6]);
  t.same(Object.keys(lines[0]!).sort(), ['approx_kl', 'clip_frac', 'entropy', 'event', 'iter', 'kl', 'kl_coef', 'policy_loss', 'ptx_loss', 'response_length', 'rlhf_reward', 'score', 'value_clip_frac', 'value_loss'].sort());
  lines.forEach((l, i) => t.equal(l['score'], wholeResult.history[i]!.score, `iteration ${i + 1}: the logged score is the stats'`));

  // The checkpoint: the policy is a plain decoder, the value model a reward model.
  const ckpt = readCheckpoint(path.join(dir, 'whole', 'checkpoint'));
  t.match(ckpt.trainerState, { stage: 'ppo', iter: 6, kl_coef: wholeResult.klCoef });
  decoderFromCheckpoint(ckpt).namedParameters().forEach(([name, p], i) => expectBitwise(t, `loaded policy ${name}`, p.f32(), want[i]![1].f32()));
  const value = rewardModelFromCheckpoint(readCheckpoint(path.join(dir, 'whole', 'checkpoint', 'value')));
  const valueWant = whole.valueModel.namedParameters();
  value.namedParameters().forEach(([name, p], i) => expectBitwise(t, `loaded value ${name}`, p.f32(), valueWant[i]![1].f32()));
});

t.test('resume refuses other prompts, config, reference or end token, a hand-assembled checkpoint; fresh runs do not overwrite', async (t) => {
  const dir = t.testdir();
  const out = path.join(dir, 'run');
  ppo(options(out, {}, { iterations: 2 }));
  const again = (over: Partial<PpoOptions>, config: Record<string, unknown> = {}) => () => ppo(options(out, { resume: true, ...over }, { iterations: 4, ...config }));
  t.throws(again({ prompts: prompts.slice(1) }), { name: 'DataError', code: 'DATA_CHANGED', message: /original prompts/ });
  t.throws(again({}, { cliprange: 0.3 }), { name: 'ConfigError', code: 'CONFIG_RESUME_MISMATCH', message: /cliprange = 0\.2 but the config now says 0\.3/ });
  t.throws(again({ reference: new DecoderLM(model, 8) }), { code: 'CONFIG_RESUME_MISMATCH', message: /reference model differs/ });
  t.throws(again({ endTokenId: 4 }), { code: 'CONFIG_RESUME_MISMATCH', message: /ended responses at token 5 but endTokenId is now 4/ });
  t.throws(again({ policy: new DecoderLM({ ...model, n_embd: 8 }, 7) }), { code: 'CONFIG_RESUME_MISMATCH', message: /n_embd = 16 but the model given has 8/ });
  t.throws(again({ resume: false }), { code: 'CONFIG_OUT_EXISTS' });
  t.throws(() => ppo(options(out, { tokenizer: undefined }, { iterations: 1 })), { name: 'ConfigError', message: /outDir needs the tokenizer/ });
  const valueState = path.join(out, 'checkpoint', 'value', 'trainer_state.json');
  writeFileSync(valueState, JSON.stringify({ iter: 1, stage: 'ppo_value' }));
  t.throws(again({}), { name: 'CheckpointError', code: 'CHECKPOINT_MISMATCH', message: /the value model is from iteration 1 but the policy from 2/ });

  // More iterations in the same folder after a finished run: a resume, not a restart.
  writeFileSync(valueState, JSON.stringify({ iter: 2, stage: 'ppo_value' }));
  const r = ppo(options(out, { resume: true }, { iterations: 3 }));
  t.same(r.history.map((s) => s.iter), [1, 2, 3]);
});
