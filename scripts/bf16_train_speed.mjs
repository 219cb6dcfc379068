// Pre-training tokens/s with matmul_precision fp32 against bf16 on nanoGPT's
// shakespeare-char model shape (6 layers × 384, 6 heads, block 256) at batch
// 8. Short runs alternate between the two in one process (a shared machine's
// load hits both alike); the first steps of each run are skipped (warm-up).
//   node scripts/bf16_train_speed.mjs [runs] [steps]   after `npm run build`
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pretrain } from '../dist/stages/pretrain.js';
import { pretrainConfig } from '../dist/stages/pretrain_config.js';
import { presetConfig } from '../dist/stages/presets.js';
import { backendInfo } from '../dist/runtime.js';

const runs = Number(process.argv[2] ?? 3), steps = Number(process.argv[3] ?? 8), skip = 2;
const data = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'data', 'tinyshakespeare.txt');
const shape = { n_layer: 6, n_head: 6, n_embd: 384, block_size: 256, batch_size: 8, dropout: 0 };

function stepSeconds(precision) {
  const config = pretrainConfig({ ...shape, max_iters: steps, eval_interval: 0, eval_iters: 0, matmul_precision: precision }, 'speed', presetConfig('shakespeare-char'));
  const tokens = [];
  pretrain({ config, dataFile: data, onProgress: (e) => { if (e.type === 'step') tokens.push(e.tokensPerSec); } });
  return tokens.slice(skip);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const info = backendInfo().cpu;
console.log(`isa ${info.isa}, bf16Gemm ${info.bf16Gemm}, threads ${info.threads}, load average before ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
const all = { fp32: [], bf16: [] };
for (let r = 0; r < runs; r++)
  for (const p of r % 2 === 0 ? ['fp32', 'bf16'] : ['bf16', 'fp32']) all[p].push(...stepSeconds(p));
const f = median(all.fp32), b = median(all.bf16);
console.log(`tokens/s (median of ${all.fp32.length} steps each): fp32 ${f.toFixed(0)}, bf16 ${b.toFixed(0)}, ratio ${(b / f).toFixed(2)}×`);
console.log(`load average after ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
