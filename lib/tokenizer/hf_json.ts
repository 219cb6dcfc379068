// The Hugging Face tokenizer.json format, for byte-level BPE only (GPT-2 and
// the tokenizers trained like it): reading it into a BpeModel with a precise
// error for anything malformed or beyond that subset, and writing one back.
import { TokenizerError, where } from './errors.js';
import { inferRoles } from './specials.js';
import type { BpeModel } from './bpe.js';
import type { AddedToken } from './types.js';

export interface HfAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

interface HfByteLevel {
  type: 'ByteLevel';
  add_prefix_space: boolean;
  trim_offsets: boolean;
  use_regex: boolean;
}

/** The document as lmkit writes it (reading accepts the variations listed in parseHfTokenizerJson). */
export interface HfTokenizerJson {
  version: '1.0';
  truncation: null;
  padding: null;
  added_tokens: HfAddedToken[];
  normalizer: null;
  pre_tokenizer: HfByteLevel;
  post_processor: HfByteLevel;
  decoder: HfByteLevel;
  model: {
    type: 'BPE';
    dropout: null;
    unk_token: string | null;
    continuing_subword_prefix: string;
    end_of_word_suffix: string;
    fuse_unk: boolean;
    byte_fallback: boolean;
    ignore_merges: boolean;
    vocab: Record<string, number>;
    /** "left right": byte-level tokens never hold a plain space, so this is unambiguous. */
    merges: string[];
  };
}

const byteLevel = (addPrefixSpace: boolean): HfByteLevel => ({
  type: 'ByteLevel',
  add_prefix_space: addPrefixSpace,
  trim_offsets: true,
  use_regex: true,
});

