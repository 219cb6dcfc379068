// Streaming decode: tokens that end inside a UTF-8 character (emoji, CJK) are
// held back until the character completes; the pieces joined equal decode().
import t from 'tap';
import { BpeTokenizer, CharTokenizer, createStreamDecoder, type Tokenizer } from '../../lib/tokenizer/index.js';
import { gpt2TokenizerJson } from '../helpers/gpt2.js';
import { FRAGMENTS, label } from '../helpers/text.js';

const gpt2 = BpeTokenizer.load(gpt2TokenizerJson());

/** Streams ids one by one; returns the pieces pushed and the flushed tail. */
function stream(tok: Tokenizer, ids: number[], skipSpecial = false): { pieces: string[]; tail: string } {
  const decoder = createStreamDecoder(tok, { skipSpecial });
  const pieces = ids.map((id) => decoder.push(id));
  return { pieces, tail: decoder.flush() };
}

t.test('emoji and CJK split across tokens come out whole and equal decode()', async (t) => {
  const text = '👨‍👩‍👧‍👦 家族 🏳️‍🌈 中文分词 👍🏽 ok 🫠 日本語のテキスト';
  const ids = gpt2.encode(text);
  const { pieces, tail } = stream(gpt2, ids);
  t.equal(pieces.join('') + tail, gpt2.decode(ids));
  t.equal(pieces.join('') + tail, text);
  t.equal(tail, '');
  t.ok(pieces.filter((p) => p === '').length > 5, `${pieces.filter((p) => p === '').length} of ${ids.length} tokens end inside a character`);
  t.notOk(pieces.some((p) => p.includes('\ufffd')), 'no piece holds a replacement character');
  // Every prefix of the stream is a prefix of the text: nothing is emitted twice or early.
  let soFar = '';
  for (const p of pieces) {
    soFar += p;
    if (!text.startsWith(soFar)) t.fail(`stream prefix ${JSON.stringify(soFar)} is not a prefix of the text`);
  }
});

t.test('every fragment streams to exactly its decode()', async (t) => {
  for (const f of FRAGMENTS) {
    const ids = gpt2.encode(f);
    const { pieces, tail } = stream(gpt2, ids);
    t.equal(pieces.join('') + tail, gpt2.decode(ids), label(f));
  }
});

t.test('a stream cut inside a character flushes U+FFFD, as decode() does', async (t) => {
  const ids = gpt2.encode('a🫠');
  const cut = ids.slice(0, -1);
  const { pieces, tail } = stream(gpt2, cut);
  t.equal(pieces.join(''), 'a', 'incomplete bytes are held');
  t.equal(tail, '\ufffd');
  t.equal(pieces.join('') + tail, gpt2.decode(cut));
});

t.test('skipSpecial drops special tokens, as decode() does', async (t) => {
  const ids = gpt2.encode('hi<|endoftext|>中');
  const { pieces, tail } = stream(gpt2, ids, true);
  t.equal(pieces.join('') + tail, gpt2.decode(ids, { skipSpecial: true }));
  t.equal(pieces.join('') + tail, 'hi中');
});

t.test('a decoder can be reused after flush', async (t) => {
  const decoder = createStreamDecoder(gpt2);
  const cut = gpt2.encode('🫠').slice(0, 1);
  decoder.push(cut[0]!);
  t.equal(decoder.flush(), '\ufffd');
  t.equal(gpt2.encode('ok').map((id) => decoder.push(id)).join('') + decoder.flush(), 'ok');
});

t.test('char tokenizers stream one character per token', async (t) => {
  const tok = CharTokenizer.fromCorpus('ab😀中');
  const ids = tok.encode('😀a中b');
  t.same(stream(tok, ids).pieces, ['😀', 'a', '中', 'b']);
});
