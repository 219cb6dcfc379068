// One entry point for any saved tokenizer: the file's shape says which kind.
import { BpeTokenizer, type BpeLoadOptions } from './bpe.js';
import { CharTokenizer } from './char.js';
import { readJsonFile } from './file.js';
import type { Tokenizer } from './types.js';

/** A tokenizer from `toJSON()` output or a Hugging Face tokenizer.json document. */
export function tokenizerFromJSON(doc: unknown, options: BpeLoadOptions & { source?: string } = {}): Tokenizer {
  if (typeof doc === 'object' && doc !== null && (doc as { type?: unknown }).type === 'lmkit-char')
    return CharTokenizer.fromJSON(doc, options.source);
  return BpeTokenizer.fromJSON(doc, options);
}

/** Reads a file written by `save()`, or a Hugging Face tokenizer.json (byte-level BPE). */
export function loadTokenizer(path: string, options: BpeLoadOptions = {}): Tokenizer {
  return tokenizerFromJSON(readJsonFile(path), { ...options, source: path });
}
