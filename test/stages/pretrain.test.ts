// The pre-training loop: loss goes down, gradient accumulation equals the
// bigger batch, runs are deterministic, non-finite losses stop the run with
// the last checkpoint intact, metrics.jsonl, resume refusals.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TextCorpus } from '../../lib/data/text_corpus.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import type { LanguageModel } from '../../lib/models/arch.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { accumulateGradients, pretrain, type PretrainEvent } from '../../lib/stages/pretrain.js';
import { pretrainConfig } from '../../lib/stages/pretrain_config.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { Random } from '../../lib/tensor/random.js';
import { expectClose } from '../helpers/compare.js';
import { repoRoot } from '../helpers/gpt2.js';

const shakespeare = path.join(repoRoot, 'data', 'tinyshakespeare.txt');
const tiny = (over: Record<string, unknown> = {}) => pretrainConfig(over, 'test', presetConfig('tiny'));

t.test('a tiny run on tinyshakespeare: val loss falls from ln(vocab) well below it', async (t) => {
  const events: PretrainEvent[] = [];
  const r = pretrain({ config: tiny({ max_iters: 150, eval_interval: 150 }), dataFile: shakespeare, onProgress: (e) => events.push(e) });
  const evals = events.filter((e) => e.type === 'eval');
  t.equal(evals.length, 2, 'evaluated at iteration 0 and at the end');
  const [first, last] = evals as Extract<PretrainEvent, { type: 'eval' }>[];
  t.ok(Math.abs(first!.valLoss - Math.log(65)) < 0.1, `initial val loss ${first!.valLoss.toFixed(3)} ≈ ln 65 = ${Math.log(65).toFixed(3)}`);
  t.ok(last!.valLoss < first!.valLoss - 1.0, `val loss ${first!.valLoss.toFixed(3)} → ${last!.valLoss.toFixed(3)}`);
  t.equal(r.iter, 150);
  t.equal(events.filter((e) => e.type === 'step').length, 150);
});

t.test('same seed, same run: weights are bitwise equal; another seed differs', async (t) => {
  const run = (seed: number) => pretrain({ config: tiny({ max_iters: 20, eval_interval: 0, seed, dropout: 0.1 }), dataFile: shakespeare });
  const a = run(1), b = run(1), c = run(2);
  const w = (m: LanguageModel) => m.namedParameters().map(([, p]) => Buffer.from(p.f32().buffer).toString('base64')).join();
  t.equal(w(a.model), w(b.model));
  t.not(w(a.model), w(c.model));
});

t.test('gradient accumulation: 2 micro-batches of 4 give the gradient of one batch of 8', async (t) => {
  const corpus = TextCorpus.fromFile(shakespeare, { tokenizer: { kind: 'char' } });
  const config = { vocab_size: corpus.tokenizer.vocabSize, n_positions: 16, n_embd: 32, n_layer: 2, n_head: 2 };
  const grads = (batch: number, steps: number) => {
    const model = new DecoderLM(config, 3);
    const rng = new Random(9); // the 8 windows are drawn in the same order either way
    const loss = accumulateGradients(model, () => corpus.getBatch('train', batch, 16, rng), steps);
    return { loss, grads: model.namedParameters().map(([n, p]) => [n, p.grad!] as const) };
  };
  const big = grads(8, 1), accum = grads(4, 2);
  // Same math, different float32 summation order (two means of 4 rows vs one of 8):
  // differences are rounding, ~1e-7 relative; 1e-6 absolute + 1e-4 relative covers it.
  t.ok(Math.abs(big.loss - accum.loss) < 1e-5, `loss ${big.loss} vs ${accum.loss}`);
  big.grads.forEach(([name, g], i) => expectClose(t, `d ${name}`, accum.grads[i]![1], g, { atol: 1e-6, rtol: 1e-4 }));
});

