// A fixed-capacity pool of KV-cache rows for continuous batching: sequences
// join between decoding steps (their prompt prefilled alone into a free row)
// and leave when they finish, while the others keep their cached keys and
// values. Active rows are kept packed at 0..rows-1 (a leaving row's place is
// taken by the last one), so every step is one [rows, 1] forward over a view
// of the first rows, each at its own cached length.
import { ShapeError } from '../errors.js';
import type { DecoderLM } from '../models/decoder.js';
import { LayerKvCache } from '../nn/attention.js';
import { noGrad } from '../tensor/autograd.js';
import { copyInto } from '../tensor/device.js';
import { Tensor } from '../tensor/tensor.js';

export class KvSlotPool {
  private readonly caches: LayerKvCache[];
  /** Floats per cache row: heads · capacity · head size. */
  private readonly rowSize: number;
  private readonly headSpan: number;
  private active = 0;

  /**
   * @param maxRows   sequences that can decode at once
   * @param capacity  tokens one row holds (prompt + generated); at most n_positions
   */
  constructor(private readonly model: DecoderLM, readonly maxRows: number, readonly capacity = model.config.n_positions) {
    if (!Number.isSafeInteger(maxRows) || maxRows < 1) throw new ShapeError('SHAPE_INVALID', `KvSlotPool: maxRows must be an integer ≥ 1, got ${maxRows}`);
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > model.config.n_positions)
      throw new ShapeError('SHAPE_INVALID', `KvSlotPool: capacity must be in [1, n_positions = ${model.config.n_positions}], got ${capacity}`);
    model.eval();
    this.caches = model.createCache(maxRows, capacity);
    const headDim = model.config.n_embd / model.config.n_head;
    this.headSpan = capacity * headDim;
    this.rowSize = model.config.n_head * this.headSpan;
  }

  get vocabSize(): number {
    return this.model.config.vocab_size;
  }

  /** Rows in use (packed at 0..rows-1). */
  get rows(): number {
    return this.active;
  }

  get free(): number {
    return this.maxRows - this.active;
  }

  /** Tokens cached in row r. */
  length(r: number): number {
    this.check(r);
    return this.caches[0]!.lengths[r]!;
  }

  /**
   * Prefills `prompt` into the next free row (index `rows` before the call)
   * and returns its next-token logits [V]. The prompt runs alone as a
   * [1, T] forward, exactly as a batch of one would.
   */
  join(prompt: readonly number[]): Float32Array {
    if (this.active === this.maxRows) throw new ShapeError('SHAPE_INVALID', `KvSlotPool: all ${this.maxRows} rows are in use; a sequence must leave first`);
    if (prompt.length === 0 || prompt.length >= this.capacity)
      throw new ShapeError('SHAPE_INVALID', `KvSlotPool: a prompt must have 1..${this.capacity - 1} tokens (room for one new token), got ${prompt.length}`);
    const r = this.active;
    const rowCaches = this.caches.map((c) => {
      c.lengths[r] = 0;
      return c.row(r);
    });
    const V = this.vocabSize;
    const out = noGrad(() => this.model.forward(new Tensor(Int32Array.from(prompt), [1, prompt.length]), { cache: rowCaches })).f32(); // (1, T, V)
    this.active++;
    return out.slice(out.length - V); // the last position's logits
  }

  /**
   * Frees row r. The last row moves into r (its cached tokens copied), so the
   * caller must move its own record of that row too: returns the index that
   * moved into r, or -1 when r was the last row.
   */
  leave(r: number): number {
    this.check(r);
    const last = this.active - 1;
    this.active--;
    if (r === last) return -1;
    for (const c of this.caches) {
      const n = c.lengths[last]! * (this.headSpan / this.capacity); // floats used per head
      for (const buf of [c.k, c.v])
        for (let h = 0; h < this.rowSize / this.headSpan; h++) {
          const from = last * this.rowSize + h * this.headSpan, to = r * this.rowSize + h * this.headSpan;
          copyInto(buf.subarray(to, to + n), buf.subarray(from, from + n)); // rows r < last never overlap
        }
      c.lengths[r] = c.lengths[last]!;
    }
    return last;
  }

  /** Appends tokens[r] to each active row r; returns the next-token logits [rows, V]. */
  step(tokens: Int32Array): Float32Array {
    const B = this.active;
    if (tokens.length !== B) throw new ShapeError('SHAPE_MISMATCH', `KvSlotPool.step: ${tokens.length} tokens for ${B} active rows`);
    if (B === 0) return new Float32Array(0);
    for (let r = 0; r < B; r++)
      if (this.caches[0]!.lengths[r]! >= this.capacity)
        throw new ShapeError('SHAPE_INVALID', `KvSlotPool.step: row ${r} already holds ${this.capacity} tokens, the pool's capacity`);
    // Views of the first B rows: [B, NH, capacity, HS] each, lengths shared with the pool.
    const views = this.caches.map((c) => new LayerKvCache(c.k.subarray(0, B * this.rowSize), c.v.subarray(0, B * this.rowSize), B, this.capacity, c.lengths.subarray(0, B)));
    return noGrad(() => this.model.forward(new Tensor(tokens, [B, 1]), { cache: views })).f32(); // (B, 1, V)
  }

  private check(r: number): void {
    if (!Number.isInteger(r) || r < 0 || r >= this.active) throw new ShapeError('SHAPE_INVALID', `KvSlotPool: row ${r} is not in use (rows 0..${this.active - 1} are)`);
  }
}
