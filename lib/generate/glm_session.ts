// KV-cached GLM decoding (Du et al. 2022, §2.3): Part A, the text with its
// [MASK] or [gMASK] blanks, is encoded once into the cache (bidirectionally);
// a Part B span is then decoded token by token after [S], every token at the
// 2D position (the blank's index in Part A, 1..n along the span), until [E].
// GLM has no separate prompt and continuation: generating = filling a blank.
import { ShapeError } from '../errors.js';
import type { LayerKvCache } from '../nn/attention.js';
import type { GLM } from '../models/glm.js';
import type { GlmSpecialTokens } from '../objectives/blank_infilling.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { reorderCache, type DecodeSession, type SessionFactory } from './kv_cache.js';

/** Index of the first [MASK] or [gMASK] in Part A, or −1. */
export function firstBlank(partA: readonly number[], specials: GlmSpecialTokens): number {
  return partA.findIndex((id) => id === specials.mask || id === specials.gmask);
}

/**
 * Rows of GLM sequences in one KV cache: Part A prefilled per row, then Part B
 * spans. startSpan() feeds [S] for the blank each row fills, step() the next
 * token of the span; commitSpan() rewinds every row to a common length and
 * writes a finished span, so the next blank is decoded after it (as in
 * training, where Part B spans follow each other and [E] is never an input).
 */
export class GlmRows implements DecodeSession {
  readonly vocabSize: number;
  readonly rows: number;
  private caches: LayerKvCache[] | null;
  /** |Part A| of each row: keys below it are visible to every query. */
  private readonly prefixLen: Int32Array;
  /** Each row's blank (its index in Part A): the inter-span position of the current span. */
  private readonly maskPosition: Int32Array;
  /** Intra-span position of the last token fed (1 = [S]); 0 when no span is open. */
  private blockPosition = 0;
  private spanOpen = false;

  constructor(private readonly model: GLM, partAs: readonly (readonly number[])[], readonly capacity: number) {
    const P = model.config.n_positions;
    if (!Number.isSafeInteger(capacity) || capacity < 2 || capacity > P)
      throw new ShapeError('SHAPE_INVALID', `GLM session: capacity must be an integer in [2, ${P}] (n_positions), got ${capacity}`);
    if (partAs.length === 0) throw new ShapeError('SHAPE_INVALID', 'GLM session: no prompts; pass at least one Part A');
    const V = model.config.vocab_size;
    partAs.forEach((a, i) => {
      if (a.length === 0) throw new ShapeError('SHAPE_INVALID', `GLM session: prompt ${i} is empty; Part A needs at least its [MASK] or [gMASK]`);
      if (a.length + 1 > capacity)
        throw new ShapeError('SHAPE_INVALID', `GLM session: prompt ${i} has ${a.length} tokens; with [S] that needs capacity ${a.length + 1} but the session has ${capacity}; raise capacity to |Part A| + maxNewTokens`);
      for (const id of a)
        if (!Number.isInteger(id) || id < 0 || id >= V) throw new ShapeError('SHAPE_INVALID', `GLM session: prompt ${i} has token id ${id}, outside the vocabulary [0, ${V})`);
    });
    this.vocabSize = V;
    this.rows = partAs.length;
    this.prefixLen = Int32Array.from(partAs, (a) => a.length);
    this.maskPosition = new Int32Array(this.rows);
    model.eval();
    this.caches = model.createCache(this.rows, capacity);
    // Rows of different lengths are prefilled one at a time: no padding, exact positions.
    noGrad(() => partAs.forEach((a, b) => {
      const T = a.length;
      const ids = new Tensor(Int32Array.from(a), [1, T]);
      const positions = new Tensor(Int32Array.from({ length: T }, (_, i) => i), [1, T]);
      const blocks = new Tensor(new Int32Array(T), [1, T]); // intra-span position 0 throughout Part A
      model.forward(ids, positions, blocks, this.prefixLen.subarray(b, b + 1), undefined, { cache: this.live().map((c) => c.row(b)) });
    }));
  }

  /** Tokens held by each row (Part A and the Part B fed so far). */
  get lengths(): Int32Array {
    return this.live()[0]!.lengths;
  }

