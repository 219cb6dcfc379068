// The one error family of lmkit.tokenizer: every failure (bad file, bad
// argument, text the vocabulary cannot express) is a TokenizerError with a
// stable `code` that callers and tests can switch on.

export type TokenizerErrorCode =
  /** The file could not be read. */
  | 'IO'
  /** The file is not valid JSON. */
  | 'BAD_JSON'
  /** A field is missing or has the wrong type or value. */
  | 'BAD_FORMAT'
  /** Valid, but a feature lmkit does not implement (model type, normalizer, ...). */
  | 'UNSUPPORTED'
  /** A merge or special token names a token the vocabulary lacks. */
  | 'UNKNOWN_TOKEN'
  /** Two different tokens claim the same id, or one token two ids. */
  | 'DUPLICATE_ID'
  /** encode(): a character (or byte) the vocabulary cannot express and no unk token. */
  | 'UNKNOWN_CHAR'
  /** decode(): an id outside the vocabulary. */
  | 'UNKNOWN_ID'
  /** A function argument or option is invalid. */
  | 'BAD_ARGUMENT';

export class TokenizerError extends Error {
  override readonly name = 'TokenizerError';
  readonly code: TokenizerErrorCode;
  constructor(code: TokenizerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** "file.json: " when the source is known, else "". */
export function where(source: string | undefined): string {
  return source === undefined ? '' : `${source}: `;
}
