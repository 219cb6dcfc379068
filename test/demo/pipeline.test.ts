// The demo pipeline end to end on a config small enough for CI (seconds): every
// stage runs, the report renders, and each claim's `holds` follows from the
// measured numbers it quotes. Whether the claims hold at full size is what
// `lmkit demo` measures; here the models are far too small for that.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { QUICK_DEMO, type DemoConfig } from '../../lib/demo/config.js';
import type { EvalResult } from '../../lib/demo/evaluate.js';
import { demoChecks, runDemo, type DemoMetrics } from '../../lib/demo/pipeline.js';
import { demoReport } from '../../lib/demo/report.js';
import { writeReport } from '../../lib/report/write_report.js';

const TINY: DemoConfig = {
  ...QUICK_DEMO,
  pretrain: { ...QUICK_DEMO.pretrain, iters: 10 },
  tasks: { ...QUICK_DEMO.tasks, trainPerTask: 60, evalPerTask: 4 },
  sft: { ...QUICK_DEMO.sft, iters: 10 },
  rm: { ...QUICK_DEMO.rm, prompts: 8, heldOutPrompts: 4, iters: 5 },
  ppo: { ...QUICK_DEMO.ppo, iterations: 2, batch_size: 4, mini_batch_size: 2, evalPrompts: 4 },
  glm: { ...QUICK_DEMO.glm, pretrainIters: 10, clozeIters: 5, clozeTrain: 32, clozeEval: 16 },
};

const corpusFile = path.resolve(import.meta.dirname, '..', '..', 'data', 'tinyshakespeare.txt');

