// TextCorpus: file checks with DataErrors naming the file, nanoGPT's char
// vocabulary and 90/10 split, and get_batch windows drawn from the seeded RNG.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { TextCorpus } from '../../lib/data/text_corpus.js';
import { Random } from '../../lib/tensor/random.js';

const char = { tokenizer: { kind: 'char' as const } };

t.test('missing, empty, non-UTF-8 and too-short files are DataErrors naming the file', async (t) => {
  const dir = t.testdir({ 'empty.txt': '', 'short.txt': 'abcdefghij' });
  const latin1 = path.join(dir, 'latin1.txt');
  writeFileSync(latin1, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in Latin-1
  const missing = path.join(dir, 'nope.txt');
  t.throws(() => TextCorpus.fromFile(missing, char), { name: 'DataError', code: 'DATA_MISSING', message: new RegExp(`${missing}.*--data`) });
  t.throws(() => TextCorpus.fromFile(path.join(dir, 'empty.txt'), char), { code: 'DATA_EMPTY', message: /empty\.txt/ });
  t.throws(() => TextCorpus.fromFile(latin1, char), { code: 'DATA_NOT_UTF8', message: /latin1\.txt.*UTF-8/ });
  t.throws(() => TextCorpus.fromFile(dir, char), { code: 'DATA_MISSING', message: /not a regular file/ });
  const short = TextCorpus.fromFile(path.join(dir, 'short.txt'), char);
  t.throws(() => short.checkBlockSize(8), { code: 'DATA_TOO_SHORT', message: /val split has 1 tokens.*block_size/ });
});

t.test('char vocabulary is the sorted set of characters; split is 90/10 of the tokens', async (t) => {
  const text = 'hello world, the quick brown fox\n'.repeat(10);
  const dir = t.testdir({ 'c.txt': text });
  const corpus = TextCorpus.fromFile(path.join(dir, 'c.txt'), char);
  const chars = [...new Set(text)].sort();
  t.equal(corpus.tokenizer.vocabSize, chars.length);
  t.equal(corpus.tokenizer.decode([0, 1, 2]), chars.slice(0, 3).join(''));
  t.equal(corpus.train.length, Math.floor(text.length * 0.9));
  t.equal(corpus.train.length + corpus.val.length, text.length);
  t.equal(corpus.tokenizer.decode(corpus.val), text.slice(Math.floor(text.length * 0.9)));
  t.match(corpus.sha256, /^[0-9a-f]{64}$/);
});

t.test('getBatch: y is x shifted by one, windows come from the data, same seed → same batch', async (t) => {
  const text = Array.from({ length: 500 }, (_, i) => String.fromCharCode(97 + ((i * 7) % 26))).join('');
  const dir = t.testdir({ 'c.txt': text });
  const corpus = TextCorpus.fromFile(path.join(dir, 'c.txt'), char);
  const a = corpus.getBatch('train', 4, 8, new Random(5));
  const b = corpus.getBatch('train', 4, 8, new Random(5));
  t.same([...a.x.i32()], [...b.x.i32()]);
  t.same(a.x.shape, [4, 8]);
  const decoded = corpus.tokenizer.decode(corpus.train);
  for (let r = 0; r < 4; r++) {
    const x = corpus.tokenizer.decode(a.x.i32().subarray(r * 8, r * 8 + 8));
    const y = corpus.tokenizer.decode(a.y.i32().subarray(r * 8, r * 8 + 8));
    t.equal(x.slice(1), y.slice(0, 7), `row ${r}: y is x shifted left`);
    t.ok(decoded.includes(x + y.slice(7)), `row ${r}: a window of the train split`);
  }
  const c = corpus.getBatch('train', 4, 8, new Random(6));
  t.not([...c.x.i32()].join(), [...a.x.i32()].join(), 'another seed draws other windows');
});
