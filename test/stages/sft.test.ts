// The SFT stage: a tiny model memorises a small instruction set and then
// answers it by greedy generation, stopping at RESPONSE_END; a resumed run
// ends bitwise where an uninterrupted one does; refusals on resume.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from '../../lib/generate/generate.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { RESPONSE_END, renderPrompt } from '../../lib/stages/instruction_format.js';
import { evaluateSft, sft, type SftEvent } from '../../lib/stages/sft.js';
import type { InstructionExample } from '../../lib/data/records.js';
import { sftConfig } from '../../lib/stages/stage_config.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { expectBitwise } from '../helpers/compare.js';

const tok = CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ:.\n0123456789', { specialTokens: [RESPONSE_END] });
const train: InstructionExample[] = [
  { instruction: 'Greet', input: '', output: 'hello' },
  { instruction: 'Reverse', input: 'abc', output: 'cba' },
  { instruction: 'Add', input: '2 3', output: '5' },
  { instruction: 'Count', input: 'aaaa', output: 'four' },
];
const newModel = (seed = 5, over: Record<string, unknown> = {}) =>
  new DecoderLM({ vocab_size: tok.vocabSize, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 2, ...over }, seed);
const config = (over: Record<string, unknown> = {}) =>
  sftConfig({ max_iters: 150, batch_size: 4, learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: 10, eval_interval: 0, log_interval: 25, ...over });

t.test('a memorisable set: loss near zero, then greedy generation gives each output and stops at RESPONSE_END', async (t) => {
  const model = newModel();
  const before = evaluateSft(model, tok, train).loss;
  t.ok(Math.abs(before - Math.log(tok.vocabSize)) < 0.3, `initial loss ${before.toFixed(3)} ≈ ln V = ${Math.log(tok.vocabSize).toFixed(3)}`);
  const r = sft({ model, tokenizer: tok, train, config: config() });
  t.equal(r.iter, 150);
  const after = evaluateSft(model, tok, train);
  t.ok(after.loss < 0.1, `loss per output token ${before.toFixed(3)} → ${after.loss.toFixed(4)}`);
  t.equal(after.targets, train.reduce((n, ex) => n + ex.output.length + 1, 0), 'scored: output characters + one end token each');
  const answers = generate(model, tok, train.map(renderPrompt), { maxNewTokens: 12, stopTokens: [RESPONSE_END] });
  answers.forEach(([a], i) => {
    t.equal(a!.text, train[i]!.output, `"${train[i]!.instruction}" → "${a!.text}"`);
    t.equal(a!.finishReason, 'eos', 'stopped on RESPONSE_END');
    t.equal(a!.ids[a!.ids.length - 1], tok.tokenToId(RESPONSE_END));
  });
});

t.test('same seed and start, same run (with dropout); another seed gives another data order', async (t) => {
  const run = (seed: number) => sft({ model: newModel(5, { dropout: 0.1 }), tokenizer: tok, train, config: config({ max_iters: 6, batch_size: 2, seed }) }).model;
  const w = (m: DecoderLM) => m.namedParameters().map(([, p]) => Buffer.from(p.f32().buffer).toString('base64')).join();
  const a = run(1), b = run(1), c = run(2);
  t.equal(w(a), w(b));
  t.not(w(a), w(c));
});

