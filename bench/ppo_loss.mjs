// PPO policy loss fwd+bwd: lmkit's fused kernel vs the PyTorch composition
// (bench/ppo_loss_torch.py), same shapes, same thread count, k3 KL on.
// Usage: node bench/ppo_loss.mjs [threads]   (prints medians and the ratio)
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const addon = createRequire(import.meta.url)('node-gyp-build')(root);
const threads = Number(process.argv[2] ?? 2);
addon.setNumThreads(threads);

function timeLmkit(rows, cols) {
  const n = rows * cols;
  let seed = 1;
  const rnd = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const old = new Float32Array(n).map(() => -3 * rnd());
  const logp = old.map((x) => x + 0.6 * (rnd() - 0.5));
  const ref = old.map((x) => x + 0.4 * (rnd() - 0.5));
  const adv = new Float32Array(n).map(() => 2 * rnd() - 1);
  const mask = new Float32Array(n).map(() => (rnd() < 0.9 ? 1 : 0));
  const dlogp = new Float32Array(n);
  const opts = { rows, cols, clipEps: 0.2, klCoef: 0.1, klMode: 'k3' };
  for (let i = 0; i < 50; i++) addon.ppoLoss(logp, old, ref, adv, mask, dlogp, opts);
  const times = [];
  for (let i = 0; i < 400; i++) {
    const t0 = process.hrtime.bigint();
    addon.ppoLoss(logp, old, ref, adv, mask, dlogp, opts);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const torch = JSON.parse(
  execFileSync('/usr/bin/python3', [path.join(root, 'bench', 'ppo_loss_torch.py'), String(threads)], { encoding: 'utf8' }),
);
const isa = addon.cpuInfo().isa;
for (const [rows, cols] of [[64, 512], [256, 1024]]) {
  const ours = timeLmkit(rows, cols);
  const theirs = torch[`${rows}x${cols}`];
  console.log(
    `ppoLoss ${rows}x${cols} (${threads} threads, ${isa}): lmkit ${(ours * 1e6).toFixed(1)} us, ` +
      `torch ${(theirs * 1e6).toFixed(1)} us, speedup ${(theirs / ours).toFixed(1)}x`,
  );
}
