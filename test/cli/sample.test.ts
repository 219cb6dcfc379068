// `lmkit sample`: greedy output is deterministic and equals a plain greedy
// loop over full forward passes (no KV cache), also past n_positions where
// the context is cropped; seeded sampling repeats; bad input is an error.
import t from 'tap';
import path from 'node:path';
import { runSample } from '../../lib/cli/sample.js';
import { pickToken } from '../../lib/generate/sampling.js';
import { decodeTokens } from '../../lib/generate/sliding_window.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { pretrain } from '../../lib/stages/pretrain.js';
import { pretrainConfig } from '../../lib/stages/pretrain_config.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Random } from '../../lib/tensor/random.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { repoRoot } from '../helpers/gpt2.js';

const out = t.testdir();
pretrain({
  config: pretrainConfig({ max_iters: 60, eval_interval: 0 }, 'test', presetConfig('tiny')),
  dataFile: path.join(repoRoot, 'data', 'tinyshakespeare.txt'), outDir: out,
});
const ckptDir = path.join(out, 'checkpoint');

/** runSample's exit code, stdout and stderr. */
function sample(argv: string[]): { code: number; stdout: string; stderr: string } {
  const write = process.stdout.write, error = console.error;
  let stdout = '', stderr = '';
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  console.error = (s: string) => void (stderr += s + '\n');
  try {
    return { code: runSample(argv), stdout, stderr };
  } finally {
    process.stdout.write = write;
    console.error = error;
  }
}

t.test('greedy sampling is deterministic and equals a full-forward greedy loop', async (t) => {
  const prompt = 'ROMEO:';
  const args = ['--ckpt', out, '--prompt', prompt, '--max-new-tokens', '40', '--temperature', '0'];
  const a = sample(args), b = sample(args);
  t.equal(a.code, 0, a.stderr);
  t.equal(a.stdout, b.stdout, 'two runs print the same text');

  // Reference: no cache, the context cropped to n_positions (16) like nanoGPT.
  const ckpt = readCheckpoint(ckptDir);
  const model = decoderFromCheckpoint(ckpt);
  model.eval();
  const ids = ckpt.tokenizer.encode(prompt);
  const V = model.config.vocab_size, block = model.config.n_positions;
  for (let n = 0; n < 40; n++) {
    const ctx = ids.slice(-block);
    const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(ctx), [1, ctx.length]))).f32();
    const last = logits.subarray(logits.length - V);
    ids.push(last.indexOf(Math.max(...last)));
  }
  t.equal(a.stdout, ckpt.tokenizer.decode(ids) + '\n', 'equals the direct greedy loop (46 tokens > n_positions 16)');
});

t.test('seeded sampling repeats; top-k 1 is greedy', async (t) => {
  const args = (seed: string) => ['--ckpt', ckptDir, '--prompt', 'A', '--max-new-tokens', '30', '--temperature', '1', '--seed', seed];
  t.equal(sample(args('5')).stdout, sample(args('5')).stdout);
  t.not(sample(args('5')).stdout, sample(args('6')).stdout);
  const logits = Float32Array.from([0.1, 2, -1, 1.9]);
  const rng = new Random(1);
  for (let i = 0; i < 20; i++) t.equal(pickToken(logits, { temperature: 1, topK: 1, rng }), 1);
  const model = decoderFromCheckpoint(readCheckpoint(ckptDir));
  t.throws(() => [...decodeTokens(model, [], { maxNewTokens: 1, temperature: 0, topK: 0, rng })], { message: /prompt encodes to no tokens/ });
});

t.test('bad flags, checkpoints and prompts are one-line errors', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['--ckpt', ckptDir, '--tempr', '1'], 2, /Unknown option '--tempr'.*lmkit sample --help/],
    [['--prompt', 'x'], 1, /--ckpt is required/],
    [['--ckpt', path.join(out, 'nope')], 1, /nope: not a checkpoint/],
    [['--ckpt', ckptDir, '--temperature=-1'], 1, /--temperature: expected a number ≥ 0/],
    [['--ckpt', ckptDir, '--prompt', 'zebra€'], 1, /unknown character "€"/],
  ];
  for (const [argv, code, message] of cases) {
    const r = sample(argv);
    t.equal(r.code, code, `${argv.join(' ')} → exit ${code}`);
    t.match(r.stderr, message, r.stderr.trim());
  }
});
