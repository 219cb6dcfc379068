// lmkit.tokenizer: char-level and GPT-2 style byte-level BPE tokenizers,
// BPE training, Hugging Face tokenizer.json I/O and streaming decode.
export type { Tokenizer, TokenizerJson, AddedToken, SpecialRole, SpecialRoles, EncodeOptions, DecodeOptions } from './types.js';
export { TokenizerError, type TokenizerErrorCode } from './errors.js';
export { CharTokenizer, type CharTokenizerJson, type CharTokenizerOptions } from './char.js';
export { BpeTokenizer, type BpeLoadOptions, type BpeModel } from './bpe.js';
export { trainBpe, type TrainBpeOptions } from './train_bpe.js';
export { parseHfTokenizerJson, hfTokenizerJson, type HfTokenizerJson, type HfAddedToken } from './hf_json.js';
export { GPT2_PATTERN, pretokenize } from './pretokenize.js';
export { BYTE_TO_CHAR } from './byte_level.js';
export { createStreamDecoder, type StreamDecoder } from './stream.js';
export { loadTokenizer, tokenizerFromJSON } from './load.js';
