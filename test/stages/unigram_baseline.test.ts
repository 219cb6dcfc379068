// The unigram baseline: add-one smoothed frequencies of the objective's
// targets, scored on exactly the val targets the loss averages over. Checked
// against hand-computed values and against an independent float64 count of
// the characters of a small corpus.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TextCorpus } from '../../lib/data/text_corpus.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { pretrain, type PretrainEvent } from '../../lib/stages/pretrain.js';
import { pretrainConfig } from '../../lib/stages/pretrain_config.js';
import type { PretrainTask } from '../../lib/stages/pretrain_task.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { UnigramBaseline, unigramBaseline } from '../../lib/stages/unigram_baseline.js';
import { Random } from '../../lib/tensor/random.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { repoRoot } from '../helpers/gpt2.js';

const shakespeare = readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8');

t.test('cross-entropy of add-one smoothed counts, by hand', async (t) => {
  // counts 3, 1, 0 → (3+1, 1+1, 0+1) / (4 + 3) = 4/7, 2/7, 1/7
  const b = new UnigramBaseline(Float64Array.of(3, 1, 0));
  const want = -(Math.log(4 / 7) + Math.log(2 / 7) + Math.log(1 / 7)) / 3;
  t.ok(Math.abs(b.crossEntropy(Int32Array.of(0, 1, -100, 2)) - want) < 1e-12, `${b.crossEntropy(Int32Array.of(0, 1, -100, 2))} = ${want}`);
  t.equal(b.crossEntropy(Int32Array.of(-100, -100)), 0, 'no targets: 0, as crossEntropy');
});

t.test('counts what the task predicts, not the text: a task whose only target is id 2', async (t) => {
  const dir = t.testdir({ 'a.txt': 'abcdefgh'.repeat(200) });
  const corpus = TextCorpus.fromFile(path.join(dir, 'a.txt'), { tokenizer: { kind: 'char' } });
  let rows = 0;
  const task: PretrainTask = {
    arch: 'decoder', model: new DecoderLM({ vocab_size: 8, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 1 }),
    makeBatch: ({ x }) => {
      rows += x.shape[0]!;
      return { targets: Int32Array.from(x.i32(), (_, i) => (i % 4 === 0 ? 2 : -100)), loss: () => new Tensor(new Float32Array(1), []) };
    },
  };
  const b = unigramBaseline(task, corpus, 8, 1);
  // train = 1440 tokens → floor(1439 / 8) = 179 windows of 8, two targets each.
  t.equal(rows, 179);
  t.ok(Math.abs(b.negLogProb[2]! - -Math.log((358 + 1) / (358 + 8))) < 1e-12, 'p(2) = 359/366');
  t.ok(Math.abs(b.negLogProb[5]! - -Math.log(1 / 366)) < 1e-12, 'an id never predicted gets the add-one share');
});

t.test('decoder: the eval line\'s baseline equals an independent count of the train characters scored on the same val windows', async (t) => {
  const text = shakespeare.slice(0, 10_010);
  const dir = t.testdir({ 'a.txt': text });
  const c = pretrainConfig({ max_iters: 1, eval_interval: 1, eval_iters: 3, val_fraction: 0.1 }, 'test', presetConfig('tiny'));
  const events: PretrainEvent[] = [];
  pretrain({ config: c, dataFile: path.join(dir, 'a.txt'), onProgress: (e) => events.push(e) });
  const got = (events.find((e) => e.type === 'eval') as Extract<PretrainEvent, { type: 'eval' }>).unigramValLoss!;

  // Reference: 9009 train characters hold exactly (9009 − 1) / 16 = 563 consecutive windows, whose targets are train[1..9008].
  const chars = [...new Set(text)].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  const id = new Map(chars.map((ch, i) => [ch, i]));
  const ids = Array.from(text, (ch) => id.get(ch)!);
  const train = ids.slice(0, 9009), val = ids.slice(9009);
  const counts = new Array<number>(chars.length).fill(0);
  for (let i = 1; i <= 563 * 16; i++) counts[train[i]!]!++;
  const total = 563 * 16 + chars.length;
  // The eval draws eval_iters train batches, then eval_iters val batches, from Random(seed + 3).
  const rng = new Random(c.seed + 3);
  for (let k = 0; k < 3; k++) for (let b = 0; b < c.batch_size; b++) rng.int(train.length - 16);
  let sum = 0;
  for (let k = 0; k < 3; k++) {
    let batch = 0;
    for (let b = 0; b < c.batch_size; b++) {
      const at = rng.int(val.length - 16);
      for (let j = 1; j <= 16; j++) batch -= Math.log((counts[val[at + j]!]! + 1) / total);
    }
    sum += batch / (c.batch_size * 16);
  }
  t.ok(Math.abs(got - sum / 3) < 1e-9, `baseline ${got} = independent ${sum / 3}`);
});
