// Prompt builders against hand-written expected strings (GPT-3 Fig. 2.1's
// translation layout, Wei et al.'s CoT exemplars, Kojima et al.'s two stages).
import t from 'tap';
import {
  CHAIN_OF_THOUGHT_TEMPLATE, PromptError, TRANSLATION_TEMPLATE, chainOfThoughtPrompt, fewShotPrompt, fillTemplate,
  oneShotPrompt, selectDemonstrations, templateFields, zeroShotCotAnswerPrompt, zeroShotCotPrompt, zeroShotPrompt,
} from '../../lib/generate/prompts.js';

const demos = [
  { input: 'sea otter', output: "loutre de mer" },
  { input: 'peppermint', output: 'menthe poivrée' },
  { input: 'plush giraffe', output: 'girafe peluche' },
];

t.test('zero-shot: task description then the query', async (t) => {
  t.equal(zeroShotPrompt(TRANSLATION_TEMPLATE, { input: 'cheese' }), 'Translate English to French:\ncheese =>');
});

t.test('one-shot: task description, one demonstration, the query', async (t) => {
  t.equal(oneShotPrompt(TRANSLATION_TEMPLATE, demos[0]!, { input: 'cheese' }),
    'Translate English to French:\nsea otter => loutre de mer\ncheese =>');
});

t.test('few-shot: K demonstrations in the order given', async (t) => {
  t.equal(fewShotPrompt(TRANSLATION_TEMPLATE, demos, { input: 'cheese' }),
    'Translate English to French:\nsea otter => loutre de mer\npeppermint => menthe poivrée\nplush giraffe => girafe peluche\ncheese =>');
});

t.test('an empty instruction leaves no leading separator', async (t) => {
  const tpl = { instruction: '', example: 'Review: {text}\nSentiment: {label}', query: 'Review: {text}\nSentiment:', separator: '\n\n' };
  t.equal(fewShotPrompt(tpl, [{ text: 'Loved it', label: 'positive' }], { text: 'Meh' }),
    'Review: Loved it\nSentiment: positive\n\nReview: Meh\nSentiment:');
});

t.test('templates: fields, literal braces, missing fields and stray braces', async (t) => {
  t.same(templateFields('{a} and {b} then {a}'), ['a', 'b']);
  t.equal(fillTemplate('{{x}} = {x}', { x: '1' }), '{x} = 1');
  t.equal(fillTemplate('{x}', { x: '{y}' }), '{y}', 'values are not re-expanded');
  t.equal(fillTemplate('{a}', { a: 'A', extra: 'ignored' }), 'A');
  t.throws(() => fillTemplate('{input} => {output}', { input: 'x' }, 'demonstration 2'),
    { code: 'PROMPT_MISSING_FIELD', message: /demonstration 2: field "output" is missing/ });
  t.throws(() => fewShotPrompt(TRANSLATION_TEMPLATE, [{ input: 'a', output: 'b' }, { input: 'c' }], { input: 'q' }),
    { code: 'PROMPT_MISSING_FIELD', message: /demonstration 1: field "output"/ });
  t.throws(() => zeroShotPrompt(TRANSLATION_TEMPLATE, { text: 'q' }), { code: 'PROMPT_MISSING_FIELD', message: /query: field "input"/ });
  t.throws(() => templateFields('a {b'), { code: 'PROMPT_BAD_TEMPLATE', message: /stray "\{"/ });
  t.throws(() => templateFields('{1x}'), { code: 'PROMPT_BAD_TEMPLATE' });
  const err = (() => { try { fillTemplate('{q}', {}); } catch (e) { return e; } })();
  t.ok(err instanceof PromptError);
});

