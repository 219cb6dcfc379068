// The contract every lmkit tokenizer meets (char-level and byte-level BPE), so
// data pipelines, models and the server can take "a Tokenizer" without caring
// which kind it is.
import type { CharTokenizerJson } from './char.js';
import type { HfTokenizerJson } from './hf_json.js';

/** The roles a special token can play; other added tokens ([S], <|user|>, ...) have none. */
export type SpecialRole = 'bos' | 'eos' | 'pad' | 'unk' | 'mask';

export const SPECIAL_ROLES: readonly SpecialRole[] = ['bos', 'eos', 'pad', 'unk', 'mask'];

/** Role → token content, e.g. `{ eos: '<|endoftext|>', mask: '[MASK]' }`. */
export type SpecialRoles = Partial<Record<SpecialRole, string>>;

/**
 * A token matched verbatim in the input before any other tokenization, so it is
 * never split or merged (Hugging Face calls these "added tokens").
 */
export interface AddedToken {
  readonly id: number;
  readonly content: string;
  /** Special tokens are dropped by `decode(ids, { skipSpecial: true })`. */
  readonly special: boolean;
}

export interface EncodeOptions {
  /** Put `bos` first and `eos` last (those the tokenizer has). Default false. */
  addSpecial?: boolean;
}

export interface DecodeOptions {
  /** Leave out tokens marked special (bos, eos, pad, [MASK], ...). Default false. */
  skipSpecial?: boolean;
}

/** What `toJSON()` returns and `loadTokenizer()` reads back. */
export type TokenizerJson = HfTokenizerJson | CharTokenizerJson;

export interface Tokenizer {
  readonly kind: 'char' | 'bpe';
  /** One more than the largest id; the size of a model's embedding table. */
  readonly vocabSize: number;
  /** Ids of the role tokens; undefined where the tokenizer has none. */
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly pad: number | undefined;
  readonly unk: number | undefined;
  readonly mask: number | undefined;
  /** Role → content of the role tokens. */
  readonly roles: Readonly<SpecialRoles>;
  /** Every added token (role tokens and others such as [gMASK] or <|user|>), by id. */
  readonly addedTokens: readonly AddedToken[];

  /**
   * Text → ids. Added tokens in the text are matched verbatim first. Lone UTF-16
   * surrogates cannot be written as UTF-8: byte-level tokenizers encode each as
   * U+FFFD (as TextEncoder, tiktoken and Hugging Face do).
   */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids → text. Invalid UTF-8 from a partial byte sequence decodes as U+FFFD. */
  decode(ids: ArrayLike<number>, options?: DecodeOptions): string;
  /** The id of a token (vocabulary spelling: byte-level tokens use Ġ for space). */
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** The UTF-8 bytes one token stands for (what streaming decoders join). */
  tokenBytes(id: number): Uint8Array;
  isSpecial(id: number): boolean;
  toJSON(): TokenizerJson;
  /** Writes `toJSON()` to a file that `loadTokenizer()` reads. */
  save(path: string): void;
}
