// Finding the CUDA backend at run time: importing lmkit opens nothing, the
// first backendInfo() probes the driver and opens our library only when one
// exists, LMKIT_BACKEND=cpu opens nothing at all, and every failure is a
// reason in backendInfo() — never output on stderr, never a crash. Each case
// runs in a fresh process (the backend is looked for once per process) and
// reads /proc/self/maps to see which libraries were really mapped.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { emuLibrary, emulationMissing, realLibrary, repoRoot } from '../helpers/cuda_emulation.js';

interface Probe {
  afterImport: string[];
  info: { backend: string; requested: string; cuda: { available: boolean; reason: string; library?: string; device?: { emulated: boolean; name: string } } };
  afterInfo: string[];
}

const compiledEntry = path.join(repoRoot, 'dist', 'index.js');
const compiled = existsSync(compiledEntry);
const entry = compiled ? compiledEntry : path.join(repoRoot, 'lib', 'index.ts');

/** Imports lmkit in a child with `env`, lists mapped CUDA-ish libraries before and after backendInfo(). */
function probe(env: Record<string, string | undefined>): { probe: Probe; stderr: string; status: number | null } {
  const script = `
    const fs = require('node:fs');
    const mapped = () => [...new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\\n')
      .map((l) => l.split(/\\s+/)[5] ?? '').filter((p) => /libcuda|lmkit_cuda/.test(p)).map((p) => require('node:path').basename(p)))];
    import(${JSON.stringify(entry)}).then((lmkit) => {
      const afterImport = mapped();
      const info = lmkit.backendInfo();
      console.log(JSON.stringify({ afterImport, info, afterInfo: mapped() }));
    });`;
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
  // The compiled package when it is built (what users import; fast), else the sources through tap's loader.
  const r = spawnSync(process.execPath, [...(compiled ? [] : process.execArgv), '-e', script], { env: childEnv, encoding: 'utf8' });
  const last = r.stdout.trim().split('\n').pop() ?? '{}';
  return { probe: JSON.parse(last) as Probe, stderr: r.stderr, status: r.status };
}

const noDriver = !existsSync('/usr/lib/x86_64-linux-gnu/libcuda.so.1') && !existsSync('/usr/lib64/libcuda.so.1');

t.test('without a CUDA driver: no error output, nothing of ours mapped, a reason naming libcuda.so.1', { skip: noDriver ? false : 'this machine has a CUDA driver' }, async (t) => {
  const { probe: p, stderr, status } = probe({ LMKIT_BACKEND: undefined, LMKIT_CUDA_LIBRARY: undefined });
  t.equal(status, 0);
  t.equal(stderr, '', 'nothing printed on stderr');
  t.same(p.afterImport, [], 'importing lmkit maps no CUDA library');
  t.same(p.afterInfo, [], 'backendInfo() maps none either: the driver probe failed, so liblmkit_cuda.so was not opened');
  t.equal(p.info.backend, 'cpu');
  t.equal(p.info.cuda.available, false);
  t.match(p.info.cuda.reason, /no CUDA driver \(libcuda\.so\.1 not found\)/);
});

t.test('LMKIT_BACKEND=cpu opens nothing and says so', async (t) => {
  const { probe: p, stderr } = probe({ LMKIT_BACKEND: 'cpu', LMKIT_CUDA_LIBRARY: emuLibrary });
  t.equal(stderr, '');
  t.same(p.afterInfo, [], 'not even an explicitly named library is opened');
  t.equal(p.info.backend, 'cpu');
  t.equal(p.info.requested, 'cpu');
  t.match(p.info.cuda.reason, /LMKIT_BACKEND=cpu/);
});

t.test('LMKIT_CUDA_LIBRARY naming a missing file: a reason, no crash', async (t) => {
  const { probe: p, stderr } = probe({ LMKIT_BACKEND: undefined, LMKIT_CUDA_LIBRARY: '/nonexistent/liblmkit_cuda.so' });
  t.equal(stderr, '');
  t.equal(p.info.cuda.available, false);
  t.match(p.info.cuda.reason, /\/nonexistent\/liblmkit_cuda\.so, which is not a file/);
});

t.test('the emulation library loads lazily, through the same path as the real one', { skip: emulationMissing() }, async (t) => {
  const { probe: p, stderr } = probe({ LMKIT_BACKEND: undefined, LMKIT_CUDA_LIBRARY: emuLibrary });
  t.equal(stderr, '');
  t.same(p.afterImport, [], 'not mapped at import');
  t.same(p.afterInfo, ['liblmkit_cuda_emu.so'], 'mapped by the first backendInfo()');
  t.equal(p.info.backend, 'cuda', 'auto picks the available device');
  t.equal(p.info.cuda.available, true);
  t.equal(p.info.cuda.device?.emulated, true);
  t.equal(p.info.cuda.device?.name, 'lmkit CPU emulation');
});

t.test('the nvcc-built library on a machine without a driver: opened, then refused with the CUDA runtime\'s message', {
  skip: !existsSync(realLibrary) ? `${realLibrary} is not built (npm run build:cuda; needs nvcc)` : !noDriver ? 'this machine has a CUDA driver' : false,
}, async (t) => {
  const { probe: p, stderr, status } = probe({ LMKIT_BACKEND: undefined, LMKIT_CUDA_LIBRARY: realLibrary });
  t.equal(status, 0, 'no crash');
  t.equal(stderr, '', 'nothing printed on stderr');
  t.equal(p.info.cuda.available, false);
  t.match(p.info.cuda.reason, /CUDA backend unavailable: cudaGetDeviceCount: cudaError\w+: /, p.info.cuda.reason);
  t.equal(p.info.backend, 'cpu');
});

t.test('the nvcc-built library links cudart statically and exports one symbol', { skip: existsSync(realLibrary) ? false : `${realLibrary} is not built` }, async (t) => {
  const needed = spawnSync('readelf', ['-d', realLibrary], { encoding: 'utf8' });
  if (needed.status !== 0) {
    t.pass('readelf is not installed (Debian binutils): linkage not inspected');
    return;
  }
  t.notMatch(needed.stdout, /libcudart|libcublas/, 'no dynamic cudart or cuBLAS dependency');
  const symbols = spawnSync('nm', ['-D', '--defined-only', realLibrary], { encoding: 'utf8' });
  const exported = symbols.stdout.split('\n').filter((l) => / T /.test(l)).map((l) => l.split(' ').pop());
  t.same(exported, ['lmkit_cuda_api'], 'only lmkit_cuda_api is exported');
});
