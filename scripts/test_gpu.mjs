#!/usr/bin/env node
// `npm run test:gpu`: the CUDA backend on a real GPU. Compares every kernel
// of liblmkit_cuda.so with the CPU kernels (build-cuda/lmkit_cuda_check, the
// same cases the emulation tests run), then runs the device-path tests
// (DecoderLM training steps and decoding on 'cuda' against 'cpu') with the
// real library. Where there is no GPU it says so and exits 0 (a skip, not a
// failure); a GPU machine without the library built gets it built first.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const library = path.join(root, 'build-cuda', 'liblmkit_cuda.so');
const checker = path.join(root, 'build-cuda', 'lmkit_cuda_check');
const log = (line) => process.stdout.write(`[test:gpu] ${line}\n`);

function driverPresent() {
  // The same probe the addon makes: can the loader find libcuda.so.1?
  const r = spawnSync(process.execPath, ['-e', `
    const lib = ['/usr/lib/x86_64-linux-gnu/libcuda.so.1', '/usr/lib64/libcuda.so.1', '/usr/lib/aarch64-linux-gnu/libcuda.so.1'];
    const { execSync } = require('node:child_process');
    let found = lib.some((p) => require('node:fs').existsSync(p));
    if (!found) try { found = /libcuda\\.so\\.1/.test(execSync('ldconfig -p', { encoding: 'utf8' })); } catch {}
    process.exit(found ? 0 : 1);`]);
  return r.status === 0;
}

function main() {
  if (!driverPresent()) {
    log('no CUDA driver on this machine (libcuda.so.1 not found): no GPU to test, skipping (not a failure)');
    return 0;
  }
  if (!existsSync(library) || !existsSync(checker)) {
    log('build-cuda/ is missing: npm run build:cuda');
    execFileSync('npm', ['run', 'build:cuda'], { cwd: root, stdio: 'inherit' });
  }
  log(`kernels: ${path.relative(root, checker)} ${path.relative(root, library)}`);
  const check = spawnSync(checker, [library], { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 });
  const lines = check.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  if (check.status === 2) {
    log(`the CUDA backend could not start: ${check.stderr.trim()}`);
    log('a driver is present but no usable device: skipping (not a failure)');
    return 0;
  }
  for (const l of lines) if (l.check && !l.ok) log(`FAIL ${l.check}: ${l.note ?? ''} (max |Δ| ${l.maxError})`);
  const summary = lines.find((l) => l.summary);
  log(`device: ${lines[0]?.device} (compute capability ${lines[0]?.computeCapability}); ${summary?.checks} tensors compared, ${summary?.failures} failed`);
  log('device path: test/cuda/device_training.test.ts with the real library');
  const tap = spawnSync(path.join(root, 'node_modules', '.bin', 'tap'), ['test/cuda/device_training.test.ts'], {
    cwd: root, stdio: 'inherit', env: { ...process.env, LMKIT_TEST_CUDA_LIBRARY: library },
  });
  return check.status === 0 && tap.status === 0 ? 0 : 1;
}

process.exit(main());
