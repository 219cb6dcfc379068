// Character-level tokenizer, as nanoGPT's shakespeare_char: the vocabulary is
// the sorted set of code points in a corpus, id = position in that list. Added
// tokens (if any) take the ids after the characters.
import { TokenizerError, where } from './errors.js';
import { readJsonFile, writeJsonFile } from './file.js';
import { AddedTokenSplitter, checkAddedTokens, checkText, inferRoles, roleIds } from './specials.js';
import type { AddedToken, DecodeOptions, EncodeOptions, SpecialRoles, Tokenizer } from './types.js';

export interface CharTokenizerJson {
  type: 'lmkit-char';
  version: 1;
  /** Id → character (one code point each). */
  chars: string[];
  added_tokens: { id: number; content: string; special: boolean }[];
  roles: SpecialRoles;
}

export interface CharTokenizerOptions {
  /** Added tokens, given ids after the characters in this order; matched verbatim before characters. */
  specialTokens?: readonly string[];
  /** Roles of the special tokens; inferred from their names otherwise. Set `unk` to map unknown characters to it instead of throwing. */
  roles?: SpecialRoles;
}

const utf8 = new TextEncoder();

export class CharTokenizer implements Tokenizer {
  readonly kind = 'char' as const;
  readonly vocabSize: number;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly pad: number | undefined;
  readonly unk: number | undefined;
  readonly mask: number | undefined;
  readonly roles: Readonly<SpecialRoles>;
  readonly addedTokens: readonly AddedToken[];
  private readonly chars: readonly string[];
  private readonly ids = new Map<string, number>();
  private readonly tokens: string[];
  private readonly specialIds = new Set<number>();
  private readonly splitter: AddedTokenSplitter;

  /** `chars`: id → character; `addedTokens` ids must follow them. */
  constructor(chars: readonly string[], addedTokens: readonly AddedToken[] = [], roles: SpecialRoles = {}, source?: string) {
    this.chars = [...chars];
    chars.forEach((ch, id) => {
      if ([...ch].length !== 1) throw new TokenizerError('BAD_FORMAT', `${where(source)}chars[${id}] is ${JSON.stringify(ch)}, expected one character`);
      if (this.ids.has(ch)) throw new TokenizerError('DUPLICATE_ID', `${where(source)}character ${JSON.stringify(ch)} has ids ${this.ids.get(ch)} and ${id}`);
      this.ids.set(ch, id);
    });
    this.addedTokens = [...addedTokens].sort((a, b) => a.id - b.id);
    checkAddedTokens(this.addedTokens, source);
    this.tokens = [...chars];
    for (const t of this.addedTokens) {
      if (t.id < chars.length)
        throw new TokenizerError('DUPLICATE_ID', `${where(source)}added token ${JSON.stringify(t.content)} has id ${t.id}, which belongs to character ${JSON.stringify(chars[t.id])}`);
      this.tokens[t.id] = t.content;
      if (t.special) this.specialIds.add(t.id);
    }
    this.vocabSize = this.tokens.length;
    this.roles = inferRoles(this.addedTokens.map((t) => t.content), roles);
    const ids = roleIds(this.roles, this.addedTokens, source);
    this.bos = ids.bos;
    this.eos = ids.eos;
    this.pad = ids.pad;
    this.unk = ids.unk;
    this.mask = ids.mask;
    this.splitter = new AddedTokenSplitter(this.addedTokens);
  }

  /** The sorted (by code point) distinct characters of the corpus become the vocabulary. */
  static fromCorpus(corpus: string | Iterable<string>, options: CharTokenizerOptions = {}): CharTokenizer {
    const seen = new Set<string>();
    for (const text of typeof corpus === 'string' ? [corpus] : corpus) for (const ch of text) seen.add(ch);
    const chars = [...seen].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
    const added = (options.specialTokens ?? []).map((content, i) => ({ id: chars.length + i, content, special: true }));
    return new CharTokenizer(chars, added, options.roles ?? {});
  }

