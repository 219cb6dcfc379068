// Suite "kernels": each native kernel next to its peer in the same run
// (OpenBLAS sgemm for GEMM, PyTorch CPU for the rest) and next to the limits
// measured now (peak FMA for GEMM and attention, STREAM for the memory-bound
// kernels). Kernels this build lacks show as "not built"; the rest still run.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { uniform, integers, mask } from '../lib/data.mjs';
import { measureLimits, mergeLimits, limitFor, coreToCoreNotes } from '../lib/limits.mjs';
import { missingKernels } from '../lib/lmkit.mjs';
import { strongestOpenblas, openblasVersion } from '../lib/openblas.mjs';
import { makeRow, okSide, emptySide } from '../lib/rows.mjs';
import { combineRounds, measure, plannedReps } from '../lib/timing.mjs';
import { runTorchCases } from '../lib/torch.mjs';

export const description = 'native kernels vs OpenBLAS / PyTorch CPU and the measured FMA / STREAM limits';

// ---------------------------------------------------------------- GEMM cases

// Issue #10 bars (2 threads): fp32 GEMM ≥ 1.0× OpenBLAS everywhere, and
// ≥ 85% of the measured peak FMA rate for the compute-bound shapes.
const BLAS_BAR = { text: '≥1.0× OpenBLAS', min: 1, threads: 2 };
const PEAK_BAR = { text: '≥85% of peak FMA', min: 0.85 };

/**
 * C = op(A)·op(B) shapes: square, transformer linears (x·Wᵀ with W [out, in]
 * as nn.Linear stores it) for 64…4096 tokens, and decode (m = 1…8 rows).
 */
function gemmCases(quick) {
  const cases = [];
  for (const s of quick ? [1024] : [512, 1024, 2048])
    cases.push({
      kernel: 'gemm',
      shape: `${s}³`,
      gemm: { m: s, n: s, k: s, transA: false, transB: false },
      bar: BLAS_BAR,
      limitBar: PEAK_BAR,
    });
  for (const tokens of quick ? [64, 1024] : [64, 256, 1024, 4096])
    for (const out of [768, 3072])
      cases.push({
        kernel: 'gemm linear',
        shape: `${tokens}×768 · (${out}×768)ᵀ`,
        gemm: { m: tokens, n: out, k: 768, transA: false, transB: true },
        bar: BLAS_BAR,
        limitBar: PEAK_BAR,
      });
  for (const rows of quick ? [1, 8] : [1, 2, 4, 8])
    cases.push({
      kernel: 'gemm decode',
      shape: `${rows}×768 · (3072×768)ᵀ`,
      gemm: { m: rows, n: 3072, k: 768, transA: false, transB: true },
      bar: BLAS_BAR,
    });
  return cases;
}

/**
 * bf16 GEMM (AMX-BF16 or AVX512-BF16, fp32 accumulate) against our own fp32
 * GEMM on the same shape; the last is a weight gradient (dW = dYᵀ·X, op(A) = Aᵀ).
 */
function bf16Cases(quick) {
  const shapes = quick
    ? [{ shape: '1024³', m: 1024, n: 1024, k: 1024, transB: false }]
    : [
        { shape: '1024³', m: 1024, n: 1024, k: 1024, transB: false },
        { shape: '2048³', m: 2048, n: 2048, k: 2048, transB: false },
        { shape: '1024×768 · (768×768)ᵀ', m: 1024, n: 768, k: 768, transB: true },
        { shape: '4096×768 · (3072×768)ᵀ', m: 4096, n: 3072, k: 768, transB: true },
        { shape: '(4096×768)ᵀ · 4096×3072', m: 768, n: 3072, k: 4096, transA: true, transB: false },
      ];
  return shapes.map(({ shape, ...g }) => ({
    kernel: 'gemm bf16',
    shape,
    gemm: { transA: false, ...g },
    bar: { text: '≥1.6× our fp32', min: 1.6, threads: 2 },
  }));
}

function gemmOurs(K, g, name = 'gemm') {
  const a = uniform(g.m * g.k, 1);
  const b = uniform(g.k * g.n, 2);
  const c = new Float32Array(g.m * g.n);
  return () => K[name](a, b, c, { ...g, alpha: 1, beta: 0 });
}

