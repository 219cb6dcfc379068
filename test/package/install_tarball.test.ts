// The package as a user gets it. `npm pack` the checkout (its dist/ and
// prebuilds/, so `npm run build:ts` and `npm run build:prebuild` come first;
// .ci/run does both), then install the tarball into an empty folder with no
// compiler on PATH (a folder of links to node, npm and a few shell tools
// only) and npm offline: lmkit's two runtime dependencies come from the npm
// cache by the integrity of our lockfile. From there: the install script's
// report, a kernel call and a training step checked against plain
// arithmetic, `npx lmkit --help`, the CUDA backend refusing cleanly, the docs'
// examples type-checked against the installed types and run, and a second
// install with npm's install scripts off.
import t from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../helpers/cuda_emulation.js';

const where = `${process.platform}-${process.arch}`;
const prebuildDir = path.join(repoRoot, 'prebuilds', where);
const addonFile = path.join(prebuildDir, 'lmkit.glibc.node');
const shipsCuda = existsSync(path.join(prebuildDir, 'liblmkit_cuda.so'));
const examplesDir = path.join(repoRoot, 'docs', 'examples');
const EXAMPLES = readdirSync(examplesDir).filter((f) => f.endsWith('.ts')).sort();

const missing = !existsSync(path.join(repoRoot, 'dist', 'index.js'))
  ? 'dist/ is not built (npm run build:ts)'
  : !existsSync(addonFile)
    ? `there is no prebuild ${path.relative(repoRoot, addonFile)}; make it with: npm run build:prebuild ` +
      '(needs nvcc for the CUDA library, or LMKIT_PREBUILD_CPU_ONLY=1 npm run build:prebuild)'
    : false;

if (missing && process.env.CI) t.fail(`the packed-install test cannot run: ${missing}`);
else if (missing) t.test('npm pack, then an offline install without compilers', { skip: missing }, async () => {});
else runAll();

