// The buffer between the engine's worker messages and one request's async
// iterator: pieces pushed as steps arrive, read at the consumer's pace, then
// an end (normal or with an error). Read once.
import type { StreamPiece } from '../generate/generate.js';

export class PieceChannel {
  private readonly pieces: StreamPiece[] = [];
  private head = 0;
  private wake: (() => void) | null = null;
  private ended = false;
  private failure: { error: unknown } | null = null;
  private taken = false;

  /** @param onEarlyReturn called when the reader stops before the end (break, return, throw) */
  constructor(private readonly onEarlyReturn: () => void) {}

  get done(): boolean {
    return this.ended;
  }

  push(piece: StreamPiece): void {
    if (this.ended) return;
    this.pieces.push(piece);
    this.wake?.();
  }

  /** Ends the stream; with an error, the reader throws it after the pieces already pushed. */
  end(error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    if (error !== undefined) this.failure = { error };
    this.wake?.();
  }

  async *read(): AsyncGenerator<StreamPiece> {
    if (this.taken) throw new Error('a generation stream can be iterated once');
    this.taken = true;
    try {
      for (;;) {
        if (this.head < this.pieces.length) {
          const piece = this.pieces[this.head]!;
          this.pieces[this.head++] = undefined as unknown as StreamPiece; // let it be collected
          yield piece;
          continue;
        }
        if (this.ended) {
          if (this.failure) throw this.failure.error;
          return;
        }
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
      }
    } finally {
      if (!this.ended) this.onEarlyReturn();
    }
  }
}