// ------------------------------------------------------- PyTorch-peer cases

/** Useful attention FLOPs: 4·D per visible (query, key) pair forward; backward = 2.5× forward (FlashAttention-2's count). */
function attentionFlops({ batch, heads, t, headDim, causal }, backward) {
  const pairs = causal ? (t * (t + 1)) / 2 : t * t;
  const fwd = 4 * headDim * pairs * batch * heads;
  return backward ? 3.5 * fwd : fwd;
}

/** Attention timings of these sizes: T = 256…2048 at batch 4, 6 heads, head size 64, causal. */
export const ATTENTION_TS = [256, 512, 1024, 2048];

function torchFamilyCases(quick) {
  const cases = [];
  const ln = { rows: 8192, cols: 768, eps: 1e-5 };
  const R = ln.rows, C = ln.cols;
  // Minimum traffic, float32: fwd reads x, writes out, mean, rstd; bwd reads
  // dout, x, mean, rstd, writes dx and read-modify-writes dweight, dbias.
  const lnFwdBytes = 4 * (2 * R * C + 2 * R + 2 * C);
  const lnBwdBytes = 4 * (3 * R * C + 2 * R + 5 * C);
  // Issue #10: LayerNorm fwd and bwd each at ≥ 80% of the STREAM triad bandwidth.
  const streamBar = { text: '≥80% of STREAM triad', min: 0.8 };
  cases.push({
    kernel: 'layernorm fwd',
    shape: `${R}×${C}`,
    needs: ['layerNormForward'],
    work: { bytes: lnFwdBytes },
    limitKind: 'stream',
    torch: { kind: 'layernorm_fwd', ...ln },
    limitBar: streamBar,
    ours: (K) => layerNormOurs(K, ln, false),
  });
  cases.push({
    kernel: 'layernorm bwd',
    shape: `${R}×${C}`,
    needs: ['layerNormForward', 'layerNormBackward'],
    work: { bytes: lnBwdBytes },
    limitKind: 'stream',
    torch: { kind: 'layernorm_bwd', ...ln },
    limitBar: streamBar,
    ours: (K) => layerNormOurs(K, ln, true),
  });

  for (const t of quick ? [512] : ATTENTION_TS) {
    const at = { batch: 4, heads: 6, t, headDim: 64, causal: true };
    const torchCase = { batch: at.batch, heads: at.heads, t, head_dim: at.headDim, causal: true };
    cases.push({
      kernel: 'attention fwd+bwd',
      shape: `B4 H6 T${t} d64 causal`,
      needs: ['attentionForward', 'attentionBackward'],
      work: { flops: attentionFlops(at, true) },
      limitKind: 'fma',
      torch: { kind: 'attention_fwdbwd', ...torchCase },
      // Issue #10: ≥ 2× the PyTorch composition, memory O(T·d).
      bar: { text: '≥2× PyTorch', min: 2 },
      memory: { attention: at, torch: torchCase },
      ours: (K) => attentionOurs(K, at, true),
    });
  }

  const ppo = { rows: 256, cols: 1024, clipEps: 0.2, klCoef: 0.05 };
  cases.push({
    kernel: 'ppo loss fwd+bwd',
    shape: `${ppo.rows}×${ppo.cols} k1`,
    needs: ['ppoLoss'],
    // Reads logp, oldLogp, refLogp, advantages, mask; writes dlogp.
    work: { bytes: 4 * 6 * ppo.rows * ppo.cols },
    limitKind: 'stream',
    torch: { kind: 'ppo_fwdbwd', rows: ppo.rows, cols: ppo.cols, clip_eps: ppo.clipEps, kl_coef: ppo.klCoef },
    // Issue #10: ≥ 3× the PyTorch composition.
    bar: { text: '≥3× PyTorch', min: 3 },
    ours: (K) => ppoOurs(K, ppo),
  });

  const ce = { rows: 2048, vocab: 8192 };
  cases.push({
    kernel: 'cross-entropy fwd+bwd',
    shape: `${ce.rows}×${ce.vocab}`,
    needs: ['softmaxCrossEntropy'],
    // Reads logits and targets, writes dlogits.
    work: { bytes: 4 * (2 * ce.rows * ce.vocab + ce.rows) },
    limitKind: 'stream',
    torch: { kind: 'ce_fwdbwd', ...ce },
    ours: (K) => crossEntropyOurs(K, ce),
  });
  return cases;
}

