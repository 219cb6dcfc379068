// Batch collation with padding: sequences of different lengths become one
// [B, T] int32 tensor (right-padded with padId) plus each row's length, which
// the models turn into an attention mask (keys j ≥ lengths[b] are invisible).
import { DataError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';

export interface PaddedBatch {
  /** [B, T] token ids; positions ≥ lengths[b] hold padId. */
  ids: Tensor;
  /** Real tokens per row. */
  lengths: Int32Array;
}

/**
 * Pads `sequences` on the right to the longest one (or to `width` when given,
 * e.g. a fixed context so shapes stay constant across steps).
 */
export function padBatch(sequences: readonly ArrayLike<number>[], padId: number, width?: number): PaddedBatch {
  if (sequences.length === 0) throw new DataError('BATCH_EMPTY', 'padBatch: no sequences to collate; pass at least one');
  const lengths = Int32Array.from(sequences, (s) => s.length);
  const longest = lengths.reduce((a, n) => Math.max(a, n), 0);
  const T = width ?? longest;
  lengths.forEach((n, b) => {
    if (n === 0) throw new DataError('BATCH_EMPTY_SEQUENCE', `padBatch: sequence ${b} is empty; drop it before collating (a row with no tokens has nothing to attend to)`);
    if (n > T) throw new DataError('BATCH_TOO_LONG', `padBatch: sequence ${b} has ${n} tokens, more than the width ${T}; truncate it or raise the width`);
  });
  const ids = new Int32Array(sequences.length * T).fill(padId);
  sequences.forEach((s, b) => ids.set(s, b * T));
  return { ids: new Tensor(ids, [sequences.length, T]), lengths };
}
