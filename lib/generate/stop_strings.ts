// Stop strings over streamed text. Text that could be the start of a stop
// string is held back until it either completes one (the output ends just
// before it; the stop string itself is never returned) or diverges (it is
// released). So emitted text never has to be taken back.
import { createStreamDecoder } from '../tokenizer/stream.js';
import type { Tokenizer } from '../tokenizer/types.js';

export class StopStringBuffer {
  private held = '';
  private stoppedAt = false;

  constructor(private readonly stops: readonly string[]) {}

  get stopped(): boolean {
    return this.stoppedAt;
  }

  /** Adds decoded text; returns what can be emitted now. */
  push(text: string): string {
    if (this.stoppedAt) return '';
    if (this.stops.length === 0) return text;
    const buf = this.held + text;
    let cut = -1;
    for (const s of this.stops) {
      const i = buf.indexOf(s);
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.stoppedAt = true;
      this.held = '';
      return buf.slice(0, cut);
    }
    // Hold the longest tail that is a proper prefix of some stop string.
    let keep = 0;
    for (const s of this.stops)
      for (let n = Math.min(s.length - 1, buf.length); n > keep; n--)
        if (buf.endsWith(s.slice(0, n))) {
          keep = n;
          break;
        }
    this.held = buf.slice(buf.length - keep);
    return buf.slice(0, buf.length - keep);
  }

  /** Ends the text: held characters did not become a stop string, so they are released. */
  flush(): string {
    const rest = this.stoppedAt ? '' : this.held;
    this.held = '';
    return rest;
  }
}

/** Token ids → text pieces: whole UTF-8 characters (byte-level tokens may split one), stop strings cut. */
export interface TextStream {
  /** Text this token completes ('' while a character or a possible stop string is unfinished). */
  push(id: number): string;
  /** Ends the text: what was held comes out (an unfinished character as U+FFFD). */
  flush(): string;
  readonly stopped: boolean;
}

export function createTextStream(tokenizer: Tokenizer, stops: readonly string[]): TextStream {
  const decoder = createStreamDecoder(tokenizer, { skipSpecial: true });
  const stop = new StopStringBuffer(stops);
  return {
    push: (id) => stop.push(decoder.push(id)),
    flush: () => (stop.stopped ? '' : stop.push(decoder.flush()) + stop.flush()),
    get stopped() {
      return stop.stopped;
    },
  };
}