function layerNormOurs(K, { rows, cols, eps }, backward) {
  const x = uniform(rows * cols, 11);
  const weight = uniform(cols, 12, 0.5, 1);
  const bias = uniform(cols, 13, 0.1);
  const out = new Float32Array(rows * cols);
  const mean = new Float32Array(rows);
  const rstd = new Float32Array(rows);
  const fwdOpts = { rows, cols, eps };
  if (!backward) return () => K.layerNormForward(x, weight, bias, out, mean, rstd, fwdOpts);
  const dout = uniform(rows * cols, 14);
  const dx = new Float32Array(rows * cols);
  const dweight = new Float32Array(cols);
  const dbias = new Float32Array(cols);
  const bwdOpts = { rows, cols };
  // The backward alone: mean and rstd come from one forward beforehand.
  K.layerNormForward(x, weight, bias, out, mean, rstd, fwdOpts);
  // dweight/dbias accumulate across calls; their values do not matter here.
  return () => K.layerNormBackward(dout, x, weight, mean, rstd, dx, dweight, dbias, bwdOpts);
}

function attentionOurs(K, { batch, heads, t, headDim, causal }, backward) {
  const n = batch * heads * t * headDim; // (B, H, T, D)
  const q = uniform(n, 21);
  const k = uniform(n, 22);
  const v = uniform(n, 23);
  const out = new Float32Array(n);
  const lse = new Float32Array(batch * heads * t); // (B, H, T)
  const opts = { batch, heads, tq: t, tk: t, headDim, causal };
  if (!backward) return () => K.attentionForward(q, k, v, out, lse, opts);
  const dout = uniform(n, 24);
  const dq = new Float32Array(n);
  const dk = new Float32Array(n);
  const dv = new Float32Array(n);
  return () => {
    K.attentionForward(q, k, v, out, lse, opts);
    K.attentionBackward(dout, q, k, v, out, lse, dq, dk, dv, opts);
  };
}

function ppoOurs(K, { rows, cols, clipEps, klCoef }) {
  const n = rows * cols;
  const logp = uniform(n, 31, 0.1, -2);
  const oldLogp = logp.map((x, i) => x + 0.1 * Math.sin(i));
  const refLogp = logp.map((x, i) => x + 0.1 * Math.cos(i));
  const advantages = uniform(n, 32);
  const tokenMask = mask(n, 33, 0.9);
  const dlogp = new Float32Array(n);
  const opts = { rows, cols, clipEps, klCoef, klMode: 'k1' };
  return () => K.ppoLoss(logp, oldLogp, refLogp, advantages, tokenMask, dlogp, opts);
}

function crossEntropyOurs(K, { rows, vocab }) {
  const logits = uniform(rows * vocab, 41, 2);
  const targets = integers(rows, 42, vocab);
  const dlogits = new Float32Array(rows * vocab);
  return () => K.softmaxCrossEntropy(logits, targets, dlogits, { rows, vocab });
}

// ------------------------------------------------------------------- running

const MEMORY_CHILD = fileURLToPath(new URL('../lib/attention_memory_child.mjs', import.meta.url));

/**
 * Peak RSS growth of one attention fwd+bwd for ours and PyTorch, each in a
 * fresh process (the high-water mark is per process), in MiB, beside the
 * size of one (B, H, T, d) float32 tensor.
 */
