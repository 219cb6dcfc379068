// Loads lmkit for the bench from dist/ (compiling lib/ with tsc first when
// dist/ is missing or older than the sources), with a hint when it cannot.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const t = entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

/** @returns {Promise<any>} the lmkit module (dist/index.js) */
export async function loadLmkit(root, log) {
  const entry = path.join(root, 'dist', 'index.js');
  const stale = !fs.existsSync(entry) || fs.statSync(entry).mtimeMs < newestMtime(path.join(root, 'lib'));
  if (stale) {
    const tsc = path.join(root, 'node_modules', '.bin', 'tsc');
    if (!fs.existsSync(tsc)) throw new Error('lmkit is not built and TypeScript is missing. Run: npm install');
    log('lmkit: dist/ is missing or older than lib/, compiling (tsc -p tsconfig.json)');
    try {
      execFileSync(tsc, ['-p', 'tsconfig.json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const out = /** @type {{stdout?: Buffer}} */ (err).stdout?.toString() ?? '';
      throw new Error(`tsc failed, fix the type errors first (npm run build:ts):\n${out.slice(0, 2000)}`);
    }
  }
  return import(pathToFileURL(entry).href);
}

/** Names in `names` that lmkit.kernels does not export as functions. */
export function missingKernels(lmkit, names) {
  return names.filter((name) => typeof lmkit.kernels?.[name] !== 'function');
}
