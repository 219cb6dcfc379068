// Memory: activations and gradients are released deterministically (the
// autograd graph is freed by backward), so RSS does not grow with steps.
// Alone in its file so earlier tests' allocations do not blur the numbers.
import t from 'tap';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { pretrain } from '../../lib/stages/pretrain.js';
import { pretrainConfig } from '../../lib/stages/pretrain_config.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { repoRoot } from '../helpers/gpt2.js';

const shakespeare = path.join(repoRoot, 'data', 'tinyshakespeare.txt');
const tiny = (over: Record<string, unknown> = {}) => pretrainConfig(over, 'test', presetConfig('tiny'));

t.test('memory: RSS stays flat over 2400 training steps of a small model', async (t) => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const config = tiny({ max_iters: 2400, n_layer: 1, n_embd: 16, n_head: 2, block_size: 8, batch_size: 4, eval_interval: 0, log_interval: 100 });
  const sample = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return { rss: m.rss / 2 ** 20, heap: m.heapUsed / 2 ** 20, buffers: m.arrayBuffers / 2 ** 20 };
  };
  let warm = { rss: 0, heap: 0, buffers: 0 }, end = { rss: 0, heap: 0, buffers: 0 };
  pretrain({
    config, dataFile: shakespeare,
    onProgress: (e) => {
      if (e.type !== 'step') return;
      if (e.iter === 400) warm = sample();
      if (e.iter === 2400) end = sample();
    },
  });
  // 2000 steps after warm-up. Keeping one step's logits and their gradient
  // (2 × 4·8·65 floats ≈ 16 KiB) would add ~32 MiB of live typed arrays, a
  // whole autograd graph far more: the memory held by live ArrayBuffers and
  // the JS heap must each stay within 2 MiB. RSS also moves with the
  // allocator's high-water mark and arena fragmentation (measured drift 0.6 to
  // 16.5 MiB across runs, not growing per step), so it gets 48 MiB of slack:
  // enough to catch a native leak of ≥ 24 KiB per step.
  const rss = end.rss - warm.rss, heap = end.heap - warm.heap, buffers = end.buffers - warm.buffers;
  t.ok(buffers < 2, `live ArrayBuffers ${warm.buffers.toFixed(1)} → ${end.buffers.toFixed(1)} MiB (growth ${buffers.toFixed(2)} MiB, slack 2 MiB)`);
  t.ok(heap < 2, `JS heap ${warm.heap.toFixed(1)} → ${end.heap.toFixed(1)} MiB (growth ${heap.toFixed(2)} MiB, slack 2 MiB)`);
  t.ok(rss < 48, `RSS ${warm.rss.toFixed(1)} MiB after 400 steps → ${end.rss.toFixed(1)} MiB after 2400 (growth ${rss.toFixed(2)} MiB, slack 48 MiB)`);
});
