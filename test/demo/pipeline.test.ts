// The demo pipeline end to end on a config small enough for CI (seconds): every
// stage runs, the report renders, and each claim's `holds` follows from the
// measured numbers it quotes. Whether the claims hold at full size is what
// `lmkit demo` measures; here the models are far too small for that.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';

import { QUICK_DEMO, type DemoConfig } from '../../lib/demo/config.js';
import { demoChecks, runDemo, type DemoMetrics } from '../../lib/demo/pipeline.js';
import { demoReport } from '../../lib/demo/report.js';
import { writeReport } from '../../lib/report/write_report.js';

const TINY: DemoConfig = {
  ...QUICK_DEMO,
  pretrain: { ...QUICK_DEMO.pretrain, iters: 10 },
  tasks: { ...QUICK_DEMO.tasks, trainPerTask: 60, evalPerTask: 4 },
  sft: { ...QUICK_DEMO.sft, iters: 10 },
  rm: { ...QUICK_DEMO.rm, prompts: 8, heldOutPrompts: 4, iters: 5 },
  ppo: { ...QUICK_DEMO.ppo, iterations: 2, batch_size: 4, mini_batch_size: 2 },
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

t.test('a claim holds exactly when its measured numbers say so', (t) => {
  const r = (exact: number, partial = exact) => ({ byTask: [{ task: 'copy', exact, partial, n: 10 }, { task: 'addition', exact, partial, n: 10 }], exact, partial, samples: [] });
  const step = (iter: number, score: number, kl: number) => ({ iter, score, kl, klCoef: 0.1, rlhfReward: 0, policyLoss: 0, valueLoss: 0, clipFrac: 0, valueClipFrac: 0, entropy: 0, approxKl: 0, ptxLoss: null, responseLength: 1 });
  const base = {
    config: QUICK_DEMO, stages: [], pretrain: { curve: [], valLoss: 1, parameters: 1 },
    prompting: { zeroShot: r(0), oneShot: r(0), fewShot: r(0) },
    sft: { curve: [], valLoss: 1, examples: 1, trainTasks: ['addition'], heldOutTasks: ['copy'] },
    heldOut: { base: r(0, 0.1), sft: r(0.3, 0.5) }, cot: { direct: r(0.2), cot: r(0.6) },
    rm: { curve: [], trainPrompts: 1, heldOutPrompts: 1, dropped: 0, sampleAccuracy: 0, heldOutAccuracy: 0.93, heldOutPairs: 60, initialAccuracy: 0.5 },
    ppo: { history: [step(1, 0.1, 0.5), step(2, 0.3, 1.5), step(3, 0.5, 2.2)], before: r(0), after: r(0) },
    glm: { pretrainCurve: [], pretrainValLoss: 1, clozeCurve: [], clozeAccuracyBefore: 0.5, clozeAccuracy: 0.8, chance: 0.5, clozeEval: 10, samples: [] },
  } satisfies Omit<DemoMetrics, 'checks'>;
  t.same(demoChecks(base).map((c) => c.holds), [true, true, true, true, true, true]);
  const worse = demoChecks({
    ...base, heldOut: { base: r(0.3, 0.5), sft: r(0.3, 0.5) }, cot: { direct: r(0.6), cot: r(0.6) },
    rm: { ...base.rm, heldOutAccuracy: 0.89 }, ppo: { ...base.ppo, history: [step(1, 0.5, 0.1), step(2, 0.3, 0.2), step(3, 0.1, 0.3)] },
    glm: { ...base.glm, clozeAccuracy: 0.5 },
  });
  t.same(worse.map((c) => c.holds), [false, false, false, false, false, false]);
  t.end();
});
