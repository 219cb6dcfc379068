// The compare metrics on hand-made predictions, each checked against a value
// worked out by hand in the test (not by the code under test).
import t from 'tap';
import { accuracy, bitsPerChar, charF1, charF1One, exactMatch, exactMatchOne, perCharPerplexity, spread, sumNll } from '../../lib/compare/metrics.js';

t.test('accuracy: fraction of labels equal to the gold ones', async (t) => {
  t.equal(accuracy(['good', 'bad', 'good', 'good'], ['good', 'good', 'good', 'bad']), 0.5);
  t.equal(accuracy(['yes'], ['yes']), 1);
  t.equal(accuracy(['Good'], ['good']), 0, 'case matters: a label is a word');
  t.throws(() => accuracy(['a'], ['a', 'b']), { code: 'CONFIG_INVALID', message: /1 predictions for 2 references/ });
  t.throws(() => accuracy([], []), { code: 'CONFIG_INVALID', message: /no predictions/ });
});

t.test('exact match: whole strings, whitespace at the ends ignored', async (t) => {
  t.equal(exactMatchOne('qwe', 'qwe'), 1);
  t.equal(exactMatchOne(' qwe\n', 'qwe'), 1);
  t.equal(exactMatchOne('qw e', 'qwe'), 0, 'inner whitespace counts');
  t.equal(exactMatchOne('qwer', 'qwe'), 0, 'a longer answer is wrong');
  t.equal(exactMatch(['abc', 'abd', '', 'x'], ['abc', 'abc', 'abc', 'x']), 0.5);
});

t.test('char F1 against hand-computed values', async (t) => {
  // "abcd" vs "abce": common {a,b,c} = 3; P = 3/4, R = 3/4, F1 = 0.75.
  t.equal(charF1One('abcd', 'abce'), 0.75);
  // "aab" vs "ab": multiset common = min(2,1)+min(1,1) = 2; P = 2/3, R = 1; F1 = 2·(2/3)/(5/3) = 0.8.
  t.ok(Math.abs(charF1One('aab', 'ab') - 0.8) < 1e-12);
  // Order does not matter, only the characters: "dcba" vs "abcd" → 1.
  t.equal(charF1One('dcba', 'abcd'), 1);
  // Whitespace is not a character that earns credit: "a b" vs "ab" → 1.
  t.equal(charF1One('a b', 'ab'), 1);
  t.equal(charF1One('xyz', 'abc'), 0, 'nothing shared');
  t.equal(charF1One('', 'abc'), 0, 'empty prediction');
  t.equal(charF1One('', ' '), 1, 'both empty after whitespace: nothing to get wrong');
  // Mean over pairs: (0.75 + 0 + 1) / 3.
  t.ok(Math.abs(charF1(['abcd', 'xyz', 'q'], ['abce', 'abc', 'q']) - 1.75 / 3) < 1e-12);
});

t.test('per-character perplexity = exp(NLL / characters)', async (t) => {
  // Two segments: 3 characters each at p = 1/2 → NLL 3·ln 2; 1 character at p = 1/8 → ln 8 = 3·ln 2.
  // Total NLL 6·ln 2 over 4 characters: ppl = exp(1.5·ln 2) = 2^1.5, bits per char 1.5.
  const total = sumNll([{ nll: 3 * Math.log(2), chars: 3 }, { nll: Math.log(8), chars: 1 }]);
  t.same(total.chars, 4);
  t.ok(Math.abs(perCharPerplexity(total) - 2 ** 1.5) < 1e-12, `${perCharPerplexity(total)}`);
  t.ok(Math.abs(bitsPerChar(total) - 1.5) < 1e-12);
  // A uniform model over 65 characters has perplexity 65 whatever the length.
  t.ok(Math.abs(perCharPerplexity({ nll: 10 * Math.log(65), chars: 10 }) - 65) < 1e-9);
  // A tokenizer with 2-character tokens: 2 tokens at p = 1/4 spell 4 characters → NLL 2·ln 4 = 4·ln 2, ppl 2 per character.
  t.ok(Math.abs(perCharPerplexity({ nll: 2 * Math.log(4), chars: 4 }) - 2) < 1e-12);
  t.throws(() => perCharPerplexity({ nll: 1, chars: 0 }), { code: 'CONFIG_INVALID', message: /no characters/ });
  t.throws(() => perCharPerplexity({ nll: NaN, chars: 3 }), { code: 'CONFIG_INVALID', message: /NaN/ });
});

t.test('spread over seeds: mean, min, max', async (t) => {
  t.same(spread([0.5, 0.75, 1]), { mean: 0.75, min: 0.5, max: 1, values: [0.5, 0.75, 1] });
  t.same(spread([0.25]), { mean: 0.25, min: 0.25, max: 0.25, values: [0.25] });
  t.throws(() => spread([]), { code: 'CONFIG_INVALID' });
});
