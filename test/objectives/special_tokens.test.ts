// Special tokens of the objectives: the documented id assignment (char:
// after the characters, T5 sentinels ending at vocab_size − 1; BPE: first),
// lookups by name, and a clear error when a tokenizer lacks one.
import t from 'tap';
import {
  glmAddedTokens, glmTokenIds, mlmSpecialTokens, mlmTokenIds, sentinelToken, t5SpecialTokens, t5TokenIds,
} from '../../lib/objectives/special_tokens.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { trainBpe } from '../../lib/tokenizer/train_bpe.js';

t.test('char: characters 0..C−1 in code point order, then the specials; <extra_id_0> is the last id', async (t) => {
  const tok = CharTokenizer.fromCorpus('cab a', { specialTokens: t5SpecialTokens(3) });
  t.same([' ', 'a', 'b', 'c'].map((ch) => tok.tokenToId(ch)), [0, 1, 2, 3]);
  t.same(t5TokenIds(tok), { pad: 4, eos: 5, sentinels: [8, 7, 6] }, '<pad>, </s>, then <extra_id_2>, <extra_id_1>, <extra_id_0>');
  t.equal(tok.vocabSize - 1, tok.tokenToId(sentinelToken(0)));
  t.same([tok.pad, tok.eos], [4, 5], 'roles inferred from the names');
  t.same(tok.encode('a<extra_id_1>b</s>'), [1, 7, 2, 5], 'each special is one token in text');

  const bert = CharTokenizer.fromCorpus('ab', { specialTokens: mlmSpecialTokens() });
  t.same(mlmTokenIds(bert), { pad: 2, mask: 3, cls: 4, sep: 5 });
  t.same([bert.pad, bert.mask, bert.bos, bert.eos], [2, 3, 4, 5], '[PAD], [MASK], [CLS] as bos, [SEP] as eos');
  const glm = CharTokenizer.fromCorpus('ab', { specialTokens: glmAddedTokens() });
  t.same(glmTokenIds(glm), { pad: 2, mask: 3, gmask: 4, start: 5, end: 6 });
});

t.test('BPE: the specials take the first ids', async (t) => {
  const tok = trainBpe('the cat sat on the mat '.repeat(20), { vocabSize: 300, specialTokens: glmAddedTokens() });
  t.same(glmTokenIds(tok), { pad: 0, mask: 1, gmask: 2, start: 3, end: 4 });
});

t.test('a tokenizer without a needed special is a ConfigError naming it', async (t) => {
  const partial = CharTokenizer.fromCorpus('ab', { specialTokens: ['[PAD]', '[MASK]'] });
  t.throws(() => glmTokenIds(partial), { name: 'ConfigError', code: 'CONFIG_TOKENIZER', message: /no "\[gMASK\]" token, which GLM blank infilling needs/ });
  t.throws(() => t5TokenIds(partial), { code: 'CONFIG_TOKENIZER', message: /"<pad>"/ });
  const noSentinels = CharTokenizer.fromCorpus('ab', { specialTokens: ['<pad>', '</s>'] });
  t.throws(() => t5TokenIds(noSentinels), { code: 'CONFIG_TOKENIZER', message: /"<extra_id_0>"/ });
  // A plain vocabulary entry spelled like a special does not count as one.
  const plain = CharTokenizer.fromCorpus('[');
  t.throws(() => mlmTokenIds(plain), { message: /"\[PAD\]"/ });
});
