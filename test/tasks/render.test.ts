// Rendering instances as instruction examples: template choice, the worked
// form's trigger and answer phrase, and FLAN-style template mixing.
import t from 'tap';
import { getTask } from '../../lib/tasks/registry.js';
import { COT_TRIGGER, renderInstance, renderInstances } from '../../lib/tasks/render.js';
import type { TaskInstance } from '../../lib/tasks/types.js';
import { Random } from '../../lib/tensor/random.js';

const add: TaskInstance = { task: 'addition', input: '345+659', fields: {}, answer: '1004', steps: '5+9+0=14, 4; 4+5+1=10, 04; 3+6+1=10, 004; 0+0+1=1, 1004' };
const count: TaskInstance = { task: 'count_letter', input: 'banana', fields: { letter: 'a' }, answer: '3', steps: 'b:0 a:1 n:1 a:2 n:2 a:3' };
const rev: TaskInstance = { task: 'reverse', input: 'lamp', fields: {}, answer: 'pmal' };

t.test('direct and worked forms, by hand', async (t) => {
  t.same(renderInstance(add), { instruction: 'Add the numbers.', input: '345+659', output: '1004', task: 'addition' });
  t.same(renderInstance(add, { template: 1, form: 'cot' }), {
    instruction: `What is the sum? ${COT_TRIGGER}`, input: '345+659',
    output: '5+9+0=14, 4; 4+5+1=10, 04; 3+6+1=10, 004; 0+0+1=1, 1004; so the answer is 1004', task: 'addition' });
  t.same(renderInstance(count, { template: 2 }), { instruction: 'How often is a in the word?', input: 'banana', output: '3', task: 'count_letter' });
  t.same(renderInstance(rev, { template: 3 }), { instruction: 'Turn the word around, last letter first.', input: 'lamp', output: 'pmal', task: 'reverse' });
  t.throws(() => renderInstance(rev, { template: -1 }), { name: 'ConfigError' });
  t.throws(() => renderInstance({ ...count, fields: {} }), { name: 'PromptError', message: /field "letter" is missing/ });
});

t.test('renderInstances mixes templates with the rng and emits the forms asked for', async (t) => {
  const many = Array.from({ length: 400 }, () => rev);
  const used = new Set(renderInstances(many, new Random(1)).map((e) => e.instruction));
  t.equal(used.size, getTask('reverse').templates.length, 'every template gets used');
  t.equal(JSON.stringify(renderInstances(many, new Random(1))), JSON.stringify(renderInstances(many, new Random(1))), 'seeded');
  const direct = renderInstances([add, rev], new Random(2), 'direct');
  t.same(direct.map((e) => e.output), ['1004', 'pmal']);
  const cot = renderInstances([add, rev], new Random(2), 'cot');
  t.same(cot.map((e) => e.output.endsWith('so the answer is 1004') || e.output === 'pmal'), [true, true], 'worked where possible, direct for the rest');
  const both = renderInstances([add, rev], new Random(2), 'both');
  t.equal(both.length, 3);
  t.same(both.map((e) => e.instruction.endsWith(COT_TRIGGER)), [false, true, false]);
});
