// GPT-2's byte-level alphabet: each of the 256 byte values is given a printable
// Unicode character, so any UTF-8 text becomes a string over 256 symbols that a
// BPE vocabulary (encoder.json, tokenizer.json) can spell. Printable Latin-1
// bytes map to themselves; the other 68 map to U+0100.. in byte order, which is
// why a space reads "Ġ" (U+0120) and a newline "Ċ" (U+010A).

function buildByteToChar(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b); // '!'..'~'
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b); // '¡'..'¬'
  for (let b = 0xae; b <= 0xff; b++) printable.push(b); // '®'..'ÿ'
  const isPrintable = new Set(printable);
  const out = new Array<string>(256);
  let next = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCodePoint(isPrintable.has(b) ? b : 256 + next++);
  return out;
}

/** Byte value → its byte-level character. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();

/** Byte-level character (as a UTF-16 code unit; all are < U+0144) → byte value, −1 if none. */
const CHAR_TO_BYTE: Int16Array = (() => {
  const table = new Int16Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((ch, b) => (table[ch.charCodeAt(0)] = b));
  return table;
})();

const utf8 = new TextEncoder();

/** UTF-8 of a JS string; a lone surrogate becomes EF BF BD (U+FFFD). */
export function utf8Bytes(text: string): Uint8Array {
  return utf8.encode(text);
}

/** Bytes → byte-level string (the vocabulary spelling). */
export function bytesToSymbols(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}

/**
 * Byte-level string → bytes. A character outside the alphabet (a hand-added
 * vocabulary entry) stands for its own UTF-8, as the Hugging Face ByteLevel
 * decoder treats it.
 */
export function symbolsToBytes(symbols: string): Uint8Array {
  const out: number[] = [];
  for (const ch of symbols) {
    const code = ch.charCodeAt(0);
    const b = ch.length === 1 && code < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[code]! : -1;
    if (b >= 0) out.push(b);
    else out.push(...utf8.encode(ch));
  }
  return Uint8Array.from(out);
}
