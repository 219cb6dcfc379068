// The training commands under mpirun (issue #11), two ranks on loopback:
// `lmkit train` and `lmkit sft` on 2 ranks end with weights and AdamW moments
// bitwise equal to one process that accumulates the same two micro-batches
// (gradient_accumulation_steps = 2), and within a stated tolerance of one
// process with the doubled batch in one micro-batch; rm and ppo run
// data parallel too; a rank killed mid-run stops the job with mpirun's
// message and --resume on a fresh launch ends bitwise where an uninterrupted
// run ends; a rank that stops answering makes the others fail with
// DIST_TIMEOUT after LMKIT_DIST_TIMEOUT; a resume on another world size is
// refused. Skips, saying how to install it, without Open MPI.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { writeInstructionJsonl, writePreferenceJsonl, writePromptJsonl } from '../../lib/data/records_jsonl.js';
import { readCheckpoint, type LoadedCheckpoint } from '../../lib/io/checkpoint.js';
import { toFloat32 } from '../../lib/io/safetensors.js';
import { renderPrompt } from '../../lib/stages/instruction_format.js';
import { runPpo } from '../../lib/cli/ppo.js';
import { runSft } from '../../lib/cli/sft.js';
import { runTrain } from '../../lib/cli/train.js';
import { captured } from '../helpers/cli_run.js';
import { repoRoot } from '../helpers/gpt2.js';
import { expectExit0, mpirunAvailable, mpirunJob } from '../helpers/mpirun.js';
import { saveTinyDecoder, saveTinyRewardModel } from '../helpers/stage_checkpoints.js';

const available = mpirunAvailable();
const skip = available === true ? false : available;

const dir = t.testdir({ 'data.txt': readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 60000) });
const data = path.join(dir, 'data.txt');

/** Every tensor of a checkpoint's weights and AdamW moments, by name. */
function tensorsOf(ckpt: LoadedCheckpoint): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [name, stored] of ckpt.weights.tensors) out.set(name, toFloat32(stored));
  for (const [name, m] of Object.entries(ckpt.optimizer!.m)) out.set(`exp_avg.${name}`, m);
  for (const [name, v] of Object.entries(ckpt.optimizer!.v)) out.set(`exp_avg_sq.${name}`, v);
  return out;
}

/** Largest |a − b| over every weight and moment of two training checkpoints (0: bitwise equal, NaN counts as unequal). */
function maxDiff(a: string, b: string): { max: number; tensors: number; worst: string } {
  const x = tensorsOf(readCheckpoint(a, { training: true })), y = tensorsOf(readCheckpoint(b, { training: true }));
  let max = x.size === y.size ? 0 : Infinity, worst = '';
  for (const [name, xs] of x) {
    const ys = y.get(name);
    if (!ys || ys.length !== xs.length) return { max: Infinity, tensors: x.size, worst: name };
    for (let i = 0; i < xs.length; i++) {
      const d = Object.is(xs[i], ys[i]) ? 0 : Math.abs(xs[i]! - ys[i]!);
      if (!(d <= max)) (max = Number.isNaN(d) ? Infinity : d), (worst = name);
    }
  }
  return { max, tensors: x.size, worst };
}

const losses = (out: string): number[] => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')
  .map((l) => JSON.parse(l) as { event: string; loss?: number }).filter((m) => m.event === 'train').map((m) => m.loss!);

const count = (text: string, re: RegExp): number => (text.match(new RegExp(re.source, 'g')) ?? []).length;

t.test('lmkit train on 2 ranks = 1 process accumulating the same 2 micro-batches (bitwise); ≈ 1 process with batch 16', { skip }, async (t) => {
  // tiny: batch_size 8 per rank, so the global batch is 16 windows.
  const common = ['train', '--config', 'tiny', '--data', data, '--max-iters', '12', '--set', 'eval_interval=6', '--set', 'eval_iters=2', '--set', 'checkpoint_interval=0', '--set', 'log_interval=3'];
  const two = path.join(dir, 'train-2ranks'), accum = path.join(dir, 'train-accum2'), big = path.join(dir, 'train-batch16');
  const r2 = await mpirunJob(t, 2, [...common, '--out', two]).done;
  expectExit0(t, r2, 'mpirun -np 2');
  t.match(r2.output, /256 tokens per iteration \(2 ranks\)/, 'the start line counts both ranks\' tokens');
  t.equal(count(r2.output, /iter 12\/12: loss/), 1, 'one rank prints the progress');
  t.equal(count(r2.output, /done: decoder on 2 ranks/), 1, 'one rank prints the result');
  // The single-process references run the same command in this process (no mpirun: a world of one).
  const ra = await captured(async () => runTrain([...common.slice(1), '--out', accum, '--set', 'gradient_accumulation_steps=2']));
  expectExit0(t, ra, 'one process, gradient_accumulation_steps=2');
  const rb = await captured(async () => runTrain([...common.slice(1), '--out', big, '--set', 'batch_size=16']));
  expectExit0(t, rb, 'one process, batch_size=16');

  const ck = (out: string): string => path.join(out, 'checkpoint');
  const bitwise = maxDiff(ck(two), ck(accum));
  t.equal(bitwise.max, 0, `2 ranks vs accumulation of 2 micro-batches: ${bitwise.tensors} tensors (weights + AdamW moments), max abs diff ${bitwise.max} (${bitwise.worst || 'none'})`);
  t.same(losses(two), losses(accum), 'the logged losses are the same numbers');
  const state = JSON.parse(readFileSync(path.join(two, 'checkpoint', 'trainer_state.json'), 'utf8')) as Record<string, unknown>;
  t.equal(state['world_size'], 2, 'the checkpoint records the world size');
  // One micro-batch of 16 sums each weight gradient over 256 rows in one GEMM
  // instead of two of 128 added afterwards: rounding differs at ~1e-7
  // relative, and AdamW's normalised steps carry such differences into the
  // weights at up to ~lr·steps in coordinates with tiny gradients. Measured
  // 1.2e-6 after 10 steps here; 2e-5 leaves room for other kernels (ISAs).
  const close = maxDiff(ck(two), ck(big));
  t.ok(close.max > 0 && close.max <= 2e-5, `2 ranks vs one batch of 16: max abs diff ${close.max.toExponential(2)} over weights and moments (${close.worst}), tolerance 2e-5`);
});

