// Mixed-precision pre-training (matmul_precision "bf16"): from the same seed
// a tiny DecoderLM learns as it does in fp32, the config key is validated,
// and the scope ends with the run.
import path from 'node:path';
import t from 'tap';
import { pretrain } from '../../lib/stages/pretrain.js';
import { pretrainConfig } from '../../lib/stages/pretrain_config.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { matmulPrecision } from '../../lib/tensor/ops/matmul_precision.js';
import { repoRoot } from '../helpers/gpt2.js';

const shakespeare = path.join(repoRoot, 'data', 'tinyshakespeare.txt');
const ITERS = 80, WINDOW = 10;

function lossCurve(precision: 'fp32' | 'bf16'): number[] {
  const losses: number[] = [];
  const config = pretrainConfig({ max_iters: ITERS, eval_interval: 0, eval_iters: 0, matmul_precision: precision }, 'test', presetConfig('tiny'));
  pretrain({ config, dataFile: shakespeare, onProgress: (e) => {
    if (e.type === 'step') losses.push(e.loss);
  } });
  return losses;
}

const windowMeans = (xs: number[]) =>
  Array.from({ length: xs.length / WINDOW }, (_, i) => xs.slice(i * WINDOW, (i + 1) * WINDOW).reduce((a, b) => a + b, 0) / WINDOW);

t.test('bf16 training follows the fp32 loss curve from the same seed (tiny preset, 80 steps)', async (t) => {
  const fp32 = lossCurve('fp32'), bf16 = lossCurve('bf16');
  t.equal(matmulPrecision(), 'fp32', 'the run restores fp32');
  // Same weights and batch at step 1: only the forward GEMMs' rounding differs
  // (measured 4.5e-5 at most over seeds 1-3); it must differ at all, or the
  // bf16 path did not run.
  const first = Math.abs(fp32[0]! - bf16[0]!);
  t.ok(first > 0 && first < 1e-3, `first loss ${fp32[0]!.toFixed(5)} vs ${bf16[0]!.toFixed(5)}: differs by ${first.toExponential(2)}, in (0, 1e-3)`);
  const a = windowMeans(fp32), b = windowMeans(bf16);
  t.ok(a.at(-1)! < a[0]! - 0.7, `fp32 falls: ${a[0]!.toFixed(3)} → ${a.at(-1)!.toFixed(3)} (10-step means)`);
  t.ok(b.at(-1)! < b[0]! - 0.7, `bf16 falls: ${b[0]!.toFixed(3)} → ${b.at(-1)!.toFixed(3)}`);
  // Trajectories drift apart as rounding differences are amplified by a high
  // learning rate (3e-3). Over seeds 1-8 the largest gap between 10-step mean
  // losses was 0.037 (a loss near 3.1); 0.1 leaves margin for the rest.
  const gap = Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
  t.ok(gap < 0.1, `largest gap of 10-step mean losses ${gap.toFixed(4)} < 0.1`);
});

t.test('matmul_precision accepts fp32 and bf16 only', async (t) => {
  t.equal(pretrainConfig({}, 'test').matmul_precision, 'fp32', 'fp32 by default');
  t.equal(pretrainConfig({ matmul_precision: 'bf16' }, 'test').matmul_precision, 'bf16');
  t.throws(() => pretrainConfig({ matmul_precision: 'fp16' }, 'cfg.json'), { code: 'CONFIG_INVALID', message: 'cfg.json: matmul_precision must be "fp32" or "bf16", got "fp16"' });
});