function attentionMemory({ root, threads, torchOk, attention, torch }) {
  const { batch, heads, t, headDim } = attention;
  const tensorMiB = (4 * batch * heads * t * headDim) / 2 ** 20;
  const child = spawnSync(
    process.execPath,
    [MEMORY_CHILD, path.join(root, 'dist', 'index.js'), JSON.stringify(attention), String(threads)],
    { encoding: 'utf8', timeout: 300_000 },
  );
  let ours;
  try {
    ours = child.status === 0 ? JSON.parse(child.stdout.trim()) : { error: firstLine(child.stderr) };
  } catch {
    ours = { error: `no JSON from the memory child: ${firstLine(child.stdout)}` };
  }
  let peer;
  if (torchOk) {
    const res = runTorchCases({ root, threads, cases: [{ id: 'm', kind: 'attention_fwdbwd', ...torch }], request: { memory: true } });
    const r = res.status === 'ok' ? res.results.get('m') : null;
    peer = !r ? { error: res.error ?? 'no result' } : r.error ? { error: r.error } : { peakGrowthMiB: r.peak_growth_mib };
  }
  // O(T·d): the four outputs (out, dq, dk, dv) are 4 tensors; allow 2 more of
  // scratch. Score matrices (T² per head) are 8·T/d tensors, so any
  // materialised one fails this from T = 128 on.
  const withinBar = 'peakGrowthMiB' in ours ? ours.peakGrowthMiB <= 6 * tensorMiB : null;
  const bar = { text: 'O(T·d): ≤ 6 tensors', status: withinBar == null ? 'n/a' : withinBar ? 'PASS' : 'FAIL' };
  return { ours, peer, tensorMiB, bar };
}

const firstLine = (text) => String(text ?? '').trim().split('\n')[0] ?? '';

const errorNote = (err) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/**
 * Rounds in which ours and the peer alternate on GEMM rows, a third of the
 * budget each: the two sides differ by a few percent, less than a burst of
 * load from elsewhere on a shared VM, which must not fall on one side only.
 */
const GEMM_ROUNDS = 3;

/**
 * Calls each side's timer in turn, GEMM_ROUNDS times. A timer returns
 * {timing} or a side that says why there is none; a side that fails is not
 * called again. A timer sees every side's results so far.
 * @param {((results: {timings: any[], failed: any}[]) => any)[]} timers
 */
function alternateRounds(timers) {
  const results = timers.map(() => ({ timings: [], failed: null }));
  for (let round = 0; round < GEMM_ROUNDS; round++)
    timers.forEach((time, i) => {
      if (results[i].failed) return;
      const run = time(results);
      if (run.timing) results[i].timings.push(run.timing);
      else results[i].failed = run;
    });
  return results;
}

/** Times our side of a case: a figure, 'not built', or 'error'. */
function timeOurs(lmkit, needs, makeFn, budgetMs) {
  const missing = missingKernels(lmkit, needs);
  if (missing.length)
    return emptySide('not built', `lmkit.kernels.${missing.join(', lmkit.kernels.')} not in this build`);
  try {
    return { timing: measure(makeFn(lmkit.kernels), { budgetMs }) };
  } catch (err) {
    return emptySide('error', errorNote(err));
  }
}

/**
 * @param {{lmkit: any, root: string, options: {quick: boolean, threads: number, budgetMs: number},
 *          log: (line: string) => void}} ctx
 */