  /** Starts a span in every row: feeds [S] at (maskPositions[b], 1); returns the logits for the span's first token [rows, V]. */
  startSpan(maskPositions: Int32Array, startToken: number): Float32Array {
    if (maskPositions.length !== this.rows) throw new ShapeError('SHAPE_MISMATCH', `GLM session: ${maskPositions.length} blank positions for ${this.rows} rows`);
    maskPositions.forEach((p, b) => {
      if (!(p >= 0 && p < this.prefixLen[b]!)) throw new ShapeError('SHAPE_INVALID', `GLM session: row ${b}'s blank at ${p} is not inside its Part A of ${this.prefixLen[b]} tokens`);
    });
    this.maskPosition.set(maskPositions);
    this.blockPosition = 0;
    this.spanOpen = true;
    return this.step(new Int32Array(this.rows).fill(startToken));
  }

  /** Feeds one token per row as the next token of the current span; returns next-token logits [rows, V]. */
  step(tokens: Int32Array): Float32Array {
    const c = this.live();
    if (!this.spanOpen) throw new ShapeError('SHAPE_INVALID', 'GLM session: step() before startSpan(); a Part B span begins with [S] at its blank');
    const held = c[0]!.lengths.reduce((a, n) => Math.max(a, n), 0);
    if (held >= this.capacity)
      throw new ShapeError('SHAPE_INVALID', `GLM session: the cache is full (capacity ${this.capacity} tokens: Part A, [S] and the span); open the session with capacity ≥ |Part A| + maxNewTokens`);
    this.blockPosition++;
    const R = this.rows;
    const blocks = new Int32Array(R).fill(this.blockPosition);
    return noGrad(() => this.model.forward(new Tensor(tokens, [R, 1]), new Tensor(this.maskPosition.slice(), [R, 1]), new Tensor(blocks, [R, 1]),
      this.prefixLen, undefined, { cache: c })).f32(); // (R, 1, V)
  }

  /** Row i continues what row src[i] held (beam search). */
  reorder(src: Int32Array): void {
    reorderCache(this.live(), src);
    const prefix = this.prefixLen.slice(), mask = this.maskPosition.slice();
    src.forEach((s, i) => {
      this.prefixLen[i] = prefix[s]!;
      this.maskPosition[i] = mask[s]!;
    });
  }

  /**
   * Cuts every row back to `length` tokens (rows must agree on them: copies
   * of one sequence, as in beam search) and appends [S] span for the blank at
   * maskPosition, as one forward.
   */
  commitSpan(length: number, maskPosition: number, startToken: number, span: readonly number[]): void {
    const c = this.live();
    if (length + 1 + span.length > this.capacity)
      throw new ShapeError('SHAPE_INVALID', `GLM session: ${length} tokens + [S] + a span of ${span.length} exceed capacity ${this.capacity}`);
    for (const layer of c) layer.length = length;
    const R = this.rows, T = span.length + 1;
    const ids = new Int32Array(R * T), positions = new Int32Array(R * T).fill(maskPosition), blocks = new Int32Array(R * T); // (R, T)
    for (let b = 0; b < R; b++) {
      ids.set([startToken, ...span], b * T);
      for (let j = 0; j < T; j++) blocks[b * T + j] = j + 1;
    }
    noGrad(() => this.model.forward(new Tensor(ids, [R, T]), new Tensor(positions, [R, T]), new Tensor(blocks, [R, T]), this.prefixLen, undefined, { cache: c }));
    this.blockPosition = 0;
    this.spanOpen = false;
  }

  close(): void {
    this.caches = null;
  }

  private live(): LayerKvCache[] {
    if (!this.caches) throw new ShapeError('SHAPE_INVALID', 'GLM session: the session is closed');
    return this.caches;
  }
}

/**
 * A GLM session: each prompt is a Part A; its first [MASK] or [gMASK] is the
 * blank decoded (use glmFillBlanks for every blank of a text). Generation
 * should stop at specials.end ([E]). `capacity` is the tokens one row holds:
 * |Part A| + maxNewTokens suffices ([S] plus all but the last new token are
 * fed), at most n_positions.
 */
export function glmSession(model: GLM, capacity: number, specials: GlmSpecialTokens): SessionFactory {
  return (prompts) => {
    const blanks = Int32Array.from(prompts, (p, i) => {
      const at = firstBlank(p, specials);
      if (at < 0)
        throw new ShapeError('SHAPE_INVALID', `GLM session: prompt ${i} has no [MASK] (id ${specials.mask}) or [gMASK] (id ${specials.gmask}) to fill; put [MASK] where the blank is, or append [gMASK] to continue the text`);
      return at;
    });
    const session = new GlmRows(model, prompts, capacity);
    const logits = session.startSpan(blanks, specials.start);
    return { session, logits, history: prompts.map((p) => [...p, specials.start]) };
  };
}
