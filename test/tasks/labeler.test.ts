// The simulated labeler: utilities by hand on a small case, noise-free
// rankings sorted by utility with exact answers first, measured flip rates
// against p (flip noise) and against σ(Δu / T) (Gumbel noise), seeding, bad
// options, and the preference JSONL it writes read back by the reader.
import t from 'tap';
import path from 'node:path';
import { loadPreferenceJsonl } from '../../lib/data/records_jsonl.js';
import { buildInstanceSets } from '../../lib/tasks/instances.js';
import { SimulatedLabeler, writeLabeledPreferences, type LabelerOptions } from '../../lib/tasks/labeler.js';
import { TASK_NAMES } from '../../lib/tasks/registry.js';
import { renderInstance } from '../../lib/tasks/render.js';
import type { TaskInstance } from '../../lib/tasks/types.js';
import { Random } from '../../lib/tensor/random.js';

const rev: TaskInstance = { task: 'reverse', input: 'abc', fields: {}, answer: 'cba' };

/** Kendall inversions of `ranking` against `reference` (both best first), per pair. */
function inversions(ranking: number[], reference: number[]): boolean[] {
  const pos = new Map(ranking.map((r, i) => [r, i]));
  const out: boolean[] = [];
  for (let a = 0; a < reference.length; a++)
    for (let b = a + 1; b < reference.length; b++) out.push(pos.get(reference[a]!)! > pos.get(reference[b]!)!);
  return out;
}

t.test('utilities and the noise-free ranking on a hand-computed case', async (t) => {
  const labeler = new SimulatedLabeler();
  const responses = ['cbx', 'cba', 'cba cba', ' cba\n', 'zzzzzz'];
  // u = 1·exact + 0.5·partial + 0.2·wellFormed − 0.2·extra/(extra+3), reference "cba" (3 chars)
  const expected = [
    0.5 * (2 / 3) + 0.2, // one letter off, well formed
    1 + 0.5 + 0.2, // right
    1 + 0.5 + 0.2 - 0.2 * (4 / 7), // right but 4 extra characters
    1 + 0.5 - 0.2 * (2 / 5), // right, but surrounding whitespace is not well formed
    0.2 - 0.2 * (3 / 6), // nothing in common, 3 extra
  ];
  const judged = labeler.rank(rev, responses);
  judged.assessments.forEach((a, i) => t.ok(Math.abs(a.utility - expected[i]!) < 1e-12, `response ${i}: u = ${a.utility.toFixed(4)}, by hand ${expected[i]!.toFixed(4)}`));
  t.same(judged.assessments.map((a) => a.wellFormed), [1, 1, 1, 0, 1]);
  t.same(judged.assessments.map((a) => a.extraChars), [0, 0, 4, 2, 3]);
  t.same(judged.ranking, [1, 2, 3, 0, 4]);
  t.same(labeler.rank(rev, ['cba', 'cba']).ranking, [0, 1], 'ties keep response order');
});

t.test('well-formed: one trimmed line of task characters ending in its answer', async (t) => {
  const labeler = new SimulatedLabeler();
  const add: TaskInstance = { task: 'addition', input: '345+659', fields: {}, answer: '1004', steps: '5+9+0=14, 4; 4+5+1=10, 04; 3+6+1=10, 004; 0+0+1=1, 1004' };
  const wf = (r: string, form: 'direct' | 'cot' = 'direct') => labeler.assess(add, r, form).wellFormed;
  t.equal(wf('1004'), 1);
  t.equal(wf('1004.'), 1, 'a final period is fine');
  t.equal(wf('1004 xq'), 0, 'trailing garbage');
  t.equal(wf('1004\n'), 0);
  t.equal(wf('1004é'), 0, 'a character no task uses');
  t.equal(wf('abc'), 0, 'no answer to read');
  t.equal(wf(renderInstance(add, { form: 'cot' }).output, 'cot'), 1);
  t.equal(wf(`${renderInstance(add, { form: 'cot' }).output}; 7+7`, 'cot'), 0);
  t.equal(labeler.assess(add, renderInstance(add, { form: 'cot' }).output, 'cot').extraChars, 0, 'the worked reference sets the length in the worked form');
});

/** Seeded random responses around an instance's answer: right, near, padded, wrong. */
function responsesFor(x: TaskInstance, rng: Random, k: number): string[] {
  const variants = [x.answer, `${x.answer} ${x.answer}`, `${x.answer}.`, x.answer.slice(1) || 'q', `${x.answer}x`, 'no idea', `${x.answer[0]}${x.answer}`, ` ${x.answer}`, '7'];
  return Array.from({ length: k }, () => variants[rng.int(variants.length)]!);
}

t.test('noise 0: rankings are sorted by utility and every exact answer beats every wrong one', async (t) => {
  const labeler = new SimulatedLabeler({ noise: { kind: 'none' } });
  const { eval: instances } = buildInstanceSets({ trainTasks: [], evalTasks: TASK_NAMES, trainPerTask: 0, evalPerTask: 40, seed: 5 });
  const rng = new Random(9);
  let bad = 0;
  let mixed = 0;
  for (const x of instances) {
    const responses = responsesFor(x, rng, 4);
    const { ranking, assessments } = labeler.rank(x, responses);
    if ([...ranking].sort().join() !== '0,1,2,3') bad++;
    for (let i = 1; i < ranking.length; i++) {
      const [hi, lo] = [assessments[ranking[i - 1]!]!, assessments[ranking[i]!]!];
      if (hi.utility < lo.utility || (hi.utility === lo.utility && ranking[i - 1]! > ranking[i]!)) bad++;
      if (hi.score.exact < lo.score.exact) bad++;
    }
    if (assessments.some((a) => a.score.exact === 1) && assessments.some((a) => a.score.exact === 0)) mixed++;
  }
  t.equal(bad, 0, 'no ranking out of order');
  t.ok(mixed > 100, `${mixed} prompts mix right and wrong responses`);
});

