// BPE training: the incremental trainer must learn exactly the merges of a
// plain from-scratch reference (all pair counts recomputed every step), and a
// trained tokenizer must survive save → load unchanged.
import t from 'tap';
import path from 'node:path';
import { BYTE_TO_CHAR, BpeTokenizer, loadTokenizer, pretokenize, trainBpe } from '../../lib/tokenizer/index.js';
import { Rng } from '../helpers/random.js';
import { randomUnicode, shakespeare } from '../helpers/text.js';

/**
 * Reference trainer, written for clarity: symbols are strings, every step
 * recounts all pairs, the most frequent wins; ties go to the pair whose
 * (left id, right id) is smallest, ids being 256 bytes in byte order then
 * merges in creation order (no special tokens here).
 */
function referenceMerges(text: string, vocabSize: number, minFrequency: number): string[] {
  const counts = new Map<string, number>();
  for (const w of pretokenize(text)) counts.set(w, (counts.get(w) ?? 0) + 1);
  const words = [...counts].map(([w, n]) => ({ symbols: [...Buffer.from(w, 'utf8')].map((b) => BYTE_TO_CHAR[b]!), n }));
  const idOf = new Map<string, number>(BYTE_TO_CHAR.map((c, b) => [c, b]));
  const merges: string[] = [];
  while (idOf.size < vocabSize) {
    const pairs = new Map<string, { a: string; b: string; n: number }>();
    for (const { symbols, n } of words)
      for (let i = 0; i + 1 < symbols.length; i++) {
        const k = `${symbols[i]} ${symbols[i + 1]}`;
        const p = pairs.get(k) ?? { a: symbols[i]!, b: symbols[i + 1]!, n: 0 };
        p.n += n;
        pairs.set(k, p);
      }
    let best: { a: string; b: string; n: number } | undefined;
    for (const p of pairs.values()) {
      if (best === undefined || p.n > best.n) best = p;
      else if (p.n === best.n) {
        const [pa, pb, ba, bb] = [idOf.get(p.a)!, idOf.get(p.b)!, idOf.get(best.a)!, idOf.get(best.b)!];
        if (pa < ba || (pa === ba && pb < bb)) best = p;
      }
    }
    if (best === undefined || best.n < minFrequency) break;
    const merged = best.a + best.b;
    merges.push(`${best.a} ${best.b}`);
    if (!idOf.has(merged)) idOf.set(merged, idOf.size);
    for (const word of words) {
      const next: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === best.a && word.symbols[i + 1] === best.b) {
          next.push(merged);
          i++;
        } else next.push(word.symbols[i]!);
      }
      word.symbols = next;
    }
  }
  return merges;
}

t.test('incremental training learns the same merges as the from-scratch reference', async (t) => {
  const rng = new Rng(3);
  const texts = [
    shakespeare().slice(0, 30_000),
    // Repetitive runs make many ties and overlapping pairs ("aaaa", "abab").
    'aaaa abab aaaaaaa ababab ba ba ab '.repeat(40) + randomUnicode(rng, 2000, false),
  ];
  for (const [i, text] of texts.entries()) {
    const want = referenceMerges(text, 256 + 300, 2);
    const got = trainBpe(text, { vocabSize: 256 + 300, minFrequency: 2 }).toJSON().model.merges;
    const at = got.findIndex((m, j) => m !== want[j]);
    t.ok(got.length === want.length && at < 0, `text ${i}: ${got.length} merges equal to reference's ${want.length}${at >= 0 ? ` (first difference at ${at}: ${got[at]} vs ${want[at]})` : ''}`);
  }
});

t.test('ids: special tokens first, then the 256 bytes, then merges; vocabSize is met', async (t) => {
  const tok = trainBpe(shakespeare().slice(0, 200_000), { vocabSize: 1000, specialTokens: ['<|endoftext|>', '<pad>'] });
  t.equal(tok.vocabSize, 1000);
  t.equal(tok.idToToken(0), '<|endoftext|>');
  t.equal(tok.idToToken(1), '<pad>');
  t.equal(tok.idToToken(2), BYTE_TO_CHAR[0]);
  t.equal(tok.idToToken(2 + 32), 'Ġ', 'byte 0x20 (space) is Ġ');
  t.equal(tok.toJSON().model.merges.length, 1000 - 258);
});

t.test('training stops early when no pair reaches minFrequency', async (t) => {
  // Pre-tokens "ab", " ab", " cd": only (a, b) is seen twice; then (Ġ, ab) once.
  const tok = trainBpe('ab ab cd', { vocabSize: 1000, minFrequency: 2 });
  t.same(tok.toJSON().model.merges, ['a b']);
  t.equal(tok.vocabSize, 257);
  t.same(tok.encode('ab ab'), [256, tok.tokenToId('Ġ')!, 256]);
  t.same(trainBpe('ab ab cd', { vocabSize: 1000, minFrequency: 1 }).toJSON().model.merges.slice(0, 2), ['a b', 'Ġ c'], 'ties: smaller left id, then smaller right id (c < ab)');
});

t.test('a 4k vocabulary on the whole corpus: save → load encodes identically', async (t) => {
  const corpus = shakespeare();
  const tok = trainBpe(corpus, { vocabSize: 4096, specialTokens: ['<|endoftext|>', '[MASK]'] });
  t.equal(tok.vocabSize, 4096);
  const dir = t.testdir({});
  const file = path.join(dir, 'tokenizer.json');
  tok.save(file);
  const back = BpeTokenizer.load(file);
  const viaLoad = loadTokenizer(file);
  t.equal(viaLoad.kind, 'bpe');
  t.same(back.roles, tok.roles);
  t.equal(back.mask, 1);
  const sample = corpus.slice(0, 100_000) + '[MASK]<|endoftext|> naïve 👍🏽\r\n';
  const ids = tok.encode(sample);
  t.same(back.encode(sample), ids, 'loaded tokenizer gives the same ids');
  t.same(viaLoad.encode(sample), ids, 'loadTokenizer gives the same ids');
  t.equal(back.decode(ids), sample);
  t.ok(ids.length < sample.length / 3, `compresses the corpus: ${sample.length} chars → ${ids.length} tokens`);
});

t.test('training accepts an iterable of texts; pairs never cross text boundaries', async (t) => {
  const tok = trainBpe(['xy', 'xy', 'xy'], { vocabSize: 300 });
  const joined = trainBpe('xyxyxy', { vocabSize: 300 });
  t.same(tok.toJSON().model.merges, ['x y']);
  t.same(joined.toJSON().model.merges.slice(0, 2), ['x y', 'xy xy']);
});

t.test('bad training options are TokenizerErrors', async (t) => {
  t.throws(() => trainBpe('abc', { vocabSize: 100 }), { code: 'BAD_ARGUMENT', message: /vocabSize from 256/ });
  t.throws(() => trainBpe('abc', { vocabSize: 300, minFrequency: 0 }), { code: 'BAD_ARGUMENT' });
  t.throws(() => trainBpe('abc', { vocabSize: 300, specialTokens: ['<s>', '<s>'] }), { code: 'BAD_ARGUMENT' });
});
