// Learning a byte-level BPE vocabulary from text (Sennrich et al. 2016, with
// GPT-2's byte alphabet): count the pre-tokenized words, then repeatedly merge
// the most frequent adjacent pair. Pair counts are updated incrementally, only
// in the words that hold the merged pair, and the best pair comes from a
// max-heap with lazy deletion, so a 4k vocabulary on 1 MB takes seconds.
import { BYTE_TO_CHAR, utf8Bytes } from './byte_level.js';
import { BpeTokenizer } from './bpe.js';
import { TokenizerError } from './errors.js';
import { forEachPretoken } from './pretokenize.js';
import { AddedTokenSplitter } from './specials.js';
import type { AddedToken, SpecialRoles } from './types.js';

export interface TrainBpeOptions {
  /** Final vocabulary size: special tokens + 256 bytes + merges. Training stops early if pairs run out. */
  vocabSize: number;
  /** A pair seen fewer times than this is never merged. Default 2 (a pair seen once teaches nothing). */
  minFrequency?: number;
  /** Added tokens, given ids 0, 1, ... in this order; never split or merged, skipped when counting. */
  specialTokens?: readonly string[];
  /** Roles of the special tokens; inferred from their names (`<|endoftext|>`, `<pad>`, `[MASK]`, ...) otherwise. */
  roles?: SpecialRoles;
}

const ID_LIMIT = 1 << 22;

/**
 * Trains a byte-level BPE tokenizer.
 *
 * Ids: special tokens first, then the 256 byte symbols in byte order, then one
 * id per merge. Ties between equally frequent pairs go to the pair with the
 * smaller left id, then the smaller right id (older symbols first), so the
 * result depends only on the text and the options.
 */
