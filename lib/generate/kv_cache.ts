// The KV-cached decoding session: a batch of sequences (prompts of any
// lengths) that advances one token per row per step. Decoding loops (greedy,
// sampling, beam search) see only the DecodeSession interface, so a test can
// drive them with a plain function from prefix to logits.
import { ShapeError } from '../errors.js';
import type { LayerKvCache } from '../nn/attention.js';
import type { DecoderLM } from '../models/decoder.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { cloneF32, copyInto, toHostF32 } from '../tensor/device.js';

/** What a decoding loop needs from a model: next-token logits, row by row. */
export interface DecodeSession {
  readonly vocabSize: number;
  /** Rows (sequences) in the batch. */
  readonly rows: number;
  /** Appends one token to each row; returns each row's next-token logits [rows, V]. */
  step(tokens: Int32Array): Float32Array;
  /** Row i continues what row src[i] held (beam search); src has one entry per row. */
  reorder(src: Int32Array): void;
  /** Frees caches; later calls are errors. */
  close(): void;
}

/** What a SessionFactory returns: the session and the first logits. */
export interface OpenedSession {
  session: DecodeSession;
  /** Next-token logits after each prompt [rows, V]. */
  logits: Float32Array;
  /**
   * Per row, the tokens the model's autoregressive side was fed before the
   * generated ones (HF's input_ids), which repetition penalty and n-gram
   * blocking look at. Absent: the prompts themselves (decoder-only models).
   * An encoder-decoder gives [decoder start]; GLM gives Part A then [S].
   */
  history?: readonly (readonly number[])[];
}

/** Opens a session over the prompts (one row each). */
export type SessionFactory = (prompts: readonly (readonly number[])[]) => OpenedSession;

/**
 * Copies cache rows so row i holds what row src[i] held (beams that survive a
 * step continue from their parents). Rows are copied through a scratch
 * buffer, since src may repeat and permute rows.
 */
export function reorderCache(caches: readonly LayerKvCache[], src: Int32Array): void {
  for (const c of caches) {
    if (src.length !== c.batch) throw new ShapeError('SHAPE_MISMATCH', `reorderCache: ${src.length} sources for a cache of ${c.batch} rows`);
    const rowSize = c.k.length / c.batch;
    if (src.every((s, i) => s === i)) return;
    for (const buf of [c.k, c.v]) {
      const old = cloneF32(buf);
      for (let i = 0; i < c.batch; i++)
        copyInto(buf.subarray(i * rowSize, (i + 1) * rowSize), old.subarray(src[i]! * rowSize, (src[i]! + 1) * rowSize));
    }
    const lengths = c.lengths.slice();
    for (let i = 0; i < c.batch; i++) c.lengths[i] = lengths[src[i]!]!;
  }
}

/**
 * A DecoderLM session: each prompt is prefilled alone through its row of the
 * cache (no padding, exact positions), then all rows step together with one
 * [rows, 1] forward per token, each row at its own cached length.
 */
export function decoderSession(model: DecoderLM, capacity: number): SessionFactory {
  return (prompts) => {
    if (capacity > model.config.n_positions)
      throw new ShapeError('SHAPE_INVALID', `decoderSession: capacity ${capacity} exceeds the model's context n_positions ${model.config.n_positions}`);
    const V = model.config.vocab_size;
    const rows = prompts.length;
    model.eval();
    let caches: LayerKvCache[] | null = model.createCache(rows, capacity);
    const logits = new Float32Array(rows * V);
    noGrad(() => {
      prompts.forEach((prompt, b) => {
        const rowCache = caches!.map((c) => c.row(b));
        // Logits come to the host for sampling, whatever device the model is on.
        const out = toHostF32(model.forward(new Tensor(Int32Array.from(prompt), [1, prompt.length]), { cache: rowCache }).f32Buffer()); // (1, T, V)
        logits.set(out.subarray(out.length - V), b * V); // the last position's row
      });
    });
    const live = (): LayerKvCache[] => {
      if (!caches) throw new ShapeError('SHAPE_INVALID', 'decoderSession: the session is closed');
      return caches;
    };
    const session: DecodeSession = {
      vocabSize: V,
      rows,
      step(tokens) {
        const c = live();
        return toHostF32(noGrad(() => model.forward(new Tensor(tokens, [rows, 1]), { cache: c })).f32Buffer()); // (rows, 1, V)
      },
      reorder(src) {
        reorderCache(live(), src);
      },
      close() {
        caches = null;
      },
    };
    return { session, logits };
  };
}