export async function run({ lmkit, root, options, log }) {
  const { threads, budgetMs, quick } = options;
  lmkit.setNumThreads(threads);
  const rows = [];
  const notes = [];
  const peers = {};

  // Limits are measured again at the end (see mergeLimits); rows get their
  // limit after both, so the fractions use the best figure seen.
  const limitRuns = [measureLimits({ root, threads: [1, threads], log })];

  // GEMM against OpenBLAS, case by case so both sides see the same machine load.
  const { peer: blas, choice } = strongestOpenblas({ root, threads, log });
  peers.openblas = { status: blas.status === 'ok' ? 'ok' : 'not installed', version: null };
  if (blas.status !== 'ok') {
    peers.openblas.install = blas.install;
    peers.openblas.error = blas.error;
    notes.push(`OpenBLAS peer not available (${blas.error}). Install: ${blas.install}`);
    log(`peers: OpenBLAS not available (${blas.error}); install: ${blas.install}`);
  }
  if (blas.status === 'ok') {
    peers.openblas.core = choice;
    const trials = choice.trials.map((x) => `${x.setting} → ${x.core} ${x.medianMs.toFixed(2)} ms${x.sound ? '' : ' (checksum differs, not used)'}`);
    const env = Object.entries(choice.environment).filter(([, v]) => v != null).map(([k, v]) => `${k}=${v}`);
    notes.push(
      `OpenBLAS peer runs its ${choice.chosen} kernels (${choice.setting}${env.length && choice.setting !== 'environment' ? `; this environment's ${env.join(' ')} removed for the peer` : ''}), ` +
        `the fastest at 1024³ of: ${trials.join('; ')}`,
    );
    log(`peers: OpenBLAS uses ${choice.chosen} kernels (${trials.join('; ')})`);
  }
  for (const c of gemmCases(quick)) {
    const g = c.gemm;
    const work = { flops: 2 * g.m * g.n * g.k };
    let gemmFn = null; // operands built once, on first use
    const [oursRuns, peerRuns] = alternateRounds([
      () => timeOurs(lmkit, ['gemm'], (K) => (gemmFn ??= gemmOurs(K, g)), budgetMs / GEMM_ROUNDS),
      ([oursSoFar]) => {
        if (blas.status !== 'ok') return emptySide('not installed', undefined, { name: 'OpenBLAS' });
        // Size the peer's run from our time (or 50 GFLOP/s when we have none).
        const estMs = oursSoFar.timings.at(-1)?.medianMs ?? work.flops / 50e6;
        const res = blas.sgemm(g, threads, plannedReps(estMs, { budgetMs: budgetMs / GEMM_ROUNDS }));
        if (res.error) return emptySide('error', res.error, { name: 'OpenBLAS' });
        peers.openblas.version ??= openblasVersion(res.config);
        peers.openblas.config ??= res.config;
        return { timing: res };
      },
    ]);
    const ours = oursRuns.failed ?? okSide(combineRounds(oursRuns.timings), work);
    const peer = peerRuns.failed ?? okSide(combineRounds(peerRuns.timings), work, { name: 'OpenBLAS' });
    const peerThreads = peerRuns.timings[0]?.threads;
    if (!peerRuns.failed && peerThreads !== threads) peer.note = `OpenBLAS ran ${peerThreads} threads, not ${threads}`;
    const row = { kernel: c.kernel, shape: c.shape, work, ours, peer, bar: c.bar, limitBar: c.limitBar, limitKind: 'fma', threads };
    log(progressLine(makeRow(row)));
    rows.push(row);
  }

  // bf16 GEMM against our fp32 GEMM, alternating likewise. The vdpbf16ps
  // peak bounds the AVX512-BF16 path; the AMX path has no measured limit.
  const bf16Kind = lmkit.backendInfo?.().cpu?.bf16Gemm;
  const bf16Limit = bf16Kind === 'amx' ? null : 'bf16';
  for (const c of bf16Cases(quick)) {
    const g = c.gemm;
    const work = { flops: 2 * g.m * g.n * g.k };
    let bf16Fn = null;
    let fp32Fn = null;
    const [bf16Runs, fp32Runs] = alternateRounds([
      () => timeOurs(lmkit, ['gemmBf16'], (K) => (bf16Fn ??= gemmOurs(K, g, 'gemmBf16')), budgetMs / GEMM_ROUNDS),
      () => timeOurs(lmkit, ['gemm'], (K) => (fp32Fn ??= gemmOurs(K, g)), budgetMs / GEMM_ROUNDS),
    ]);
    const ours = bf16Runs.failed ?? okSide(combineRounds(bf16Runs.timings), work);
    const peer = fp32Runs.failed
      ? { ...fp32Runs.failed, name: 'lmkit fp32' }
      : okSide(combineRounds(fp32Runs.timings), work, { name: 'lmkit fp32' });
    const row = { kernel: c.kernel, shape: c.shape, work, ours, peer, bar: c.bar, limitKind: bf16Limit, threads };
    log(progressLine(makeRow(row)));
    rows.push(row);
  }
  // Without AVX512-BF16 the bf16 GEMM rounds its inputs and multiplies in
  // fp32 (gemm_bf16.cpp's portable path): its rows then say what that costs,
  // and the ≥1.6× bar cannot be met on this CPU.
  if (bf16Kind === 'amx')
    notes.push("bf16 GEMM: runs on AMX-BF16 tiles (backendInfo().cpu.bf16Gemm = 'amx'); setCpuAmx(false) or LMKIT_CPU_AMX=0 selects the vdpbf16ps path");
  else if (bf16Kind && bf16Kind !== 'avx512bf16')
    notes.push(
      `bf16 GEMM: this CPU has no AVX512-BF16 (backendInfo().cpu.bf16Gemm = '${bf16Kind}'); the portable path rounds to bf16 and multiplies in fp32, so it runs at about our fp32 speed and the ≥1.6× bar needs a CPU with vdpbf16ps`,
    );

  // Ours for every PyTorch-peer case, then one torch process for all of them
  // (importing torch costs seconds; paying it once keeps --quick quick).
  const cases = torchFamilyCases(quick);
  const oursRuns = cases.map((c) => {
    const r = timeOurs(lmkit, c.needs, c.ours, budgetMs);
    log(`${c.kernel} ${c.shape}: ours ${r.timing ? `${r.timing.medianMs.toFixed(3)} ms` : r.status}`);
    return r;
  });
  log(`peers: PyTorch, ${cases.length} cases`);
  const torch = runTorchCases({
    root,
    threads,
    budgetMs,
    cases: cases.map((c, i) => ({ id: String(i), ...c.torch })),
  });
  peers.torch = { status: torch.status === 'ok' ? 'ok' : torch.status === 'missing' ? 'not installed' : 'error' };
  if (torch.status === 'ok') {
    peers.torch.version = torch.torch;
    peers.torch.openblas = torch.openblas;
    notes.push(`PyTorch's OpenBLAS kernels: ${torch.openblas}`);
    if (torch.threads !== threads) notes.push(`PyTorch ran ${torch.threads} threads, not ${threads}`);
  } else {
    peers.torch.error = torch.error;
    if (torch.install) peers.torch.install = torch.install;
    notes.push(
      torch.install
        ? `PyTorch peer not available (${torch.error}). Install: ${torch.install}`
        : `PyTorch peer failed: ${torch.error}`,
    );
    log(`peers: PyTorch not available (${torch.error})${torch.install ? `; install: ${torch.install}` : ''}`);
  }

  cases.forEach((c, i) => {
    const oursRun = oursRuns[i];
    const ours = oursRun.timing ? okSide(oursRun.timing, c.work) : oursRun;
    let peer;
    if (torch.status !== 'ok') peer = emptySide(peers.torch.status, undefined, { name: 'PyTorch' });
    else {
      const r = torch.results.get(String(i));
      peer = !r
        ? emptySide('error', 'no result from torch_kernels.py', { name: 'PyTorch' })
        : r.error
          ? emptySide('error', r.error, { name: 'PyTorch' })
          : okSide({ medianMs: r.median_ms, minMs: r.min_ms, reps: r.reps, inner: r.inner }, c.work, { name: 'PyTorch' });
    }
    const row = {
      kernel: c.kernel, shape: c.shape, work: c.work, ours, peer, bar: c.bar, limitBar: c.limitBar,
      limitKind: c.limitKind, threads,
      ...(c.memory ? { extra: { memory: attentionMemory({ root, lmkit, threads, torchOk: torch.status === 'ok', ...c.memory }) } } : {}),
    };
    log(progressLine(makeRow(row)));
    rows.push(row);
  });

  limitRuns.push(measureLimits({ root, threads: [1, threads], log }));
  const limits = mergeLimits(limitRuns);
  notes.push(...coreToCoreNotes(limits.coreToCore));
  const finished = rows.map(({ limitKind, ...row }) => makeRow({ ...row, limit: limitFor(limits, limitKind, threads) }));
  const overPeak = finished.filter(
    (r) => r.limit?.unit === 'GFLOP/s' && ((r.limit.oursFraction ?? 0) > 1.02 || (r.limit.peerFraction ?? 0) > 1.02),
  );
  if (overPeak.length)
    notes.push(
      `above 100% of the peak (${overPeak.map((r) => `${r.kernel} ${r.shape}`).join('; ')}): the peak was measured ` +
        'while other work held the cores, so it reads low; rerun on an idle machine for trustworthy fractions',
    );

  return {
    rows: finished,
    limits,
    peers,
    notes,
    machine: { torch: peers.torch.version ?? null, openblas: peers.openblas.version ?? null },
  };
}

function progressLine(row) {
  const side = (s) => (s?.status === 'ok' ? `${s.medianMs.toFixed(3)} ms` : (s?.status ?? '—'));
  const ratio = row.speedup == null ? '' : `, ${row.speedup.toFixed(2)}× ${row.peer.name}`;
  return `${row.kernel} ${row.shape}: ours ${side(row.ours)}, ${row.peer?.name ?? 'peer'} ${side(row.peer)}${ratio}`;
}
