// The suite as a whole: FLAN task splits (families or whole clusters held
// out, both sides non-empty, disjoint) and TASK_CHARSET, checked against the
// characters of many rendered examples in every template and form.
import t from 'tap';
import { DEFAULT_HELD_OUT, TASK_CHARSET, TASK_CLUSTERS, TASK_FAMILIES, TASK_NAMES, getTask, taskSplit } from '../../lib/tasks/registry.js';
import { renderInstance } from '../../lib/tasks/render.js';
import { resolveParams } from '../../lib/tasks/types.js';
import { Random } from '../../lib/tensor/random.js';

t.test('taskSplit: held-out families never in train; union is the suite', async (t) => {
  const check = (heldOut: readonly string[], expectedHeld: string[]) => {
    const split = taskSplit(heldOut);
    t.same(split.heldOut, expectedHeld, `held out for ${heldOut.join(',')}`);
    t.same(split.train.filter((n) => split.heldOut.includes(n)), [], 'disjoint');
    t.same([...split.train, ...split.heldOut].sort(), [...TASK_NAMES].sort(), 'covers the suite');
  };
  check(DEFAULT_HELD_OUT, [...DEFAULT_HELD_OUT]);
  t.same(taskSplit(), taskSplit(DEFAULT_HELD_OUT));
  check(['reverse', 'addition'], ['reverse', 'addition']);
  check(['strings'], ['copy', 'reverse', 'sort_letters', 'uppercase']);
  check(['letters', 'sentiment'], ['first_letter', 'last_letter', 'count_letter', 'sentiment']);
  for (const f of TASK_FAMILIES) t.ok(TASK_CLUSTERS[f.cluster]!.includes(f.name), `${f.name} in its cluster`);
  t.ok(Object.keys(TASK_CLUSTERS).length >= 4, 'several clusters to hold out');
});

t.test('taskSplit rejects unknown names and empty sides', async (t) => {
  t.throws(() => taskSplit(['revers']), { name: 'ConfigError', code: 'CONFIG_UNKNOWN_TASK', message: /"revers" is neither a task nor a cluster \(tasks: copy, .*clusters: strings/ });
  t.throws(() => taskSplit([]), { code: 'CONFIG_INVALID', message: /no task held out/ });
  t.throws(() => taskSplit(Object.keys(TASK_CLUSTERS)), { code: 'CONFIG_INVALID', message: /every task is held out/ });
  t.throws(() => getTask('Copy'), { code: 'CONFIG_UNKNOWN_TASK' });
});

t.test('TASK_CHARSET is exactly the characters of the task texts', async (t) => {
  t.equal(TASK_CHARSET, [...new Set(TASK_CHARSET)].sort().join(''), 'sorted, no repeats');
  t.notMatch(TASK_CHARSET, /\n/, 'no newline: layout belongs to the instruction format');
  const seen = new Set<string>();
  const outside = new Set<string>();
  for (const family of TASK_FAMILIES) {
    const rng = new Random(17);
    // Widest parameters too, so long inputs and many digits are covered.
    const wide = Object.fromEntries(Object.entries(family.params).map(([k, spec]) => [k, k.startsWith('min') ? spec.min : spec.max]));
    for (const params of [resolveParams(family), resolveParams(family, wide)]) {
      for (let i = 0; i < 1500; i++) {
        const x = family.generate(rng, params);
        const forms = family.hasWorkedSteps ? (['direct', 'cot'] as const) : (['direct'] as const);
        for (const form of forms) {
          const ex = renderInstance(x, { template: i % family.templates.length, form });
          for (const c of ex.instruction + ex.input + ex.output) (TASK_CHARSET.includes(c) ? seen : outside).add(c);
        }
      }
    }
  }
  t.same([...outside], [], 'no character outside TASK_CHARSET');
  t.equal([...seen].sort().join(''), TASK_CHARSET, 'every TASK_CHARSET character occurs');
});
