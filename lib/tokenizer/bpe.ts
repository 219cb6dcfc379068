// GPT-2 style byte-level BPE (Sennrich et al. 2016; Radford et al. 2019):
// added tokens are cut out verbatim, the rest is pre-tokenized with GPT-2's
// pattern, each piece becomes UTF-8 bytes, and adjacent symbols are merged by
// rank (lowest first, every occurrence of that pair left to right) until no
// learned merge applies. Results are cached per piece, since text repeats.
import { BYTE_TO_CHAR, symbolsToBytes, utf8Bytes } from './byte_level.js';
import { TokenizerError, where } from './errors.js';
import { readJsonFile, writeJsonFile } from './file.js';
import { hfTokenizerJson, parseHfTokenizerJson, type HfTokenizerJson } from './hf_json.js';
import { forEachPretoken } from './pretokenize.js';
import { AddedTokenSplitter, checkAddedTokens, checkText, inferRoles, roleIds } from './specials.js';
import type { AddedToken, DecodeOptions, EncodeOptions, SpecialRoles, Tokenizer } from './types.js';

/** A byte-level BPE vocabulary as files store it. */
export interface BpeModel {
  /** Token (byte-level spelling) → id. May also hold the added tokens. */
  vocab: ReadonlyMap<string, number>;
  /** Merges in rank order (rank 0 first). */
  merges: readonly (readonly [string, string])[];
  addedTokens: readonly AddedToken[];
  roles: SpecialRoles;
}

export interface BpeLoadOptions {
  /** Roles to use instead of those inferred from token names (`<|endoftext|>` is bos and eos, `[MASK]` is mask, ...). */
  roles?: SpecialRoles;
}

// Pair keys pack two ids into one number; merge values pack (rank, new id).
const ID_LIMIT = 1 << 22;
const pairKey = (a: number, b: number): number => a * ID_LIMIT + b;