export function trainBpe(corpus: string | Iterable<string>, options: TrainBpeOptions): BpeTokenizer {
  const specials = [...(options.specialTokens ?? [])];
  const minFrequency = options.minFrequency ?? 2;
  const { vocabSize } = options;
  if (!Number.isInteger(vocabSize) || vocabSize < specials.length + 256 || vocabSize >= ID_LIMIT)
    throw new TokenizerError('BAD_ARGUMENT', `trainBpe: expected an integer vocabSize from ${specials.length + 256} (special tokens + 256 bytes) to ${ID_LIMIT - 1}, got ${vocabSize}`);
  if (!Number.isInteger(minFrequency) || minFrequency < 1)
    throw new TokenizerError('BAD_ARGUMENT', `trainBpe: expected a positive integer minFrequency, got ${minFrequency}`);
  if (new Set(specials).size !== specials.length || specials.includes(''))
    throw new TokenizerError('BAD_ARGUMENT', `trainBpe: specialTokens must be distinct and non-empty, got ${JSON.stringify(specials)}`);

  const addedTokens: AddedToken[] = specials.map((content, id) => ({ id, content, special: true }));
  const vocab = new Map<string, number>(specials.map((s, id) => [s, id]));
  const symbols: string[] = [...specials];
  const byteBase = specials.length;
  for (let b = 0; b < 256; b++) {
    vocab.set(BYTE_TO_CHAR[b]!, byteBase + b);
    symbols.push(BYTE_TO_CHAR[b]!);
  }

  // --- words: each distinct pre-token, as byte-symbol ids, with its count
  const counts = new Map<string, number>();
  const splitter = new AddedTokenSplitter(addedTokens);
  for (const text of typeof corpus === 'string' ? [corpus] : corpus)
    for (const seg of splitter.split(text))
      if ('text' in seg) forEachPretoken(seg.text, (w) => counts.set(w, (counts.get(w) ?? 0) + 1));
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, n] of counts) {
    words.push(Array.from(utf8Bytes(w), (b) => byteBase + b));
    freq.push(n);
  }

  // --- pair statistics: count, and the words that (may) hold each pair
  const key = (a: number, b: number): number => a * ID_LIMIT + b;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  words.forEach((w, wi) => {
    for (let i = 0; i + 1 < w.length; i++) {
      const k = key(w[i]!, w[i + 1]!);
      pairCount.set(k, (pairCount.get(k) ?? 0) + freq[wi]!);
      let set = pairWords.get(k);
      if (set === undefined) pairWords.set(k, (set = new Set()));
      set.add(wi);
    }
  });
  const heap = new PairHeap();
  for (const [k, n] of pairCount) heap.push(n, k);

  // --- merge loop
  const merges: [string, string][] = [];
  while (symbols.length < vocabSize && heap.size > 0) {
    const top = heap.pop();
    const current = pairCount.get(top.key) ?? 0;
    // Counts only fall after a pair enters the heap, so a stale entry overstates:
    // re-queue it with its true count and look again.
    if (current !== top.count) {
      if (current > 0) heap.push(current, top.key);
      continue;
    }
    if (current < minFrequency) break;
    const a = Math.floor(top.key / ID_LIMIT);
    const b = top.key % ID_LIMIT;
    const token = symbols[a]! + symbols[b]!;
    // Two different pairs can spell the same token ("ab"+"c", "a"+"bc"): one id.
    let merged = vocab.get(token);
    if (merged === undefined) {
      merged = symbols.length;
      symbols.push(token);
      vocab.set(token, merged);
    }
    merges.push([symbols[a]!, symbols[b]!]);

    const delta = new Map<number, number>();
    const add = (k: number, n: number): void => void delta.set(k, (delta.get(k) ?? 0) + n);
    for (const wi of pairWords.get(top.key)!) {
      const w = words[wi]!;
      const n = freq[wi]!;
      const next: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === a && w[i + 1] === b) {
          next.push(merged);
          i++;
        } else next.push(w[i]!);
      }
      if (next.length === w.length) continue; // the pair left this word in an earlier merge
      for (let i = 0; i + 1 < w.length; i++) add(key(w[i]!, w[i + 1]!), -n);
      for (let i = 0; i + 1 < next.length; i++) {
        const k = key(next[i]!, next[i + 1]!);
        add(k, n);
        let set = pairWords.get(k);
        if (set === undefined) pairWords.set(k, (set = new Set()));
        set.add(wi);
      }
      words[wi] = next;
    }
    pairWords.delete(top.key);
    for (const [k, d] of delta) {
      if (d === 0) continue;
      const n = (pairCount.get(k) ?? 0) + d;
      if (n > 0) pairCount.set(k, n);
      else pairCount.delete(k);
      // Only pairs holding the new symbol grow; they enter the heap here.
      if (d > 0) heap.push(n, k);
    }
  }

  return new BpeTokenizer({ vocab, merges, addedTokens, roles: options.roles ?? {} });
}

/**
 * Max-heap of (count, pair key); among equal counts the smaller key (smaller
 * left id, then right id) comes first.
 */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly keys: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  private above(i: number, j: number): boolean {
    const ci = this.counts[i]!;
    const cj = this.counts[j]!;
    return ci > cj || (ci === cj && this.keys[i]! < this.keys[j]!);
  }

  private swap(i: number, j: number): void {
    [this.counts[i], this.counts[j]] = [this.counts[j]!, this.counts[i]!];
    [this.keys[i], this.keys[j]] = [this.keys[j]!, this.keys[i]!];
  }

  push(count: number, key: number): void {
    this.counts.push(count);
    this.keys.push(key);
    for (let i = this.counts.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): { count: number; key: number } {
    const top = { count: this.counts[0]!, key: this.keys[0]! };
    const lastCount = this.counts.pop()!;
    const lastKey = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastCount;
      this.keys[0] = lastKey;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < this.counts.length && this.above(l, best)) best = l;
        if (r < this.counts.length && this.above(r, best)) best = r;
        if (best === i) break;
        this.swap(i, best);
        i = best;
      }
    }
    return top;
  }
}
