// The shared optimizer loop on a one-parameter problem: schedule, evaluation
// and checkpoint iterations, metrics lines, and the NaN/Inf guard.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AdamW } from '../../lib/optim/adamw.js';
import { backward } from '../../lib/tensor/autograd.js';
import { learningRate } from '../../lib/optim/schedule.js';
import { pairwiseRankingLoss } from '../../lib/objectives/pairwise_ranking.js';
import { accumulateLosses, openMetrics, runTrainingLoop, type LoopConfig, type LoopEvent, type TrainingLoop } from '../../lib/stages/training_loop.js';
import { tensor, zeros } from '../../lib/tensor/tensor.js';
import { matmulPrecision } from '../../lib/tensor/ops/matmul_precision.js';
import { expectClose } from '../helpers/compare.js';

const base: LoopConfig = {
  max_iters: 10, learning_rate: 0.1, min_lr: 0.01, warmup_iters: 2, lr_decay_iters: 10, decay_lr: true,
  grad_clip: 1, eval_interval: 4, log_interval: 3, checkpoint_interval: 5, skip_nonfinite: false,
};

/** Minimises (p − 3)² with AdamW; `lossAt` may poison chosen steps. */
function loop(over: Partial<LoopConfig> = {}, lossAt: (call: number) => number = () => 0, metricsFile?: string) {
  const p = zeros([1], true);
  const optimizer = new AdamW([['p', p]], { weightDecay: 0 });
  const events: LoopEvent[] = [], evals: number[] = [], checkpoints: number[] = [];
  const pAfterStep: number[] = [];
  let calls = 0;
  const spec: TrainingLoop = {
    config: { ...base, ...over }, optimizer, startIter: 0, resumed: false, checkpointDir: null, elapsed: () => 0,
    metrics: metricsFile ? openMetrics(metricsFile, null) : null,
    accumulate: () => {
      const x = p.f32()[0]!;
      p.grad = Float32Array.of(2 * (x - 3));
      return { loss: (x - 3) ** 2 + lossAt(calls++), tokens: 8 };
    },
    evaluate: (iter) => evals.push(iter),
    checkpoint: (iter) => (checkpoints.push(iter), '/ckpt'),
    emit: (e) => {
      events.push(e);
      if (e.type === 'step') pAfterStep.push(p.f32()[0]!);
    },
  };
  return { run: () => runTrainingLoop(spec), p, events, evals, checkpoints, pAfterStep, close: () => spec.metrics?.close() };
}

t.test('steps follow the warmup + cosine schedule; eval at 0, every eval_interval and the end; checkpoints likewise', async (t) => {
  const l = loop();
  t.equal(l.run(), 10);
  const steps = l.events.filter((e) => e.type === 'step');
  t.same(steps.map((e) => e.iter), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const schedule = { lr: 0.1, warmupSteps: 2, decaySteps: 10, minLr: 0.01 };
  t.same(steps.map((e) => e.lr), steps.map((_, i) => learningRate(i, schedule)), 'lr of step i is the schedule at i − 1');
  t.same(steps.filter((e) => e.logged).map((e) => e.iter), [3, 6, 9, 10]);
  t.same(l.evals, [0, 4, 8, 10]);
  t.same(l.checkpoints, [5, 10]);
  t.same(l.events.filter((e) => e.type === 'checkpoint').map((e) => e.iter), [5, 10]);
  t.ok(l.p.f32()[0]! > 0.3, `AdamW moved p toward 3: ${l.p.f32()[0]}`);
});

t.test('a NaN loss stops training naming the iteration, unless skip_nonfinite: then the update is skipped', async (t) => {
  const poison = (call: number) => (call === 3 ? NaN : 0);
  const stopped = loop({}, poison);
  t.throws(() => stopped.run(), { name: 'TrainingError', code: 'TRAIN_NONFINITE', message: /iteration 3: loss is NaN.*no checkpoint was written yet.*skip_nonfinite/ });
  const dir = t.testdir();
  const file = path.join(dir, 'metrics.jsonl');
  const skipping = loop({ skip_nonfinite: true }, poison, file);
  t.equal(skipping.run(), 10);
  skipping.close();
  t.same(skipping.events.filter((e) => e.type === 'skip').map((e) => e.iter), [3]);
  const p = skipping.pAfterStep;
  t.equal(p[3], p[2], 'step 4 (iteration 3) left p as it was');
  t.ok(p[4]! > p[3]! && p[2]! > p[1]!, 'the steps around it updated p');
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.same(lines.filter((l) => l['event'] === 'skip'), [{ event: 'skip', iter: 3, loss: 'NaN', grad_norm: lines.find((l) => l['event'] === 'skip')!['grad_norm'], elapsed_s: 0 }]);
  t.same(lines.filter((l) => l['event'] === 'train').map((l) => l['iter']), [3, 6, 9, 10]);
});

t.test('accumulation: two micro-batches of 3 pairs give the loss and gradient of one batch of all 6', async (t) => {
  const winners = Int32Array.of(0, 0, 1, 2, 2, 3), losers = Int32Array.of(1, 2, 3, 1, 3, 0);
  const r = tensor([0.5, -0.2, 1.3, 0.1], [4], true);
  const halves = [0, 3].map((s) => [winners.subarray(s, s + 3), losers.subarray(s, s + 3)] as const);
  let k = 0;
  const accumulated = accumulateLosses(2, () => pairwiseRankingLoss(r, ...halves[k++]!));
  const gradAccumulated = r.grad!.slice();
  r.grad = null;
  const whole = pairwiseRankingLoss(r, winners, losers);
  backward(whole);
  expectClose(t, 'loss', [accumulated], whole.f32(), { atol: 1e-7, rtol: 1e-6 });
  expectClose(t, 'gradient', gradAccumulated, r.grad!, { atol: 1e-7, rtol: 1e-6 });
});

t.test('matmul_precision bf16: every step and evaluation runs in the bf16 scope, which ends with the loop', async (t) => {
  const p = zeros([1], true);
  const seen: string[] = [];
  const spec: TrainingLoop = {
    config: { ...base, max_iters: 3, eval_interval: 2, checkpoint_interval: 0, matmul_precision: 'bf16' },
    optimizer: new AdamW([['p', p]], { weightDecay: 0 }), startIter: 0, resumed: false, checkpointDir: null, elapsed: () => 0, metrics: null,
    accumulate: () => {
      seen.push(`step ${matmulPrecision()}`);
      p.grad = Float32Array.of(1);
      return { loss: 1, tokens: 1 };
    },
    evaluate: (iter) => seen.push(`eval ${iter} ${matmulPrecision()}`),
    checkpoint: () => null,
    emit: () => {},
  };
  t.equal(runTrainingLoop(spec), 3);
  t.same(seen, ['eval 0 bf16', 'step bf16', 'step bf16', 'eval 2 bf16', 'step bf16', 'eval 3 bf16']);
  t.equal(matmulPrecision(), 'fp32', 'fp32 again after the loop');
});