t.test('lmkit sft on 2 ranks = 1 process accumulating the same 2 micro-batches (bitwise)', { skip }, async (t) => {
  const base = path.join(dir, 'sft-base'), train = path.join(dir, 'sft.jsonl'), val = path.join(dir, 'sft-val.jsonl');
  saveTinyDecoder(base);
  const examples = ['Reverse abc:cba', 'Greet :hello', 'Add 2 3:5', 'Copy xyz:xyz', 'Upper ab:AB', 'Count aaa:3', 'First xy:x'].map((s) => {
    const [instruction, input, output] = s.split(/[ :]/) as [string, string, string];
    return { instruction, input, output };
  });
  writeInstructionJsonl(train, examples);
  writeInstructionJsonl(val, examples.slice(0, 3));
  const common = ['sft', '--ckpt', base, '--data', train, '--val', val, '--max-iters', '8',
    '--set', 'batch_size=2', '--set', 'eval_interval=4', '--set', 'checkpoint_interval=4', '--set', 'learning_rate=1e-2', '--set', 'warmup_iters=1'];
  const two = path.join(dir, 'sft-2ranks'), accum = path.join(dir, 'sft-accum2');
  const r2 = await mpirunJob(t, 2, [...common, '--out', two]).done;
  expectExit0(t, r2, 'mpirun -np 2');
  t.equal(count(r2.output, /val loss per output token/), 1, 'one rank prints the result');
  const ra = await captured(() => runSft([...common.slice(1), '--out', accum, '--set', 'gradient_accumulation_steps=2']));
  expectExit0(t, ra, 'one process, gradient_accumulation_steps=2');
  const d = maxDiff(path.join(two, 'checkpoint'), path.join(accum, 'checkpoint'));
  t.equal(d.max, 0, `sft, 2 ranks vs accumulation of 2: ${d.tensors} tensors, max abs diff ${d.max}`);
  t.same(losses(two), losses(accum), 'the logged losses are the same numbers');
  // The val set (3 examples) is split 2 + 1 over the ranks and each share is
  // batched on its own: the per-batch mean losses are float32, so the means
  // over all output tokens agree to ~1e-7 relative, not bitwise.
  const vals = (out: string): number[] => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { event: string; val_loss?: number }).filter((m) => m.event === 'eval').map((m) => m.val_loss!);
  t.equal(vals(two).length, 3, 'evaluated at 0, 4 and 8');
  vals(two).forEach((v, i) => t.ok(Math.abs(v - vals(accum)[i]!) <= 1e-6 * Math.abs(v), `eval ${i}: val loss ${v} on 2 ranks vs ${vals(accum)[i]} in one process (rtol 1e-6)`));
});

