// The GEMM peer: OpenBLAS sgemm through bench/peers/openblas_sgemm.c, built
// against Debian's libopenblas-dev on first use.
import fs from 'node:fs';
import path from 'node:path';

import { compile, runJson } from './toolchain.mjs';

export const OPENBLAS_INSTALL = 'apt-get install libopenblas-dev';

// OpenBLAS's own cblas.h first (it declares openblas_get_config); the generic
// alternatives link last.
const HEADER_DIRS = [
  '/usr/include/x86_64-linux-gnu/openblas-pthread',
  '/usr/include/x86_64-linux-gnu/openblas-openmp',
  '/usr/include/x86_64-linux-gnu/openblas64-pthread',
  '/usr/include/openblas',
  '/usr/include/x86_64-linux-gnu',
  '/usr/include',
];

/**
 * Builds the harness. Returns a peer handle or a 'missing' status with the
 * install hint (no header, or the link against -lopenblas failed).
 * @param {{root: string, log: (line: string) => void}} ctx
 */
export function openblasPeer({ root, log }) {
  const includeDir = HEADER_DIRS.find((d) => fs.existsSync(path.join(d, 'cblas.h')));
  if (!includeDir)
    return { status: 'missing', install: OPENBLAS_INSTALL, error: 'no cblas.h found' };
  const output = path.join(root, 'bench', 'build', 'openblas_sgemm');
  const built = compile({
    source: path.join(root, 'bench', 'peers', 'openblas_sgemm.c'),
    output,
    flags: ['-O2', `-I${includeDir}`],
    libs: ['-lopenblas'],
  });
  if (!built.ok) return { status: 'missing', install: OPENBLAS_INSTALL, error: built.error };
  if (built.rebuilt) log(`peers: built ${path.relative(root, output)}`);

  return {
    status: 'ok',
    /** Times C = op(A)·op(B) on `threads` threads for `reps` calls. */
    sgemm({ m, n, k, transA = false, transB = false }, threads, reps) {
      const res = runJson(
        output,
        [m, n, k, transA ? 1 : 0, transB ? 1 : 0, reps].map(String),
        { env: { OPENBLAS_NUM_THREADS: String(threads) } },
      );
      if (!res.ok) return { error: res.error };
      const v = res.value;
      return {
        medianMs: v.median_s * 1e3,
        minMs: v.best_s * 1e3,
        reps: v.reps,
        inner: 1,
        threads: v.threads,
        config: v.config,
        core: v.core,
      };
    },
  };
}

/** "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." -> "0.3.21" */
export function openblasVersion(config) {
  return /OpenBLAS\s+([\w.]+)/.exec(config ?? '')?.[1] ?? null;
}
