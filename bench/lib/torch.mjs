// The PyTorch peer: bench/peers/torch_kernels.py run by Debian's python3
// (which has python3-torch), one process for all cases of a suite.
import fs from 'node:fs';
import path from 'node:path';

import { runJson } from './toolchain.mjs';

export const TORCH_INSTALL = 'apt-get install python3-torch';

// Debian's torch lives in the system interpreter; a python3 earlier on PATH
// (a venv, pyenv) usually lacks it. LMKIT_BENCH_PYTHON overrides.
function pythonPath() {
  if (process.env.LMKIT_BENCH_PYTHON) return process.env.LMKIT_BENCH_PYTHON;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/**
 * Runs every case in one python process.
 * @param {{root: string, threads: number, budgetMs: number, cases: object[]}} request
 * @returns {{status: 'ok', torch: string, results: Map<string, any>} |
 *           {status: 'missing' | 'error', install?: string, error: string}}
 */
export function runTorchCases({ root, threads, budgetMs, cases }) {
  const python = pythonPath();
  const script = path.join(root, 'bench', 'peers', 'torch_kernels.py');
  const res = runJson(python, [script], {
    input: JSON.stringify({ threads, budget_ms: budgetMs, cases }),
    timeoutMs: 600_000,
  });
  if (!res.ok) {
    const missing = /ENOENT/.test(res.error);
    return missing
      ? { status: 'missing', install: TORCH_INSTALL, error: `${python} not found` }
      : { status: 'error', error: res.error };
  }
  const v = res.value;
  if (v.error) return { status: 'missing', install: v.install ?? TORCH_INSTALL, error: v.error };
  return {
    status: 'ok',
    torch: v.torch,
    threads: v.threads,
    results: new Map(v.results.map((r) => [r.id, r])),
  };
}
