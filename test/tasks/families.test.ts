// Each task family: deterministic per seed; its answers match answers the
// test computes on its own from the input; the verifier accepts the answer
// (direct and worked forms) and rejects perturbed ones; templates are >= 3,
// distinct across the suite, and fill their fields; worked steps are sound.
import t from 'tap';
import { additionSteps } from '../../lib/tasks/addition.js';
import { tallySteps } from '../../lib/tasks/letters.js';
import { TASK_FAMILIES, getTask } from '../../lib/tasks/registry.js';
import { renderInstance } from '../../lib/tasks/render.js';
import { scoreResponse } from '../../lib/tasks/scoring.js';
import { resolveParams, type TaskFamily, type TaskInstance } from '../../lib/tasks/types.js';
import { NEGATIVE_WORDS, POSITIVE_WORDS } from '../../lib/tasks/words.js';
import { Random } from '../../lib/tensor/random.js';

function draw(family: TaskFamily, seed: number, n: number, params: Record<string, number> = {}): TaskInstance[] {
  const rng = new Random(seed);
  const resolved = resolveParams(family, params);
  return Array.from({ length: n }, () => family.generate(rng, resolved));
}

/** The answer, computed here from the input alone (not by the generator's code). */
const reference: Record<string, (x: TaskInstance) => string> = {
  copy: (x) => x.input,
  reverse: (x) => x.input.split('').reverse().join(''),
  sort_letters: (x) => x.input.split('').sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0)).join(''),
  uppercase: (x) => x.input.replace(/[a-z]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 32)),
  first_letter: (x) => x.input.charAt(0),
  last_letter: (x) => x.input.charAt(x.input.length - 1),
  count_letter: (x) => String(x.input.split(x.fields.letter!).length - 1),
  addition: (x) => {
    const [a, b] = x.input.split('+').map(BigInt);
    return String(a! + b!);
  },
  sentiment: (x) => {
    const words = x.input.split(' ');
    const balance = words.filter((w) => POSITIVE_WORDS.includes(w)).length - words.filter((w) => NEGATIVE_WORDS.includes(w)).length;
    return balance > 0 ? 'good' : 'bad';
  },
  entity: (x) => x.input.split(' ').filter((w) => /^[A-Z]/.test(w)).join(','),
  entailment: (x) => {
    const q = /does (\w+) have a (\w+)\?$/.exec(x.input)!;
    return x.input.includes(`${q[1]} has a ${q[2]}.`) ? 'yes' : 'no';
  },
};

/** Wrong answers close to the right one. */
function perturbations(family: TaskFamily, answer: string): string[] {
  switch (family.answerKind) {
    case 'number':
      return [String(Number(answer) + 1), String(Math.max(0, Number(answer) - 1)) === answer ? '99999' : String(Number(answer) - 1), `${answer}1`];
    case 'label':
      return family.labels!.filter((l) => l !== answer);
    case 'yesno':
      return [answer === 'yes' ? 'no' : 'yes'];
    case 'word': {
      const swapped = answer[0] === 'q' ? 'z' : 'q';
      const out = [swapped + answer.slice(1), `${answer}x`, answer.toLowerCase() === answer ? answer.toUpperCase() : answer.toLowerCase()];
      if (answer.length > 1) out.push(answer.slice(0, -1));
      return out.filter((p) => p !== answer);
    }
  }
}

t.test('the suite has at least 8 families, each with >= 3 templates', async (t) => {
  t.ok(TASK_FAMILIES.length >= 8, `${TASK_FAMILIES.length} families`);
  t.same(new Set(TASK_FAMILIES.map((f) => f.name)).size, TASK_FAMILIES.length, 'names unique');
  for (const f of TASK_FAMILIES) t.ok(f.templates.length >= 3, `${f.name}: ${f.templates.length} templates`);
  t.ok(TASK_FAMILIES.filter((f) => f.hasWorkedSteps).map((f) => f.name).includes('addition'), 'addition has a worked form');
  t.ok(reference[TASK_FAMILIES[0]!.name], 'every family has a reference in this test');
  t.same(Object.keys(reference).sort(), TASK_FAMILIES.map((f) => f.name).sort());
});

