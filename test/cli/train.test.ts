// `lmkit train`: a run killed with SIGKILL right after a checkpoint and then
// resumed ends with weights bitwise identical to an uninterrupted run; and
// the command's answers to bad flags, configs and data.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runTrain } from '../../lib/cli/train.js';
import { repoRoot } from '../helpers/gpt2.js';

const main = path.join(repoRoot, 'lib', 'cli', 'main.ts');
// The child runs the TypeScript sources through the loader tap gave us.
const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
const env = { ...process.env, LMKIT_NUM_THREADS: '1' };

function lmkit(args: string[]) {
  const child = spawn(process.execPath, [...loader, main, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d));
  child.stderr.on('data', (d: Buffer) => (output += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, output })));
  return { child, done };
}

/** Checkpointed iteration in <out>/checkpoint, or -1 while there is none. */
function checkpointIter(out: string): number {
  try {
    return (JSON.parse(readFileSync(path.join(out, 'checkpoint', 'trainer_state.json'), 'utf8')) as { iter: number }).iter;
  } catch {
    return -1;
  }
}

/** Captures console.error while fn runs. */
function captureStderr(fn: () => number): { code: number; stderr: string } {
  const original = console.error;
  let stderr = '';
  console.error = (...args: unknown[]) => void (stderr += args.join(' ') + '\n');
  try {
    return { code: fn(), stderr };
  } finally {
    console.error = original;
  }
}

t.test('kill -9 after a checkpoint, then --resume: final weights are bitwise identical to an uninterrupted run', async (t) => {
  const dir = t.testdir({ 'data.txt': readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 60000) });
  const data = path.join(dir, 'data.txt');
  // dropout > 0 so the dropout RNG's saved state matters too.
  const args = (out: string) => ['train', '--config', 'tiny', '--data', data, '--out', out, '--max-iters', '300',
    '--set', 'checkpoint_interval=20', '--set', 'eval_interval=100', '--set', 'eval_iters=2', '--set', 'dropout=0.1'];
  const killedOut = path.join(dir, 'killed'), cleanOut = path.join(dir, 'clean');

  const victim = lmkit(args(killedOut));
  const deadline = Date.now() + 120_000;
  let seen = -1;
  while (Date.now() < deadline) {
    seen = checkpointIter(killedOut);
    if (seen >= 20 || victim.child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 5)); // poll, not a fixed sleep
  }
  victim.child.kill('SIGKILL');
  const killed = await victim.done;
  t.equal(killed.signal, 'SIGKILL', `killed mid-run after the checkpoint at iteration ${seen}`);
  t.ok(seen >= 20 && seen < 300, `a checkpoint at iteration ${seen} survived the kill`);

  const resumed = await lmkit([...args(killedOut), '--resume']).done;
  t.equal(resumed.code, 0, resumed.code === 0 ? 'the resumed run finishes' : resumed.output);
  t.match(resumed.output, `resuming at iteration ${seen}`);
  const clean = await lmkit(args(cleanOut)).done;
  t.equal(clean.code, 0, clean.code === 0 ? 'the uninterrupted run finishes' : clean.output);

  for (const file of ['model.safetensors', 'optimizer.safetensors']) {
    const a = readFileSync(path.join(killedOut, 'checkpoint', file)), b = readFileSync(path.join(cleanOut, 'checkpoint', file));
    t.ok(a.equals(b), `${file}: ${a.length} bytes, bitwise identical`);
  }
  const metrics = (out: string) => readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>).map((l) => `${l['event']}@${l['iter']} ${l['loss'] ?? l['val_loss']}`);
  t.same(metrics(killedOut), metrics(cleanOut), 'metrics.jsonl of the resumed run reads as the uninterrupted one');
});

