// `lmkit cloze`: the spawned command fine-tunes a GLM checkpoint on cloze
// JSONL as clozeFineTune() does (bitwise), and prints held-out accuracy
// before and after as clozeAccuracy() measures it on the checkpoints (the
// separable task reaches 1.0); labels not in --labels, lines without one
// [MASK], empty verbalizers and a decoder checkpoint are one-line errors.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseLabels, runCloze } from '../../lib/cli/cloze.js';
import { writeClozeJsonl } from '../../lib/data/cloze_jsonl.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { glmFromCheckpoint } from '../../lib/models/glm_checkpoint.js';
import { clozeAccuracy, clozeFineTune } from '../../lib/stages/cloze.js';
import { clozeConfig } from '../../lib/stages/stage_config.js';
import { captured, spawnLmkit } from '../helpers/cli_run.js';
import { clozeSentences } from '../helpers/cloze_task.js';
import { expectBitwise } from '../helpers/compare.js';
import { saveTinyDecoder, saveTinyGlm } from '../helpers/stage_checkpoints.js';

const dir = t.testdir();
const glmDir = path.join(dir, 'glm'), data = path.join(dir, 'train.jsonl'), valData = path.join(dir, 'val.jsonl');
saveTinyGlm(glmDir);
const [train, val] = clozeSentences(11, [120, 40]);
writeClozeJsonl(data, train!);
writeClozeJsonl(valData, val!);
const verbalizers = { good: 'good', bad: 'bad' };
const keys = { batch_size: 8, learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: 10, eval_interval: 50, log_interval: 50 };
const setFlags = Object.entries(keys).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
const run = (argv: string[]) => captured(() => runCloze(argv));

t.test('the spawned command trains as clozeFineTune() does; held-out accuracy reaches 1.0', async (t) => {
  const out = path.join(dir, 'out');
  const r = await spawnLmkit(['cloze', '--ckpt', glmDir, '--data', data, '--val', valData, '--labels', 'good,bad', '--out', out, '--max-iters', '150', ...setFlags]).done;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /cloze fine-tuning: 0\.\d\dM parameters, labels good, bad, 120 train \/ 40 val examples, 150 iterations/);
  t.match(r.stderr, /iter 50\/150: loss \d+\.\d{4}, lr/);
  t.match(r.stderr, /iter 100: val loss \d+\.\d{4}, accuracy \d\.\d{4}/);

  const start = glmFromCheckpoint(readCheckpoint(glmDir));
  const ckpt = readCheckpoint(path.join(out, 'checkpoint'));
  const before = clozeAccuracy(start, ckpt.tokenizer, val!, verbalizers);
  clozeFineTune({ config: clozeConfig({ ...keys, max_iters: 150 }), model: start, tokenizer: ckpt.tokenizer, train: train!, val: val!, verbalizers });
  const trained = glmFromCheckpoint(ckpt);
  const want = start.namedParameters();
  trained.namedParameters().forEach(([name, p], i) => expectBitwise(t, name, p.f32(), want[i]![1].f32()));
  const after = clozeAccuracy(trained, ckpt.tokenizer, val!, verbalizers);
  t.equal(after.accuracy, 1, 'every held-out sentence right');
  t.equal(r.stdout, `held-out accuracy ${before.accuracy.toFixed(4)} → 1.0000 over 40 examples (chance 0.5000); mean p(gold) ${before.meanGoldProb.toFixed(4)} → ${after.meanGoldProb.toFixed(4)}\n`);
});

t.test('--labels: label=word pairs or bare labels', async (t) => {
  t.same(parseLabels('good=great,bad=awful'), { good: 'great', bad: 'awful' });
  t.same(parseLabels('good,bad'), { good: 'good', bad: 'bad' });
  t.same(parseLabels('pos= nice ,neg=bad'), { pos: ' nice ', neg: 'bad' }, 'the word is kept as written (a leading space can matter to BPE)');
  t.throws(() => parseLabels('good,good'), { message: /label "good" is given twice/ });
  t.throws(() => parseLabels('=x,bad'), { message: /an entry has no label/ });
  t.throws(() => parseLabels('good'), { message: /needs at least two labels/ });
});

t.test('errors: unknown labels and bad patterns name file:line; empty verbalizers; checkpoint kinds; resume', async (t) => {
  const file = (name: string, line: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, `${JSON.stringify(train![0])}\n${line}\n`);
    return f;
  };
  const decoder = path.join(dir, 'decoder');
  saveTinyDecoder(decoder);
  const args = (over: Record<string, string>, extra: string[] = []) =>
    Object.entries({ ckpt: glmDir, data, labels: 'good,bad', out: path.join(dir, `e${Math.random()}`), 'max-iters': '1', ...over }).flatMap(([k, v]) => (v === '' ? [] : [`--${k}`, v])).concat(extra);
  const cases: [string, string[], RegExp][] = [
    ['label not in --labels', args({ data: file('meh.jsonl', '{"text":"in [MASK]","label":"meh"}') }), /meh\.jsonl:2: label "meh" is not one of the labels given \(good, bad\).* \[DATA_BAD_LINE\]/],
    ['no [MASK]', args({ data: file('nomask.jsonl', '{"text":"in no","label":"good"}') }), /nomask\.jsonl:2: field "text" must hold exactly one \[MASK\] \(where the label's word goes\), found 0/],
    ['two [MASK]s', args({ data: file('two.jsonl', '{"text":"[MASK] [MASK]","label":"good"}') }), /two\.jsonl:2: field "text" must hold exactly one \[MASK\].*found 2/],
    ['malformed line', args({ val: file('badval.jsonl', '{"text":') }), /badval\.jsonl:2: not valid JSON/],
    ['empty verbalizer', args({ labels: 'good=good,bad=' }), /the verbalizer of label "bad" is ""; give it the word that fills the \[MASK\]/],
    ['one label', args({ labels: 'good' }), /--labels "good": classification needs at least two labels/],
    ['character outside the vocabulary', args({ labels: 'good=good,bad=BAD' }), /lmkit cloze: .*"B"/],
    ['decoder checkpoint', args({ ckpt: decoder }), /--ckpt .*decoder: .*describes a decoder language model checkpoint, not a GLM; cloze fine-tuning needs a GLM \(lmkit train --arch glm --out <dir>\) \[CHECKPOINT_WRONG_KIND\]/],
    ['no --labels', args({ labels: '' }), /--labels is required/],
    ['resume with other labels', args({ out: path.join(dir, 'out'), labels: 'good=fine,bad=bad' }, ['--resume', '--max-iters', '160', ...setFlags]), /resume: the checkpoint was trained with verbalizers = \{"good":"good","bad":"bad"\}/],
  ];
  for (const [name, argv, message] of cases) {
    const r = await run(argv);
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.stderr, message, name);
  }
});
