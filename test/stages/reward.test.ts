// Reward-model training: every pair of a prompt in one batch (K = 4 → 6),
// a trivially separable preference learned to held-out pair accuracy 1.0,
// determinism and resume, bad preference records.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { RewardModel, rewardModelFromCheckpoint } from '../../lib/models/reward_model.js';
import { negLogSigmoid } from '../../lib/objectives/pairwise_ranking.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Random } from '../../lib/tensor/random.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { RESPONSE_END, responseEndId } from '../../lib/stages/instruction_format.js';
import { evaluateRewardModel, trainRewardModel, type RewardEvent } from '../../lib/stages/reward.js';
import { collatePreferences, encodePreferences } from '../../lib/stages/reward_data.js';
import type { PreferenceExample } from '../../lib/data/records.js';
import { sft } from '../../lib/stages/sft.js';
import { rewardConfig, sftConfig } from '../../lib/stages/stage_config.js';
import { expectBitwise, expectClose } from '../helpers/compare.js';

const tok = CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ:\n', { specialTokens: [RESPONSE_END] });
const END = responseEndId(tok);
const newRewardModel = (over: Record<string, unknown> = {}) =>
  RewardModel.fromDecoder(new DecoderLM({ vocab_size: tok.vocabSize, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 2, ...over }, 5), new Random(3));

// The labeler's fixed taste: a response made of c beats a, a beats d, d beats b,
// whatever the prompt and however long the response.
const ORDER = 'cadb';
function preferences(count: number, seed: number): PreferenceExample[] {
  const rng = new Random(seed);
  return Array.from({ length: count }, () => {
    const letters = rng.shuffle([...ORDER]);
    const responses = letters.map((l) => l.repeat(1 + rng.int(3)));
    const ranking = [0, 1, 2, 3].sort((x, y) => ORDER.indexOf(letters[x]!) - ORDER.indexOf(letters[y]!));
    const prompt = Array.from({ length: 3 + rng.int(4) }, () => 'efghijklmn'[rng.int(10)]).join('') + ': ';
    return { prompt, responses, ranking };
  });
}
const config = (over: Record<string, unknown> = {}) =>
  rewardConfig({ max_iters: 60, batch_size: 4, learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: 10, eval_interval: 30, log_interval: 10, ...over });

t.test('a batch holds whole prompts: K = 4 responses each and all 6 of their pairs', async (t) => {
  const prefs = preferences(3, 1);
  const encoded = encodePreferences(tok, prefs, END, 32);
  const batch = collatePreferences(encoded.slice(0, 2));
  t.equal(batch.tokens.shape[0], 8, '2 prompts × 4 responses');
  t.equal(batch.winners.length, 12, '2 prompts × C(4,2) pairs');
  for (const p of [0, 1]) {
    const mine = [...batch.pairPrompt.keys()].filter((k) => batch.pairPrompt[k] === p);
    t.equal(mine.length, 6, `prompt ${p}: 6 pairs`);
    const rank = prefs[p]!.ranking;
    const want = rank.flatMap((w, i) => rank.slice(i + 1).map((l) => `${4 * p + w}>${4 * p + l}`));
    t.same(mine.map((k) => `${batch.winners[k]}>${batch.losers[k]}`), want, `prompt ${p}: ranking[i] beats ranking[j] for i < j, within its own rows`);
  }
  // Each row is prompt ++ response ++ RESPONSE_END, scored at its end token.
  const row = 4 + prefs[1]!.ranking[0]!;
  const want = [...tok.encode(prefs[1]!.prompt), ...tok.encode(prefs[1]!.responses[prefs[1]!.ranking[0]!]!), END];
  t.equal(batch.lengths[row], want.length);
  const T = batch.tokens.shape[1]!;
  t.same([...batch.tokens.i32().subarray(row * T, row * T + want.length)], want);
});

t.test('the first step\'s loss is the mean over all 6 pairs of the prompt (float64 from the scores)', async (t) => {
  const prefs = preferences(1, 2);
  const rm = newRewardModel();
  const seqs = prefs[0]!.responses.map((r) => [...tok.encode(prefs[0]!.prompt), ...tok.encode(r), END]);
  rm.eval();
  const scores = seqs.map((s) => noGrad(() => rm.scores(new Tensor(Int32Array.from(s), [1, s.length]), Int32Array.of(s.length))).f32()[0]!);
  const rank = prefs[0]!.ranking;
  let sum = 0;
  for (let i = 0; i < 4; i++) for (let j = i + 1; j < 4; j++) sum += negLogSigmoid(scores[rank[i]!]! - scores[rank[j]!]!);
  const events: RewardEvent[] = [];
  trainRewardModel({ model: rm, tokenizer: tok, train: prefs, config: config({ max_iters: 1, batch_size: 1 }), onProgress: (e) => events.push(e) });
  t.match(events[0], { type: 'start', trainPrompts: 1, trainPairs: 6 });
  const step = events.find((e) => e.type === 'step') as Extract<RewardEvent, { type: 'step' }>;
  expectClose(t, 'step loss', [step.loss], [sum / 6], { atol: 1e-6, rtol: 1e-5 });
});

