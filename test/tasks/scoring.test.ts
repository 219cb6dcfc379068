// Verifiers on hand-written responses: Levenshtein values computed by hand,
// answers read from direct and worked responses, exact and partial scores.
import t from 'tap';
import { getTask } from '../../lib/tasks/registry.js';
import { editDistance, editSimilarity, parseTaskAnswer, scoreResponse } from '../../lib/tasks/scoring.js';
import type { TaskInstance } from '../../lib/tasks/types.js';

const inst = (task: string, input: string, answer: string, fields: Record<string, string> = {}): TaskInstance => ({ task, input, answer, fields });

t.test('editDistance and editSimilarity on hand-computed cases', async (t) => {
  t.equal(editDistance('kitten', 'sitting'), 3, 'k→s, e→i, +g');
  t.equal(editDistance('flaw', 'lawn'), 2, '−f, +n');
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('abc', ''), 3);
  t.equal(editDistance('abc', 'abc'), 0);
  t.equal(editDistance('abcd', 'dcba'), 4);
  t.equal(editDistance('ab', 'ba'), 2, 'no transposition move');
  t.equal(editDistance('x😀y', 'xy'), 1, 'code points, not UTF-16 units');
  t.equal(editSimilarity('kitten', 'sitting'), 1 - 3 / 7);
  t.equal(editSimilarity('', ''), 1);
  t.equal(editSimilarity('1004', '1005'), 0.75);
  t.equal(editSimilarity('abc', 'xyz'), 0);
});

t.test('direct answers: first line; word = first token without trailing punctuation; numbers and labels parsed', async (t) => {
  const reverse = getTask('reverse');
  t.equal(parseTaskAnswer(reverse, 'cba'), 'cba');
  t.equal(parseTaskAnswer(reverse, '  cba.\nInstruction: more'), 'cba', 'leading space, period, later lines');
  t.equal(parseTaskAnswer(reverse, 'cba is it'), 'cba');
  t.equal(parseTaskAnswer(reverse, '   '), null);
  t.equal(parseTaskAnswer(reverse, ''), null);
  const addition = getTask('addition');
  t.equal(parseTaskAnswer(addition, 'The sum is 1,004.'), '1004');
  t.equal(parseTaskAnswer(addition, 'none\n42'), null, 'only the first line');
  t.equal(parseTaskAnswer(getTask('sentiment'), 'It is bad, not good'), 'bad', 'the first label word');
  t.equal(parseTaskAnswer(getTask('sentiment'), 'badly'), null, 'whole words only');
  t.equal(parseTaskAnswer(getTask('entailment'), 'No, it does not'), 'no');
  t.equal(parseTaskAnswer(getTask('entailment'), 'nothing'), null);
});

t.test('worked answers are read after "the answer is", and only there', async (t) => {
  const addition = getTask('addition');
  const worked = '5+9+0=14, 4; 4+5+1=10, 04; 3+6+1=10, 004; 0+0+1=1, 1004; so the answer is 1004';
  t.equal(parseTaskAnswer(addition, worked, 'cot'), '1004');
  t.equal(parseTaskAnswer(addition, worked, 'direct'), '5', 'the direct reader takes the first number');
  t.equal(parseTaskAnswer(addition, '5+9+0=14, 4; 4+5+1=10', 'cot'), null, 'no answer phrase, no answer');
  t.equal(parseTaskAnswer(getTask('sentiment'), 'zarby good; so the answer is good.', 'cot'), 'good');
  t.equal(parseTaskAnswer(getTask('reverse'), 'So The Answer Is cba. then more', 'cot'), 'cba');
});

t.test('scores: exact, partial by edit similarity for words and numbers, none for labels', async (t) => {
  const r = inst('reverse', 'abc', 'cba');
  t.same(scoreResponse(r, 'cba'), { exact: 1, partial: 1, parsed: 'cba' });
  const near = scoreResponse(r, 'cbx');
  t.same([near.exact, near.parsed], [0, 'cbx']);
  t.ok(Math.abs(near.partial - 2 / 3) < 1e-12, `partial ${near.partial} = 1 − 1/3`);
  t.same(scoreResponse(r, 'CBA'), { exact: 0, partial: 0, parsed: 'CBA' }, 'case matters');
  t.same(scoreResponse(r, ''), { exact: 0, partial: 0, parsed: null });
  const a = inst('addition', '345+659', '1004');
  t.same(scoreResponse(a, '1005'), { exact: 0, partial: 0.75, parsed: '1005' });
  t.same(scoreResponse(a, '104'), { exact: 0, partial: 0.75, parsed: '104' });
  t.same(scoreResponse(a, '1004 and 1004'), { exact: 1, partial: 1, parsed: '1004' }, 'extra text is the labeler\'s business, not the verifier\'s');
  t.same(scoreResponse(a, 'so the answer is 1004', 'cot'), { exact: 1, partial: 1, parsed: '1004' });
  const s = inst('sentiment', 'the soup was zarby', 'good');
  t.same(scoreResponse(s, 'bad'), { exact: 0, partial: 0, parsed: 'bad' });
  t.same(scoreResponse(s, 'good'), { exact: 1, partial: 1, parsed: 'good' });
  const c = inst('count_letter', 'banana', '3', { letter: 'a' });
  t.same(scoreResponse(c, 'b:0 a:1 n:1 a:2 n:2 a:3; so the answer is 3', 'cot'), { exact: 1, partial: 1, parsed: '3' });
  t.throws(() => scoreResponse(inst('nope', 'x', 'y'), 'y'), { name: 'ConfigError', code: 'CONFIG_UNKNOWN_TASK', message: /unknown task "nope" \(tasks: copy, reverse/ });
});
