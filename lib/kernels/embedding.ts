// Embedding gather and its scatter-add backward over a [vocab, dim] table.
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export interface EmbeddingOptions {
  /** Row width; the table's length must be a multiple of it (vocab = length / dim). */
  dim: number;
}

/** out[i, :] = weight[ids[i], :]; every id must be in [0, vocab). */
export function embeddingForward(ids: I32Buffer, weight: F32Buffer, out: F32Buffer, opts: EmbeddingOptions): void {
  addon.embeddingForward(ids, weight, out, opts);
}

/** dweight[ids[i], :] += dout[i, :] (accumulates; repeated ids add up, in id order). */
export function embeddingBackward(ids: I32Buffer, dout: F32Buffer, dweight: F32Buffer, opts: EmbeddingOptions): void {
  addon.embeddingBackward(ids, dout, dweight, opts);
}