  static fromJSON(doc: unknown, source?: string): CharTokenizer {
    const at = where(source);
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObj(doc) || doc['type'] !== 'lmkit-char')
      throw new TokenizerError('BAD_FORMAT', `${at}not an lmkit char tokenizer (expected "type": "lmkit-char")`);
    if (doc['version'] !== 1) throw new TokenizerError('UNSUPPORTED', `${at}char tokenizer version ${JSON.stringify(doc['version'])}, expected 1`);
    const chars = doc['chars'];
    if (!Array.isArray(chars) || !chars.every((c): c is string => typeof c === 'string'))
      throw new TokenizerError('BAD_FORMAT', `${at}"chars" must be an array of strings`);
    const added = doc['added_tokens'] ?? [];
    if (!Array.isArray(added)) throw new TokenizerError('BAD_FORMAT', `${at}"added_tokens" must be an array`);
    const addedTokens = added.map((t: unknown, i): AddedToken => {
      if (!isObj(t) || typeof t['id'] !== 'number' || typeof t['content'] !== 'string' || typeof t['special'] !== 'boolean')
        throw new TokenizerError('BAD_FORMAT', `${at}added_tokens[${i}] must be { id: number, content: string, special: boolean }`);
      return { id: t['id'], content: t['content'], special: t['special'] };
    });
    const roles = doc['roles'] ?? {};
    if (!isObj(roles) || !Object.values(roles).every((v) => typeof v === 'string'))
      throw new TokenizerError('BAD_FORMAT', `${at}"roles" must map roles to token strings`);
    return new CharTokenizer(chars, addedTokens, roles as SpecialRoles, source);
  }

  static load(path: string): CharTokenizer {
    return CharTokenizer.fromJSON(readJsonFile(path), path);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    checkText(text);
    const ids: number[] = [];
    if (options.addSpecial && this.bos !== undefined) ids.push(this.bos);
    let offset = 0;
    for (const seg of this.splitter.split(text)) {
      if ('id' in seg) {
        ids.push(seg.id);
        offset += this.tokens[seg.id]!.length;
        continue;
      }
      for (const ch of seg.text) {
        const id = this.ids.get(ch) ?? this.unk;
        if (id === undefined) throw unknownChar(text, offset, ch);
        ids.push(id);
        offset += ch.length;
      }
    }
    if (options.addSpecial && this.eos !== undefined) ids.push(this.eos);
    return ids;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    let out = '';
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (options.skipSpecial && this.specialIds.has(id)) continue;
      const token = this.idToToken(id);
      if (token === undefined) throw new TokenizerError('UNKNOWN_ID', `decode: id ${id} at position ${i} is not in the vocabulary (vocabSize ${this.vocabSize})`);
      out += token;
    }
    return out;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token) ?? this.addedTokens.find((t) => t.content === token)?.id;
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) ? this.tokens[id] : undefined;
  }

  tokenBytes(id: number): Uint8Array {
    const token = this.idToToken(id);
    if (token === undefined) throw new TokenizerError('UNKNOWN_ID', `decode: id ${id} is not in the vocabulary (vocabSize ${this.vocabSize})`);
    return utf8.encode(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  toJSON(): CharTokenizerJson {
    return {
      type: 'lmkit-char',
      version: 1,
      chars: [...this.chars],
      added_tokens: this.addedTokens.map((t) => ({ id: t.id, content: t.content, special: t.special })),
      roles: { ...this.roles },
    };
  }

  save(path: string): void {
    writeJsonFile(path, this.toJSON());
  }
}

/** "unknown character 'é' (U+00E9) at index 12 (line 2, column 5)". */
function unknownChar(text: string, index: number, ch: string): TokenizerError {
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  const column = index - (before.lastIndexOf('\n') + 1) + 1;
  const code = `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return new TokenizerError(
    'UNKNOWN_CHAR',
    `encode: unknown character ${JSON.stringify(ch)} (${code}) at index ${index} (line ${line}, column ${column}); it is not in the vocabulary and the tokenizer has no unk token`,
  );
}