t.test('selectDemonstrations: K distinct items, fixed by the seed', async (t) => {
  const pool = Array.from({ length: 20 }, (_, i) => i);
  const a = selectDemonstrations(pool, 5, 7);
  t.same(selectDemonstrations(pool, 5, 7), a, 'same seed, same choice and order');
  t.equal(new Set(a).size, 5, 'no repeats');
  t.ok(a.every((x) => pool.includes(x)));
  const seen = new Set<string>();
  for (let seed = 0; seed < 10; seed++) seen.add(selectDemonstrations(pool, 5, seed).join(','));
  t.ok(seen.size > 5, `different seeds give different draws (${seen.size} of 10 distinct)`);
  t.same([...selectDemonstrations(pool, 20, 3)].sort((x, y) => x - y), pool, 'k = pool size is a permutation');
  t.same(selectDemonstrations(pool, 0, 3), []);
  t.throws(() => selectDemonstrations(pool, 21, 0), { code: 'PROMPT_BAD_ARGUMENT', message: /from 0 to the pool size 20, got 21/ });
  t.throws(() => selectDemonstrations(pool, 1.5, 0), { code: 'PROMPT_BAD_ARGUMENT' });
  // every item of a small pool is reachable as the first demonstration
  const firsts = new Set<number>();
  for (let seed = 0; seed < 200; seed++) firsts.add(selectDemonstrations([0, 1, 2, 3], 1, seed)[0]!);
  t.same([...firsts].sort(), [0, 1, 2, 3]);
});

t.test('chain of thought with worked exemplars (Wei et al. 2022 layout)', async (t) => {
  const exemplars = [{
    question: 'Roger has 5 tennis balls. He buys 2 more cans of 3 tennis balls each. How many tennis balls does he have now?',
    steps: 'Roger started with 5 balls. 2 cans of 3 tennis balls each is 6 tennis balls. 5 + 6 = 11.',
    answer: '11',
  }];
  const q = 'The cafeteria had 23 apples. If they used 20 to make lunch and bought 6 more, how many apples do they have?';
  t.equal(chainOfThoughtPrompt(exemplars, q),
    'Q: Roger has 5 tennis balls. He buys 2 more cans of 3 tennis balls each. How many tennis balls does he have now?\n' +
    'A: Roger started with 5 balls. 2 cans of 3 tennis balls each is 6 tennis balls. 5 + 6 = 11. The answer is 11.\n\n' +
    'Q: The cafeteria had 23 apples. If they used 20 to make lunch and bought 6 more, how many apples do they have?\nA:');
  t.throws(() => chainOfThoughtPrompt(exemplars, q, { ...CHAIN_OF_THOUGHT_TEMPLATE, example: 'Q: {question}\nA: {answer}' }),
    { code: 'PROMPT_BAD_TEMPLATE', message: /\{steps\}/ });
});

t.test("zero-shot CoT: the trigger, then the answer-extraction prompt built from the reasoning", async (t) => {
  const q = 'A juggler can juggle 16 balls. Half of the balls are golf balls. How many golf balls are there?';
  const stage1 = zeroShotCotPrompt(q);
  t.equal(stage1, `Q: ${q}\nA: Let's think step by step.`);
  const reasoning = ' There are 16 balls in total. Half of the balls are golf balls. That means there are 8 golf balls.\n';
  t.equal(zeroShotCotAnswerPrompt(q, reasoning),
    `Q: ${q}\nA: Let's think step by step. There are 16 balls in total. Half of the balls are golf balls. That means there are 8 golf balls. Therefore, the answer is`);
  t.equal(zeroShotCotAnswerPrompt(q, '   '), `Q: ${q}\nA: Let's think step by step. Therefore, the answer is`, 'empty reasoning');
  const custom = { query: 'Question: {question}\nAnswer:', reasoningTrigger: "Let's work this out.", answerTrigger: 'Therefore, the answer (arabic numerals) is' };
  t.equal(zeroShotCotAnswerPrompt('1+1?', '1+1=2.', custom), "Question: 1+1?\nAnswer: Let's work this out. 1+1=2. Therefore, the answer (arabic numerals) is");
});
