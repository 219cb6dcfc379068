// The encoder (BERT) in `lmkit compare`. Fine-tuned, it classifies the
// classic way: a new pooler + classifier on [CLS] over "[CLS] text [SEP]",
// trained with cross-entropy (BertForSequenceClassification). Prompted, it
// can still answer a cloze with its MLM head (PET, Schick & Schütze 2021):
// the blank becomes one [MASK] per verbalizer token and each label scores
// Σ_j log p(v_j at mask j), all masks predicted at once. It cannot generate:
// there is no decoder, only masks filled in place, so conditional generation
// is not done, and it has no likelihood of a text, only the
// pseudo-log-likelihood (each token masked in turn), shown apart.
import { EncoderLM } from '../../models/encoder.js';
import { mlmTokenIds } from '../../objectives/special_tokens.js';
import { padBatch } from '../../objectives/pad_batch.js';
import { noGrad } from '../../tensor/autograd.js';
import { targetLogProbs } from '../../tensor/ops/loss.js';
import { Tensor } from '../../tensor/tensor.js';
import type { Tokenizer } from '../../tokenizer/types.js';
import { copyParameters } from '../../demo/clone.js';
import { fineTune } from '../finetune.js';
import { argmax, EVAL_BATCH, inBatches, type FamilyAdapter } from '../family.js';
import { nluLabels, nluPrompt } from '../formats.js';

const IGNORE_INDEX = -100;

const NO_DECODER = 'an encoder has no decoder: it fills the masks it is given in place and cannot write an output of its own';

/** An MLM input and the ids expected at its masked positions (−100 elsewhere). */
interface MaskedRow {
  input: number[];
  labels: number[];
}

export function encoderAdapter(pretrained: EncoderLM, tokenizer: Tokenizer): FamilyAdapter {
  const ids = mlmTokenIds(tokenizer);

  /** Σ over masked positions of log p(label), per row, under the MLM head. */
  const maskedLogProbs = (rows: readonly MaskedRow[]): number[] => {
    pretrained.eval();
    return inBatches(rows, EVAL_BATCH, (batch) => {
      const input = padBatch(batch.map((r) => r.input), ids.pad);
      const labels = padBatch(batch.map((r) => r.labels), IGNORE_INDEX);
      const logp = noGrad(() => targetLogProbs(pretrained.mlmLogits(input.ids, input.lengths), labels.ids)).f32(); // (B, T)
      const T = input.ids.shape[1]!;
      return batch.map((_, b) => logp.subarray(b * T, (b + 1) * T).reduce((a, v) => a + v, 0));
    });
  };

  const classifierInput = (text: string): number[] => [ids.cls, ...tokenizer.encode(text), ids.sep];

  return {
    arch: 'encoder',
    nluMethod: { prompted: 'MLM cloze: one [MASK] per verbalizer token (PET)', fineTuned: 'classification head on [CLS]' },
    seq2seqMethod: null,

    promptNlu(task, queries, demos) {
      const labels = nluLabels(task);
      const rows = queries.flatMap((q, i) => labels.map((l): MaskedRow => {
        const { before, after } = nluPrompt(task, q.text, demos[i]);
        const v = tokenizer.encode(l);
        const head = [ids.cls, ...tokenizer.encode(before)];
        const tail = [...tokenizer.encode(after), ids.sep];
        return {
          input: [...head, ...v.map(() => ids.mask), ...tail],
          labels: [...head.map(() => IGNORE_INDEX), ...v, ...tail.map(() => IGNORE_INDEX)],
        };
      }));
      const scores = maskedLogProbs(rows);
      return queries.map((_, n) => labels[argmax(scores.slice(n * labels.length, (n + 1) * labels.length))]!);
    },

    fineTuneNlu(task, train, queries, settings) {
      const labels = nluLabels(task);
      // A fresh head (seeded by the fine-tuning seed) on the pre-trained encoder.
      const model = new EncoderLM({ ...pretrained.config, num_labels: labels.length }, settings.seed);
      copyParameters(pretrained, model);
      const inputs = train.map((x) => classifierInput(x.text));
      const gold = train.map((x) => labels.indexOf(x.label));
      const stats = fineTune(model, inputs.map((r) => r.length), settings, (idx) => {
        const batch = padBatch(idx.map((i) => inputs[i]!), ids.pad);
        return model.classificationLoss(batch.ids, batch.lengths, new Tensor(Int32Array.from(idx, (i) => gold[i]!), [idx.length]));
      });
      const predictions = inBatches(queries, EVAL_BATCH, (batch) => {
        const b = padBatch(batch.map((q) => classifierInput(q.text)), ids.pad);
        const logits = noGrad(() => model.classify(b.ids, b.lengths)).f32(); // (N, L)
        return batch.map((_, n) => labels[argmax(logits.subarray(n * labels.length, (n + 1) * labels.length))]!);
      });
      return { predictions, stats };
    },

    promptSeq2Seq: () => ({ unsupported: NO_DECODER }),
    fineTuneSeq2Seq: () => ({ unsupported: NO_DECODER }),

    textNll(segments) {
      // Pseudo-log-likelihood: [CLS] x_0 … x_n [SEP] with x_i masked, for each i ≥ 1 (x_0 is context, as for the others).
      const rows = segments.flatMap((s) => s.slice(1).map((_, k): MaskedRow => {
        const i = k + 1;
        const input = [ids.cls, ...s, ids.sep];
        const labels = input.map(() => IGNORE_INDEX);
        input[i + 1] = ids.mask;
        labels[i + 1] = s[i]!;
        return { input, labels };
      }));
      return { kind: 'pseudo', nll: -maskedLogProbs(rows).reduce((a, b) => a + b, 0), how: 'pseudo-log-likelihood: each character masked in turn' };
    },
  };
}
