// GLM cloze fine-tuning: a tiny random GLM learns a separable two-label
// cloze task and classifies held-out sentences perfectly; clozeAccuracy
// agrees with one-at-a-time glmClozeClassifyText; a resumed run ends bitwise
// where an uninterrupted one does; bad labels, patterns and verbalizers are
// clear errors. The task: test/helpers/cloze_task.ts.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { glmClozeClassifyText } from '../../lib/generate/glm_scoring.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { GLM } from '../../lib/models/glm.js';
import { glmFromCheckpoint } from '../../lib/models/glm_checkpoint.js';
import { clozeAccuracy, clozeFineTune, type ClozeEvent, type ClozeExample } from '../../lib/stages/cloze.js';
import { clozeConfig } from '../../lib/stages/stage_config.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { clozeSentences } from '../helpers/cloze_task.js';
import { expectBitwise } from '../helpers/compare.js';

const GLM_SPECIALS = ['[MASK]', '[gMASK]', '[S]', '[E]'];
const tok = CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz .', { specialTokens: GLM_SPECIALS });
const verbalizers = { good: 'good', bad: 'bad' };

const [train, heldOut] = clozeSentences(11, [120, 40]) as [ClozeExample[], ClozeExample[]];
const newModel = (seed = 3, over: Record<string, unknown> = {}) =>
  new GLM({ vocab_size: tok.vocabSize, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 2, ...over }, seed);
const config = (over: Record<string, unknown> = {}) =>
  clozeConfig({ max_iters: 150, batch_size: 8, learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: 10, eval_interval: 50, log_interval: 25, ...over });

t.test('a separable cloze task: held-out accuracy rises to 1.0; clozeAccuracy matches glmClozeClassifyText', async (t) => {
  const model = newModel();
  const before = clozeAccuracy(model, tok, heldOut, verbalizers);
  t.ok(before.accuracy <= 0.75, `untrained: accuracy ${before.accuracy}, loss ${before.loss.toFixed(3)}`);
  const events: ClozeEvent[] = [];
  const r = clozeFineTune({ model, tokenizer: tok, train, val: heldOut, verbalizers, config: config(), onProgress: (e) => events.push(e) });
  t.equal(r.iter, 150);
  const after = clozeAccuracy(model, tok, heldOut, verbalizers);
  t.comment(`held-out accuracy ${before.accuracy} → ${after.accuracy}, mean p(gold) ${before.meanGoldProb.toFixed(3)} → ${after.meanGoldProb.toFixed(4)}`);
  t.equal(after.accuracy, 1, 'every held-out sentence classified right');
  t.ok(after.meanGoldProb > 0.95, `mean p(gold) ${after.meanGoldProb.toFixed(4)} > 0.95`);
  t.equal(r.valAccuracy, 1, 'the last eval saw the same');
  t.same(events.filter((e) => e.type === 'eval').map((e) => e.iter), [0, 50, 100, 150]);

  // One example at a time through the classifier (its own tokenization and normalisation).
  let goldProb = 0, loss = 0;
  heldOut.forEach((ex, i) => {
    const one = glmClozeClassifyText(model, tok, ex.text, verbalizers);
    t.equal(after.predictions[i], one.label, `"${ex.text}" → ${one.label}`);
    const p = one.probs[one.labels.indexOf(ex.label as 'good' | 'bad')]!;
    goldProb += p / heldOut.length;
    loss -= Math.log(p) / heldOut.length;
  });
  t.ok(Math.abs(after.meanGoldProb - goldProb) < 1e-5, `mean p(gold) ${after.meanGoldProb} vs ${goldProb} one at a time`);
  t.ok(Math.abs(after.loss - loss) < 1e-3 * Math.max(1, loss), `loss ${after.loss} vs −mean log p(gold) ${loss}`);
});

