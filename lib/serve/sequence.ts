// One request's decoding state inside the batcher: its prompt, tokens so far,
// its own sampling options and random stream, and its text stream (UTF-8
// pieces, stop strings). Everything that decides a token depends only on the
// sequence itself, never on the rows it shares a batch with, so a request
// gets the same tokens alone or batched. The rules are stream()'s.
import { rowRandom } from '../generate/decode_loop.js';
import type { ResolvedOptions } from '../generate/options.js';
import { pickToken, processLogits } from '../generate/sampling.js';
import { createTextStream, type TextStream } from '../generate/stop_strings.js';
import type { Random } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizer/types.js';

/** Options one sequence decodes with: resolveOptions() output, minus what cannot cross a thread. */
export type SequenceOptions = Omit<ResolvedOptions, 'signal'>;

export type SequenceFinish = 'eos' | 'stop' | 'length';

/** What one step produced for a sequence. */
export interface SequenceStep {
  /** The token picked; −1 when the piece only releases held text (after eos). */
  token: number;
  /** Text it completes ('' while a character or a possible stop string is unfinished). */
  text: string;
  /** Set on the sequence's last step. */
  finish?: SequenceFinish;
}

export class DecodingSequence {
  readonly generated: number[] = [];
  /** Next-token logits [V], set by the batcher after each forward. */
  logits: Float32Array | null = null;
  private readonly rng: Random;
  private readonly eos: Set<number>;
  private readonly pieces: TextStream;

  /**
   * @param index  which of a request's sequences this is (OpenAI's n): it
   *               draws from stream (seed, index), as generate()'s j-th
   *               returned sequence does.
   */
  constructor(readonly id: number, readonly prompt: readonly number[], readonly options: SequenceOptions, tokenizer: Tokenizer, index = 0) {
    this.rng = rowRandom(options.seed, index);
    this.eos = new Set(options.eosTokenIds);
    this.pieces = createTextStream(tokenizer, options.stopStrings);
  }

  /** Picks the next token from `logits` (processors, warpers, then argmax or one seeded draw). */
  next(): SequenceStep {
    const logits = this.logits;
    if (!logits) throw new Error(`sequence ${this.id}: no logits to pick from`);
    this.logits = null;
    const o = this.options;
    const lg = Float32Array.from(logits);
    processLogits(lg, { tokens: [...this.prompt, ...this.generated], newTokens: this.generated.length }, o);
    const id = pickToken(lg, { ...o, rng: this.rng });
    this.generated.push(id);
    if (this.eos.has(id)) return { token: -1, text: this.pieces.flush(), finish: 'eos' };
    const text = this.pieces.push(id);
    if (this.pieces.stopped) return { token: id, text, finish: 'stop' };
    if (this.generated.length === o.maxNewTokens) {
      const rest = this.pieces.flush();
      return { token: id, text: text + rest, finish: this.pieces.stopped ? 'stop' : 'length' };
    }
    return { token: id, text };
  }
}
