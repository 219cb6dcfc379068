// The physical limits each row is compared with, measured in the same run:
// peak FMA throughput (bench/limits/peak_fma.c) for compute-bound kernels and
// STREAM triad bandwidth (bench/limits/stream_triad.c) for memory-bound ones,
// and, where the CPU has AVX512-BF16, the bf16 dot-product peak for bf16 GEMM.
// Beside them, not a limit: the round trip of a cache line between the first
// two CPUs (bench/limits/core_to_core.c), which says whether they share a
// cache, and so how to read the multi-threaded rows.
import path from 'node:path';

import { compile, runJson } from './toolchain.mjs';

/**
 * @param {{root: string, threads: number[], log: (line: string) => void}} ctx
 * @returns {{peakFma: any, peakBf16: any, stream: any, coreToCore: any}} each either the program's JSON or {error}
 */
export function measureLimits({ root, threads, log }) {
  const src = path.join(root, 'bench', 'limits');
  const build = path.join(root, 'bench', 'build');
  const counts = [...new Set(threads)].sort((a, b) => a - b).map(String);

  const run = (name, flags, args) => {
    const output = path.join(build, name);
    const built = compile({ source: path.join(src, `${name}.c`), output, flags, libs: ['-lpthread'] });
    if (!built.ok) return { error: built.error };
    log(`limits: ${name} ${args.join(' ')}`);
    const res = runJson(output, args);
    return res.ok ? res.value : { error: res.error };
  };

  // peak_fma picks its ISA at run time with target attributes, so it is built
  // without -march; the triad loop is plain C that -march=native vectorizes.
  const peakFma = run('peak_fma', ['-O2'], counts);
  const peakBf16 = run('peak_fma', ['-O2'], ['--bf16', ...counts]);
  const stream = run('stream_triad', ['-O3', '-march=native'], ['--mb', '64', ...counts]);
  const coreToCore = Math.max(...threads) > 1 ? run('core_to_core', ['-O2'], []) : { error: 'one thread' };
  return { peakFma, peakBf16, stream, coreToCore };
}

/**
 * Combines limit measurements taken at different times of a run (the suite
 * measures at its start and its end): a ceiling is the best figure seen, and
 * on a shared machine any one measurement may be disturbed. The raw
 * measurements stay under `samples`.
 */
export function mergeLimits(runs) {
  const merge = (key, field) => {
    const ok = runs.map((r) => r[key]).filter((m) => m && !m.error && Array.isArray(m.results));
    if (!ok.length) return runs.map((r) => r[key]).find(Boolean) ?? { error: 'not measured' };
    const best = new Map();
    for (const m of ok)
      for (const r of m.results)
        if (!best.has(r.threads) || r[field] > best.get(r.threads)[field]) best.set(r.threads, r);
    return {
      ...ok[0],
      results: [...best.values()].sort((a, b) => a.threads - b.threads),
      samples: ok.map((m) => m.results),
    };
  };
  // The round trip is no ceiling: every reading is kept, in order.
  const trips = runs.map((r) => r.coreToCore).filter((m) => m && !m.error);
  const coreToCore = trips.length
    ? { cpus: trips[0].cpus, roundTripNs: trips.map((m) => m.roundTripNs) }
    : (runs.map((r) => r.coreToCore).find(Boolean) ?? { error: 'not measured' });
  return {
    peakFma: merge('peakFma', 'gflops'),
    peakBf16: merge('peakBf16', 'gflops'),
    stream: merge('stream', 'gbs'),
    coreToCore,
  };
}

/**
 * The limit for one thread count: {value, unit, name} or null.
 * @param {any} limits @param {'fma' | 'bf16' | 'stream'} kind @param {number} threads
 */
export function limitFor(limits, kind, threads) {
  const source = { fma: limits?.peakFma, bf16: limits?.peakBf16, stream: limits?.stream }[kind];
  const hit = source?.results?.find((r) => r.threads === threads);
  if (!hit) return null;
  if (kind === 'fma') return { name: `peak FMA ${source.isa} ${threads}T`, value: hit.gflops, unit: 'GFLOP/s' };
  if (kind === 'bf16') return { name: `peak bf16 dot ${threads}T`, value: hit.gflops, unit: 'GFLOP/s' };
  return { name: `STREAM triad ${threads}T`, value: hit.gbs, unit: 'GB/s' };
}

/**
 * The report's line on the core-to-core round trips (none when unmeasured).
 * @param {{cpus?: number[], roundTripNs?: number[], error?: string} | undefined} coreToCore
 * @returns {string[]}
 */
export function coreToCoreNotes(coreToCore) {
  const trips = coreToCore?.roundTripNs;
  if (!trips?.length || !coreToCore?.cpus) return [];
  const ns = trips.map((t) => `${Math.round(t)} ns`);
  const when = ns.length === 2 ? `${ns[0]} at the start, ${ns[1]} at the end` : ns.join(', ');
  return [
    `a cache line went between CPUs ${coreToCore.cpus.join(' and ')} and back in ${when}: ` +
      'about 100 ns where they share a last-level cache (one Zen CCX), 400 ns or more where they do not; ' +
      "the multi-threaded GEMM rows move with it, and a VM's vCPUs can be moved from one case to the other",
  ];
}
