// The CPU thread pool under back-to-back loops (test/native/thread_pool_stress.cpp,
// built here from native/cpu/thread_pool.cpp with the system C++ compiler): every
// task of every loop runs exactly once and none is still running when the loop
// returns. Before the pool closed its counter between loops, 200,000 loops at 2
// threads showed about 60 duplicated tasks and 6 loops returning early.
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const compiler = ['g++', 'c++', 'clang++'].find((cxx) => spawnSync(cxx, ['--version']).status === 0);

const skip = compiler ? false : 'no C++ compiler (g++, c++ or clang++) on PATH to build the stress program';

t.test('thread pool: back-to-back loops of varying size run each task once, and only inside their loop', { skip }, async (t) => {
  if (!compiler) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmkit-pool-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const exe = path.join(dir, 'thread_pool_stress');
  execFileSync(compiler, [
    '-O2', '-std=c++17', '-pthread', '-I', path.join(root, 'native'),
    path.join(root, 'test', 'native', 'thread_pool_stress.cpp'), path.join(root, 'native', 'cpu', 'thread_pool.cpp'),
    '-o', exe,
  ]);
  for (const threads of [2, 3, 4]) {
    const run = spawnSync(exe, [String(threads), '300000'], { encoding: 'utf8', timeout: 120_000 });
    t.equal(run.status, 0, `${threads} threads: ${run.stdout.trim() || run.stderr.trim() || run.error?.message}`);
    t.match(run.stdout, /duplicated 0, missing 0, still running 0/);
  }
});