function runAll(): void {
  const work = t.testdir({ 'bin': {}, 'app': {}, 'app-no-scripts': {}, 'tmp': {} });
  const bin = path.join(work, 'bin');

  // Only what npm and its scripts need: no gcc, g++, cc, make, cmake, nvcc or python.
  for (const tool of ['node', 'npm', 'npx', 'sh', 'env', 'cat', 'ls', 'mkdir', 'rm', 'cp', 'mv', 'uname', 'sed', 'grep', 'tar', 'gzip']) {
    const found = (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, tool)).find((p) => existsSync(p));
    if (found) symlinkSync(found, path.join(bin, tool));
  }
  const env: Record<string, string> = {
    PATH: bin, HOME: process.env.HOME ?? homedir(), TMPDIR: path.join(work, 'tmp'), LMKIT_NUM_THREADS: '1',
    // The machine's npm cache (where npm install put node-addon-api and node-gyp-build), if it was moved.
    ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
  };
  const run = (cwd: string, command: string, args: string[], extra: Record<string, string> = {}): SpawnSyncReturns<string> =>
    spawnSync(command, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 300_000 });
  /** The assertion name: `what`, or when the command failed, its exit status and the end of its output. */
  const show = (r: SpawnSyncReturns<string>, what: string): string =>
    r.status === 0 ? what : `${what}: exit ${r.status}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout}\n${r.stderr}`.slice(-4000);

  let tarball = '';
  let integrity = '';

  t.test('npm pack: dist, the prebuilds and the sources of a fallback build; no tests, fixtures, benches or builds', async (t) => {
    const r = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: repoRoot, encoding: 'utf8' });
    t.equal(r.status, 0, show(r, 'npm pack'));
    const [packed] = JSON.parse(r.stdout) as { filename: string; size: number; unpackedSize: number; integrity: string; files: { path: string }[] }[];
    tarball = path.join(work, packed!.filename);
    integrity = packed!.integrity;
    const files = new Set(packed!.files.map((f) => f.path));
    t.comment(`tarball ${packed!.filename}: ${(packed!.size / 1e6).toFixed(2)} MB, ${(packed!.unpackedSize / 1e6).toFixed(2)} MB unpacked, ${files.size} files`);
    const binding = JSON.parse(readFileSync(path.join(repoRoot, 'binding.gyp'), 'utf8')) as { targets: { sources: string[] }[] };
    const needed = [
      'package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'scripts/install.mjs', 'binding.gyp', 'native/kernels.h',
      `prebuilds/${where}/lmkit.glibc.node`, ...(shipsCuda ? [`prebuilds/${where}/liblmkit_cuda.so`] : []), ...binding.targets[0]!.sources,
    ];
    t.same(needed.filter((f) => !files.has(f)), [], 'every file a user needs, and every source binding.gyp compiles');
    const stray = [...files].filter((f) => /^(test|bench|lib|build|build-cuda|build-cuda-emu|\.ci|\.tap|node_modules|docs\/api|docs\/examples\/out)\//.test(f) || f.endsWith('.map'));
    t.same(stray, [], 'no tests, fixtures, benchmarks, TypeScript sources, build folders or source maps');
    t.ok(packed!.size < 5e6, `the tarball stays small: ${packed!.size} bytes < 5 MB`);
    // The README states the size; it must stay near the truth.
    const stated = /The tarball \(`npm pack`\) is ([\d.]+) MB/.exec(readFileSync(path.join(repoRoot, 'README.md'), 'utf8'));
    t.ok(stated, 'the README states the tarball size');
    const ratio = packed!.size / (Number(stated?.[1]) * 1e6);
    if (shipsCuda) t.ok(ratio > 0.8 && ratio < 1.2, `README says ${stated?.[1]} MB, measured ${(packed!.size / 1e6).toFixed(2)} MB (within 20%; else update the README's Install section)`);
    else t.comment(`a CPU-only prebuild: ${(packed!.size / 1e6).toFixed(2)} MB, not comparable with the README's figure, which includes the CUDA library`);
  });

  t.test('no compiler is reachable on the install PATH', async (t) => {
    const reachable = ['gcc', 'g++', 'cc', 'c++', 'clang', 'make', 'cmake', 'nvcc', 'python3', 'python'].filter((tool) => existsSync(path.join(bin, tool)));
    t.same(reachable, [], `none of them in ${bin}`);
  });

  /** An app that depends on the tarball, with a lockfile pinning lmkit's runtime deps to ours (their integrity finds them in the cache). */
  function writeApp(dir: string): void {
    const ours = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string; dependencies: Record<string, string>; bin: Record<string, string>; engines: Record<string, string> };
    const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, Record<string, unknown>> };
    const spec = `file:${path.relative(dir, tarball)}`;
    const packages: Record<string, unknown> = {
      '': { name: 'app', dependencies: { lmkit: spec } },
      'node_modules/lmkit': { version: ours.version, resolved: spec, integrity, hasInstallScript: true, dependencies: ours.dependencies, bin: ours.bin, engines: ours.engines },
    };
    for (const dep of Object.keys(ours.dependencies)) {
      const { version, integrity: depIntegrity, bin: depBin } = lock.packages[`node_modules/${dep}`]!;
      packages[`node_modules/${dep}`] = { version, integrity: depIntegrity, ...(depBin ? { bin: depBin } : {}) };
    }
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', dependencies: { lmkit: spec } }, null, 2));
    writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify({ name: 'app', lockfileVersion: 3, requires: true, packages }, null, 2));
  }

  const app = path.join(work, 'app');
  const installed = path.join(app, 'node_modules', 'lmkit');

  t.test('npm ci --offline: the install script finds the prebuild and compiles nothing', async (t) => {
    writeApp(app);
    const r = run(app, 'npm', ['ci', '--offline', '--no-audit', '--no-fund', '--foreground-scripts']);
    t.equal(r.status, 0, show(r, 'npm ci --offline'));
    t.match(r.stdout, `lmkit: using the prebuilt addon prebuilds/${where}/lmkit.glibc.node (no compiler needed)`, 'the install script names the prebuild');
    t.notOk(existsSync(path.join(installed, 'build')), 'no build/ folder: nothing was compiled');
    t.ok(existsSync(path.join(app, 'node_modules', 'node-addon-api', 'package.json')) && existsSync(path.join(app, 'node_modules', 'node-gyp-build', 'package.json')), 'runtime deps installed from the cache');
  });

  t.test('from the installed package: a kernel call and a training step, checked by hand', async (t) => {
    writeFileSync(path.join(app, 'smoke.mjs'), `
      import { AdamW, DecoderLM, Tensor, backendInfo, backward, kernels } from 'lmkit';
      const a = Float32Array.from([1, -2, 3, 0.5, 4, -1]), b = Float32Array.from([2, 1, 0, -3, 1, 1]), c = new Float32Array(4);
      kernels.gemm(a, b, c, { m: 2, n: 2, k: 3 });
      const model = new DecoderLM({ vocab_size: 11, n_positions: 8, n_embd: 16, n_layer: 1, n_head: 2 }, 3);
      const opt = new AdamW(model.namedParameters(), { lr: 1e-2 });
      const ids = new Tensor(Int32Array.from({ length: 16 }, (_, i) => i % 11), [2, 8]);
      const targets = new Tensor(Int32Array.from({ length: 16 }, (_, i) => (i + 1) % 11), [2, 8]);
      const losses = [];
      for (let step = 0; step < 3; step++) {
        const loss = model.loss(ids, targets);
        losses.push(loss.item());
        backward(loss); opt.update(); opt.zeroGrad();
      }
      console.log(JSON.stringify({ gemm: Array.from(c), losses, info: backendInfo() }));`);
    const r = run(app, 'node', ['smoke.mjs']);
    t.equal(r.status, 0, show(r, 'node smoke.mjs'));
    const out = JSON.parse(r.stdout) as { gemm: number[]; losses: number[]; info: { addon: string; backend: string; cuda: { available: boolean; reason: string } } };
    // C = A[2×3]·B[3×2] by the definition.
    const A = [[1, -2, 3], [0.5, 4, -1]], B = [[2, 1], [0, -3], [1, 1]];
    t.same(out.gemm, [0, 1].flatMap((i) => [0, 1].map((j) => A[i]!.reduce((s, aik, k) => s + aik * B[k]![j]!, 0))), `gemm ${out.gemm.join(' ')}`);
    t.ok(Math.abs(out.losses[0]! - Math.log(11)) < 0.3, `first loss ${out.losses[0]!.toFixed(4)} ≈ ln 11 = ${Math.log(11).toFixed(4)} for a fresh model`);
    t.ok(out.losses[2]! < out.losses[1]! && out.losses[1]! < out.losses[0]!, `loss falls on the batch it trains on: ${out.losses.map((l) => l.toFixed(4)).join(' → ')}`);
    t.equal(out.info.addon, path.join(installed, 'prebuilds', where, 'lmkit.glibc.node'), 'the prebuild is the addon in use');
    t.equal(out.info.backend, 'cpu', 'runs on the CPU');
  });

  t.test('npx lmkit --help and lmkit info from the install folder', async (t) => {
    const help = run(app, 'npx', ['--offline', 'lmkit', '--help']);
    t.equal(help.status, 0, show(help, 'npx lmkit --help'));
    t.match(help.stdout, /^lmkit — train, fine-tune, evaluate and serve/, 'the help text');
    t.match(help.stdout, /Usage: lmkit <command> \[options\]/, 'with its usage line');
    const info = run(app, 'npx', ['--offline', 'lmkit', 'info']);
    t.equal(info.status, 0, show(info, 'npx lmkit info'));
    t.match(JSON.parse(info.stdout) as unknown, { backend: 'cpu', addon: path.join(installed, 'prebuilds', where, 'lmkit.glibc.node'), cuda: { available: false } }, 'lmkit info: the prebuild, on the CPU');
  });

  const noDriver = !['/usr/lib/x86_64-linux-gnu/libcuda.so.1', '/usr/lib64/libcuda.so.1', '/lib/x86_64-linux-gnu/libcuda.so.1'].some(existsSync);
  t.test('CUDA from the installed package on this driverless machine: reported unavailable, cleanly', { skip: noDriver ? false : 'this machine has a CUDA driver' }, async (t) => {
    const probe = `import('lmkit').then((m) => {
      const cuda = m.backendInfo().cuda;
      let refusal = null;
      try { m.setBackend('cuda'); } catch (e) { refusal = { name: e.name, code: e.code, message: e.message }; }
      console.log(JSON.stringify({ cuda, refusal, backend: m.defaultDevice() }));
    })`;
    const plain = run(app, 'node', ['-e', probe]);
    t.equal(plain.status, 0, show(plain, 'the probe exits 0'));
    t.equal(plain.stderr, '', 'nothing on stderr');
    const p = JSON.parse(plain.stdout) as { cuda: { available: boolean; reason: string; library?: string }; refusal: { name: string; code: string; message: string } | null; backend: string };
    t.match(p.cuda, { available: false, reason: /no CUDA driver \(libcuda\.so\.1 not found\)/ }, `backendInfo().cuda: ${p.cuda.reason}`);
    t.match(p.refusal, { name: 'DeviceError', code: 'CUDA_UNAVAILABLE', message: /setBackend: the CUDA backend is not available/ }, 'setBackend(\'cuda\') is a DeviceError saying why');
    t.equal(p.backend, 'cpu', 'the default device stays the CPU');

    if (!shipsCuda) {
      t.comment('this prebuild has no liblmkit_cuda.so (LMKIT_PREBUILD_CPU_ONLY): the shipped-library check does not apply');
      return;
    }
    // A stand-in for the driver: any shared object named libcuda.so.1 makes the
    // driver probe pass, so the default search runs and must pick the library
    // shipped beside the prebuilt addon, whose CUDA runtime then finds no
    // usable driver and says so.
    const stand = ['/lib/x86_64-linux-gnu/libdl.so.2', '/usr/lib/x86_64-linux-gnu/libdl.so.2', '/lib64/libdl.so.2'].find(existsSync);
    if (!stand) {
      t.comment('no libdl.so.2 to stand in for libcuda.so.1: the default search is not exercised');
      return;
    }
    const fakeDriver = path.join(work, 'fake-driver');
    mkdirSync(fakeDriver, { recursive: true });
    copyFileSync(stand, path.join(fakeDriver, 'libcuda.so.1'));
    const found = run(app, 'node', ['-e', probe], { LD_LIBRARY_PATH: fakeDriver });
    t.equal(found.status, 0, show(found, 'the probe exits 0'));
    t.equal(found.stderr, '', 'nothing on stderr');
    const f = JSON.parse(found.stdout) as typeof p;
    t.equal(f.cuda.library, path.join(installed, 'prebuilds', where, 'liblmkit_cuda.so'), 'the default search opened the library shipped beside the prebuild');
    t.match(f.cuda, { available: false, reason: /^CUDA backend unavailable: cudaGetDeviceCount: cudaError\w+: / }, `the shipped library loads and refuses: ${f.cuda.reason}`);
    t.match(f.refusal, { code: 'CUDA_UNAVAILABLE' }, 'setBackend(\'cuda\') refuses');
  });

  t.test('the docs\' examples: type-checked against the installed package, then run from it', async (t) => {
    const examples = path.join(app, 'examples');
    mkdirSync(examples);
    for (const f of EXAMPLES) copyFileSync(path.join(examplesDir, f), path.join(examples, f));
    writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true,
        rootDir: 'examples', outDir: 'out', types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
      },
      include: ['examples/*.ts'],
    }));
    const tsc = run(app, 'node', [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
    t.equal(tsc.status, 0, show(tsc, 'tsc on the examples, against the installed lmkit'));
    const expected: Record<string, RegExp[]> = {
      'kernels.ts': [/^gemm: 58 64 139 154$/m, /^attention: row 0 1 0 /m, /^crossEntropy: loss 0\.6691 over 2 rows$/m, /^gemm with a short c: RangeError: gemm: c has 3 elements/m],
      'training.ts': [/^by hand: loss [\d. →]+$/m, /^pretrain: 40 steps, val loss \d/m],
      'fine_tuning.ts': [/^sft: loss per response token/m, /^reward model: pair accuracy/m, /^ppo iter 3: reward -?\d/m],
      'generation.ts': [/^greedy: /m, /^beams: /m, /^stop at "\.": .* \(stop\)$/m, /^streamed: .*\(the same as greedy: true\)$/m],
      'serving.ts': [/^engine: .* \((length|eos|stop), \d+ pieces\)$/m, /^http 200: /m],
    };
    t.same(Object.keys(expected).sort(), EXAMPLES, 'every example in docs/examples is run here');
    for (const f of EXAMPLES) {
      const r = run(app, 'node', [path.join('out', f.replace(/\.ts$/, '.js'))]);
      t.equal(r.status, 0, show(r, `node out/${f.replace(/\.ts$/, '.js')}`));
      for (const line of expected[f] ?? []) t.match(r.stdout, line, `${f} prints ${line}`);
    }
  });

  t.test('with npm\'s install scripts off (--ignore-scripts), the prebuild loads at import all the same', async (t) => {
    const dir = path.join(work, 'app-no-scripts');
    writeApp(dir);
    const r = run(dir, 'npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--foreground-scripts']);
    t.equal(r.status, 0, show(r, 'npm ci --offline --ignore-scripts'));
    t.notMatch(r.stdout, /lmkit: /, 'the install script did not run');
    const use = run(dir, 'node', ['-e', `import('lmkit').then((m) => {
      const c = new Float32Array(1);
      m.kernels.gemm(Float32Array.from([3]), Float32Array.from([4]), c, { m: 1, n: 1, k: 1 });
      console.log(JSON.stringify({ c: c[0], addon: m.backendInfo().addon }));
    })`]);
    t.equal(use.status, 0, show(use, 'import lmkit'));
    t.same(JSON.parse(use.stdout) as unknown, { c: 12, addon: path.join(dir, 'node_modules', 'lmkit', 'prebuilds', where, 'lmkit.glibc.node') }, 'gemm 3·4 = 12 on the prebuild');
  });
}