t.test('flip noise: each pair ends up inverted with probability p', async (t) => {
  const responses = ['cba', 'cba cba', 'cbx', 'zzzzzz'];
  const clean = new SimulatedLabeler().rank(rev, responses).ranking;
  t.same(clean, [0, 1, 2, 3]);
  for (const p of [0.1, 0.25]) {
    const labeler = new SimulatedLabeler({ noise: { kind: 'flip', p }, seed: 11 });
    const n = 4000;
    const perPair = new Array<number>(6).fill(0);
    for (let i = 0; i < n; i++) inversions(labeler.rank(rev, responses).ranking, clean).forEach((inv, j) => (perPair[j]! += inv ? 1 : 0));
    const overall = perPair.reduce((a, b) => a + b, 0) / (6 * n);
    // sd of the overall rate ≈ 0.005 here (rankings, not pairs, are independent); 0.02 is 4 sd.
    t.ok(Math.abs(overall - p) < 0.02, `p = ${p}: measured ${overall.toFixed(4)}`);
    for (const [j, c] of perPair.entries()) t.ok(Math.abs(c / n - p) < 0.035, `p = ${p}, pair ${j}: ${(c / n).toFixed(4)}`);
  }
  const never = new SimulatedLabeler({ noise: { kind: 'flip', p: 0 }, seed: 1 });
  for (let i = 0; i < 200; i++) if (never.rank(rev, responses).ranking.join() !== '0,1,2,3') t.fail('p = 0 changed a ranking');
});

t.test('Gumbel noise: i lands above j with probability σ((u_i − u_j) / T)', async (t) => {
  const responses = ['cba', 'cba cba', 'cbx'];
  const u = new SimulatedLabeler().rank(rev, responses).assessments.map((a) => a.utility);
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  for (const temperature of [0.2, 1]) {
    const labeler = new SimulatedLabeler({ noise: { kind: 'gumbel', temperature }, seed: 3 });
    const n = 4000;
    const above = [[0, 1], [0, 2], [1, 2]].map(() => 0);
    for (let r = 0; r < n; r++) {
      const pos = new Map(labeler.rank(rev, responses).ranking.map((x, i) => [x, i]));
      [[0, 1], [0, 2], [1, 2]].forEach(([i, j], k) => (above[k]! += pos.get(i!)! < pos.get(j!)! ? 1 : 0));
    }
    [[0, 1], [0, 2], [1, 2]].forEach(([i, j], k) => {
      const expected = sigmoid((u[i!]! - u[j!]!) / temperature);
      // binomial sd <= 0.008 at n = 4000; 0.03 is ~4 sd.
      t.ok(Math.abs(above[k]! / n - expected) < 0.03, `T = ${temperature}: P(${i} above ${j}) measured ${(above[k]! / n).toFixed(4)}, σ(Δu/T) = ${expected.toFixed(4)}`);
    });
  }
});

t.test('seeded: the same seed gives the same noisy rankings', async (t) => {
  const run = (options: LabelerOptions) => {
    const labeler = new SimulatedLabeler(options);
    return Array.from({ length: 50 }, () => labeler.rank(rev, ['cba', 'cbx', 'x', 'cba cba']).ranking.join('')).join(' ');
  };
  for (const noise of [{ kind: 'flip', p: 0.3 }, { kind: 'gumbel', temperature: 0.5 }] as const) {
    t.equal(run({ noise, seed: 4 }), run({ noise, seed: 4 }));
    t.not(run({ noise, seed: 4 }), run({ noise, seed: 5 }));
  }
});

t.test('bad options and K < 2 are errors naming the option', async (t) => {
  t.throws(() => new SimulatedLabeler({ noise: { kind: 'flip', p: 0.6 } }), { name: 'ConfigError', message: /noise\.p must be in \[0, 0\.5\]/ });
  t.throws(() => new SimulatedLabeler({ noise: { kind: 'gumbel', temperature: 0 } }), { message: /noise\.temperature must be > 0/ });
  t.throws(() => new SimulatedLabeler({ conciseWeight: -1 }), { message: /conciseWeight must be a finite number >= 0/ });
  t.throws(() => new SimulatedLabeler({ seed: 1.5 }), { message: /seed must be an integer/ });
  t.throws(() => new SimulatedLabeler().rank(rev, ['cba']), { message: /got 1 response\(s\); ranking needs K >= 2/ });
  t.throws(() => new SimulatedLabeler().rank(rev, ['cba', 'abc'], 'cot'), { message: /"reverse" has no worked-steps form/ });
});

t.test('writes preference JSONL that the reader accepts', async (t) => {
  const dir = t.testdir({});
  const file = path.join(dir, 'prefs.jsonl');
  const { eval: instances } = buildInstanceSets({ trainTasks: [], evalTasks: ['addition', 'entity'], trainPerTask: 0, evalPerTask: 5, seed: 2 });
  const rng = new Random(4);
  const items = instances.map((x) => ({ prompt: `${renderInstance(x).instruction}\n${x.input}\n`, instance: x, responses: responsesFor(x, rng, 4) }));
  const labeler = new SimulatedLabeler({ noise: { kind: 'gumbel', temperature: 0.1 }, seed: 1 });
  const written = writeLabeledPreferences(file, items, labeler);
  t.equal(written.length, 10);
  t.same(await loadPreferenceJsonl(file), written);
  t.same(written[0]!.responses, items[0]!.responses);
});
