// Hugging Face tokenizer.json: both merge spellings, what lmkit writes, and
// corrupt or unsupported files → TokenizerError with a stable code and a
// message naming the file and the problem.
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BpeTokenizer, TokenizerError, loadTokenizer, trainBpe, type HfTokenizerJson, type TokenizerErrorCode } from '../../lib/tokenizer/index.js';
import { gpt2TokenizerJson } from '../helpers/gpt2.js';
import { FRAGMENTS, shakespeare } from '../helpers/text.js';

const small = trainBpe(shakespeare().slice(0, 20_000), { vocabSize: 300, specialTokens: ['<|endoftext|>', '[MASK]'] });
const doc = (): HfTokenizerJson => structuredClone(small.toJSON());

t.test('merges as ["a", "b"] pairs load the same as "a b" strings (GPT-2)', async (t) => {
  const gpt2Doc = JSON.parse(readFileSync(gpt2TokenizerJson(), 'utf8')) as { model: { merges: string[] } };
  const asStrings = BpeTokenizer.fromJSON(gpt2Doc);
  const asPairs = BpeTokenizer.fromJSON({ ...gpt2Doc, model: { ...gpt2Doc.model, merges: gpt2Doc.model.merges.map((m) => m.split(' ')) } });
  const text = FRAGMENTS.join(' ') + shakespeare().slice(0, 20_000);
  t.same(asPairs.encode(text), asStrings.encode(text));
});

t.test('GPT-2 written back by toJSON() reloads identically', async (t) => {
  const gpt2 = BpeTokenizer.load(gpt2TokenizerJson());
  const again = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(gpt2.toJSON())));
  const text = FRAGMENTS.join('\n');
  t.same(again.encode(text), gpt2.encode(text));
  t.equal(again.vocabSize, 50257);
  const written = gpt2.toJSON();
  t.equal(written.model.type, 'BPE');
  t.same(written.pre_tokenizer, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
  t.same(written.added_tokens.map((a) => [a.id, a.content, a.special]), [[50256, '<|endoftext|>', true]]);
});

t.test('a Sequence holding one ByteLevel pre-tokenizer and a null decoder are accepted', async (t) => {
  const d = doc() as unknown as Record<string, unknown>;
  d['pre_tokenizer'] = { type: 'Sequence', pretokenizers: [{ type: 'ByteLevel', add_prefix_space: false, use_regex: true }] };
  d['decoder'] = null;
  t.same(BpeTokenizer.fromJSON(d).encode('To be, or not'), small.encode('To be, or not'));
});

/** Writes `content` to a file, loads it, and checks the error. */
function expectLoadError(t: Test, name: string, content: string, code: TokenizerErrorCode, message: RegExp): void {
  const file = path.join(t.testdirName, `${name}.json`);
  writeFileSync(file, content);
  try {
    loadTokenizer(file);
    t.fail(`${name}: loaded without error`);
  } catch (err) {
    t.ok(err instanceof TokenizerError, `${name}: a TokenizerError`);
    const e = err as TokenizerError;
    t.equal(e.code, code, `${name}: code ${code}`);
    t.ok(e.message.startsWith(`${file}: `), `${name}: message names the file`);
    t.match(e.message, message, `${name}: ${e.message.slice(file.length + 2)}`);
  }
}

