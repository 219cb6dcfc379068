// Instance sets: seeded, no repeats, no evaluation instance in training,
// each (task, split) stream independent of the others, clear errors.
import t from 'tap';
import { buildInstanceSets, generateInstances, instanceKey } from '../../lib/tasks/instances.js';
import { TASK_NAMES, taskSplit } from '../../lib/tasks/registry.js';
import { Random } from '../../lib/tensor/random.js';
import type { TaskInstance } from '../../lib/tasks/types.js';

// JSON text comparison: tap's deep equality is slow on thousands of objects.
const json = (v: unknown) => JSON.stringify(v);
const key = (x: TaskInstance) => JSON.stringify([x.task, x.input, Object.entries(x.fields).sort()]);

t.test('train and eval sets are disjoint, duplicate-free, and seeded', async (t) => {
  const split = taskSplit();
  const options = { trainTasks: split.train, evalTasks: TASK_NAMES, trainPerTask: 300, evalPerTask: 100, seed: 7 };
  const sets = buildInstanceSets(options);
  t.equal(sets.train.length, split.train.length * 300);
  t.equal(sets.eval.length, TASK_NAMES.length * 100);
  const trainKeys = new Set(sets.train.map(key));
  const evalKeys = new Set(sets.eval.map(key));
  t.equal(trainKeys.size, sets.train.length, 'no repeats in train');
  t.equal(evalKeys.size, sets.eval.length, 'no repeats in eval');
  t.same([...evalKeys].filter((k) => trainKeys.has(k)), [], 'no eval instance in train');
  t.same(sets.train.filter((x) => split.heldOut.includes(x.task)), [], 'held-out tasks have no training instances');
  t.equal(json(buildInstanceSets(options)), json(sets), 'same seed, same sets');
  t.not(json(buildInstanceSets({ ...options, seed: 8 }).eval), json(sets.eval), 'another seed, other sets');
  const moreTrain = buildInstanceSets({ ...options, trainPerTask: 50, trainTasks: ['addition'] });
  t.equal(json(moreTrain.eval), json(sets.eval), 'eval sets do not depend on the training request');
  t.equal(json(moreTrain.train), json(sets.train.filter((x) => x.task === 'addition').slice(0, 50)), 'each task draws from its own stream');
});

t.test('a small problem space: every eval instance is withheld from train even when they compete', async (t) => {
  // first_letter over 1-letter words has 26 problems: 10 for eval leaves exactly 16 for train.
  const params = { first_letter: { minLength: 1, maxLength: 1 } };
  const sets = buildInstanceSets({ trainTasks: ['first_letter'], evalTasks: ['first_letter'], trainPerTask: 16, evalPerTask: 10, seed: 3, params });
  const all = [...sets.train, ...sets.eval].map((x) => x.input).sort();
  t.same(all, 'abcdefghijklmnopqrstuvwxyz'.split(''), 'the 26 problems, each once');
  t.throws(() => buildInstanceSets({ trainTasks: ['first_letter'], evalTasks: ['first_letter'], trainPerTask: 17, evalPerTask: 10, seed: 3, params }), {
    name: 'ConfigError', code: 'CONFIG_TOO_FEW_INSTANCES', message: /task "first_letter": found only 16 distinct instances of the 17 asked for \(10 reserved for evaluation\)/ });
});

t.test('instanceKey ignores the template and separates fields', async (t) => {
  const a: TaskInstance = { task: 'count_letter', input: 'aab', fields: { letter: 'a' }, answer: '2' };
  t.not(instanceKey(a), instanceKey({ ...a, fields: { letter: 'b' }, answer: '1' }), 'the letter asked for is part of the problem');
  t.equal(instanceKey(a), instanceKey({ ...a, steps: 'a:1 a:2 b:2' }));
  t.not(instanceKey(a), instanceKey({ ...a, task: 'copy', fields: {} }));
});

t.test('bad requests name the argument', async (t) => {
  const base = { trainTasks: ['copy'], evalTasks: ['copy'], trainPerTask: 1, evalPerTask: 1, seed: 0 };
  t.throws(() => buildInstanceSets({ ...base, trainTasks: ['copy', 'copy'] }), { code: 'CONFIG_INVALID', message: /trainTasks: "copy" is listed twice/ });
  t.throws(() => buildInstanceSets({ ...base, evalTasks: ['nope'] }), { code: 'CONFIG_UNKNOWN_TASK' });
  t.throws(() => buildInstanceSets({ ...base, params: { nope: {} } }), { code: 'CONFIG_UNKNOWN_TASK' });
  t.throws(() => buildInstanceSets({ ...base, params: { copy: { maxLength: 99 } } }), { code: 'CONFIG_INVALID', message: /task "copy": parameter maxLength/ });
  t.throws(() => generateInstances('copy', -1, new Random(0)), { message: /count must be a non-negative integer/ });
  t.same(generateInstances('copy', 0, new Random(0)), []);
});

t.test('a per-task evaluation count extends that family\'s stream and leaves the others alone', async (t) => {
  const options = { trainTasks: ['addition', 'copy'], evalTasks: ['addition', 'copy'], trainPerTask: 100, evalPerTask: 20, seed: 5 };
  const plain = buildInstanceSets(options);
  const more = buildInstanceSets({ ...options, evalPerTaskOverrides: { addition: 80 } });
  const of = (xs: TaskInstance[], task: string) => xs.filter((x) => x.task === task);
  t.equal(of(more.eval, 'addition').length, 80, '80 additions');
  t.equal(json(of(more.eval, 'addition').slice(0, 20)), json(of(plain.eval, 'addition')), 'the first 20 are the same instances');
  t.equal(json(of(more.eval, 'copy')), json(of(plain.eval, 'copy')), 'other families unchanged');
  const evalKeys = new Set(more.eval.map(key));
  t.same(more.train.filter((x) => evalKeys.has(key(x))), [], 'none of the extra ones in train');
  t.throws(() => buildInstanceSets({ ...options, evalPerTaskOverrides: { nonesuch: 3 } }), /nonesuch/);
});
