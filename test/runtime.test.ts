// The runtime: backend report, thread pool sizing, ISA choice, and kernels
// called from several JS threads at once.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { backendInfo, setNumThreads, numThreads, setCpuIsa } from '../lib/runtime.js';
import { gemm } from '../lib/kernels/gemm.js';
import { Rng, randn } from './helpers/random.js';
import { expectBitwise } from './helpers/compare.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** backendInfo() of a fresh process with extra environment variables. */
function childInfo(env: Record<string, string>): ReturnType<typeof backendInfo> {
  const script = `import('${path.join(root, 'lib', 'runtime.ts').replace(/\\/g, '/')}').then((m) => console.log(JSON.stringify(m.backendInfo())))`;
  const out = execFileSync(process.execPath, [...process.execArgv, '-e', script], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop()!) as ReturnType<typeof backendInfo>;
}

t.test('backendInfo reports the CPU backend, ISA and threads; CUDA absent with a reason', async (t) => {
  const info = backendInfo();
  t.equal(info.backend, 'cpu');
  t.ok(info.cpu.isaAvailable.includes(info.cpu.isa), `active ISA ${info.cpu.isa} is available`);
  t.equal(info.cpu.isaAvailable[0], 'scalar');
  t.ok(info.cpu.threads >= 1);
  t.equal(info.cuda.available, false);
  t.match(info.cuda.reason, /CUDA/);
});

t.test('LMKIT_CPU_ISA and LMKIT_NUM_THREADS are honoured at load', async (t) => {
  const scalar = childInfo({ LMKIT_CPU_ISA: 'scalar', LMKIT_NUM_THREADS: '3' });
  t.equal(scalar.cpu.isa, 'scalar');
  t.match(scalar.cpu.isaReason, /LMKIT_CPU_ISA=scalar/);
  t.equal(scalar.cpu.threads, 3);
  const bogus = childInfo({ LMKIT_CPU_ISA: 'sse9' });
  t.equal(bogus.cpu.isa, backendInfo().cpu.isaAvailable.at(-1));
  t.match(bogus.cpu.isaReason, /not one of scalar, avx2, avx512/);
});

t.test('setNumThreads and setCpuIsa validate their argument', async (t) => {
  const initial = numThreads();
  t.throws(() => setNumThreads(0), { name: 'RangeError', message: /setNumThreads.*n/ });
  t.throws(() => setNumThreads(1.5), { name: 'RangeError' });
  t.throws(() => setNumThreads('2' as unknown as number), { name: 'TypeError', message: /positive integer for n/ });
  t.throws(() => setCpuIsa('mmx' as 'scalar'), { name: 'TypeError', message: /'scalar', 'avx2', 'avx512'/ });
  setNumThreads(3);
  t.equal(numThreads(), 3);
  setNumThreads(initial);
  t.equal(numThreads(), initial);
});

t.test('kernels called from worker threads and the main thread at once give the same results', async (t) => {
  const rng = new Rng(5);
  const [m, n, k] = [96, 80, 200];
  const a = randn(rng, m * k);
  const b = randn(rng, k * n);
  const want = new Float32Array(m * n);
  gemm(a, b, want, { m, n, k });

  const workerSource = `
    const { parentPort, workerData } = require('node:worker_threads');
    // The addon itself (as lib/native.ts loads it): workers need no TS loader.
    const addon = require(workerData.nodeGypBuild)(workerData.root);
    const { a, b, m, n, k, reps } = workerData;
    const c = new Float32Array(m * n);
    for (let i = 0; i < reps; i++) addon.gemm(a, b, c, { m, n, k });
    parentPort.postMessage(c);`;
  const nodeGypBuild = path.join(root, 'node_modules', 'node-gyp-build');
  const workers = [0, 1, 2].map(
    () =>
      new Promise<Float32Array>((resolve, reject) => {
        const w = new Worker(workerSource, {
          eval: true,
          workerData: { nodeGypBuild, root, a, b, m, n, k, reps: 50 },
        });
        w.once('message', (c: Float32Array) => {
          void w.terminate();
          resolve(c);
        });
        w.once('error', reject);
      }),
  );
  const mine = new Float32Array(m * n);
  for (let i = 0; i < 50; i++) gemm(a, b, mine, { m, n, k });
  const results = await Promise.all(workers);
  expectBitwise(t, 'main thread', mine, want);
  results.forEach((c, i) => expectBitwise(t, `worker ${i}`, c, want));
});

t.test('terminating a worker thread while it is inside addon calls never aborts the process', async (t) => {
  // A terminating thread's N-API calls fail; node-addon-api must swallow the
  // exception it cannot throw instead of calling std::terminate. Run in a
  // child process so a regression fails this test rather than killing tap.
  const script = `
    const { Worker } = require('node:worker_threads');
    const source = \`
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.nodeGypBuild)(workerData.root);
      const rows = 64, cols = 96;
      const x = new Float32Array(rows * cols).fill(0.5), w = new Float32Array(cols).fill(1), b = new Float32Array(cols);
      const out = new Float32Array(rows * cols), mean = new Float32Array(rows), rstd = new Float32Array(rows);
      const targets = new Int32Array(rows).fill(1), dlogits = new Float32Array(rows * cols);
      parentPort.postMessage('running');
      for (;;) {
        addon.layerNormForward(x, w, b, out, mean, rstd, { rows, cols, eps: 1e-5 });
        addon.softmaxCrossEntropy(out, targets, dlogits, { rows, vocab: cols });
      }\`;
    (async () => {
      for (let i = 0; i < 30; i++) {
        const worker = new Worker(source, { eval: true, workerData: ${JSON.stringify({ nodeGypBuild: path.join(root, 'node_modules', 'node-gyp-build'), root })} });
        await new Promise((resolve) => worker.once('message', resolve));
        await new Promise((resolve) => setTimeout(resolve, i % 4)); // vary where the worker is when it is stopped
        await worker.terminate();
      }
      console.log('terminated 30 busy workers');
    })();`;
  const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  t.match(out, /terminated 30 busy workers/);
});