/** A BpeModel as a tokenizer.json document. Roles other than unk are not stored (the format keeps them elsewhere). */
export function hfTokenizerJson(model: BpeModel): HfTokenizerJson {
  const vocab: Record<string, number> = {};
  for (const [token, id] of [...model.vocab].sort((x, y) => x[1] - y[1])) vocab[token] = id;
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: model.addedTokens.map((t) => ({
      id: t.id,
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: t.special,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel(false),
    post_processor: byteLevel(true),
    decoder: byteLevel(true),
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: model.roles.unk ?? null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeOf = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);

/**
 * Validates a parsed tokenizer.json and returns its BPE model. Accepts merges
 * as "a b" strings or ["a", "b"] pairs; pre_tokenizer ByteLevel (alone or as
 * the only ByteLevel in a Sequence) with add_prefix_space false; decoder
 * ByteLevel or null; post_processor ByteLevel or null; normalizer null.
 */
export function parseHfTokenizerJson(doc: unknown, source?: string): BpeModel {
  const at = where(source);
  const bad = (field: string, expected: string, got: unknown): TokenizerError =>
    new TokenizerError('BAD_FORMAT', `${at}${field} is ${typeOf(got)}, expected ${expected}`);
  const unsupported = (what: string): TokenizerError =>
    new TokenizerError('UNSUPPORTED', `${at}${what}; lmkit reads byte-level BPE tokenizers (GPT-2 style) only`);

  if (!isObject(doc)) throw bad('the document', 'an object', doc);
  const model = doc['model'];
  if (!isObject(model)) throw bad('"model"', 'an object', model);
  const type = model['type'];
  if (type !== undefined && type !== 'BPE')
    throw unsupported(`model type ${JSON.stringify(type)} is not supported`);
  for (const key of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    const v = model[key];
    if (v !== undefined && v !== null && v !== '') throw unsupported(`model.${key} ${JSON.stringify(v)} is not supported`);
  }
  if (model['byte_fallback'] === true) throw unsupported('model.byte_fallback (SentencePiece-style BPE) is not supported');

  if (doc['normalizer'] !== undefined && doc['normalizer'] !== null)
    throw unsupported(`normalizer ${describe(doc['normalizer'])} is not supported`);
  checkPreTokenizer(doc['pre_tokenizer'], unsupported);
  for (const key of ['decoder', 'post_processor'] as const) {
    const v = doc[key];
    if (v !== undefined && v !== null && !(isObject(v) && v['type'] === 'ByteLevel'))
      throw unsupported(`${key} ${describe(v)} is not supported`);
  }

  const rawVocab = model['vocab'];
  if (!isObject(rawVocab)) throw bad('model.vocab', 'an object of token → id', rawVocab);
  const vocab = new Map<string, number>();
  const seen = new Map<number, string>();
  for (const [token, id] of Object.entries(rawVocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0)
      throw bad(`model.vocab[${JSON.stringify(token)}]`, 'a non-negative integer id', id);
    const other = seen.get(id);
    if (other !== undefined)
      throw new TokenizerError('DUPLICATE_ID', `${at}model.vocab gives id ${id} to both ${JSON.stringify(other)} and ${JSON.stringify(token)}`);
    seen.set(id, token);
    vocab.set(token, id);
  }

  const rawMerges = model['merges'];
  if (!Array.isArray(rawMerges)) throw bad('model.merges', 'an array', rawMerges);
  const merges = rawMerges.map((m: unknown, i): [string, string] => {
    if (typeof m === 'string') {
      const parts = m.split(' ');
      if (parts.length !== 2 || parts[0] === '' || parts[1] === '')
        throw new TokenizerError('BAD_FORMAT', `${at}model.merges[${i}] is ${JSON.stringify(m)}, expected two tokens separated by one space`);
      return [parts[0]!, parts[1]!];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    throw bad(`model.merges[${i}]`, 'a string "a b" or a pair ["a", "b"]', m);
  });

  const rawAdded = doc['added_tokens'] ?? [];
  if (!Array.isArray(rawAdded)) throw bad('added_tokens', 'an array', rawAdded);
  const addedTokens = rawAdded.map((t: unknown, i): AddedToken => {
    if (!isObject(t)) throw bad(`added_tokens[${i}]`, 'an object', t);
    const { id, content, special } = t;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw bad(`added_tokens[${i}].id`, 'a non-negative integer', id);
    if (typeof content !== 'string') throw bad(`added_tokens[${i}].content`, 'a string', content);
    if (special !== undefined && typeof special !== 'boolean') throw bad(`added_tokens[${i}].special`, 'a boolean', special);
    for (const flag of ['lstrip', 'rstrip', 'single_word'] as const)
      if (t[flag] === true) throw unsupported(`added_tokens[${i}] (${JSON.stringify(content)}) sets ${flag}, which is not supported`);
    return { id, content, special: special ?? false };
  });

  const unk = model['unk_token'];
  if (unk !== undefined && unk !== null && typeof unk !== 'string') throw bad('model.unk_token', 'a string or null', unk);
  const roles = inferRoles(
    addedTokens.map((t) => t.content),
    typeof unk === 'string' ? { unk } : {},
  );
  return { vocab, merges, addedTokens, roles };
}

function checkPreTokenizer(pre: unknown, unsupported: (what: string) => TokenizerError): void {
  const steps = isObject(pre) && pre['type'] === 'Sequence' && Array.isArray(pre['pretokenizers']) ? pre['pretokenizers'] : [pre];
  if (steps.length !== 1 || !isObject(steps[0]) || steps[0]['type'] !== 'ByteLevel')
    throw unsupported(`pre_tokenizer ${describe(pre)} is not supported (expected ByteLevel)`);
  const step = steps[0];
  if (step['add_prefix_space'] === true) throw unsupported('pre_tokenizer ByteLevel with add_prefix_space true is not supported');
  if (step['use_regex'] === false) throw unsupported('pre_tokenizer ByteLevel with use_regex false is not supported');
}

function describe(v: unknown): string {
  return isObject(v) && typeof v['type'] === 'string' ? JSON.stringify(v['type']) : typeOf(v);
}
