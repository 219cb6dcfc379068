// Character-level tokenizer: nanoGPT's shakespeare_char vocabulary, round trips,
// unknown characters, added tokens, save/load.
import t from 'tap';
import path from 'node:path';
import { CharTokenizer, TokenizerError, loadTokenizer } from '../../lib/tokenizer/index.js';
import { shakespeare } from '../helpers/text.js';

const corpus = shakespeare();

t.test('the tinyshakespeare vocabulary is nanoGPT shakespeare_char\'s: 65 characters, same order', async (t) => {
  const tok = CharTokenizer.fromCorpus(corpus);
  t.equal(tok.vocabSize, 65);
  // As printed by nanoGPT data/shakespeare_char/prepare.py ("all the unique characters").
  const nanoGpt = "\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  t.equal(tok.decode([...Array(65).keys()]), nanoGpt);
  t.same(tok.encode('hii there'), [46, 47, 47, 1, 58, 46, 43, 56, 43], 'nanoGPT\'s encode("hii there")');
});

t.test('the whole corpus round-trips', async (t) => {
  const tok = CharTokenizer.fromCorpus(corpus);
  const ids = tok.encode(corpus);
  t.equal(ids.length, corpus.length);
  t.equal(tok.decode(ids), corpus);
});

t.test('characters are sorted by code point, astral ones after the BMP', async (t) => {
  const tok = CharTokenizer.fromCorpus(['ｚ😀a', 'é中']);
  // UTF-16 order would put 😀 (D83D DE00) before ｚ (FF5A).
  t.same([...Array(tok.vocabSize).keys()].map((id) => tok.idToToken(id)), ['a', 'é', '中', 'ｚ', '😀']);
  t.equal(tok.decode(tok.encode('😀ｚ中')), '😀ｚ中');
});

t.test('an unknown character is an error naming it and its position', async (t) => {
  const tok = CharTokenizer.fromCorpus('abc\n');
  t.throws(() => tok.encode('ab\nca€b'), new TokenizerError('UNKNOWN_CHAR',
    'encode: unknown character "€" (U+20AC) at index 5 (line 2, column 3); it is not in the vocabulary and the tokenizer has no unk token'));
  t.throws(() => tok.encode('😀'), { code: 'UNKNOWN_CHAR', message: /U\+1F600.*index 0/ });
});

t.test('with an unk token, unknown characters map to it', async (t) => {
  const tok = CharTokenizer.fromCorpus('abc', { specialTokens: ['<unk>'] });
  t.equal(tok.unk, 3);
  t.same(tok.encode('a€c'), [0, 3, 2]);
});

t.test('added tokens follow the characters, are matched whole and skipped on request', async (t) => {
  const tok = CharTokenizer.fromCorpus('abc[]', { specialTokens: ['<s>', '</s>', '[MASK]', '<|user|>'] });
  t.same([tok.bos, tok.eos, tok.mask, tok.pad], [5, 6, 7, undefined]);
  // chars: '[' 0, ']' 1, 'a' 2, 'b' 3, 'c' 4
  t.same(tok.encode('a[MASK]b', { addSpecial: true }), [5, 2, 7, 3, 6]);
  t.same(tok.encode('[c]<|user|>'), [0, 4, 1, 8]);
  t.equal(tok.decode(tok.encode('<|user|>ab[c]')), '<|user|>ab[c]');
  t.equal(tok.decode([5, 2, 7, 3, 6], { skipSpecial: true }), 'ab');
});

t.test('save → load gives the same tokenizer; loadTokenizer detects the kind', async (t) => {
  const tok = CharTokenizer.fromCorpus(corpus, { specialTokens: ['<|endoftext|>', '[MASK]'], roles: { pad: '[MASK]' } });
  const dir = t.testdir({});
  const file = path.join(dir, 'char.json');
  tok.save(file);
  const back = loadTokenizer(file);
  t.equal(back.kind, 'char');
  t.equal(back.vocabSize, 67);
  t.same(back.roles, tok.roles);
  t.equal(back.pad, 66);
  const sample = corpus.slice(0, 5000) + '<|endoftext|>';
  t.same(back.encode(sample), tok.encode(sample));
  t.same(CharTokenizer.load(file).toJSON(), tok.toJSON());
});

t.test('lone surrogates are characters of their own and round-trip exactly', async (t) => {
  // Unlike byte-level BPE, a char vocabulary holds JS strings, so nothing is lost.
  const tok = CharTokenizer.fromCorpus('a\ud800b');
  t.equal(tok.vocabSize, 3);
  t.equal(tok.decode(tok.encode('\ud800ab')), '\ud800ab');
});

t.test('malformed char tokenizer files are rejected', async (t) => {
  const doc = CharTokenizer.fromCorpus('abc', { specialTokens: ['<pad>'] }).toJSON();
  t.throws(() => CharTokenizer.fromJSON({ ...doc, chars: ['a', 'a'] }, 'x.json'), { code: 'DUPLICATE_ID', message: /^x\.json: character "a" has ids 0 and 1/ });
  t.throws(() => CharTokenizer.fromJSON({ ...doc, chars: ['ab'] }), { code: 'BAD_FORMAT' });
  t.throws(() => CharTokenizer.fromJSON({ ...doc, version: 2 }), { code: 'UNSUPPORTED' });
  t.throws(() => CharTokenizer.fromJSON({ ...doc, added_tokens: [{ id: 1, content: '<pad>', special: true }] }), { code: 'DUPLICATE_ID', message: /belongs to character "b"/ });
  t.throws(() => CharTokenizer.fromJSON({ ...doc, roles: { mask: '<mask>' } }), { code: 'UNKNOWN_TOKEN' });
  t.throws(() => CharTokenizer.fromCorpus('abc').decode([3]), { code: 'UNKNOWN_ID' });
});