t.test('a trivially separable preference: held-out pair accuracy reaches 1.0 (from chance)', async (t) => {
  const train = preferences(64, 11), val = preferences(32, 12);
  const rm = newRewardModel();
  const before = evaluateRewardModel(rm, tok, val);
  t.ok(before.accuracy < 0.75, `before training: accuracy ${before.accuracy.toFixed(3)}, loss ${before.loss.toFixed(3)}`);
  const evals: Extract<RewardEvent, { type: 'eval' }>[] = [];
  const r = trainRewardModel({ model: rm, tokenizer: tok, train, val, config: config(), onProgress: (e) => e.type === 'eval' && evals.push(e) });
  t.same(evals.map((e) => e.iter), [0, 30, 60]);
  t.equal(r.valAccuracy, 1, `held-out pair accuracy ${r.valAccuracy} over ${val.length * 6} pairs`);
  t.ok(r.valLoss! < before.loss / 3, `held-out loss ${before.loss.toFixed(3)} → ${r.valLoss!.toFixed(4)}`);
  t.equal(evaluateRewardModel(rm, tok, val).accuracy, 1, 'evaluateRewardModel agrees');
});

t.test('resume: 3 + 3 steps end bitwise where 6 uninterrupted steps do; the checkpoint loads as a reward model', async (t) => {
  const dir = t.testdir();
  const train = preferences(10, 4);
  const over = { batch_size: 3, gradient_accumulation_steps: 2, lr_decay_iters: 6, eval_interval: 0, log_interval: 1, checkpoint_interval: 3 };
  const run = (out: string, maxIters: number, resume = false) =>
    trainRewardModel({ model: newRewardModel({ dropout: 0.1 }), tokenizer: tok, train, config: config({ ...over, max_iters: maxIters }), outDir: path.join(dir, out), resume });
  const whole = run('whole', 6);
  run('split', 3);
  const resumed = run('split', 6, true);
  const b = resumed.model.namedParameters();
  whole.model.namedParameters().forEach(([name, p], i) => expectBitwise(t, name, b[i]![1].f32(), p.f32()));
  const lines = (out: string) => readFileSync(path.join(dir, out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { loss: number }).loss);
  t.same(lines('split'), lines('whole'), 'the same six step losses');

  const loaded = rewardModelFromCheckpoint(readCheckpoint(path.join(dir, 'whole', 'checkpoint')));
  loaded.namedParameters().forEach(([name, p], i) => expectBitwise(t, `loaded ${name}`, p.f32(), b[i]![1].f32()));

  t.throws(() => run('whole', 8, false), { code: 'CONFIG_OUT_EXISTS' });
  const sftOut = path.join(dir, 'sft');
  const lm = new DecoderLM({ vocab_size: tok.vocabSize, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 2 }, 5);
  sft({ model: lm, tokenizer: tok, train: [{ instruction: 'say', input: '', output: 'a' }], config: sftConfig({ max_iters: 1, eval_interval: 0 }), outDir: sftOut });
  t.throws(() => trainRewardModel({ model: newRewardModel(), tokenizer: tok, train, config: config(), outDir: sftOut, resume: true }),
    { name: 'ConfigError', code: 'CONFIG_RESUME_MISMATCH', message: /written by the sft stage, not reward/ });
});

t.test('bad preference records are refused naming the record', async (t) => {
  const good = preferences(1, 5)[0]!;
  const enc = (ex: Partial<PreferenceExample>) => () => encodePreferences(tok, [good, { ...good, ...ex } as PreferenceExample], END, 32, 'prefs.jsonl');
  t.throws(enc({ responses: ['a'], ranking: [0] }), { name: 'DataError', code: 'DATA_TOO_FEW_RESPONSES', message: /prefs\.jsonl\[1\]: 1 response/ });
  t.throws(enc({ ranking: [0, 1, 2, 2] }), { code: 'DATA_BAD_RANKING', message: /prefs\.jsonl\[1\].*lists response 2 twice/ });
  t.throws(enc({ ranking: [0, 1, 2] }), { code: 'DATA_BAD_RANKING', message: /3 entries for 4 responses/ });
  t.throws(enc({ prompt: '' }), { code: 'DATA_BAD_RECORD', message: /"prompt" must be a non-empty string/ });
  t.throws(enc({ responses: ['a', 'b', 'c', 7 as unknown as string] }), { code: 'DATA_BAD_RECORD', message: /array of strings/ });
  t.throws(enc({ responses: ['a', `b${RESPONSE_END}`, 'c', 'd'] }), { code: 'DATA_BAD_RECORD', message: /responses\[1\] contains <\|end\|>/ });
  t.throws(enc({ responses: ['a', 'b', 'c', 'x'.repeat(40)] }), { code: 'DATA_TOO_LONG', message: /responses\[3\].*more than the model's 32 positions/ });
  t.throws(enc({ responses: ['a', 'é', 'c', 'd'] }), { code: 'DATA_UNENCODABLE', message: /responses\[1\]/ });
  t.throws(() => trainRewardModel({ model: newRewardModel(), tokenizer: tok, train: [], config: config() }), { code: 'DATA_EMPTY' });
});
