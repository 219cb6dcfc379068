// The encoder-decoder (T5) in `lmkit compare`. Every input is the prompt
// with its blank as the first sentinel, "… It was <extra_id_0>.</s>", the
// form span corruption pre-trains. Prompted, it is read the T5 way: the
// decoder writes "<extra_id_0> span", so classification scores each
// verbalizer as that span and generation keeps what follows the sentinel up
// to the next special token. Fine-tuned, the decoder generates the label or
// target itself, then </s> (greedy). Text likelihood: the segment after its
// first token is the span of a source that lost everything else.
import { generate } from '../../generate/generate.js';
import { EncoderDecoderLM } from '../../models/encoder_decoder.js';
import { padBatch } from '../../objectives/pad_batch.js';
import { t5TokenIds } from '../../objectives/special_tokens.js';
import { noGrad } from '../../tensor/autograd.js';
import { targetLogProbs } from '../../tensor/ops/loss.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { copyParameters } from '../../demo/clone.js';
import { fineTune } from '../finetune.js';
import { argmax, EVAL_BATCH, inBatches, type FamilyAdapter } from '../family.js';
import { nluLabels, nluPrompt, seq2seqPrompt, type BlankText } from '../formats.js';

const IGNORE_INDEX = -100;

/** A decoder target: `given` is teacher-forced without a loss, `scored` is predicted. */
interface TargetRow {
  source: readonly number[];
  given: readonly number[];
  scored: readonly number[];
}

export function encoderDecoderAdapter(pretrained: EncoderDecoderLM, tokenizer: Tokenizer): FamilyAdapter {
  const t5 = t5TokenIds(tokenizer);
  const sentinel = t5.sentinels[0]!;
  const start = pretrained.config.decoder_start_token_id;
  const special = new Set(tokenizer.addedTokens.map((t) => t.id));
  const copy = (): EncoderDecoderLM => {
    const m = new EncoderDecoderLM(pretrained.config, 0);
    copyParameters(pretrained, m);
    return m;
  };
  const source = (t: BlankText): number[] => [...tokenizer.encode(t.before), sentinel, ...tokenizer.encode(t.after), t5.eos];

  /** Teacher-forced batch: tgtIn = start given scored[:-1]; tgtOut = −100 on given, scored after. */
  const batchOf = (rows: readonly TargetRow[]) => {
    const src = padBatch(rows.map((r) => r.source), t5.pad);
    const tgtIn = padBatch(rows.map((r) => [start, ...r.given, ...r.scored].slice(0, -1)), t5.pad);
    const width = tgtIn.ids.shape[1]!;
    const out = new Int32Array(rows.length * width).fill(IGNORE_INDEX);
    rows.forEach((r, b) => out.set(r.scored, b * width + r.given.length));
    return { src, tgtIn: tgtIn.ids, tgtOut: new Tensor(out, [rows.length, width]) };
  };

  /** log p(scored | source, given) per row, summed in float64. */
  const rowLogProbs = (model: EncoderDecoderLM, rows: readonly TargetRow[]): number[] => {
    model.eval();
    return inBatches(rows, EVAL_BATCH, (batch) => {
      const { src, tgtIn, tgtOut } = batchOf(batch);
      const logp = noGrad(() => targetLogProbs(model.forward(src.ids, src.lengths, tgtIn), tgtOut)).f32(); // (B, T)
      const T = tgtOut.shape[1]!;
      return batch.map((_, b) => logp.subarray(b * T, (b + 1) * T).reduce((a, v) => a + v, 0));
    });
  };

  /** Greedy decoding; with `afterSentinel`, the text is what follows the first sentinel, up to the next special token. */
  const decode = (model: EncoderDecoderLM, sources: readonly number[][], maxNewTokens: number, afterSentinel: boolean): string[] =>
    inBatches(sources, EVAL_BATCH, (batch) => generate(model, tokenizer, batch, { maxNewTokens: maxNewTokens + (afterSentinel ? 1 : 0) }).map((r) => {
      let out = r[0]!.ids;
      if (afterSentinel && out[0] === sentinel) out = out.slice(1);
      const stop = out.findIndex((id) => special.has(id));
      return tokenizer.decode(stop < 0 ? out : out.slice(0, stop)).split('\n')[0]!.trim();
    }));

  const trainOn = (model: EncoderDecoderLM, rows: readonly TargetRow[], settings: Parameters<FamilyAdapter['fineTuneNlu']>[3]) =>
    fineTune(model, rows.map((r) => r.source.length + r.scored.length), settings, (idx) => {
      const { src, tgtIn, tgtOut } = batchOf(idx.map((i) => rows[i]!));
      return model.loss(src.ids, src.lengths, tgtIn, tgtOut);
    });

  return {
    arch: 'encoder-decoder',
    nluMethod: { prompted: 'verbalizer likelihood as the <extra_id_0> span', fineTuned: 'generates the label, greedy, exact' },
    seq2seqMethod: { prompted: 'decode the <extra_id_0> span of "<source> = <extra_id_0>"', fineTuned: 'generates the target, greedy' },

    promptNlu(task, queries, demos) {
      const labels = nluLabels(task);
      const rows = queries.flatMap((q, i) => labels.map((l) => ({ source: source(nluPrompt(task, q.text, demos[i])), given: [sentinel], scored: tokenizer.encode(l) })));
      const scores = rowLogProbs(pretrained, rows);
      return queries.map((_, n) => labels[argmax(scores.slice(n * labels.length, (n + 1) * labels.length))]!);
    },

    fineTuneNlu(task, train, queries, settings) {
      const model = copy();
      nluLabels(task); // checks the task
      const rows = train.map((x) => ({ source: source(nluPrompt(task, x.text)), given: [], scored: [...tokenizer.encode(x.label), t5.eos] }));
      const stats = trainOn(model, rows, settings);
      const longest = Math.max(...nluLabels(task).map((l) => tokenizer.encode(l).length));
      return { predictions: decode(model, queries.map((q) => source(nluPrompt(task, q.text))), longest + 1, false), stats };
    },

    promptSeq2Seq: (sources, demos, maxNewTokens) => decode(pretrained, sources.map((s, i) => source(seq2seqPrompt(s, demos[i]))), maxNewTokens, true),

    fineTuneSeq2Seq(train, sources, settings, maxNewTokens) {
      const model = copy();
      const rows = train.map((x) => ({ source: source(seq2seqPrompt(x.source)), given: [], scored: [...tokenizer.encode(x.target), t5.eos] }));
      const stats = trainOn(model, rows, settings);
      return { predictions: decode(model, sources.map((s) => source(seq2seqPrompt(s))), maxNewTokens, false), stats };
    },

    textNll(segments) {
      // Source: x_0 <extra_id_0> </s>; target: <extra_id_0> x_1 … x_n, the sentinel given (as GLM's [S] is).
      const rows = segments.map((s) => ({ source: [s[0]!, sentinel, t5.eos], given: [sentinel], scored: s.slice(1) }));
      return { kind: 'likelihood', nll: -rowLogProbs(pretrained, rows).reduce((a, b) => a + b, 0), how: 'the text as the <extra_id_0> span of "x_0 <extra_id_0>"' };
    },
  };
}
