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

  // How the peer's environment differs from ours: null runs it as given;
  // otherwise {coretype} (null: let OpenBLAS detect the CPU), with the
  // OPENBLAS_* settings of this environment taken away.
  let setting = null;
  return {
    status: 'ok',
    /** Times C = op(A)·op(B) on `threads` threads for `reps` calls. */
    /** The environment changes that give this peer's kernel choice to another program using OpenBLAS. */
    environment() {
      return {
        env: setting?.coretype ? { OPENBLAS_CORETYPE: setting.coretype } : {},
        unset: setting ? ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'] : [],
      };
    },
    sgemm({ m, n, k, transA = false, transB = false }, threads, reps) {
      const { env, unset } = this.environment();
      env.OPENBLAS_NUM_THREADS = String(threads);
      const res = runJson(output, [m, n, k, transA ? 1 : 0, transB ? 1 : 0, reps].map(String), { env, unset });
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
        checksum: v.checksum,
      };
    },
    /**
     * Makes the peer as strong as OpenBLAS gets on this CPU. A machine may pin
     * OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) to an old kernel set, and
     * OpenBLAS 0.3.21 itself can misjudge CPUs newer than it. So time 1024³
     * as the environment has it, with OpenBLAS detecting the CPU, and with
     * each AVX-512 set the CPU can run; keep the fastest whose checksum of C
     * matches the environment's run (a kernel set that computes wrong results
     * is no peer).
     * @param {{threads: number, avx512: boolean}} opts
     */
    chooseFastestCore({ threads, avx512 }) {
      const shape = { m: 1024, n: 1024, k: 1024 };
      const candidates = [null, { coretype: null }, ...(avx512 ? [{ coretype: 'SkylakeX' }, { coretype: 'Cooperlake' }] : [])];
      const trials = [];
      for (const candidate of candidates) {
        setting = candidate;
        const res = this.sgemm(shape, threads, 40);
        if (!res.error)
          trials.push({
            setting: candidate == null ? 'environment' : candidate.coretype ? `OPENBLAS_CORETYPE=${candidate.coretype}` : 'detected',
            candidate,
            core: res.core,
            checksum: res.checksum,
            medianMs: res.medianMs,
          });
      }
      const reference = trials.find((x) => x.candidate == null)?.checksum;
      const sound = trials.filter((x) => reference == null || Math.abs(x.checksum - reference) <= 1e-3 * Math.max(1, Math.abs(reference)));
      const best = sound.reduce((a, b) => (b.medianMs < a.medianMs ? b : a), sound[0]);
      setting = best?.candidate ?? null;
      return {
        chosen: best?.core ?? null,
        setting: best?.setting ?? 'environment',
        environment: { OPENBLAS_CORETYPE: process.env.OPENBLAS_CORETYPE ?? null, OPENBLAS_L2_SIZE: process.env.OPENBLAS_L2_SIZE ?? null },
        trials: trials.map(({ candidate, ...rest }) => ({ ...rest, sound: sound.some((x) => x.candidate === candidate) })),
      };
    },
  };
}

const cpuHasAvx512 = () => {
  try {
    return /\bavx512f\b/.test(fs.readFileSync('/proc/cpuinfo', 'utf8'));
  } catch {
    return false;
  }
};

let strongest = null;

/**
 * The OpenBLAS peer with its fastest sound kernel set chosen (once per
 * process and thread count), and the environment that gives the same choice
 * to PyTorch, whose CPU GEMMs are OpenBLAS's too: a peer slowed by a pinned
 * old kernel set would flatter every ratio.
 * @param {{root: string, threads: number, log: (line: string) => void}} ctx
 */
export function strongestOpenblas({ root, threads, log }) {
  if (strongest?.threads === threads) return strongest;
  const peer = openblasPeer({ root, log });
  if (peer.status !== 'ok') strongest = { threads, peer, choice: null, env: {}, unset: [] };
  else {
    const choice = peer.chooseFastestCore({ threads, avx512: cpuHasAvx512() });
    strongest = { threads, peer, choice, ...peer.environment() };
  }
  return strongest;
}

/** "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." -> "0.3.21" */
export function openblasVersion(config) {
  return /OpenBLAS\s+([\w.]+)/.exec(config ?? '')?.[1] ?? null;
}