t.test('templates are distinct across the whole suite and fill every field', async (t) => {
  const all = TASK_FAMILIES.flatMap((f) => f.templates.map((x) => x.toLowerCase()));
  t.equal(new Set(all).size, all.length, 'no phrasing is shared, so an instruction names one task');
  for (const f of TASK_FAMILIES) {
    for (const x of draw(f, 3, 20)) {
      for (let i = 0; i < f.templates.length; i++) {
        const ex = renderInstance(x, { template: i });
        t.notMatch(ex.instruction, /[{}]/, `${f.name} template ${i} filled`);
        for (const v of Object.values(x.fields)) t.ok(ex.instruction.includes(` ${v} `), `${f.name} template ${i} shows field ${v}`);
        t.equal(ex.input, x.input);
        t.equal(ex.output, x.answer);
        t.equal(ex.task, f.name);
      }
    }
  }
  t.throws(() => renderInstance(draw(getTask('copy'), 1, 1)[0]!, { template: 4 }), { name: 'ConfigError', message: /template must be an integer in \[0, 3\]/ });
});

for (const family of TASK_FAMILIES) {
  t.test(`${family.name}: seeded, right answers, verifier accepts them and rejects near misses`, async (t) => {
    const a = draw(family, 42, 200);
    t.equal(JSON.stringify(draw(family, 42, 200)), JSON.stringify(a), 'same seed, same instances');
    t.not(JSON.stringify(draw(family, 43, 200)), JSON.stringify(a), 'another seed, other instances');
    t.ok(new Set(a.map((x) => x.input)).size > 20, 'inputs vary');
    for (const x of a) {
      if (x.task !== family.name) t.fail(`instance of ${x.task}`);
      if (x.answer !== reference[family.name]!(x)) {
        t.fail(`${JSON.stringify(x)}: expected answer ${reference[family.name]!(x)}`);
        continue;
      }
      if ((x.steps !== undefined) !== family.hasWorkedSteps) t.fail(`${family.name}: steps present must match hasWorkedSteps`);
      const direct = scoreResponse(x, x.answer);
      if (direct.exact !== 1 || direct.partial !== 1) t.fail(`${family.name}: the answer ${x.answer} scored ${JSON.stringify(direct)}`);
      if (family.hasWorkedSteps) {
        const cot = renderInstance(x, { form: 'cot' }).output;
        const s = scoreResponse(x, cot, 'cot');
        if (s.exact !== 1) t.fail(`${family.name}: worked output ${cot} scored ${JSON.stringify(s)}`);
      }
      for (const wrong of perturbations(family, x.answer)) {
        const s = scoreResponse(x, wrong);
        if (s.exact !== 0) t.fail(`${family.name}: near miss ${wrong} for ${x.answer} scored exact`);
        if (!(s.partial < 1)) t.fail(`${family.name}: near miss ${wrong} got full partial credit`);
        if (family.hasWorkedSteps) {
          const cot = `${x.steps}; so the answer is ${wrong}`;
          if (scoreResponse(x, cot, 'cot').exact !== 0) t.fail(`${family.name}: worked output ending in ${wrong} scored exact`);
        }
      }
    }
    t.pass(`${a.length} instances checked`);
  });
}

t.test('addition worked steps: hand-written example and a column-by-column check', async (t) => {
  t.equal(additionSteps(345, 659), '5+9+0=14, 4; 4+5+1=10, 04; 3+6+1=10, 004; 0+0+1=1, 1004');
  t.equal(additionSteps(45, 659), '5+9+0=14, 4; 4+5+1=10, 04; 0+6+1=7, 704');
  t.equal(additionSteps(0, 0), '0+0+0=0, 0');
  const x = draw(getTask('addition'), 9, 1)[0]!;
  t.equal(renderInstance(x, { form: 'cot' }).output, `${x.steps}; so the answer is ${x.answer}`);
  t.equal(renderInstance(x, { form: 'cot' }).instruction, 'Add the numbers. Think step by step.');
  for (const y of draw(getTask('addition'), 5, 300, { minDigits: 1, maxDigits: 5 })) {
    const [a, b] = y.input.split('+').map((s) => s.split('').reverse().map(Number));
    const steps = y.steps!.split('; ').map((s) => /^(\d)\+(\d)\+([01])=(\d+), (\d+)$/.exec(s));
    let carry = 0;
    let written = '';
    steps.forEach((m, i) => {
      if (!m) return t.fail(`step ${i} of ${y.steps} is malformed`);
      const [x1, y1, c, sum] = [1, 2, 3, 4].map((k) => Number(m[k]));
      if (x1 !== (a![i] ?? 0) || y1 !== (b![i] ?? 0) || c !== carry || sum !== x1! + y1! + c!) t.fail(`${y.input}: step ${i} wrong: ${m[0]}`);
      written = String(sum! % 10) + written;
      if (m[5] !== written) t.fail(`${y.input}: step ${i} writes ${m[5]}, expected ${written}`);
      carry = sum! >= 10 ? 1 : 0;
    });
    if (carry !== 0 || written !== y.answer) t.fail(`${y.input}: the steps end at ${written}, answer ${y.answer}`);
    if (steps.length !== Math.max(a!.length, b!.length) + (y.answer.length > Math.max(a!.length, b!.length) ? 1 : 0)) t.fail(`${y.input}: ${steps.length} steps`);
  }
});

