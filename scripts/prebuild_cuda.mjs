#!/usr/bin/env node
// prebuildify's --postinstall step (npm run prebuild): put the CUDA backend
// next to the freshly built addon. prebuildify copies every *.so in
// build/Release into prebuilds/<platform>-<arch>/, so liblmkit_cuda.so ships
// beside lmkit.glibc.node and the addon dlopens it from there at run time.
//
// The library is built by cmake-js into its own folder (node-gyp rebuild
// wipes build/); the build is incremental, so an up-to-date build-cuda/ costs
// seconds. LMKIT_PREBUILD_CPU_ONLY=1 makes a CPU-only prebuild on a machine
// without nvcc (the package then reports CUDA unavailable on every machine).
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const library = path.join(root, 'build-cuda', 'liblmkit_cuda.so');
const release = path.join(root, 'build', 'Release');

function fail(message) {
  console.error(`prebuild: ${message}`);
  process.exit(1);
}

function onPath(command) {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, command)));
}

if (process.env.LMKIT_PREBUILD_CPU_ONLY === '1') {
  // prebuildify never empties prebuilds/: drop a library an earlier run left there.
  rmSync(path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'liblmkit_cuda.so'), { force: true });
  console.log('prebuild: LMKIT_PREBUILD_CPU_ONLY=1: no CUDA backend in this prebuild');
  process.exit(0);
}

if (!existsSync('/usr/local/cuda/bin/nvcc') && !onPath('nvcc'))
  fail('nvcc not found, so liblmkit_cuda.so cannot be built. Install the CUDA toolkit (12.x), ' +
    'or set LMKIT_PREBUILD_CPU_ONLY=1 for a CPU-only prebuild.');

console.log('prebuild: cmake-js build --out build-cuda --target lmkit_cuda (incremental)');
const cmakeJs = path.join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
const build = spawnSync(process.execPath, [cmakeJs, 'build', '--out', 'build-cuda', '--target', 'lmkit_cuda'], {
  cwd: root,
  stdio: 'inherit',
});
if (build.status !== 0) fail(`building liblmkit_cuda.so failed (exit ${build.status ?? build.signal}); see above`);
if (!existsSync(library)) fail(`cmake-js finished but ${path.relative(root, library)} is missing`);

mkdirSync(release, { recursive: true });
copyFileSync(library, path.join(release, 'liblmkit_cuda.so'));
console.log('prebuild: copied build-cuda/liblmkit_cuda.so into build/Release/ (prebuildify ships it beside the addon)');
