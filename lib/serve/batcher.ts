// Continuous batching (Orca, Yu et al. 2022, "iteration-level scheduling"):
// the batch is re-formed at every decoding step. Waiting sequences are
// prefilled into free rows of the KV slot pool, every row picks its next
// token, finished rows leave, and the rest advance together by one token.
// Synchronous and thread-agnostic: the engine's worker drives it, and tests
// drive it directly.
import type { DecoderLM } from '../models/decoder.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { DecodingSequence, type SequenceFinish, type SequenceOptions } from './sequence.js';
import { KvSlotPool } from './slot_pool.js';

export interface SequenceJob {
  /** Caller's id, echoed in every event. */
  id: number;
  prompt: readonly number[];
  options: SequenceOptions;
  /** Which of its request's sequences (seeds stream (seed, index)); default 0. */
  index?: number;
}

export type BatchFinish = SequenceFinish | 'cancelled';

/** One sequence's progress in one step; the last event of a sequence has `finish`. */
export interface BatchEvent {
  id: number;
  /** The token picked this step; −1 when there is none (a release of held text after eos, a cancel). */
  token: number;
  text: string;
  finish?: BatchFinish;
  /** With `finish`: every generated token id. */
  ids?: number[];
}

export class ContinuousBatcher {
  private readonly pool: KvSlotPool;
  private readonly waiting: DecodingSequence[] = [];
  /** rows[r] decodes in pool row r. */
  private rows: DecodingSequence[] = [];

  constructor(model: DecoderLM, private readonly tokenizer: Tokenizer, maxBatch: number) {
    this.pool = new KvSlotPool(model, maxBatch);
  }

  get maxBatch(): number {
    return this.pool.maxRows;
  }

  /** Sequences holding a row. */
  get active(): number {
    return this.rows.length;
  }

  /** Sequences waiting for a row. */
  get queued(): number {
    return this.waiting.length;
  }

  get idle(): boolean {
    return this.rows.length === 0 && this.waiting.length === 0;
  }

  /** Queues a sequence; it joins at the next step with a free row. Prompt + maxNewTokens must fit n_positions (checked by the caller). */
  add(job: SequenceJob): void {
    this.waiting.push(new DecodingSequence(job.id, job.prompt, job.options, this.tokenizer, job.index ?? 0));
  }

  /** Drops a sequence wherever it is; returns its closing event, or null if it is not here. */
  cancel(id: number): BatchEvent | null {
    const w = this.waiting.findIndex((s) => s.id === id);
    if (w >= 0) {
      const [seq] = this.waiting.splice(w, 1);
      return { id, token: -1, text: '', finish: 'cancelled', ids: seq!.generated };
    }
    const r = this.rows.findIndex((s) => s.id === id);
    if (r < 0) return null;
    const seq = this.rows[r]!;
    this.free(r);
    return { id, token: -1, text: '', finish: 'cancelled', ids: seq.generated };
  }

  /**
   * Admits waiting sequences into free rows (prefill), then picks one token
   * for every row. Finished sequences leave their rows. Returns the step's
   * events in row order.
   */
  pick(): BatchEvent[] {
    while (this.pool.free > 0 && this.waiting.length > 0) {
      const seq = this.waiting.shift()!;
      seq.logits = this.pool.join(seq.prompt);
      this.rows.push(seq);
    }
    const events: BatchEvent[] = [];
    const done: number[] = [];
    this.rows.forEach((seq, r) => {
      const step = seq.next();
      if (step.finish) {
        events.push({ id: seq.id, token: step.token, text: step.text, finish: step.finish, ids: seq.generated });
        done.push(r);
      } else events.push({ id: seq.id, token: step.token, text: step.text });
    });
    for (let i = done.length - 1; i >= 0; i--) this.free(done[i]!); // highest first: a moved row is never one still to free
    return events;
  }

  /** One batched forward: every remaining row gets its next-token logits. */
  advance(): void {
    if (this.rows.length === 0) return;
    const tokens = Int32Array.from(this.rows, (s) => s.generated[s.generated.length - 1]!);
    const logits = this.pool.step(tokens); // (rows, V)
    const V = this.pool.vocabSize;
    this.rows.forEach((seq, r) => (seq.logits = logits.slice(r * V, (r + 1) * V)));
  }

  private free(r: number): void {
    const moved = this.pool.leave(r);
    if (moved >= 0) this.rows[r] = this.rows[moved]!;
    this.rows.pop();
  }
}
