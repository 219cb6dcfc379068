// The decoder (GPT) in `lmkit compare`. Classification is a cloze read off
// the continuation: each label's verbalizer is scored after the pattern's
// text and the likeliest wins (GPT-3's multiple-choice scoring); fine-tuning
// trains the same scores with cross-entropy over the labels (PET).
// Generation continues "<source> = " up to the end token (fine-tuned) or the
// line's end (prompted). Text likelihood is the chain rule, as pre-trained.
import { generate } from '../../generate/generate.js';
import { scoreContinuations } from '../../generate/scoring.js';
import { DecoderLM } from '../../models/decoder.js';
import { causalClozeLoss, causalVerbalizerScores } from '../../objectives/causal_cloze.js';
import { collateSft, type EncodedExample } from '../../stages/sft_data.js';
import { RESPONSE_END, responseEndId } from '../../stages/instruction_format.js';
import { noGrad } from '../../tensor/autograd.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { copyParameters } from '../../demo/clone.js';
import { fineTune } from '../finetune.js';
import { argmax, EVAL_BATCH, inBatches, type Demos, type FamilyAdapter } from '../family.js';
import { nluLabels, nluPrompt, seq2seqPrompt, type NluItem } from '../formats.js';

export function decoderAdapter(pretrained: DecoderLM, tokenizer: Tokenizer): FamilyAdapter {
  const end = responseEndId(tokenizer);
  const copy = (): DecoderLM => {
    const m = new DecoderLM(pretrained.config, 0);
    copyParameters(pretrained, m);
    return m;
  };

  const classify = (model: DecoderLM, task: string, queries: readonly NluItem[], demos?: Demos<NluItem>): string[] => {
    const labels = nluLabels(task);
    const verbalizers = labels.map((l) => tokenizer.encode(l));
    model.eval();
    const contexts = queries.map((q, i) => tokenizer.encode(nluPrompt(task, q.text, demos?.[i]).before));
    return inBatches(contexts, EVAL_BATCH, (batch) => {
      const scores = noGrad(() => causalVerbalizerScores(model, batch, verbalizers)).f32(); // (N, L)
      return batch.map((_, n) => labels[argmax(scores.subarray(n * labels.length, (n + 1) * labels.length))]!);
    });
  };

  const continueText = (model: DecoderLM, prompts: readonly string[], maxNewTokens: number): string[] =>
    inBatches(prompts, EVAL_BATCH, (batch) => generate(model, tokenizer, batch, { maxNewTokens, stopTokens: [RESPONSE_END], stopStrings: ['\n'] }).map((r) => r[0]!.text.trim()));

  return {
    arch: 'decoder',
    nluMethod: { prompted: 'cloze: verbalizer likelihood after the pattern', fineTuned: 'cloze, cross-entropy over the labels' },
    seq2seqMethod: { prompted: 'continue "<source> = "', fineTuned: 'SFT on the target tokens, greedy' },

    promptNlu: (task, queries, demos) => classify(pretrained, task, queries, demos),

    fineTuneNlu(task, train, queries, settings) {
      const model = copy();
      const labels = nluLabels(task);
      const verbalizers = labels.map((l) => tokenizer.encode(l));
      const contexts = train.map((x) => tokenizer.encode(nluPrompt(task, x.text).before));
      const gold = train.map((x) => labels.indexOf(x.label));
      const stats = fineTune(model, contexts.map((c) => c.length), settings,
        (idx) => causalClozeLoss(model, idx.map((i) => contexts[i]!), idx.map((i) => gold[i]!), verbalizers));
      return { predictions: classify(model, task, queries), stats };
    },

    promptSeq2Seq: (sources, demos, maxNewTokens) => continueText(pretrained, sources.map((s, i) => seq2seqPrompt(s, demos[i]).before), maxNewTokens),

    fineTuneSeq2Seq(train, sources, settings, maxNewTokens) {
      const model = copy();
      // The loss covers the target and the end token only (sft_data.ts).
      const examples: EncodedExample[] = train.map((x) => {
        const prompt = tokenizer.encode(seq2seqPrompt(x.source).before);
        return { ids: Int32Array.from([...prompt, ...tokenizer.encode(x.target), end]), promptLength: prompt.length };
      });
      const stats = fineTune(model, examples.map((e) => e.ids.length), settings, (idx) => {
        const batch = collateSft(idx.map((i) => [examples[i]!]), end);
        return model.loss(batch.x, batch.y);
      });
      return { predictions: continueText(model, sources.map((s) => seq2seqPrompt(s).before), maxNewTokens), stats };
    },

    textNll(segments) {
      pretrained.eval();
      const scores = scoreContinuations(pretrained, segments.map((s) => ({ context: [s[0]!], continuation: s.slice(1) })), { batchSize: EVAL_BATCH });
      return { kind: 'likelihood', nll: -scores.reduce((a, s) => a + s.logProb, 0), how: 'chain rule: p(x_t | x_<t)' };
    },
  };
}