t.test('resume: stopped after 4 of 8 steps and resumed, the weights are bitwise those of an uninterrupted run', async (t) => {
  const dir = t.testdir();
  const over = { batch_size: 4, gradient_accumulation_steps: 2, lr_decay_iters: 8, eval_interval: 2, checkpoint_interval: 2, log_interval: 1 };
  const run = (outDir: string, maxIters: number, resume = false, onProgress?: (e: ClozeEvent) => void) =>
    clozeFineTune({ model: newModel(3, { dropout: 0.1 }), tokenizer: tok, train, val: heldOut.slice(0, 6), verbalizers, config: config({ ...over, max_iters: maxIters }), outDir, resume, ...(onProgress ? { onProgress } : {}) });
  const whole = run(path.join(dir, 'whole'), 8);
  run(path.join(dir, 'split'), 4);
  const events: ClozeEvent[] = [];
  const resumed = run(path.join(dir, 'split'), 8, true, (e) => events.push(e));
  t.match(events[0], { type: 'start', iter: 4, resumed: true, labels: ['good', 'bad'] });
  t.equal(events.filter((e) => e.type === 'step').length, 4, 'four more steps');
  const a = whole.model.namedParameters(), b = resumed.model.namedParameters();
  a.forEach(([name, p], i) => expectBitwise(t, name, b[i]![1].f32(), p.f32()));
  const metrics = (name: string) => readFileSync(path.join(dir, name, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>).map(({ elapsed_s: _, tokens_per_sec: __, ...rest }) => rest);
  t.same(metrics('split'), metrics('whole'), 'metrics.jsonl reads as the uninterrupted run (timings aside)');
  t.same(metrics('whole').filter((l) => l['event'] === 'eval').map((l) => l['iter']), [0, 2, 4, 6, 8]);
  t.ok(metrics('whole').filter((l) => l['event'] === 'eval').every((l) => typeof l['val_accuracy'] === 'number' && typeof l['val_gold_prob'] === 'number'), 'eval lines carry accuracy and gold probability');

  // The checkpoint is a plain GLM checkpoint plus the label set.
  const ckpt = readCheckpoint(path.join(dir, 'whole', 'checkpoint'));
  t.equal(ckpt.trainerState!['stage'], 'cloze');
  t.same(ckpt.trainerState!['verbalizers'], verbalizers);
  t.match(ckpt.config, { model_type: 'glm', lmkit_arch: 'glm' });
  const loaded = glmFromCheckpoint(ckpt);
  loaded.namedParameters().forEach(([name, p], i) => expectBitwise(t, `loaded ${name}`, p.f32(), a[i]![1].f32()));

  // Resuming with another label set would not be the same run.
  t.throws(() => clozeFineTune({ model: newModel(3, { dropout: 0.1 }), tokenizer: tok, train, verbalizers: { good: 'fine', bad: 'bad' }, config: config({ ...over, max_iters: 10 }), outDir: path.join(dir, 'whole'), resume: true }),
    { name: 'ConfigError', code: 'CONFIG_RESUME_MISMATCH', message: /verbalizers/ });
  t.throws(() => run(path.join(dir, 'whole'), 8), { code: 'CONFIG_OUT_EXISTS' }, 'a fresh run will not overwrite a checkpoint');
});

t.test('bad input: unknown label, no [MASK], two [MASK]s, empty or shared verbalizers, too long, no GLM specials', async (t) => {
  const attempt = (over: { train?: ClozeExample[]; verbalizers?: Record<string, string>; tokenizer?: CharTokenizer; model?: GLM }) => () =>
    clozeFineTune({ model: over.model ?? newModel(), tokenizer: over.tokenizer ?? tok, train: over.train ?? train.slice(0, 4), verbalizers: over.verbalizers ?? verbalizers, config: config({ max_iters: 1 }) });
  t.throws(attempt({ train: [train[0]!, { text: 'in no was [MASK]', label: 'meh' }] }), { name: 'DataError', message: /train\[1\]: label "meh" is not one of the verbalizers' labels \(good, bad\)/ });
  t.throws(attempt({ train: [{ text: 'in no was good', label: 'good' }] }), { name: 'DataError', message: /train\[0\]: the text must hold exactly one \[MASK\].*found 0/ });
  t.throws(attempt({ train: [{ text: '[MASK] no was [MASK]', label: 'good' }] }), { name: 'DataError', message: /found 2/ });
  t.throws(attempt({ train: [{ text: 'in [gMASK] was [MASK]', label: 'good' }] }), { name: 'DataError', message: /encodes to 2 \[MASK\]\/\[gMASK\] tokens/ });
  t.throws(attempt({ verbalizers: { good: 'good', bad: '' } }), { name: 'ConfigError', message: /the verbalizer of label "bad" is ""/ });
  t.throws(attempt({ verbalizers: { good: 'good', bad: '  ' } }), { name: 'ConfigError', message: /verbalizer of label "bad"/ });
  t.throws(attempt({ verbalizers: { good: 'good' } }), { name: 'ConfigError', message: /1 label\(s\) given; classification needs at least two/ });
  t.throws(attempt({ verbalizers: { good: 'ok', bad: 'ok' } }), { name: 'ConfigError', message: /labels "good" and "bad" have the same verbalizer/ });
  t.throws(attempt({ verbalizers: { good: 'good', bad: '[S]' } }), { name: 'ConfigError', message: /contains a GLM special token/ });
  t.throws(attempt({ train: [{ text: `${'kilo '.repeat(6)}was [MASK]`, label: 'good' }] }), { name: 'DataError', message: /train\[0\]: the text \(35 tokens\) \+ the longest verbalizer \(4\) exceed the model's n_positions 32/ });
  t.throws(attempt({ train: [] }), { name: 'DataError', code: 'DATA_EMPTY' });
  const plain = CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz .[]');
  t.throws(attempt({ tokenizer: plain }), { name: 'ConfigError', message: /no \[MASK\], \[gMASK\], \[S\], \[E\] token/ });
  t.throws(() => clozeAccuracy(newModel(), tok, [{ text: 'no mask', label: 'good' }], verbalizers), { message: /examples\[0\]: the text must hold exactly one \[MASK\]/ });
  t.throws(() => clozeConfig({ max_iter: 3 }), { name: 'ConfigError', message: /unknown key "max_iter"/ });
});
