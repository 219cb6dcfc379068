// The unigram baseline of a pre-training objective: the cross-entropy of
// predicting its targets with their frequencies on the train split, ignoring
// the input altogether. A model that learned anything from context beats it;
// one that did not sits at it. Computed from the data, not assumed: the
// objective is applied (with its own seeded RNG) to block_size windows spread
// evenly over the train split, every window when there are at most
// MAX_WINDOWS, and its targets are counted. Counts get add-one (Laplace)
// smoothing so a target never seen in training (a rare character) costs
// log(total + vocab) instead of infinity.
import type { TextCorpus } from '../data/text_corpus.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { PretrainTask } from './pretrain_task.js';

const IGNORE_INDEX = -100;
/** Windows per makeBatch call while counting (only bounds memory). */
const COUNT_BATCH = 64;
/**
 * 4096 windows of 64 tokens give ~40k targets even at 15% masking: the
 * smoothed estimate's bias, about (vocab − 1) / (2·targets) nats for a
 * character vocabulary, is then ~0.001, and counting stays well under a second.
 */
const MAX_WINDOWS = 4096;

export class UnigramBaseline {
  /** −log p(id), smoothed. */
  readonly negLogProb: Float64Array;

  constructor(counts: Float64Array) {
    const total = counts.reduce((a, c) => a + c, 0) + counts.length;
    this.negLogProb = counts.map((c) => -Math.log((c + 1) / total));
  }

  /** Mean −log p(target) over the targets that are not −100 (0 when there are none, as crossEntropy). */
  crossEntropy(targets: Int32Array): number {
    let sum = 0, n = 0;
    for (const id of targets) {
      if (id === IGNORE_INDEX) continue;
      sum += this.negLogProb[id]!;
      n++;
    }
    return n === 0 ? 0 : sum / n;
  }
}

/** Counts the task's targets over non-overlapping windows spread evenly over the train split. */
export function unigramBaseline(task: PretrainTask, corpus: TextCorpus, blockSize: number, seed: number): UnigramBaseline {
  const counts = new Float64Array(corpus.tokenizer.vocabSize);
  const data = corpus.train;
  const rng = new Random(seed);
  // Each window needs block_size + 1 tokens (x and y); window k starts at round(k·stride).
  const windows = Math.min(MAX_WINDOWS, Math.floor((data.length - 1) / blockSize));
  const stride = windows > 1 ? (data.length - 1 - blockSize) / (windows - 1) : 0;
  for (let first = 0; first < windows; first += COUNT_BATCH) {
    const rows = Math.min(COUNT_BATCH, windows - first);
    const x = new Int32Array(rows * blockSize), y = new Int32Array(rows * blockSize);
    for (let r = 0; r < rows; r++) {
      const at = Math.round((first + r) * stride);
      x.set(data.subarray(at, at + blockSize), r * blockSize);
      y.set(data.subarray(at + 1, at + 1 + blockSize), r * blockSize);
    }
    const { targets } = task.makeBatch({ x: new Tensor(x, [rows, blockSize]), y: new Tensor(y, [rows, blockSize]) }, rng);
    for (const id of targets) if (id !== IGNORE_INDEX) counts[id]!++;
  }
  return new UnigramBaseline(counts);
}
