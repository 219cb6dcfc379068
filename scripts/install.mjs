#!/usr/bin/env node
// lmkit's npm install script. A prebuilt addon that loads here (prebuilds/
// <platform>-<arch>/, or an earlier source build in build/Release/) means there
// is nothing to do: say which file and stop. Only when none matches (or the
// user asks with --build-from-source) build from source with node-gyp, and say
// so first, naming what that needs. Nothing is ever downloaded.
//
// lmkit does not depend on this script: node-gyp-build finds the prebuild at
// require time, so `npm install --ignore-scripts` gives a working package too.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nodeGypBuild = require('node-gyp-build');
const where = `${process.platform}-${process.arch}`;

function log(line) {
  console.log(`lmkit: ${line}`);
}

/** The addon node-gyp-build would load, if it also loads in this Node; else null and why. */
function usableBuild() {
  let file;
  try {
    file = nodeGypBuild.resolve(root);
  } catch (err) {
    return { file: null, why: firstLine(err) };
  }
  try {
    // Loading proves more than the file name's tags: the glibc symbols and the N-API version match.
    require(file);
    return { file, why: '' };
  } catch (err) {
    return { file: null, why: `${path.relative(root, file)} does not load in Node ${process.versions.node}: ${firstLine(err)}` };
  }
}

function firstLine(err) {
  return String(err instanceof Error ? err.message : err).split('\n')[0];
}

/** npm passes the node-gyp it bundles in npm_config_node_gyp; otherwise the one on PATH. */
function nodeGypCommand() {
  const bundled = process.env.npm_config_node_gyp;
  return bundled ? [process.execPath, bundled] : ['node-gyp'];
}

const fromSource = process.argv.includes('--build-from-source') || process.env.npm_config_build_from_source === 'true';
const found = fromSource ? { file: null, why: 'a build from source was asked for (--build-from-source)' } : usableBuild();

if (found.file) {
  const kind = found.file.includes(`${path.sep}prebuilds${path.sep}`) ? 'prebuilt addon' : 'addon built earlier';
  log(`using the ${kind} ${path.relative(root, found.file)} (no compiler needed)`);
  process.exit(0);
}

log(fromSource ? found.why : `no prebuilt addon for ${where} (glibc, Node ${process.versions.node}) loads here: ${found.why}`);
log('building it from source with node-gyp (needs python3, make and a C++17 compiler; offline with nodedir=/usr or cached Node headers)');
const [command, ...prefix] = nodeGypCommand();
const build = spawnSync(command, [...prefix, 'rebuild'], { cwd: root, stdio: 'inherit' });
if (build.error) {
  log(`could not start ${command}: ${build.error.message}. Install node-gyp (npm install -g node-gyp) or use a platform with a prebuild (linux-x64 glibc).`);
  process.exit(1);
}
if (build.status !== 0) {
  log(`the source build failed (exit ${build.status ?? build.signal}); the compiler's messages are above. On linux-x64 glibc the package ships a prebuild and needs none of this.`);
  process.exit(build.status ?? 1);
}
const built = usableBuild();
if (!built.file) {
  log(`node-gyp finished but no addon loads: ${built.why}`);
  process.exit(1);
}
log(`built ${path.relative(root, built.file)} from source`);
