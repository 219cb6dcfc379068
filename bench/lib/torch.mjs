// The PyTorch peers (bench/peers/torch_*.py) run by Debian's python3 (which
// has python3-torch), one process for all cases of a suite.
import fs from 'node:fs';
import path from 'node:path';

import { strongestOpenblas } from './openblas.mjs';
import { runJson } from './toolchain.mjs';

export const TORCH_INSTALL = 'apt-get install python3-torch';

// Debian's torch lives in the system interpreter; a python3 earlier on PATH
// (a venv, pyenv) usually lacks it. LMKIT_BENCH_PYTHON overrides.
function pythonPath() {
  if (process.env.LMKIT_BENCH_PYTHON) return process.env.LMKIT_BENCH_PYTHON;
  return fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
}

/**
 * Runs every case in one python process (importing torch costs seconds).
 * `script` is the peer in bench/peers/: torch_kernels.py for the kernel
 * suite, torch_train.py for train and decode; `request` carries what else
 * that script reads besides threads and cases.
 * @param {{root: string, threads: number, cases: object[], script?: string,
 *          request?: object, budgetMs?: number, timeoutMs?: number}} options
 * @returns {{status: 'ok', torch: string, threads: number, results: Map<string, any>} |
 *           {status: 'missing' | 'error', install?: string, error: string}}
 */
export function runTorchCases({ root, threads, budgetMs, cases, script = 'torch_kernels.py', request = {}, timeoutMs = 600_000 }) {
  const python = pythonPath();
  const file = path.join(root, 'bench', 'peers', script);
  // PyTorch's CPU GEMMs are OpenBLAS's: give it the kernel set the GEMM peer found fastest.
  const blas = strongestOpenblas({ root, threads, log: () => {} });
  const res = runJson(python, [file], {
    env: blas.env,
    unset: blas.unset,
    input: JSON.stringify({ threads, ...(budgetMs != null ? { budget_ms: budgetMs } : {}), ...request, cases }),
    timeoutMs,
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
    openblas: blas.choice ? `${blas.choice.chosen} (${blas.choice.setting})` : 'as installed',
    results: new Map(v.results.map((r) => [r.id, r])),
  };
}

/**
 * The `peers.torch` entry of a results file and the notes to print for a
 * runTorchCases answer (missing or failed peer, thread count not honoured).
 * @returns {{peer: {status: string, version?: string, install?: string, error?: string}, notes: string[]}}
 */
export function torchPeerStatus(torch, threads) {
  const notes = [];
  if (torch.status === 'ok') {
    if (torch.threads !== threads) notes.push(`PyTorch ran ${torch.threads} threads, not ${threads}`);
    notes.push(`PyTorch's OpenBLAS kernels: ${torch.openblas}`);
    return { peer: { status: 'ok', version: torch.torch, openblas: torch.openblas }, notes };
  }
  const peer = { status: torch.status === 'missing' ? 'not installed' : 'error', error: torch.error };
  if (torch.install) peer.install = torch.install;
  notes.push(
    torch.install
      ? `PyTorch peer not available (${torch.error}). Install: ${torch.install}`
      : `PyTorch peer failed: ${torch.error}`,
  );
  return { peer, notes };
}
