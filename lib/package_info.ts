// Where the installed package lives and its version: lib/ (sources under
// tap) and dist/ (the build) both sit one level below the package root.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

let cached: string | undefined;

export function lmkitVersion(): string {
  cached ??= (JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  return cached;
}