t.test('unknown flags, missing values and bad configs are one-line errors with a non-zero exit', async (t) => {
  const dir = t.testdir({
    'typo.json': JSON.stringify({ n_layer: 2, n_head: 2, n_embd: 32, block_size: 16, lerning_rate: 1e-3 }),
    'badtype.json': JSON.stringify({ batch_size: '12' }),
    'broken.json': '{"n_layer": 2,',
    'ok.json': JSON.stringify({ n_layer: 2, n_head: 2, n_embd: 32, block_size: 16 }),
    'data.txt': 'some text\n'.repeat(100),
  });
  const f = (name: string) => path.join(dir, name);
  const cases: [string[], number, RegExp][] = [
    [['--config', 'tiny', '--bogus'], 2, /Unknown option '--bogus'.*lmkit train --help/],
    [['--config'], 2, /--config.*argument/],
    [['--config', 'tiny', 'extra'], 2, /positional/i],
    [['--data', f('data.txt')], 1, /--config is required/],
    [['--config', 'nanogpt-xl'], 1, /unknown preset "nanogpt-xl".*shakespeare-char, tiny/],
    [['--config', f('typo.json'), '--data', f('data.txt')], 1, /typo\.json: unknown key "lerning_rate"/],
    [['--config', f('badtype.json'), '--data', f('data.txt')], 1, /batch_size must be a positive integer, got "12"/],
    [['--config', f('broken.json'), '--data', f('data.txt')], 1, /broken\.json: cannot read the config/],
    [['--config', f('nope.json')], 1, /nope\.json: cannot read the config \(no such file\)/],
    [['--config', f('ok.json')], 1, /--data is required/],
    [['--config', 'tiny', '--data', f('missing.txt'), '--out', f('o1')], 1, /missing\.txt: no such data file.*DATA_MISSING/],
    [['--config', 'tiny', '--set', 'n_positions=32'], 1, /n_positions is block_size/],
    [['--config', 'tiny', '--set', 'oops'], 1, /--set oops: expected key=value/],
    [['--config', 'tiny', '--max-iters', 'many'], 1, /--max-iters: expected an integer/],
    [['--config', 'tiny', '--matmul-precision', 'fp16'], 1, /matmul_precision must be "fp32" or "bf16", got "fp16"/],
    [['--config', 'tiny', '--data', f('data.txt'), '--out', f('o2'), '--resume'], 1, /nothing to resume.*o2.*without --resume/],
  ];
  for (const [argv, code, message] of cases) {
    const r = captureStderr(() => runTrain(argv));
    t.equal(r.code, code, `${argv.join(' ')} → exit ${code}`);
    t.match(r.stderr, message, `${argv.join(' ')}: ${r.stderr.trim().slice(0, 160)}`);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  t.notOk(existsSync(f('o2')), 'a failed resume writes nothing');
});

t.test('--help prints the options; the shakespeare presets default --data to the shipped corpus', async (t) => {
  const original = console.log;
  let out = '';
  console.log = (s: string) => void (out += s);
  try {
    t.equal(runTrain(['--help']), 0);
  } finally {
    console.log = original;
  }
  t.match(out, /--resume/);
  t.match(out, /--matmul-precision <p>/);
  t.match(out, /shakespeare-char/);
  const dir = t.testdir();
  const write = process.stderr.write;
  process.stderr.write = () => true; // the progress lines
  let r;
  try {
    r = captureStderr(() => runTrain(['--config', 'tiny', '--out', path.join(dir, 'run'), '--max-iters', '2', '--set', 'eval_iters=1']));
  } finally {
    process.stderr.write = write;
  }
  t.equal(r.code, 0, r.stderr);
  const state = JSON.parse(readFileSync(path.join(dir, 'run', 'checkpoint', 'trainer_state.json'), 'utf8')) as { data_file: string };
  t.equal(state.data_file, path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'trained on the shipped data/tinyshakespeare.txt');
});

t.test('--matmul-precision bf16 trains and is recorded in trainer_state.json', async (t) => {
  const dir = t.testdir();
  const write = process.stderr.write;
  process.stderr.write = () => true; // the progress lines
  let r;
  try {
    r = captureStderr(() => runTrain(['--config', 'tiny', '--out', path.join(dir, 'run'), '--max-iters', '2', '--set', 'eval_iters=1', '--matmul-precision', 'bf16']));
  } finally {
    process.stderr.write = write;
  }
  t.equal(r.code, 0, r.stderr);
  const state = JSON.parse(readFileSync(path.join(dir, 'run', 'checkpoint', 'trainer_state.json'), 'utf8')) as { config: Record<string, unknown> };
  t.equal(state.config['matmul_precision'], 'bf16');
});

t.test('--arch overrides the config\'s arch; evals and the final line show the unigram baseline', async (t) => {
  const dir = t.testdir();
  const write = process.stderr.write;
  let progress = '';
  process.stderr.write = ((s: string) => ((progress += s), true)) as typeof process.stderr.write;
  let r;
  try {
    r = captureStderr(() => runTrain(['--config', 'tiny-encoder', '--arch', 'glm', '--out', path.join(dir, 'run'), '--max-iters', '3', '--set', 'eval_iters=1']));
  } finally {
    process.stderr.write = write;
  }
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /^done: glm, 3 iterations in \S+, val loss \d+\.\d{4} \(unigram baseline \d+\.\d{4}\); checkpoint: /);
  t.match(progress, /^training glm: /m);
  t.match(progress, /^iter 3: train loss \d+\.\d{4}, val loss \d+\.\d{4} \(unigram baseline \d+\.\d{4}\)$/m);
  const config = JSON.parse(readFileSync(path.join(dir, 'run', 'checkpoint', 'config.json'), 'utf8')) as Record<string, unknown>;
  t.match(config, { lmkit_arch: 'glm', model_type: 'glm' }, 'the flag beat the preset\'s arch');
});

t.test('bad --arch values and keys of another arch are one-line errors', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['--config', 'tiny', '--arch', 'bert'], 1, /--arch: unknown architecture "bert" \(architectures: decoder, encoder, encoder-decoder, glm\)/],
    [['--config', 'tiny', '--arch'], 2, /--arch.*argument/],
    [['--config', 'shakespeare-char', '--arch', 'encoder'], 1, /--arch encoder with --config shakespeare-char: bias is a decoder-only model key, but arch is encoder.*shakespeare-char-encoder/],
    [['--config', 'tiny', '--set', 'mask_ratio=0.2'], 1, /mask_ratio belongs to arch glm, but arch is decoder; remove it or set arch glm/],
  ];
  for (const [argv, code, message] of cases) {
    const r = captureStderr(() => runTrain(argv));
    t.equal(r.code, code, `${argv.join(' ')} → exit ${code}`);
    t.match(r.stderr, message, `${argv.join(' ')}: ${r.stderr.trim().slice(0, 160)}`);
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