t.test('lmkit rm and ppo run data parallel on 2 ranks; a resume on 1 rank is refused', { skip }, async (t) => {
  const sftDir = path.join(dir, 'stage-sft'), rmDir = path.join(dir, 'stage-rm');
  saveTinyDecoder(sftDir);
  saveTinyRewardModel(rmDir, 9);
  const prompt = (instruction: string, input: string) => renderPrompt({ instruction, input });
  const prefs = path.join(dir, 'prefs.jsonl'), prompts = path.join(dir, 'prompts.jsonl');
  writePreferenceJsonl(prefs, [
    { prompt: prompt('Reverse', 'abc'), responses: ['cba', 'abc', 'bca'], ranking: [0, 2, 1] },
    { prompt: prompt('Add', '2 3'), responses: ['5', '6', 'five'], ranking: [0, 2, 1] },
    { prompt: prompt('Copy', 'xyz'), responses: ['xyz', 'zyx'], ranking: [0, 1] },
    { prompt: prompt('Greet', ''), responses: ['hello', 'go'], ranking: [0, 1] },
  ]);
  writePromptJsonl(prompts, ['Reverse abc', 'Add 2 3', 'Copy xyz', 'Greet', 'Count aaa'].map((instruction) => ({ prompt: prompt(instruction, '') })));
  const runs: [string, string[]][] = [
    ['rm', ['rm', '--ckpt', sftDir, '--data', prefs, '--max-iters', '4', '--set', 'batch_size=1']],
    ['ppo', ['ppo', '--policy', sftDir, '--rm', rmDir, '--prompts', prompts, '--iterations', '2',
      '--set', 'batch_size=2', '--set', 'mini_batch_size=1', '--set', 'ppo_epochs=1', '--set', 'max_new_tokens=4']],
  ];
  for (const [name, args] of runs) {
    const out = path.join(dir, `${name}-2ranks`);
    const r = await mpirunJob(t, 2, [...args, '--out', out]).done;
    expectExit0(t, r, name);
    t.equal(count(r.output, /done: \d+ iterations/), 1, `${name}: one rank prints the result`);
    const state = JSON.parse(readFileSync(path.join(out, 'checkpoint', 'trainer_state.json'), 'utf8')) as Record<string, unknown>;
    t.equal(state['world_size'], 2, `${name}: the checkpoint records 2 ranks`);
    if (name === 'ppo') {
      const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n');
      t.equal(metrics.length, 2, 'ppo: one metrics line per iteration, written once');
      const resumed = await captured(() => runPpo([...args.slice(1), '--out', out, '--iterations', '3', '--resume']));
      t.equal(resumed.code, 1);
      t.match(resumed.stderr, /the checkpoint was trained on 2 ranks but this run has 1; .*Resume with mpirun -np 2 \[CONFIG_RESUME_MISMATCH\]/);
    }
  }
});

t.test('kill -9 of one rank mid-run stops the job; --resume on a fresh launch ends bitwise where an uninterrupted run ends', { skip }, async (t) => {
  // Dropout on: each rank's own dropout stream must come back from the checkpoint too.
  const args = (out: string) => ['train', '--config', 'tiny', '--data', data, '--out', out, '--max-iters', '100',
    '--set', 'checkpoint_interval=10', '--set', 'eval_interval=100', '--set', 'eval_iters=2', '--set', 'dropout=0.1'];
  const killed = path.join(dir, 'killed'), clean = path.join(dir, 'clean');
  const victim = mpirunJob(t, 2, args(killed));
  t.ok(await victim.waitFor(/iter 10: checkpoint written/), 'the job wrote its first checkpoint');
  const pid = victim.pidOf(1);
  t.ok(pid, 'found rank 1');
  process.kill(pid!, 'SIGKILL');
  const r = await victim.done;
  t.notOk(r.killedByWatchdog, 'the job ended by itself, not by the test\'s watchdog');
  t.not(r.code, 0, 'mpirun exits with an error');
  t.match(r.output, /process rank 1 .*exited on signal 9/, 'mpirun names the rank that died');
  const at = (JSON.parse(readFileSync(path.join(killed, 'checkpoint', 'trainer_state.json'), 'utf8')) as { iter: number }).iter;
  t.ok(at >= 10 && at < 100, `the last checkpoint is at iteration ${at}, before the end`);

  const resumed = await mpirunJob(t, 2, [...args(killed), '--resume']).done;
  expectExit0(t, resumed, 'mpirun -np 2 --resume');
  t.ok(resumed.output.includes(`resuming at iteration ${at}`), `the fresh launch resumes at iteration ${at}`);
  const reference = await mpirunJob(t, 2, args(clean)).done;
  expectExit0(t, reference, 'uninterrupted mpirun -np 2');
  const d = maxDiff(path.join(killed, 'checkpoint'), path.join(clean, 'checkpoint'));
  t.equal(d.max, 0, `killed at ${at} + resumed vs uninterrupted: ${d.tensors} tensors, max abs diff ${d.max}`);
  t.same(losses(killed), losses(clean), 'metrics.jsonl reads as one uninterrupted run');
});

t.test('a rank that stops answering (SIGSTOP) makes the other fail with DIST_TIMEOUT after LMKIT_DIST_TIMEOUT', { skip }, async (t) => {
  // 6 s: long enough that a slow start of one rank on a loaded machine is no timeout, short for a test.
  const out = path.join(dir, 'stopped');
  const job = mpirunJob(t, 2, ['train', '--config', 'tiny', '--data', data, '--out', out, '--max-iters', '100000',
    '--set', 'checkpoint_interval=10', '--set', 'eval_interval=0'], { env: { LMKIT_DIST_TIMEOUT: '6' }, watchdogMs: 60_000 });
  t.ok(await job.waitFor(/iter 10: checkpoint written/), 'the job is training');
  process.kill(job.pidOf(1)!, 'SIGSTOP');
  const r = await job.done;
  t.notOk(r.killedByWatchdog, 'the job ended by itself, not by the test\'s watchdog');
  t.not(r.code, 0);
  t.match(r.output, /lmkit train \[rank 0 of 2\]: all-reduce of gradient bucket 1 of 1 \(\d+ bytes\): all-reduce of \d+ float32 values did not complete within 6 s: a peer rank stopped, died or fell behind\. The job cannot go on.*--resume.*\[DIST_TIMEOUT\]/);
});
