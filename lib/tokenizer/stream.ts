// Streaming decode for generation: tokens arrive one at a time, and a byte-level
// token can end inside a multi-byte character (an emoji is often 2–4 tokens).
// Bytes of an unfinished character are held until it completes, so the pieces
// joined equal decode() of the whole sequence.
import type { Tokenizer } from './types.js';

export interface StreamDecoder {
  /** Adds one token; returns the text it completes ('' while a character is unfinished). */
  push(id: number): string;
  /** Ends the stream: held bytes of an unfinished character come out as U+FFFD. */
  flush(): string;
}

export function createStreamDecoder(tokenizer: Tokenizer, options: { skipSpecial?: boolean } = {}): StreamDecoder {
  // TextDecoder's stream mode holds back incomplete UTF-8 sequences and gives the
  // same replacements as decoding all bytes at once; ignoreBOM keeps U+FEFF as text.
  let decoder = new TextDecoder('utf-8', { ignoreBOM: true });
  return {
    push(id: number): string {
      if (options.skipSpecial && tokenizer.isSpecial(id)) return '';
      return decoder.decode(tokenizer.tokenBytes(id), { stream: true });
    },
    flush(): string {
      const rest = decoder.decode();
      decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      return rest;
    },
  };
}
