// GLM in `lmkit compare`: one transformer for all three task types, each as
// a blank to fill (Du et al. 2022, §2.3). Classification writes [MASK] where
// the label goes and scores each verbalizer as the Part B span filling it
// (cloze fine-tuning trains those scores: objectives/glm_cloze.ts).
// Generation ends Part A with [gMASK] and decodes the span up to [E]. Text
// likelihood: the segment after its first token is one [gMASK] span, scored
// token by token by the chain rule inside the span (its closing [E] is not
// counted, as no other family predicts an end there).
import { generate } from '../../generate/generate.js';
import { GLM } from '../../models/glm.js';
import { collateGlm, gMaskExample, IGNORE_INDEX } from '../../objectives/blank_infilling.js';
import { glmClozeLoss, glmVerbalizerScores } from '../../objectives/glm_cloze.js';
import { glmTokenIds } from '../../objectives/special_tokens.js';
import { noGrad } from '../../tensor/autograd.js';
import { targetLogProbs } from '../../tensor/ops/loss.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { copyParameters } from '../../demo/clone.js';
import { fineTune } from '../finetune.js';
import { argmax, EVAL_BATCH, inBatches, type Demos, type FamilyAdapter } from '../family.js';
import { nluLabels, nluPrompt, seq2seqPrompt, type BlankText, type NluItem } from '../formats.js';

export function glmAdapter(pretrained: GLM, tokenizer: Tokenizer): FamilyAdapter {
  const ids = glmTokenIds(tokenizer);
  const copy = (): GLM => {
    const m = new GLM(pretrained.config, 0);
    copyParameters(pretrained, m);
    return m;
  };
  const withMask = (t: BlankText): number[] => [...tokenizer.encode(t.before), ids.mask, ...tokenizer.encode(t.after)];
  const withGMask = (t: BlankText): number[] => [...tokenizer.encode(t.before), ids.gmask];

  const classify = (model: GLM, task: string, queries: readonly NluItem[], demos?: Demos<NluItem>): string[] => {
    const labels = nluLabels(task);
    const verbalizers = labels.map((l) => tokenizer.encode(l));
    model.eval();
    const contexts = queries.map((q, i) => withMask(nluPrompt(task, q.text, demos?.[i])));
    return inBatches(contexts, EVAL_BATCH, (batch) => {
      const scores = noGrad(() => glmVerbalizerScores(model, batch, verbalizers, ids)).f32(); // (N, L)
      return batch.map((_, n) => labels[argmax(scores.subarray(n * labels.length, (n + 1) * labels.length))]!);
    });
  };

  const fill = (model: GLM, partAs: readonly number[][], maxNewTokens: number): string[] =>
    inBatches(partAs, EVAL_BATCH, (batch) => generate(model, tokenizer, batch, { maxNewTokens }).map((r) => r[0]!.text.split('\n')[0]!.trim()));

  return {
    arch: 'glm',
    nluMethod: { prompted: 'cloze: verbalizer as the [MASK] span', fineTuned: 'cloze, cross-entropy over the labels' },
    seq2seqMethod: { prompted: 'fill "<source> = [gMASK]"', fineTuned: 'blank infilling on the target span, greedy' },

    promptNlu: (task, queries, demos) => classify(pretrained, task, queries, demos),

    fineTuneNlu(task, train, queries, settings) {
      const model = copy();
      const labels = nluLabels(task);
      const verbalizers = labels.map((l) => tokenizer.encode(l));
      const examples = train.map((x) => ({ context: withMask(nluPrompt(task, x.text)), label: labels.indexOf(x.label) }));
      const stats = fineTune(model, examples.map((e) => e.context.length), settings,
        (idx) => glmClozeLoss(model, idx.map((i) => examples[i]!), verbalizers, ids));
      return { predictions: classify(model, task, queries), stats };
    },

    promptSeq2Seq: (sources, demos, maxNewTokens) => fill(pretrained, sources.map((s, i) => withGMask(seq2seqPrompt(s, demos[i]))), maxNewTokens),

    fineTuneSeq2Seq(train, sources, settings, maxNewTokens) {
      const model = copy();
      // Part A = "<source> = " [gMASK]; Part B = [S] target → target [E].
      const examples = train.map((x) => {
        const before = tokenizer.encode(seq2seqPrompt(x.source).before);
        return gMaskExample([...before, ...tokenizer.encode(x.target)], before.length, ids);
      });
      const stats = fineTune(model, examples.map((e) => e.input.length), settings, (idx) => {
        const b = collateGlm(idx.map((i) => examples[i]!), ids.pad);
        return model.loss(b.input, b.positions, b.blockPositions, b.prefixLen, b.target, b.kvLen);
      });
      return { predictions: fill(model, sources.map((s) => withGMask(seq2seqPrompt(s))), maxNewTokens), stats };
    },

    textNll(segments) {
      pretrained.eval();
      const rows = segments.map((s) => {
        const ex = gMaskExample(s, 1, ids); // Part A: x_0 [gMASK]; Part B: [S] x_1 … x_n → x_1 … x_n [E]
        ex.target[ex.target.length - 1] = IGNORE_INDEX; // [E] is not part of the text
        return ex;
      });
      let nll = 0;
      inBatches(rows, EVAL_BATCH, (batch) => {
        const b = collateGlm(batch, ids.pad);
        const logp = noGrad(() => targetLogProbs(pretrained.forward(b.input, b.positions, b.blockPositions, b.prefixLen, b.kvLen), b.target)).f32();
        for (const v of logp) nll -= v;
        return [];
      });
      return { kind: 'likelihood', nll, how: 'the text as one [gMASK] span' };
    },
  };
}