/** Pieces cached before the cache starts over (bounds memory on endless streams). */
const CACHE_LIMIT = 200_000;

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly vocabSize: number;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly pad: number | undefined;
  readonly unk: number | undefined;
  readonly mask: number | undefined;
  readonly roles: Readonly<SpecialRoles>;
  readonly addedTokens: readonly AddedToken[];

  private readonly vocab: ReadonlyMap<string, number>;
  private readonly merges: readonly (readonly [string, string])[];
  private readonly tokens: (string | undefined)[];
  private readonly byteIds = new Int32Array(256).fill(-1);
  private readonly mergeTable = new Map<number, number>();
  private readonly specialIds = new Set<number>();
  private readonly addedById = new Map<number, string>();
  private readonly splitter: AddedTokenSplitter;
  private readonly cache = new Map<string, number[]>();
  private readonly bytesById: (Uint8Array | undefined)[] = [];

  constructor(model: BpeModel, source?: string) {
    this.vocab = model.vocab;
    this.merges = model.merges;
    this.addedTokens = [...model.addedTokens].sort((a, b) => a.id - b.id);
    checkAddedTokens(this.addedTokens, source);

    let maxId = -1;
    for (const id of model.vocab.values()) maxId = Math.max(maxId, id);
    for (const t of this.addedTokens) maxId = Math.max(maxId, t.id);
    if (maxId >= ID_LIMIT) throw new TokenizerError('BAD_FORMAT', `${where(source)}id ${maxId} is too large (lmkit allows ids below ${ID_LIMIT})`);
    this.vocabSize = maxId + 1;

    this.tokens = new Array<string | undefined>(this.vocabSize);
    for (const [token, id] of model.vocab) {
      if (!Number.isInteger(id) || id < 0)
        throw new TokenizerError('BAD_FORMAT', `${where(source)}vocab token ${JSON.stringify(token)} has id ${id}, expected a non-negative integer`);
      const other = this.tokens[id];
      if (other !== undefined)
        throw new TokenizerError('DUPLICATE_ID', `${where(source)}vocab tokens ${JSON.stringify(other)} and ${JSON.stringify(token)} both have id ${id}`);
      this.tokens[id] = token;
    }
    for (const t of this.addedTokens) {
      const inVocab = this.tokens[t.id];
      // An added token may repeat its own vocab entry (GPT-2's <|endoftext|>), nothing else.
      if (inVocab !== undefined && inVocab !== t.content)
        throw new TokenizerError('DUPLICATE_ID', `${where(source)}added token ${JSON.stringify(t.content)} has id ${t.id}, which the vocab gives to ${JSON.stringify(inVocab)}`);
      const vocabId = model.vocab.get(t.content);
      if (vocabId !== undefined && vocabId !== t.id)
        throw new TokenizerError('DUPLICATE_ID', `${where(source)}added token ${JSON.stringify(t.content)} has id ${t.id} but vocab id ${vocabId}`);
      this.tokens[t.id] = t.content;
      this.addedById.set(t.id, t.content);
      if (t.special) this.specialIds.add(t.id);
    }

    for (let b = 0; b < 256; b++) this.byteIds[b] = model.vocab.get(BYTE_TO_CHAR[b]!) ?? -1;

    model.merges.forEach(([left, right], rank) => {
      const a = model.vocab.get(left);
      const b = model.vocab.get(right);
      const merged = model.vocab.get(left + right);
      const missing = a === undefined ? left : b === undefined ? right : merged === undefined ? left + right : undefined;
      if (missing !== undefined)
        throw new TokenizerError('UNKNOWN_TOKEN', `${where(source)}merge ${rank} (${JSON.stringify(left)} ${JSON.stringify(right)}) uses ${JSON.stringify(missing)}, which is not in the vocab`);
      const key = pairKey(a!, b!);
      // Real files list each pair once; if one repeats, its first (best) rank counts.
      if (!this.mergeTable.has(key)) this.mergeTable.set(key, rank * ID_LIMIT + merged!);
    });

    this.roles = inferRoles(this.addedTokens.map((t) => t.content), model.roles);
    const ids = roleIds(this.roles, this.addedTokens, source);
    this.bos = ids.bos;
    this.eos = ids.eos;
    this.pad = ids.pad;
    this.unk = ids.unk;
    this.mask = ids.mask;
    this.splitter = new AddedTokenSplitter(this.addedTokens);
  }

  /** Builds a tokenizer from a parsed Hugging Face tokenizer.json document. */
  static fromJSON(doc: unknown, options: BpeLoadOptions & { source?: string } = {}): BpeTokenizer {
    const model = parseHfTokenizerJson(doc, options.source);
    if (options.roles !== undefined) model.roles = { ...model.roles, ...options.roles };
    return new BpeTokenizer(model, options.source);
  }

  /** Reads a Hugging Face tokenizer.json (byte-level BPE, as GPT-2's). */
  static load(path: string, options: BpeLoadOptions = {}): BpeTokenizer {
    return BpeTokenizer.fromJSON(readJsonFile(path), { ...options, source: path });
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    checkText(text);
    const ids: number[] = [];
    if (options.addSpecial && this.bos !== undefined) ids.push(this.bos);
    for (const seg of this.splitter.split(text)) {
      if ('id' in seg) ids.push(seg.id);
      else forEachPretoken(seg.text, (piece) => ids.push(...this.encodePiece(piece)));
    }
    if (options.addSpecial && this.eos !== undefined) ids.push(this.eos);
    return ids;
  }

  /** One pre-token → ids: GPT-2's merge loop over byte symbols. */
  private encodePiece(piece: string): number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    let symbols: number[] = [];
    for (const byte of utf8Bytes(piece)) {
      const id = this.byteIds[byte]!;
      if (id >= 0) symbols.push(id);
      else if (this.unk !== undefined) symbols.push(this.unk);
      else
        throw new TokenizerError('UNKNOWN_CHAR', `encode: byte 0x${byte.toString(16).padStart(2, '0')} of ${JSON.stringify(piece)} has no token in the vocab and there is no unk token`);
    }
    while (symbols.length > 1) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const merge = this.mergeTable.get(pairKey(symbols[i]!, symbols[i + 1]!));
        if (merge !== undefined && merge < best) {
          best = merge;
          at = i;
        }
      }
      if (at < 0) break;
      const merged = best % ID_LIMIT;
      const a = symbols[at]!;
      const b = symbols[at + 1]!;
      const next: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i + 1 < symbols.length && symbols[i] === a && symbols[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(symbols[i]!);
      }
      symbols = next;
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, symbols);
    return symbols;
  }

  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const parts: Uint8Array[] = [];
    let length = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (options.skipSpecial && this.specialIds.has(id)) continue;
      const bytes = this.tokenBytes(id);
      parts.push(bytes);
      length += bytes.length;
    }
    const all = new Uint8Array(length);
    let offset = 0;
    for (const p of parts) {
      all.set(p, offset);
      offset += p.length;
    }
    return utf8Decoder().decode(all);
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.get(token) ?? this.addedTokens.find((t) => t.content === token)?.id;
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) ? this.tokens[id] : undefined;
  }

  tokenBytes(id: number): Uint8Array {
    const cached = this.bytesById[id];
    if (cached !== undefined) return cached;
    const token = this.idToToken(id);
    if (token === undefined)
      throw new TokenizerError('UNKNOWN_ID', `decode: id ${id} is not in the vocabulary (vocabSize ${this.vocabSize})`);
    const added = this.addedById.get(id);
    const bytes = added !== undefined ? utf8Bytes(added) : symbolsToBytes(token);
    this.bytesById[id] = bytes;
    return bytes;
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** The vocabulary and merges, as a Hugging Face tokenizer.json document. */
  toJSON(): HfTokenizerJson {
    return hfTokenizerJson({ vocab: this.vocab, merges: this.merges, addedTokens: this.addedTokens, roles: this.roles });
  }

  save(path: string): void {
    writeJsonFile(path, this.toJSON());
  }
}

/** Non-fatal (U+FFFD for invalid bytes) and BOM-preserving: a leading U+FEFF is text too. */
function utf8Decoder(): TextDecoder {
  return new TextDecoder('utf-8', { ignoreBOM: true });
}
