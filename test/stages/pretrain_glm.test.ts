// Pre-training a GLM with blank infilling: the adapter's padded batches
// rebuild each window from Part A and Part B, a tiny run beats the unigram
// baseline on val, and a run stopped right after a checkpoint then resumed
// ends bitwise identical to an uninterrupted one (spans, shuffles, padding
// and dropout all drawn from saved RNG states).
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TextCorpus } from '../../lib/data/text_corpus.js';
import { GLM } from '../../lib/models/glm.js';
import { modelFromCheckpoint } from '../../lib/models/model_checkpoint.js';
import { gMaskExample, collateGlm, type GlmBatch } from '../../lib/objectives/blank_infilling.js';
import { glmTokenIds } from '../../lib/objectives/special_tokens.js';
import { pretrain, type PretrainEvent } from '../../lib/stages/pretrain.js';
import { pretrainConfig, resolvedModelKeys, resolvedObjectiveKeys } from '../../lib/stages/pretrain_config.js';
import { glmPretraining } from '../../lib/stages/pretrain_glm.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Random } from '../../lib/tensor/random.js';
import type { Tensor } from '../../lib/tensor/tensor.js';
import { repoRoot } from '../helpers/gpt2.js';

const shakespeare = path.join(repoRoot, 'data', 'tinyshakespeare.txt');
const tiny = (over: Record<string, unknown> = {}) => pretrainConfig(over, 'test', presetConfig('tiny-glm'));

t.test('batches: Part A with one [MASK] per span and Part B\'s spans rebuild the window; targets are Part B shifted, ending each span with [E]', async (t) => {
  const dir = t.testdir({ 'a.txt': readFileSync(shakespeare, 'utf8').slice(0, 50_000) });
  const c = tiny({ block_size: 40 });
  const corpus = TextCorpus.fromFile(path.join(dir, 'a.txt'), { tokenizer: { kind: 'char', specialTokens: glmPretraining.specialTokens(40, {}) } });
  const sp = glmTokenIds(corpus.tokenizer);
  const task = glmPretraining.createTask({ tokenizer: corpus.tokenizer, blockSize: 40, model: resolvedModelKeys(c), objective: resolvedObjectiveKeys(c), seed: 1 });
  const model = task.model as GLM;
  // round(0.15 · 40) = 6 blanked tokens in at most 6 spans: 40 + 2·6 positions.
  t.equal(model.config.n_positions, 52);
  let seen: { tokens: Tensor; positions: Tensor; blockPositions: Tensor; prefixLen: Int32Array; targets: Tensor; kvLen: Int32Array | undefined } | null = null;
  const original = model.loss.bind(model);
  model.loss = (tokens, positions, blockPositions, prefixLen, targets, kvLen) =>
    ((seen = { tokens, positions, blockPositions, prefixLen, targets, kvLen }), original(tokens, positions, blockPositions, prefixLen, targets, kvLen));
  const rng = new Random(5);
  let rows = 0, bad = 0, padded = 0;
  for (let k = 0; k < 20; k++) {
    const windows = corpus.getBatch('train', 8, 40, rng);
    const batch = task.makeBatch(windows, rng);
    noGrad(() => batch.loss());
    const s = seen!;
    const T = s.tokens.shape[1]!;
    if (batch.targets.join() !== s.targets.i32().join()) bad++;
    for (let b = 0; b < 8; b++) {
      rows++;
      const row = (x: Tensor) => x.i32().subarray(b * T, (b + 1) * T);
      const tokens = row(s.tokens), pos = row(s.positions), block = row(s.blockPositions), target = row(s.targets);
      const A = s.prefixLen[b]!, len = s.kvLen![b]!;
      if (len < T) padded++;
      // Part B, read span by span: [S] x1..xn with targets x1..xn [E], all at its [MASK]'s position.
      const fills = new Map<number, number[]>();
      let blanked = 0;
      for (let j = A; j < len; ) {
        if (tokens[j] !== sp.start || block[j] !== 1) { bad++; break; }
        const span: number[] = [];
        let n = 0;
        while (target[j + n] !== sp.end) span.push(target[j + n++]!);
        for (let i = 1; i <= n; i++) if (tokens[j + i] !== span[i - 1] || block[j + i] !== i + 1 || pos[j + i] !== pos[j]) bad++;
        fills.set(pos[j]!, span);
        blanked += n;
        j += n + 1;
      }
      if (blanked !== 6) bad++;
      const rebuilt: number[] = [];
      for (let i = 0; i < A; i++) {
        if (pos[i] !== i || block[i] !== 0 || target[i] !== -100) bad++;
        if (tokens[i] === sp.mask) rebuilt.push(...(fills.get(i) ?? [NaN]));
        else rebuilt.push(tokens[i]!);
      }
      if (rebuilt.join() !== Array.from(windows.x.i32().subarray(b * 40, (b + 1) * 40)).join()) bad++;
      for (let j = len; j < T; j++) if (tokens[j] !== sp.pad || target[j] !== -100) bad++;
    }
  }
  t.equal(bad, 0, `${rows} rows: Part A + Part B rebuild the window; positions, block positions and targets follow the paper; padding is [PAD] with no target`);
  t.ok(padded > 0, `${padded} rows are padded (span counts differ within a batch)`);
});

