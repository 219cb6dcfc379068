// GPT-2's pre-tokenizer and byte-level alphabet.
import t from 'tap';
import { BYTE_TO_CHAR, pretokenize } from '../../lib/tokenizer/index.js';
import { Rng } from '../helpers/random.js';
import { FRAGMENTS, randomUnicode } from '../helpers/text.js';

t.test('splits as GPT-2 does: leading spaces join words, contractions split off', async (t) => {
  t.same(pretokenize('Hello world'), ['Hello', ' world']);
  t.same(pretokenize("I'm 42!!  ok\n\n"), ['I', "'m", ' 42', '!!', ' ', ' ok', '\n\n']);
  t.same(pretokenize("they'll  don't"), ['they', "'ll", ' ', ' don', "'t"]);
  t.same(pretokenize("I'M"), ['I', "'", 'M'], 'contractions are case-sensitive');
  t.same(pretokenize('x\t\t y'), ['x', '\t\t', ' y']);
  // Before a word, a whitespace run gives up its last character: "\r" then "\n".
  t.same(pretokenize('a\r\nb'), ['a', '\r', '\n', 'b']);
  t.same(pretokenize('  \n  '), ['  \n  ']);
  t.same(pretokenize('naïve 中文 ١٢٣'), ['naïve', ' 中文', ' ١٢٣']);
  t.same(pretokenize('👍🏽 ok'), ['👍🏽', ' ok']);
  t.same(pretokenize(''), []);
});

t.test('the pieces always join back to the text', async (t) => {
  const rng = new Rng(5);
  for (const s of [...FRAGMENTS, ...Array.from({ length: 200 }, () => randomUnicode(rng, 50, true))])
    if (pretokenize(s).join('') !== s) t.fail(JSON.stringify(s));
  t.pass('200 random strings and every fragment');
});

t.test('the byte alphabet: 256 distinct characters, printable bytes are themselves', async (t) => {
  t.equal(new Set(BYTE_TO_CHAR).size, 256);
  t.equal(BYTE_TO_CHAR[0x41], 'A');
  t.equal(BYTE_TO_CHAR[0x20], 'Ġ');
  t.equal(BYTE_TO_CHAR[0x0a], 'Ċ');
  t.equal(BYTE_TO_CHAR[0x00], '\u0100');
  t.equal(BYTE_TO_CHAR[0xad], 'Ń', 'soft hyphen (not printable) is remapped');
  t.equal(BYTE_TO_CHAR[0xff], 'ÿ');
});