t.test('corrupt and unsupported files are rejected with clear messages', async (t) => {
  t.testdir({});
  const good = JSON.stringify(doc());
  // Corruptions reach past the declared types on purpose.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const edit = (f: (d: Record<string, any>) => void): string => {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const d = doc() as unknown as Record<string, any>;
    f(d);
    return JSON.stringify(d);
  };
  expectLoadError(t, 'truncated', good.slice(0, Math.floor(good.length / 2)), 'BAD_JSON', /not valid JSON.*truncated/);
  expectLoadError(t, 'empty', '', 'BAD_JSON', /not valid JSON/);
  expectLoadError(t, 'array', '[1, 2]', 'BAD_FORMAT', /the document is an array, expected an object/);
  expectLoadError(t, 'no-model', edit((d) => delete d['model']), 'BAD_FORMAT', /"model" is undefined, expected an object/);
  expectLoadError(t, 'wordpiece', edit((d) => (d['model'].type = 'WordPiece')), 'UNSUPPORTED', /model type "WordPiece" is not supported; lmkit reads byte-level BPE/);
  expectLoadError(t, 'unigram', edit((d) => (d['model'].type = 'Unigram')), 'UNSUPPORTED', /"Unigram"/);
  expectLoadError(t, 'vocab-array', edit((d) => (d['model'].vocab = ['a', 'b'])), 'BAD_FORMAT', /model\.vocab is an array, expected an object/);
  expectLoadError(t, 'vocab-string-id', edit((d) => (d['model'].vocab['Ġthe'] = '7')), 'BAD_FORMAT', /model\.vocab\["Ġthe"\] is string, expected a non-negative integer id/);
  expectLoadError(t, 'vocab-negative-id', edit((d) => (d['model'].vocab['Ġthe'] = -3)), 'BAD_FORMAT', /non-negative/);
  expectLoadError(t, 'duplicate-id', edit((d) => (d['model'].vocab['zzz'] = 5)), 'DUPLICATE_ID', /id 5 to both .* and "zzz"/);
  expectLoadError(t, 'merges-object', edit((d) => (d['model'].merges = { a: 'b' })), 'BAD_FORMAT', /model\.merges is object, expected an array/);
  expectLoadError(t, 'merge-unknown', edit((d) => d['model'].merges.push('Ġ qqqq')), 'UNKNOWN_TOKEN', /merge \d+ \("Ġ" "qqqq"\) uses "qqqq", which is not in the vocab/);
  expectLoadError(t, 'merge-result-unknown', edit((d) => d['model'].merges.push('q q')), 'UNKNOWN_TOKEN', /uses "qq"/);
  expectLoadError(t, 'merge-three-parts', edit((d) => (d['model'].merges[3] = 'a b c')), 'BAD_FORMAT', /model\.merges\[3\] is "a b c", expected two tokens/);
  expectLoadError(t, 'merge-number', edit((d) => (d['model'].merges[0] = 7)), 'BAD_FORMAT', /model\.merges\[0\] is number/);
  expectLoadError(t, 'added-clash', edit((d) => d['added_tokens'].push({ id: 100, content: '<x>', special: true })), 'DUPLICATE_ID', /added token "<x>" has id 100, which the vocab gives to/);
  expectLoadError(t, 'added-twice', edit((d) => d['added_tokens'].push({ id: 400, content: '[MASK]', special: true })), 'DUPLICATE_ID', /"\[MASK\]" appears twice/);
  expectLoadError(t, 'added-same-id', edit((d) => (d['added_tokens'][1].id = 0)), 'DUPLICATE_ID', /both have id 0/);
  expectLoadError(t, 'added-bad-id', edit((d) => (d['added_tokens'][0].id = 'x')), 'BAD_FORMAT', /added_tokens\[0\]\.id is string/);
  expectLoadError(t, 'added-lstrip', edit((d) => (d['added_tokens'][1].lstrip = true)), 'UNSUPPORTED', /sets lstrip/);
  expectLoadError(t, 'prefix-space', edit((d) => (d['pre_tokenizer'].add_prefix_space = true)), 'UNSUPPORTED', /add_prefix_space true/);
  expectLoadError(t, 'metaspace', edit((d) => (d['pre_tokenizer'] = { type: 'Metaspace' })), 'UNSUPPORTED', /pre_tokenizer "Metaspace" is not supported \(expected ByteLevel\)/);
  expectLoadError(t, 'no-pre-tokenizer', edit((d) => (d['pre_tokenizer'] = null)), 'UNSUPPORTED', /pre_tokenizer null/);
  expectLoadError(t, 'normalizer', edit((d) => (d['normalizer'] = { type: 'NFC' })), 'UNSUPPORTED', /normalizer "NFC"/);
  expectLoadError(t, 'wordpiece-decoder', edit((d) => (d['decoder'] = { type: 'WordPiece' })), 'UNSUPPORTED', /decoder "WordPiece"/);
  expectLoadError(t, 'byte-fallback', edit((d) => (d['model'].byte_fallback = true)), 'UNSUPPORTED', /byte_fallback/);
  expectLoadError(t, 'suffix', edit((d) => (d['model'].end_of_word_suffix = '</w>')), 'UNSUPPORTED', /end_of_word_suffix "<\/w>"/);
});

t.test('a missing file is an IO error naming it', async (t) => {
  t.throws(() => BpeTokenizer.load('/nonexistent/tokenizer.json'), { code: 'IO', message: /^\/nonexistent\/tokenizer\.json: cannot read tokenizer file/ });
});

t.test('explicit roles override the inferred ones', async (t) => {
  const tok = BpeTokenizer.fromJSON(doc(), { roles: { bos: '[MASK]', pad: '<|endoftext|>' } });
  t.same([tok.bos, tok.eos, tok.pad, tok.mask], [1, 0, 0, 1]);
  t.throws(() => BpeTokenizer.fromJSON(doc(), { roles: { unk: '<unk>' } }), { code: 'UNKNOWN_TOKEN', message: /unk token "<unk>" is not one of the added tokens/ });
});