t.test('a tiny run: val loss starts near ln(vocab) and ends well below the unigram baseline; the checkpoint loads back', async (t) => {
  const out = t.testdir();
  const events: PretrainEvent[] = [];
  const r = pretrain({ config: tiny(), dataFile: shakespeare, outDir: out, onProgress: (e) => events.push(e) });
  const evals = events.filter((e) => e.type === 'eval') as Extract<PretrainEvent, { type: 'eval' }>[];
  const first = evals[0]!, last = evals[evals.length - 1]!;
  const V = r.tokenizer.vocabSize;
  t.ok(Math.abs(first.valLoss - Math.log(V)) < 0.2, `initial val loss ${first.valLoss.toFixed(3)} ≈ ln ${V} = ${Math.log(V).toFixed(3)}`);
  t.ok(last.valLoss < last.unigramValLoss! - 0.3, `val loss ${last.valLoss.toFixed(3)} < unigram baseline ${last.unigramValLoss!.toFixed(3)} − 0.3`);

  const loaded = modelFromCheckpoint(path.join(out, 'checkpoint'), 'glm');
  const sp = glmTokenIds(r.tokenizer);
  const probe: GlmBatch = collateGlm([gMaskExample(r.tokenizer.encode('To be, or not'), 6, sp)], sp.pad);
  const logits = (m: GLM) => Buffer.from(noGrad(() => m.eval().forward(probe.input, probe.positions, probe.blockPositions, probe.prefixLen).f32()).buffer);
  t.ok(logits(loaded).equals(logits(r.model as GLM)), 'the loaded model gives bitwise the trained model\'s logits');
});

t.test('stopped right after a checkpoint, then resumed: weights, optimizer and metrics are bitwise those of an uninterrupted run', async (t) => {
  const dir = t.testdir({ 'data.txt': readFileSync(shakespeare, 'utf8').slice(0, 60_000) });
  const data = path.join(dir, 'data.txt');
  // dropout > 0 so the dropout RNG's saved state matters too.
  const config = tiny({ max_iters: 60, checkpoint_interval: 20, eval_interval: 25, eval_iters: 2, log_interval: 5, dropout: 0.1 });
  const clean = path.join(dir, 'clean'), stopped = path.join(dir, 'stopped');
  pretrain({ config, dataFile: data, outDir: clean });

  // The run dies in the middle: the callback that reports the checkpoint at iteration 40 throws.
  t.throws(() => pretrain({
    config, dataFile: data, outDir: stopped,
    onProgress: (e) => {
      if (e.type === 'checkpoint' && e.iter === 40) throw new Error('killed');
    },
  }), { message: 'killed' });
  const saved = JSON.parse(readFileSync(path.join(stopped, 'checkpoint', 'trainer_state.json'), 'utf8')) as { iter: number };
  t.equal(saved.iter, 40, 'the checkpoint at iteration 40 survived');
  const starts: number[] = [];
  const r = pretrain({ config, dataFile: data, outDir: stopped, resume: true, onProgress: (e) => e.type === 'start' && starts.push(e.iter) });
  t.same(starts, [40], 'resumed at iteration 40');
  t.equal(r.iter, 60);

  for (const file of ['model.safetensors', 'optimizer.safetensors']) {
    const a = readFileSync(path.join(stopped, 'checkpoint', file)), b = readFileSync(path.join(clean, 'checkpoint', file));
    t.ok(a.equals(b), `${file}: ${a.length} bytes, bitwise identical`);
  }
  const metrics = (out: string) => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>).map((l) => `${l['event']}@${l['iter']} ${l['loss'] ?? l['val_loss']} ${l['unigram_val_loss'] ?? ''}`);
  t.same(metrics(stopped), metrics(clean), 'metrics.jsonl of the resumed run reads as the uninterrupted one');
});

t.test('gmask_probability: that share of the windows becomes one [gMASK] span over the last 50–100% of the window', async (t) => {
  const dir = t.testdir({ 'a.txt': readFileSync(shakespeare, 'utf8').slice(0, 50_000) });
  const corpus = TextCorpus.fromFile(path.join(dir, 'a.txt'), { tokenizer: { kind: 'char', specialTokens: glmPretraining.specialTokens(40, {}) } });
  const sp = glmTokenIds(corpus.tokenizer);
  const share = (p: number): { documents: number; rows: number; bad: number } => {
    const c = tiny({ block_size: 40, gmask_probability: p });
    const task = glmPretraining.createTask({ tokenizer: corpus.tokenizer, blockSize: 40, model: resolvedModelKeys(c), objective: resolvedObjectiveKeys(c), seed: 1 });
    const rng = new Random(9);
    let documents = 0, rows = 0, bad = 0;
    for (let k = 0; k < 25; k++) {
      const windows = corpus.getBatch('train', 8, 40, rng);
      const targets = task.makeBatch(windows, rng).targets;
      const T = targets.length / 8;
      for (let b = 0; b < 8; b++) {
        rows++;
        const predicted = targets.subarray(b * T, (b + 1) * T).filter((id) => id !== -100).length;
        const ends = targets.subarray(b * T, (b + 1) * T).filter((id) => id === sp.end).length;
        // A document row predicts one span of 20..40 tokens and its [E]; a blank-infilling row predicts 6 tokens and an [E] per span.
        if (ends === 1 && predicted >= 21) documents++;
        else if (predicted - ends !== 6) bad++;
      }
    }
    return { documents, rows, bad };
  };
  t.same(share(0), { documents: 0, rows: 200, bad: 0 }, 'p = 0: blank infilling only');
  t.same(share(1), { documents: 200, rows: 200, bad: 0 }, 'p = 1: every window a document span');
  const half = share(0.5);
  t.equal(half.bad, 0);
  t.ok(half.documents > 70 && half.documents < 130, `p = 0.5: ${half.documents} of 200 rows`);
});
