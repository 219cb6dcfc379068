// scripts/install.mjs, npm's install script: with a prebuild that loads it
// says which and builds nothing; with none (or one that does not load, or
// when --build-from-source is asked for) it says so, then runs node-gyp
// rebuild — here a stand-in node-gyp (npm_config_node_gyp, as npm passes its
// bundled one) that records its call and copies the real addon into
// build/Release, so no compiler is needed. The real source build is what
// `npm run build:native` and `npm run build:prebuild` run.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { repoRoot } from '../helpers/cuda_emulation.js';

const require = createRequire(import.meta.url);
/** The addon this checkout loads (a prebuild or build/Release), to stand in for prebuilt and source builds. */
const realAddon = (require('node-gyp-build') as { resolve(root: string): string }).resolve(repoRoot);
const where = `${process.platform}-${process.arch}`;

/** A package folder holding only the install script and node-gyp-build, plus what `setup` adds. */
function fakePackage(t: Test, setup: (root: string) => void = () => {}): string {
  const root = t.testdir({ scripts: {}, node_modules: {} });
  copyFileSync(path.join(repoRoot, 'scripts', 'install.mjs'), path.join(root, 'scripts', 'install.mjs'));
  symlinkSync(path.join(repoRoot, 'node_modules', 'node-gyp-build'), path.join(root, 'node_modules', 'node-gyp-build'));
  writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'lmkit', type: 'module' }));
  setup(root);
  return root;
}

/** A node-gyp stand-in: writes its arguments and cwd to calls.json, then copies the real addon (or fails with `exit`). */
function fakeNodeGyp(root: string, exit = 0): string {
  const file = path.join(root, 'fake-node-gyp.cjs');
  writeFileSync(file, `
    const fs = require('node:fs'), path = require('node:path');
    fs.writeFileSync(${JSON.stringify(path.join(root, 'calls.json'))}, JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd() }));
    if (${exit}) { console.error('g++: not found'); process.exit(${exit}); }
    fs.mkdirSync(path.join(process.cwd(), 'build', 'Release'), { recursive: true });
    fs.copyFileSync(${JSON.stringify(realAddon)}, path.join(process.cwd(), 'build', 'Release', 'lmkit.node'));`);
  return file;
}

function install(root: string, env: Record<string, string> = {}) {
  const clean: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'install.mjs')], { cwd: root, env: { ...clean, ...env }, encoding: 'utf8' });
  const calls = path.join(root, 'calls.json');
  const call = existsSync(calls) ? (JSON.parse(readFileSync(calls, 'utf8')) as { args: string[]; cwd: string }) : null;
  return { status: r.status, out: r.stdout + r.stderr, call };
}

const withPrebuild = (root: string) => {
  mkdirSync(path.join(root, 'prebuilds', where), { recursive: true });
  copyFileSync(realAddon, path.join(root, 'prebuilds', where, 'lmkit.glibc.node'));
};

t.test('a prebuild that loads: named, nothing built', async (t) => {
  const root = fakePackage(t, withPrebuild);
  const r = install(root, { npm_config_node_gyp: fakeNodeGyp(root) });
  t.equal(r.status, 0, r.out);
  t.match(r.out, `lmkit: using the prebuilt addon prebuilds/${where}/lmkit.glibc.node (no compiler needed)`);
  t.equal(r.call, null, 'node-gyp was not run');
});

t.test('no prebuild: says so and what a source build needs, runs node-gyp rebuild in the package, checks the result loads', async (t) => {
  const root = fakePackage(t);
  const r = install(root, { npm_config_node_gyp: fakeNodeGyp(root) });
  t.equal(r.status, 0, r.out);
  t.match(r.out, new RegExp(`lmkit: no prebuilt addon for ${where} \\(glibc, Node ${process.versions.node.replace(/\./g, '\\.')}\\) loads here: No native build was found`));
  t.match(r.out, 'building it from source with node-gyp (needs python3, make and a C++17 compiler');
  t.same(r.call, { args: ['rebuild'], cwd: root });
  t.match(r.out, 'lmkit: built build/Release/lmkit.node from source');
});

t.test('a prebuild that does not load (not an ELF file): the loader\'s reason, then a source build', async (t) => {
  const root = fakePackage(t, (root) => {
    mkdirSync(path.join(root, 'prebuilds', where), { recursive: true });
    writeFileSync(path.join(root, 'prebuilds', where, 'lmkit.glibc.node'), 'not a shared object');
  });
  const r = install(root, { npm_config_node_gyp: fakeNodeGyp(root) });
  t.equal(r.status, 0, r.out);
  t.match(r.out, `prebuilds/${where}/lmkit.glibc.node does not load in Node ${process.versions.node}:`);
  t.same(r.call?.args, ['rebuild']);
});

t.test('npm rebuild --build-from-source: builds even when a prebuild loads', async (t) => {
  const root = fakePackage(t, withPrebuild);
  const r = install(root, { npm_config_node_gyp: fakeNodeGyp(root), npm_config_build_from_source: 'true' });
  t.equal(r.status, 0, r.out);
  t.match(r.out, 'lmkit: a build from source was asked for (--build-from-source)\nlmkit: building it from source');
  t.same(r.call?.args, ['rebuild']);
});

t.test('a failing source build: the install fails with its exit code and a hint', async (t) => {
  const root = fakePackage(t);
  const r = install(root, { npm_config_node_gyp: fakeNodeGyp(root, 2) });
  t.equal(r.status, 2);
  t.match(r.out, 'g++: not found');
  t.match(r.out, 'lmkit: the source build failed (exit 2)');
});

t.test('no node-gyp at all (not run by npm, none on PATH): a clear error, exit 1', async (t) => {
  const root = fakePackage(t);
  const r = install(root, { PATH: path.join(root, 'empty-bin') });
  t.equal(r.status, 1);
  t.match(r.out, 'lmkit: could not start node-gyp');
});