t.test('a NaN loss stops the run naming the iteration; the last checkpoint stays loadable', async (t) => {
  const out = t.testdir();
  // A constant learning rate of 1e30 overflows the weights within a few steps.
  const config = tiny({ max_iters: 50, decay_lr: false, learning_rate: 1e30, min_lr: 0, grad_clip: 0, eval_interval: 0, checkpoint_interval: 1, log_interval: 1 });
  let error: Error | undefined;
  try {
    pretrain({ config, dataFile: shakespeare, outDir: out });
  } catch (err) {
    error = err as Error;
  }
  t.ok(error, 'training stopped');
  t.match(error!, { name: 'TrainingError', code: 'TRAIN_NONFINITE' });
  const iter = Number(/iteration (\d+)/.exec(error!.message)?.[1]);
  t.ok(iter >= 1 && iter < 50, `stopped at iteration ${iter}: ${error!.message}`);
  t.match(error!.message, /learning_rate.*grad_clip.*--skip-nonfinite/);
  const ckpt = readCheckpoint(path.join(out, 'checkpoint'), { training: true });
  const saved = ckpt.trainerState!['iter'] as number;
  t.ok(saved <= iter && saved >= 1, `checkpoint at iteration ${saved}`);
  const model = decoderFromCheckpoint(ckpt);
  t.ok(model.namedParameters().every(([, p]) => p.f32().every(Number.isFinite)), 'checkpointed weights are all finite');
  const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(lines.length >= 1 && lines.every((l) => l['event'] === 'train' && Number.isFinite(l['loss'])), 'metrics hold only finite steps');

  // skip_nonfinite: the same run goes to the end, skipping the bad updates.
  const skips: number[] = [];
  const r = pretrain({ config: tiny({ ...flat(config), skip_nonfinite: true, checkpoint_interval: 0, max_iters: iter + 3 }), dataFile: shakespeare, onProgress: (e) => e.type === 'skip' && skips.push(e.iter) });
  t.equal(r.iter, iter + 3);
  t.ok(skips.includes(iter), `iteration ${iter} was skipped (skipped: ${skips.join(', ')})`);
});

function flat(c: ReturnType<typeof tiny>): Record<string, unknown> {
  const { model, ...rest } = c;
  return { ...rest, ...model };
}

t.test('metrics.jsonl: a line per log_interval and per eval, with the fields the issue lists', async (t) => {
  const out = t.testdir();
  pretrain({ config: tiny({ max_iters: 20, log_interval: 5, eval_interval: 10, checkpoint_interval: 0 }), dataFile: shakespeare, outDir: out });
  const lines = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);
  t.same(lines.map((l) => `${l['event']}@${l['iter']}`), ['eval@0', 'train@5', 'train@10', 'eval@10', 'train@15', 'train@20', 'eval@20']);
  for (const l of lines.filter((l) => l['event'] === 'train'))
    for (const key of ['loss', 'lr', 'tokens_per_sec', 'grad_norm', 'elapsed_s']) t.type(l[key], 'number', `train line has ${key}`);
  for (const l of lines.filter((l) => l['event'] === 'eval')) t.type(l['val_loss'], 'number');
});

t.test('resume refuses a changed data file and a changed model shape', async (t) => {
  const dir = t.testdir({ 'a.txt': readFileSync(shakespeare, 'utf8').slice(0, 20000) });
  const data = path.join(dir, 'a.txt');
  const out = path.join(dir, 'run');
  pretrain({ config: tiny({ max_iters: 4, eval_interval: 0, checkpoint_interval: 2 }), dataFile: data, outDir: out });
  t.throws(() => pretrain({ config: tiny({ max_iters: 8, eval_interval: 0, n_embd: 64 }), dataFile: data, outDir: out, resume: true }),
    { name: 'ConfigError', code: 'CONFIG_RESUME_MISMATCH', message: /n_embd = 32.*64/ });
  writeFileSync(data, readFileSync(shakespeare, 'utf8').slice(0, 20001));
  t.throws(() => pretrain({ config: tiny({ max_iters: 8, eval_interval: 0 }), dataFile: data, outDir: out, resume: true }),
    { name: 'DataError', code: 'DATA_CHANGED', message: /a\.txt.*original data file/ });
  t.throws(() => pretrain({ config: tiny({ max_iters: 8 }), dataFile: data, outDir: out }), { code: 'CONFIG_OUT_EXISTS', message: /--resume/ });
  t.throws(() => pretrain({ config: tiny(), dataFile: data, outDir: path.join(dir, 'none'), resume: true }), { code: 'CHECKPOINT_NOTHING_TO_RESUME', message: /nothing to resume/ });
});
