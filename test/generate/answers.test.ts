// Answer parsers on hand-written completions, including the cases where
// nothing parses (null, never a guess).
import t from 'tap';
import { parseAnswerIs, parseFirstNumber, parseLabel, parseYesNo } from '../../lib/generate/answers.js';

t.test('parseFirstNumber', async (t) => {
  t.equal(parseFirstNumber(' 8 golf balls.'), 8);
  t.equal(parseFirstNumber('There are 16 balls; half is 8.'), 16, 'the first, not the last');
  t.equal(parseFirstNumber('It costs $1,200 in total.'), 1200, 'thousands commas');
  t.equal(parseFirstNumber('about 3.75 km'), 3.75);
  t.equal(parseFirstNumber('-12 degrees'), -12);
  t.equal(parseFirstNumber('1, 2, 3'), 1, 'a list is not a thousands group');
  t.equal(parseFirstNumber('The end. 5'), 5, 'a sentence period is not a decimal point');
  t.equal(parseFirstNumber('no digits here'), null);
  t.equal(parseFirstNumber(''), null);
});

t.test('parseLabel: the first verbalizer word as a whole word', async (t) => {
  const v = { positive: ['good', 'great'], negative: ['bad', 'not good'] };
  t.equal(parseLabel(' great, really', v), 'positive');
  t.equal(parseLabel('It was BAD.', v), 'negative', 'case-insensitive');
  t.equal(parseLabel('bad at first, then good', v), 'negative', 'earliest occurrence wins');
  t.equal(parseLabel('not good at all', v), 'negative', 'longest word at one position');
  t.equal(parseLabel('goodness me', v), null, 'no match inside a longer word');
  t.equal(parseLabel('badge', v), null);
  t.equal(parseLabel('', v), null);
  t.equal(parseLabel('c’est très bien', { pos: ['très bien'], neg: ['mal'] }), 'pos', 'non-ASCII words');
  t.equal(parseLabel('malade', { pos: ['très bien'], neg: ['mal'] }), null, 'non-ASCII word boundary');
  t.equal(parseLabel('a+b is fine', { yes: ['a+b'] }), 'yes', 'regex characters are literal');
});

t.test('parseAnswerIs: the text after "the answer is"', async (t) => {
  t.equal(parseAnswerIs('5 + 6 = 11. The answer is 11.'), '11');
  t.equal(parseAnswerIs('so the answer is: Paris.\nQ: next'), 'Paris');
  t.equal(parseAnswerIs('The answer is 3.5 litres. More text.'), '3.5 litres', 'a decimal point does not end the sentence');
  t.equal(parseAnswerIs('Therefore, the answer is "blue"'), 'blue', 'quotes removed');
  t.equal(parseAnswerIs('The answer is (B).'), 'B');
  t.equal(parseAnswerIs('The answer is'), null, 'nothing after the phrase');
  t.equal(parseAnswerIs('The answer is .'), null);
  t.equal(parseAnswerIs('I do not know.'), null, 'phrase absent');
  t.equal(parseAnswerIs('Answer: 7', 'answer:'), '7', 'custom phrase');
});

t.test('parseYesNo', async (t) => {
  t.equal(parseYesNo(' Yes, it can.'), 'yes');
  t.equal(parseYesNo('No.'), 'no');
  t.equal(parseYesNo('I think no, not yes'), 'no', 'the first one');
  t.equal(parseYesNo('nothing yesterday, none'), null, 'not inside other words');
  t.equal(parseYesNo(''), null);
});
