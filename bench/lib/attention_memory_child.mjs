// Peak resident memory of lmkit's attention forward + backward, measured in a
// process that runs nothing else (the RSS high-water mark is per process).
// Usage: node attention_memory_child.mjs <dist/index.js> '<{batch, heads, t, headDim, causal}>' <threads>
// Prints {peakGrowthMiB}: the high-water mark after two calls minus the
// resident size with the inputs built. Outputs (out, lse, dq, dk, dv) are
// allocated after that point, so they count, as PyTorch's gradients do on
// its side (bench/peers/torch_kernels.py, peak_growth_mib).
//
// The mark is this address space's VmHWM, reset to the current size at the
// baseline, not getrusage's maxRSS: Linux carries maxRSS across exec, so a
// child of the (large) bench process would report the parent's size.
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

import { uniform } from './data.mjs';

const [entry, configJson, threads] = process.argv.slice(2);
const lmkit = await import(pathToFileURL(entry).href);
lmkit.setNumThreads(Number(threads));
const { batch, heads, t, headDim, causal } = JSON.parse(configJson);
const n = batch * heads * t * headDim;
const q = uniform(n, 21);
const k = uniform(n, 22);
const v = uniform(n, 23);
const dout = uniform(n, 24);

/** A `kB` field of /proc/self/status, in bytes. */
function statusBytes(field) {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  if (!match) throw new Error(`/proc/self/status has no ${field} line (Linux only)`);
  return Number(match[1]) * 1024;
}

// "5" resets VmHWM to VmRSS (Linux ≥ 4.0), so peaks of the set-up (imports,
// building the inputs) do not count; where refused, they do, and read high.
try {
  writeFileSync('/proc/self/clear_refs', '5');
} catch {
  /* the peak then includes the set-up */
}
const before = statusBytes('VmRSS');
const out = new Float32Array(n);
const lse = new Float32Array(batch * heads * t);
const dq = new Float32Array(n);
const dk = new Float32Array(n);
const dv = new Float32Array(n);
const opts = { batch, heads, tq: t, tk: t, headDim, causal };
for (let i = 0; i < 2; ++i) {
  lmkit.kernels.attentionForward(q, k, v, out, lse, opts);
  lmkit.kernels.attentionBackward(dout, q, k, v, out, lse, dq, dk, dv, opts);
}
const peakBytes = statusBytes('VmHWM');
process.stdout.write(`${JSON.stringify({ peakGrowthMiB: (peakBytes - before) / 2 ** 20 })}\n`);