t.test('count_letter and sentiment worked steps', async (t) => {
  t.equal(tallySteps('banana', 'a'), 'b:0 a:1 n:1 a:2 n:2 a:3');
  t.equal(tallySteps('xyz', 'q'), 'x:0 y:0 z:0');
  const counts = new Set<string>();
  for (const x of draw(getTask('count_letter'), 2, 300)) {
    counts.add(x.answer);
    const last = x.steps!.split(' ').at(-1)!;
    t.equal(last.split(':')[1], x.answer, 'the tally ends at the answer');
    t.equal(x.steps!.split(' ').map((s) => s[0]).join(''), x.input, 'one step per letter');
  }
  t.ok(counts.has('0') && counts.has('1') && counts.has('3'), `counts seen: ${[...counts].sort()}`);
  for (const x of draw(getTask('sentiment'), 2, 200)) {
    const steps = x.steps!.split('; ').map((s) => s.split(' '));
    const polar = x.input.split(' ').filter((w) => POSITIVE_WORDS.includes(w) || NEGATIVE_WORDS.includes(w));
    t.same(steps.map((s) => s[0]), polar, 'one step per polar word, in order');
    for (const [w, label] of steps) t.equal(label, POSITIVE_WORDS.includes(w!) ? 'good' : 'bad');
    t.equal(polar.length % 2, 1, 'odd number of polar words: no tie');
  }
  t.throws(() => renderInstance(draw(getTask('reverse'), 1, 1)[0]!, { form: 'cot' }), { name: 'ConfigError', message: /"reverse" has no worked-steps form/ });
});

t.test('labels and yes/no answers are balanced; entity names are the only capitalised word', async (t) => {
  for (const [name, values] of [['sentiment', ['good', 'bad']], ['entailment', ['yes', 'no']]] as const) {
    const xs = draw(getTask(name), 11, 2000);
    for (const v of values) {
      const share = xs.filter((x) => x.answer === v).length / xs.length;
      t.ok(share > 0.45 && share < 0.55, `${name}: ${v} ${share.toFixed(3)}`);
    }
  }
  const positions = new Set<number>();
  for (const x of draw(getTask('entity'), 11, 300)) positions.add(x.input.split(' ').indexOf(x.answer));
  t.ok(positions.size >= 3, `the name appears at ${positions.size} different word positions`);
});

t.test('parameters: defaults, ranges, unknown names, min <= max, and they shape the instances', async (t) => {
  const reverse = getTask('reverse');
  t.same(resolveParams(reverse), { minLength: 3, maxLength: 8 });
  t.throws(() => resolveParams(reverse, { maxLen: 3 }), { name: 'ConfigError', code: 'CONFIG_UNKNOWN_KEY', message: /task "reverse": unknown parameter "maxLen" \(known: minLength, maxLength\)/ });
  t.throws(() => resolveParams(reverse, { maxLength: 13 }), { code: 'CONFIG_INVALID', message: /maxLength must be an integer in \[1, 12\]/ });
  t.throws(() => resolveParams(reverse, { maxLength: 2.5 }), { message: /maxLength must be an integer/ });
  t.throws(() => resolveParams(reverse, { minLength: 6, maxLength: 4 }), { message: /minLength = 6 exceeds maxLength = 4/ });
  for (const x of draw(reverse, 1, 100, { minLength: 10, maxLength: 12 })) t.ok(x.input.length >= 10 && x.input.length <= 12);
  const sums = draw(getTask('addition'), 1, 100, { minDigits: 4, maxDigits: 4 });
  for (const x of sums) t.match(x.input, /^\d{4}\+\d{4}$/);
  for (const x of draw(getTask('entailment'), 1, 100, { minFacts: 3, maxFacts: 3 })) t.equal(x.input.split('.').length - 1, 3);
});

t.test('with default parameters and the shortest template a direct example stays under 100 characters', async (t) => {
  for (const f of TASK_FAMILIES) {
    const shortest = f.templates.reduce((best, s, i) => (s.length < f.templates[best]!.length ? i : best), 0);
    let longest = 0;
    for (const x of draw(f, 8, 500)) {
      const ex = renderInstance(x, { template: shortest });
      longest = Math.max(longest, ex.instruction.length + ex.input.length + ex.output.length);
    }
    t.ok(longest < 100, `${f.name}: longest ${longest} chars`);
  }
});