t.test('resume: stopped after 4 of 8 steps and resumed, the weights are bitwise those of an uninterrupted run', async (t) => {
  const dir = t.testdir();
  // Dropout, accumulation, packing and an eval set exercise every piece of saved state.
  const over = { batch_size: 2, gradient_accumulation_steps: 2, dropout: 0.1, packing: true, lr_decay_iters: 8, eval_interval: 2, checkpoint_interval: 2, log_interval: 1 };
  const { dropout, ...keys } = over;
  const run = (outDir: string, maxIters: number, resume = false) =>
    sft({ model: newModel(5, { dropout }), tokenizer: tok, train, val: train.slice(0, 2), config: config({ ...keys, max_iters: maxIters }), outDir, resume });
  const whole = run(path.join(dir, 'whole'), 8);
  run(path.join(dir, 'split'), 4);
  const events: SftEvent[] = [];
  const resumed = sft({ model: newModel(5, { dropout }), tokenizer: tok, train, val: train.slice(0, 2), config: config({ ...keys, max_iters: 8 }), outDir: path.join(dir, 'split'), resume: true, onProgress: (e) => events.push(e) });
  t.match(events[0], { type: 'start', iter: 4, resumed: true });
  t.equal(events.filter((e) => e.type === 'step').length, 4, 'four more steps');
  const a = whole.model.namedParameters(), b = resumed.model.namedParameters();
  a.forEach(([name, p], i) => expectBitwise(t, name, b[i]![1].f32(), p.f32()));
  const metrics = (run: string) => readFileSync(path.join(dir, run, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>).map(({ elapsed_s: _, tokens_per_sec: __, ...rest }) => rest);
  t.same(metrics('split'), metrics('whole'), 'metrics.jsonl reads as the uninterrupted run (timings aside)');
  t.same(metrics('whole').filter((l) => l['event'] === 'eval').map((l) => l['iter']), [0, 2, 4, 6, 8]);

  // The checkpoint is a plain decoder checkpoint: sample/generate load it as they are.
  const ckpt = readCheckpoint(path.join(dir, 'whole', 'checkpoint'));
  t.equal(ckpt.trainerState!['stage'], 'sft');
  const loaded = decoderFromCheckpoint(ckpt);
  loaded.namedParameters().forEach(([name, p], i) => expectBitwise(t, `loaded ${name}`, p.f32(), a[i]![1].f32()));
});

t.test('resume with length-grouped batches across epochs is bitwise; packing and grouping together are refused', async (t) => {
  const dir = t.testdir();
  // Six examples, batch 2: each epoch is three batches, so 8 steps cross epochs and the grouping stream advances.
  const more = [...train, { instruction: 'Spell', input: 'cat', output: 'c a t' }, { instruction: 'Upper', input: 'abcdefgh', output: 'ABCDEFGH' }];
  const keys = { batch_size: 2, group_by_length: true, lr_decay_iters: 8, checkpoint_interval: 3, log_interval: 1 };
  const run = (outDir: string, maxIters: number, resume = false) =>
    sft({ model: newModel(6), tokenizer: tok, train: more, config: config({ ...keys, max_iters: maxIters }), outDir, resume });
  const whole = run(path.join(dir, 'whole'), 8);
  run(path.join(dir, 'split'), 5);
  const resumed = run(path.join(dir, 'split'), 8, true);
  const a = whole.model.namedParameters(), b = resumed.model.namedParameters();
  a.forEach(([name, p], i) => expectBitwise(t, name, b[i]![1].f32(), p.f32()));
  t.throws(() => config({ packing: true, group_by_length: true }), /group_by_length groups unpacked examples/);
  t.throws(() => sft({ model: newModel(6), tokenizer: tok, train: more, config: config({ ...keys, group_by_length: false, max_iters: 9 }), outDir: path.join(dir, 'split'), resume: true }),
    /trained with group_by_length = true/, 'resume refuses a changed grouping');
});

t.test('resume refuses changed examples, batch settings, model or tokenizer; a fresh run will not overwrite a checkpoint', async (t) => {
  const dir = t.testdir();
  const out = path.join(dir, 'run');
  sft({ model: newModel(), tokenizer: tok, train, config: config({ max_iters: 2 }), outDir: out });
  const again = (over: Partial<Parameters<typeof sft>[0]>) => () => sft({ model: newModel(), tokenizer: tok, train, config: config({ max_iters: 4 }), outDir: out, resume: true, ...over });
  t.throws(again({ train: train.slice(1) }), { name: 'DataError', code: 'DATA_CHANGED', message: /original examples/ });
  t.throws(again({ config: config({ max_iters: 4, batch_size: 3 }) }), { name: 'ConfigError', code: 'CONFIG_RESUME_MISMATCH', message: /batch_size = 4.*now says 3/ });
  t.throws(again({ model: newModel(5, { n_embd: 16 }) }), { code: 'CONFIG_RESUME_MISMATCH', message: /config\.json: the checkpoint's model has n_embd = 32 but the model given has 16/ });
  t.throws(again({ tokenizer: CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ:.\n0123456789!', { specialTokens: [RESPONSE_END] }) }),
    { code: 'CONFIG_RESUME_MISMATCH', message: /tokenizer differs/ });
  t.throws(again({ resume: false }), { code: 'CONFIG_OUT_EXISTS', message: /already holds a checkpoint/ });
  t.throws(again({ outDir: path.join(dir, 'none') }), { code: 'CHECKPOINT_NOTHING_TO_RESUME' });
  t.throws(() => sft({ model: newModel(), tokenizer: tok, train: [], config: config() }), { name: 'DataError', code: 'DATA_EMPTY' });
  t.throws(() => sft({ model: newModel(), tokenizer: CharTokenizer.fromCorpus('abc'), train, config: config() }), { name: 'ConfigError', message: /no "<\|end\|>" token/ });
});