t.test('every stage runs on a tiny config and the report renders', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lmkit-demo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stages: string[] = [];
  const m = runDemo({ config: TINY, corpusFile, workDir: path.join(dir, 'work'), onEvent: (e) => { if (e.type === 'stage') stages.push(e.name); } });
  t.same(stages, m.stages.map((s) => s.name), 'one timing per announced stage');
  t.equal(stages.length, 8);
  t.equal(m.pretrain.curve.length, TINY.pretrain.iters, 'a loss per pre-training step');
  t.ok(m.pretrain.curve.every(([, y]) => Number.isFinite(y)));
  t.equal(m.ppo.history.length, TINY.ppo.iterations);
  t.equal(m.heldOut.sft.byTask.length, 11, 'every task family evaluated after IFT');
  t.ok(m.rm.heldOutPairs > 0);
  t.same(m.checks, demoChecks(m), 'checks are recomputable from the metrics');
  const written = writeReport(path.join(dir, 'report'), demoReport(m, { date: 'now', command: 'test', machine: 'test' }), m);
  t.ok(existsSync(written.html));
  const html = readFileSync(written.html, 'utf8');
  for (const c of m.checks) t.ok(html.includes(c.measured.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')), `report quotes: ${c.measured}`);
  t.end();
});

/** An EvalResult over copy and addition from per-instance exact scores (partial = exact unless given). */
function evalOf(scores: { copy: number[]; addition: number[] }, partial?: { copy: number[]; addition: number[] }): EvalResult {
  const tasks = ['copy', 'addition'] as const;
  const all = tasks.flatMap((task) => scores[task].map((exact, i) => ({ task, exact, partial: partial?.[task][i] ?? exact })));
  const byTask = tasks.map((task) => {
    const xs = all.filter((x) => x.task === task);
    return { task, exact: xs.reduce((s, x) => s + x.exact, 0) / xs.length, partial: xs.reduce((s, x) => s + x.partial, 0) / xs.length, n: xs.length };
  });
  return { byTask, exact: (byTask[0]!.exact + byTask[1]!.exact) / 2, partial: (byTask[0]!.partial + byTask[1]!.partial) / 2, samples: [], scores: all };
}

const ones = (n: number, of = 20) => Array.from({ length: of }, (_, i) => (i < n ? 1 : 0));
const reward = (scores: number[]) => ({ scores, mean: scores.reduce((s, x) => s + x, 0) / scores.length, responses: scores.map(() => '') });

t.test('a claim holds exactly when its measured numbers say so, and a lead a small set could show by luck does not count', (t) => {
  const step = (iter: number, score: number, kl: number) => ({ iter, score, kl, klCoef: 0.1, rlhfReward: 0, policyLoss: 0, valueLoss: 0, clipFrac: 0, valueClipFrac: 0, entropy: 0, approxKl: 0, ptxLoss: null, responseLength: 1 });
  const none = evalOf({ copy: ones(0), addition: ones(0) });
  const base = {
    config: QUICK_DEMO, stages: [], pretrain: { curve: [], valLoss: 1, parameters: 1 },
    prompting: { zeroShot: none, oneShot: none, fewShot: none },
    sft: { curve: [], valLoss: 1, examples: 1, trainTasks: ['addition'], heldOutTasks: ['copy'] },
    // Held-out copy: 0 → 10 of 20 exact (sign test p = 2^-10).
    heldOut: { base: none, sft: evalOf({ copy: ones(10), addition: ones(0) }) },
    // Addition: direct gets the first 4 right, worked steps the first 16 (12 wins, no losses).
    cot: { direct: evalOf({ copy: ones(0), addition: ones(4) }), cot: evalOf({ copy: ones(0), addition: ones(16) }) },
    rm: { curve: [], trainPrompts: 1, heldOutPrompts: 1, dropped: 0, tiedResponses: 0, sampleAccuracy: 0, heldOutAccuracy: 0.93, heldOutPairs: 60, initialAccuracy: 0.5 },
    ppo: {
      history: [step(1, 0.1, 0.5), step(2, 0.3, 1.5), step(3, 0.5, 2.2)], before: none, after: none,
      heldOutReward: { prompts: 16, sft: reward(Array.from({ length: 16 }, (_, i) => i / 16)), ppo: reward(Array.from({ length: 16 }, (_, i) => i / 16 + (i === 3 ? -0.5 : 0.2))) },
    },
    glm: { pretrainCurve: [], pretrainValLoss: 1, clozeCurve: [], clozeAccuracyBefore: 0.5, clozeAccuracy: 0.8, chance: 0.5, clozeEval: 100, samples: [] },
  } satisfies Omit<DemoMetrics, 'checks'>;
  const checks = demoChecks(base);
  t.same(checks.map((c) => c.holds), [true, true, true, true, true, true]);
  t.ok(checks[0]!.pValue! < 2 * 2 ** -10 + 1e-12 && checks[0]!.pValue! > 0, `IFT p ${checks[0]!.pValue} (Bonferroni over exact and partial)`);
  t.ok(Math.abs(checks[1]!.pValue! - 2 ** -12) < 1e-15, 'CoT: 12 wins, 0 losses');
  t.match(checks[3]!.measured, /15 higher, 1 lower/);

  // Leads a small set shows by luck: 1 of 20 held-out right, 2 more additions right, 55/100 cloze, 9 of 16 higher reward.
  const lucky = demoChecks({
    ...base,
    heldOut: { base: none, sft: evalOf({ copy: ones(1), addition: ones(0) }) },
    cot: { direct: evalOf({ copy: ones(0), addition: ones(4) }), cot: evalOf({ copy: ones(0), addition: ones(6) }) },
    ppo: { ...base.ppo, heldOutReward: { ...base.ppo.heldOutReward, ppo: reward(base.ppo.heldOutReward.sft.scores.map((x, i) => x + (i < 9 ? 0.1 : -0.1))) } },
    glm: { ...base.glm, clozeAccuracy: 0.55 },
  });
  t.same(lucky.map((c) => c.holds), [false, false, true, false, true, false]);
  t.equal(lucky[0]!.pValue, 1, 'one win: p = 2·0.5, capped at 1');
  t.ok(Math.abs(lucky[1]!.pValue! - 0.25) < 1e-15, 'two wins, no losses: p = 0.25');

  const worse = demoChecks({
    ...base, heldOut: { base: base.heldOut.sft, sft: base.heldOut.sft }, cot: { direct: base.cot.cot, cot: base.cot.cot },
    rm: { ...base.rm, heldOutAccuracy: 0.89 },
    ppo: { ...base.ppo, history: [step(1, 0.5, 0.1), step(2, 0.3, 0.2), step(3, 0.1, 0.3)], heldOutReward: { ...base.ppo.heldOutReward, ppo: base.ppo.heldOutReward.sft } },
    glm: { ...base.glm, clozeAccuracy: 0.5 },
  });
  t.same(worse.map((c) => c.holds), [false, false, false, false, false, false]);
  t.end();
});
