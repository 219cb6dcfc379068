// Pre-training an EncoderDecoderLM with T5 span corruption: the adapter's
// batches reconstruct the window exactly (sentinels at the top of the
// vocabulary, the decoder input shifted right behind <pad>), a tiny run beats
// the unigram baseline on val, and the checkpoint loads back.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TextCorpus } from '../../lib/data/text_corpus.js';
import { EncoderDecoderLM } from '../../lib/models/encoder_decoder.js';
import { modelFromCheckpoint } from '../../lib/models/model_checkpoint.js';
import { noiseSpanCounts, reconstructSpans } from '../../lib/objectives/span_corruption.js';
import { t5TokenIds } from '../../lib/objectives/special_tokens.js';
import { pretrain, type PretrainEvent } from '../../lib/stages/pretrain.js';
import { pretrainConfig, resolvedModelKeys, resolvedObjectiveKeys } from '../../lib/stages/pretrain_config.js';
import { encoderDecoderPretraining } from '../../lib/stages/pretrain_encoder_decoder.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Random } from '../../lib/tensor/random.js';
import type { Tensor } from '../../lib/tensor/tensor.js';
import { repoRoot } from '../helpers/gpt2.js';

const shakespeare = path.join(repoRoot, 'data', 'tinyshakespeare.txt');
const tiny = (over: Record<string, unknown> = {}) => pretrainConfig(over, 'test', presetConfig('tiny-encoder-decoder'));

t.test('batches: encoder input and target rebuild the window; decoder input is the target shifted right behind <pad>', async (t) => {
  const dir = t.testdir({ 'a.txt': readFileSync(shakespeare, 'utf8').slice(0, 50_000) });
  const c = tiny({ block_size: 40 });
  const objective = resolvedObjectiveKeys(c);
  const specials = encoderDecoderPretraining.specialTokens(c.block_size, objective);
  const { numNoise, numSpans } = noiseSpanCounts(40, 0.15, 3);
  t.same([numNoise, numSpans], [6, 2], '40 tokens: round(6) noise tokens in round(6/3) spans');
  t.same(specials, ['<pad>', '</s>', '<extra_id_1>', '<extra_id_0>']);
  const corpus = TextCorpus.fromFile(path.join(dir, 'a.txt'), { tokenizer: { kind: 'char', specialTokens: specials } });
  const V = corpus.tokenizer.vocabSize;
  const ids = t5TokenIds(corpus.tokenizer);
  t.same(ids.sentinels, [V - 1, V - 2], '<extra_id_0> = vocab_size − 1, <extra_id_1> = vocab_size − 2, as in T5');
  const task = encoderDecoderPretraining.createTask({ tokenizer: corpus.tokenizer, blockSize: 40, model: resolvedModelKeys(c), objective, seed: 1 });
  const model = task.model as EncoderDecoderLM;
  t.match(model.config, { pad_token_id: ids.pad, eos_token_id: ids.eos, decoder_start_token_id: ids.pad, max_position_embeddings: 41 });

  // Capture what the model is given.
  let seen: { src: Tensor; srcLengths: Int32Array | undefined; tgtIn: Tensor; tgtOut: Tensor } | null = null;
  const original = model.loss.bind(model);
  model.loss = (src, srcLengths, tgtIn, tgtOut) => ((seen = { src, srcLengths, tgtIn, tgtOut }), original(src, srcLengths, tgtIn, tgtOut));
  const rng = new Random(2);
  let rows = 0, bad = 0;
  for (let k = 0; k < 20; k++) {
    const windows = corpus.getBatch('train', 8, 40, rng);
    const batch = task.makeBatch(windows, rng);
    noGrad(() => batch.loss());
    const { src, srcLengths, tgtIn, tgtOut } = seen!;
    t.same(batch.targets, tgtOut.i32(), 'the baseline scores what the loss predicts');
    const S = src.shape[1]!, Tt = tgtIn.shape[1]!;
    // Fixed-length windows: every row has 40 − 6 + 2 + 1 = 37 source and 6 + 2 + 1 = 9 target tokens.
    if (S !== 37 || Tt !== 9 || srcLengths?.some((n) => n !== 37)) bad++;
    for (let b = 0; b < 8; b++) {
      rows++;
      const window = windows.x.i32().subarray(b * 40, (b + 1) * 40);
      const input = src.i32().subarray(b * S, (b + 1) * S), out = tgtOut.i32().subarray(b * Tt, (b + 1) * Tt), inp = tgtIn.i32().subarray(b * Tt, (b + 1) * Tt);
      if (reconstructSpans(input, out, ids.sentinels, ids.eos).join() !== Array.from(window).join()) bad++;
      if (inp[0] !== ids.pad || inp.subarray(1).join() !== out.subarray(0, -1).join()) bad++;
      if (out[0] !== ids.sentinels[0] || out[Tt - 1] !== ids.eos || input[S - 1] !== ids.eos) bad++;
    }
  }
  t.equal(bad, 0, `${rows} rows: each rebuilds its window; the decoder input is <pad> + target[:−1]; targets open with <extra_id_0> and end with </s>`);
});

t.test('a tiny run: val loss starts near ln(vocab) and ends well below the unigram baseline; the checkpoint loads back', async (t) => {
  const out = t.testdir();
  const events: PretrainEvent[] = [];
  const r = pretrain({ config: tiny(), dataFile: shakespeare, outDir: out, onProgress: (e) => events.push(e) });
  const evals = events.filter((e) => e.type === 'eval') as Extract<PretrainEvent, { type: 'eval' }>[];
  const first = evals[0]!, last = evals[evals.length - 1]!;
  const V = r.tokenizer.vocabSize;
  t.ok(Math.abs(first.valLoss - Math.log(V)) < 0.2, `initial val loss ${first.valLoss.toFixed(3)} ≈ ln ${V} = ${Math.log(V).toFixed(3)}`);
  t.ok(last.valLoss < last.unigramValLoss! - 0.5, `val loss ${last.valLoss.toFixed(3)} < unigram baseline ${last.unigramValLoss!.toFixed(3)} − 0.5`);
  t.equal(r.arch, 'encoder-decoder');

  const loaded = modelFromCheckpoint(path.join(out, 'checkpoint'), 'encoder-decoder');
  const trained = r.model as EncoderDecoderLM;
  const src = TextCorpus.fromFile(shakespeare, { tokenizer: { kind: 'given', tokenizer: r.tokenizer } }).getBatch('val', 2, 16, new Random(1)).x;
  const logits = (m: EncoderDecoderLM) => Buffer.from(noGrad(() => m.eval().forward(src, undefined, src).f32()).buffer);
  t.ok(logits(loaded).equals(logits(trained)), 'the loaded model gives bitwise the trained model\'s logits');
});
