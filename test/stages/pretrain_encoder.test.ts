// Pre-training an EncoderLM with masked LM: the adapter's batches are
// [CLS] window [SEP] with BERT's masking (checked token by token against the
// window), a tiny run beats the unigram baseline on val, the checkpoint
// loads back as an EncoderLM, and text containing [MASK] is refused.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TextCorpus } from '../../lib/data/text_corpus.js';
import { EncoderLM } from '../../lib/models/encoder.js';
import { modelFromCheckpoint } from '../../lib/models/model_checkpoint.js';
import { mlmTokenIds } from '../../lib/objectives/special_tokens.js';
import { pretrain, type PretrainEvent } from '../../lib/stages/pretrain.js';
import { pretrainConfig, resolvedModelKeys, resolvedObjectiveKeys } from '../../lib/stages/pretrain_config.js';
import { encoderPretraining } from '../../lib/stages/pretrain_encoder.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Random } from '../../lib/tensor/random.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { repoRoot } from '../helpers/gpt2.js';

const shakespeare = path.join(repoRoot, 'data', 'tinyshakespeare.txt');
const tiny = (over: Record<string, unknown> = {}) => pretrainConfig(over, 'test', presetConfig('tiny-encoder'));

t.test('batches: [CLS] window [SEP]; ~15% of the text chosen and labelled with its token; 80% [MASK], 10% random, 10% kept; the rest is the window', async (t) => {
  const dir = t.testdir({ 'a.txt': readFileSync(shakespeare, 'utf8').slice(0, 50_000) });
  const c = tiny();
  const corpus = TextCorpus.fromFile(path.join(dir, 'a.txt'), { tokenizer: { kind: 'char', specialTokens: encoderPretraining.specialTokens(c.block_size, {}) } });
  const task = encoderPretraining.createTask({ tokenizer: corpus.tokenizer, blockSize: c.block_size, model: resolvedModelKeys(c), objective: resolvedObjectiveKeys(c), seed: 1 });
  const model = task.model as EncoderLM;
  const ids = mlmTokenIds(corpus.tokenizer);
  const C = corpus.tokenizer.vocabSize - 4;
  t.same([ids.pad, ids.mask, ids.cls, ids.sep], [C, C + 1, C + 2, C + 3], `the specials follow the ${C} characters, in mlmSpecialTokens order`);
  t.ok(Array.from({ length: C }, (_, i) => [...corpus.tokenizer.idToToken(i)!].length === 1).every(Boolean), 'ids below them are single characters');
  t.equal(model.config.max_position_embeddings, c.block_size + 2);
  t.equal(model.config.pad_token_id, ids.pad);
  // Capture the corrupted input the loss sees by wrapping mlmLoss.
  let seen: Int32Array | null = null;
  const original = model.mlmLoss.bind(model);
  model.mlmLoss = (input, labels, lengths, types) => ((seen = input.i32().slice()), original(input, labels, lengths, types));
  const rng = new Random(4);
  let tokens = 0, chosen = 0, masked = 0, kept = 0, random = 0, bad = 0;
  const T = c.block_size, W = T + 2;
  for (let k = 0; k < 100; k++) {
    const windows = corpus.getBatch('train', 16, T, rng);
    const batch = task.makeBatch(windows, rng);
    noGrad(() => batch.loss());
    const input = seen!, x = windows.x.i32();
    if (batch.targets.length !== 16 * W) bad++;
    for (let b = 0; b < 16; b++) {
      if (input[b * W] !== ids.cls || input[b * W + W - 1] !== ids.sep) bad++;
      if (batch.targets[b * W] !== -100 || batch.targets[b * W + W - 1] !== -100) bad++; // [CLS], [SEP] never chosen
      for (let i = 0; i < T; i++) {
        const got = input[b * W + 1 + i]!, want = x[b * T + i]!, label = batch.targets[b * W + 1 + i]!;
        tokens++;
        if (label === -100) {
          if (got !== want) bad++;
          continue;
        }
        chosen++;
        if (label !== want) bad++;
        if (got === ids.mask) masked++;
        else if (got === want) kept++;
        else if (got < C) random++;
        else bad++; // a special drawn as a random token
      }
    }
  }
  t.equal(bad, 0, 'labels are the window tokens; unchosen positions are the window; rows open with [CLS] and close with [SEP]; no special is drawn at random');
  // 25.6k tokens at p = 0.15: sd of the share ≈ 0.0022; ±0.01 is > 4 sd.
  t.ok(Math.abs(chosen / tokens - 0.15) < 0.01, `chosen share ${(chosen / tokens).toFixed(4)} ≈ 0.15`);
  // ~3.8k chosen: sd(mask share) ≈ 0.0065, sd(random/kept share) ≈ 0.005; a random draw equal to the original counts as kept (+0.1/C).
  t.ok(Math.abs(masked / chosen - 0.8) < 0.03, `[MASK] share ${(masked / chosen).toFixed(3)}`);
  t.ok(Math.abs(random / chosen - 0.1) < 0.025, `random share ${(random / chosen).toFixed(3)}`);
  t.ok(Math.abs(kept / chosen - 0.1) < 0.025, `kept share ${(kept / chosen).toFixed(3)}`);
});

