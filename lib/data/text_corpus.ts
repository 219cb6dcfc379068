// A pre-training corpus: one UTF-8 text file, tokenized once into int32 ids
// and split 90/10 into train/val (nanoGPT's data/shakespeare_char/prepare.py),
// with nanoGPT's get_batch: `batch` random windows of block+1 tokens, the
// offsets drawn from a seeded Random so a resumed run sees the same batches.
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

import { DataError } from '../errors.js';
import { CharTokenizer } from '../tokenizer/char.js';
import { loadTokenizer } from '../tokenizer/load.js';
import { trainBpe } from '../tokenizer/train_bpe.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';

export type Split = 'train' | 'val';

/**
 * How to get the tokenizer: built from the corpus (`char`, `bpe`, with any
 * special tokens an objective needs added: after the characters for char,
 * first for bpe), or read from a file.
 */
export type TokenizerSpec =
  | { kind: 'char'; specialTokens?: readonly string[] }
  | { kind: 'bpe'; vocabSize: number; specialTokens?: readonly string[] }
  | { kind: 'file'; path: string }
  | { kind: 'given'; tokenizer: Tokenizer };

export interface TextCorpusOptions {
  tokenizer: TokenizerSpec;
  /** Fraction of the tokens held out for validation (nanoGPT: 0.1, the tail of the file). */
  valFraction?: number;
}

export interface Batch {
  /** Inputs [B, T] int32. */
  x: Tensor;
  /** Next-token targets [B, T] int32: x shifted left by one. */
  y: Tensor;
}

export class TextCorpus {
  readonly file: string;
  readonly tokenizer: Tokenizer;
  /** sha256 of the file's bytes: a resumed run checks it trains on the same data. */
  readonly sha256: string;
  readonly train: Int32Array;
  readonly val: Int32Array;

  private constructor(file: string, tokenizer: Tokenizer, sha256: string, ids: Int32Array, valFraction: number) {
    this.file = file;
    this.tokenizer = tokenizer;
    this.sha256 = sha256;
    const n = Math.floor(ids.length * (1 - valFraction));
    this.train = ids.subarray(0, n);
    this.val = ids.subarray(n);
  }

  /** Reads, validates and tokenizes a text file. */
  static fromFile(file: string, options: TextCorpusOptions): TextCorpus {
    const valFraction = options.valFraction ?? 0.1;
    if (!(valFraction > 0 && valFraction < 1))
      throw new RangeError(`TextCorpus: valFraction must be in (0, 1), got ${valFraction}`);
    const bytes = readTextBytes(file);
    let text: string;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new DataError('DATA_NOT_UTF8', `${file}: not valid UTF-8 text (${bytes.length} bytes); pre-training reads plain UTF-8 text. Convert it first, e.g. iconv -f LATIN1 -t UTF-8`);
    }
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const tokenizer = makeTokenizer(text, options.tokenizer);
    let ids: Int32Array;
    try {
      ids = Int32Array.from(tokenizer.encode(text));
    } catch (err) {
      throw new DataError('DATA_UNENCODABLE', `${file}: the tokenizer cannot encode this text (${(err as Error).message})`, { cause: err });
    }
    return new TextCorpus(file, tokenizer, sha256, ids, valFraction);
  }

  /** Throws unless both splits hold at least one window of block+1 tokens. */
  checkBlockSize(block: number): void {
    for (const split of ['train', 'val'] as const) {
      const n = this[split].length;
      if (n < block + 1)
        throw new DataError('DATA_TOO_SHORT', `${this.file}: the ${split} split has ${n} tokens, fewer than block_size + 1 = ${block + 1}; use more text or a smaller block_size`);
    }
  }

  /**
   * nanoGPT get_batch: for each row an offset i uniform in [0, len − block),
   * x = data[i : i+block], y = data[i+1 : i+1+block].
   */
  getBatch(split: Split, batch: number, block: number, rng: Random): Batch {
    const data = this[split];
    const span = data.length - block;
    if (span < 1) this.checkBlockSize(block);
    const x = new Int32Array(batch * block);
    const y = new Int32Array(batch * block);
    for (let b = 0; b < batch; b++) {
      const i = rng.int(span);
      x.set(data.subarray(i, i + block), b * block);
      y.set(data.subarray(i + 1, i + 1 + block), b * block);
    }
    return { x: new Tensor(x, [batch, block]), y: new Tensor(y, [batch, block]) };
  }
}

function readTextBytes(file: string): Buffer {
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new DataError('DATA_MISSING', `${file}: not a regular file; --data takes a UTF-8 text file`);
    size = st.size;
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError('DATA_MISSING', `${file}: no such data file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); check the --data path`, { cause: err });
  }
  if (size === 0) throw new DataError('DATA_EMPTY', `${file}: the data file is empty; pre-training needs text`);
  try {
    return readFileSync(file);
  } catch (err) {
    throw new DataError('DATA_UNREADABLE', `${file}: cannot read (${(err as Error).message})`, { cause: err });
  }
}

function makeTokenizer(text: string, spec: TokenizerSpec): Tokenizer {
  switch (spec.kind) {
    case 'char':
      return CharTokenizer.fromCorpus(text, { specialTokens: spec.specialTokens ?? [] });
    case 'bpe':
      return trainBpe(text, { vocabSize: spec.vocabSize, specialTokens: spec.specialTokens ?? [] });
    case 'file':
      return loadTokenizer(spec.path);
    case 'given':
      return spec.tokenizer;
  }
}