t.test('a tiny run: val loss starts near ln(vocab) and ends below the unigram baseline; the checkpoint is an EncoderLM', async (t) => {
  const out = t.testdir();
  const events: PretrainEvent[] = [];
  const r = pretrain({ config: tiny(), dataFile: shakespeare, outDir: out, onProgress: (e) => events.push(e) });
  const evals = events.filter((e) => e.type === 'eval') as Extract<PretrainEvent, { type: 'eval' }>[];
  const first = evals[0]!, last = evals[evals.length - 1]!;
  t.ok(Math.abs(first.valLoss - Math.log(69)) < 0.2, `initial val loss ${first.valLoss.toFixed(3)} ≈ ln 69 = ${Math.log(69).toFixed(3)}`);
  const baseline = last.unigramValLoss!;
  t.ok(baseline > 2.9 && baseline < 3.7, `unigram baseline ${baseline.toFixed(3)} is the entropy of English characters`);
  t.ok(last.valLoss < baseline - 0.08, `val loss ${last.valLoss.toFixed(3)} < unigram baseline ${baseline.toFixed(3)} − 0.08`);
  t.equal(r.unigramValLoss, baseline);
  t.equal(r.arch, 'encoder');

  const loaded = modelFromCheckpoint(path.join(out, 'checkpoint'), 'encoder');
  const text = r.tokenizer.encode('[CLS]Thou art [MASK] fair.[SEP]');
  t.equal(text.length, 18, '[CLS], [MASK] and [SEP] are one token each');
  const probe = new Tensor(Int32Array.from(text), [1, text.length]);
  const logits = (m: EncoderLM) => Buffer.from(noGrad(() => m.eval().mlmLogits(probe).f32()).buffer);
  t.ok(logits(loaded).equals(logits(r.model as EncoderLM)), 'the loaded model gives bitwise the trained model\'s logits');
  const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const evalLines = metrics.filter((l) => l['event'] === 'eval');
  t.equal(evalLines.length, evals.length);
  t.ok(evalLines.every((l, i) => l['unigram_val_loss'] === evals[i]!.unigramValLoss && l['val_loss'] === evals[i]!.valLoss), 'metrics.jsonl records val loss and baseline per eval');
});

t.test('text that contains [MASK] is refused, naming the token', async (t) => {
  const dir = t.testdir({ 'a.txt': 'To be, or not to be: [MASK] is the question.\n'.repeat(200) });
  t.throws(() => pretrain({ config: tiny({ max_iters: 1 }), dataFile: path.join(dir, 'a.txt') }),
    { name: 'DataError', code: 'DATA_HAS_SPECIAL', message: /a\.txt: the text contains "\[MASK\]".*encoder objective reserves/ });
});
