// The bench's pure parts on made-up rows (no timing, no peers): row maths,
// bars, the markdown table, the results file and the command line.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { makeRow, okSide, emptySide, evaluateBar, evaluateLimitBar } from '../../bench/lib/rows.mjs';
import { renderTable, renderReport, formatMs, type BenchReport } from '../../bench/lib/table.mjs';
import { resultsPath, writeResults, RESULTS_SCHEMA } from '../../bench/lib/results.mjs';
import { parseArgs, UsageError } from '../../bench/lib/args.mjs';
import { plannedReps, median, measureRuns } from '../../bench/lib/timing.mjs';
import { runJson } from '../../bench/lib/toolchain.mjs';
import { readCpuTimes, stealShare, stealNotes, STEAL_NOTE_THRESHOLD } from '../../bench/lib/cpu_steal.mjs';
import { mergeLimits, limitFor, coreToCoreNotes } from '../../bench/lib/limits.mjs';

const timing = (medianMs: number, minMs = medianMs) => ({ medianMs, minMs, reps: 5, inner: 1 });
const fmaLimit = { name: 'peak FMA avx512 2T', value: 400, unit: 'GFLOP/s' };

function fakeRows() {
  const flops = { flops: 2 * 1024 ** 3 };
  return [
    // ours 10 ms, OpenBLAS 8 ms: speed 0.8×, passes the 0.7× bar.
    makeRow({
      kernel: 'gemm', shape: '1024³', work: flops, threads: 2, limit: fmaLimit,
      ours: okSide(timing(10, 9), flops),
      peer: okSide(timing(8, 7.5), flops, { name: 'OpenBLAS' }),
      bar: { text: '≥0.7× OpenBLAS at 2T', min: 0.7, threads: 2 },
    }),
    makeRow({
      kernel: 'attention fwd+bwd', shape: 'B4 H6 T512 d64 causal', work: { flops: 1e9 }, threads: 2,
      limit: fmaLimit,
      ours: emptySide('not built', 'lmkit.kernels.attentionForward not in this build'),
      peer: okSide(timing(60), { flops: 1e9 }, { name: 'PyTorch' }),
      bar: { text: '>1× PyTorch', min: 1, strict: true },
    }),
    makeRow({
      kernel: 'layernorm fwd', shape: '8192×768', work: { bytes: 1e8 }, threads: 2,
      limit: { name: 'STREAM triad 2T', value: 20, unit: 'GB/s' },
      ours: okSide(timing(4), { bytes: 1e8 }),
      peer: emptySide('not installed', undefined, { name: 'PyTorch' }),
      bar: { text: '≥1× PyTorch', min: 1 },
    }),
  ];
}

t.test('rows: rate from the median, speed = peer/ours, fraction of the limit', async (t) => {
  const [gemm, attention, layernorm] = fakeRows();
  t.equal(gemm!.speedup, 0.8);
  t.ok(Math.abs(gemm!.ours.rate!.value - 2 * 1024 ** 3 / 0.010 / 1e9) < 1e-9, 'GFLOP/s from the median time');
  t.ok(Math.abs(gemm!.limit!.oursFraction! - gemm!.ours.rate!.value / 400) < 1e-12);
  t.equal(gemm!.bar!.status, 'PASS');
  t.equal(attention!.speedup, null, 'no ratio without our figure');
  t.equal(attention!.bar!.status, 'n/a');
  t.equal(layernorm!.ours.rate!.unit, 'GB/s');
  t.equal(layernorm!.ours.rate!.value, 25, '1e8 bytes in 4 ms');
  t.equal(layernorm!.limit!.peerFraction, null);
});

t.test('bars: ≥ vs strict >, and the thread count a bar is set for', async (t) => {
  t.equal(evaluateBar({ text: 'x', min: 1 }, 1, 2)!.status, 'PASS');
  t.equal(evaluateBar({ text: 'x', min: 1, strict: true }, 1, 2)!.status, 'FAIL');
  t.equal(evaluateBar({ text: 'x', min: 0.7, threads: 2 }, 0.69, 2)!.status, 'FAIL');
  t.match(evaluateBar({ text: 'x', min: 0.7, threads: 2 }, 5, 1)!.status, /^n\/a \(set for 2 threads\)/);
  t.equal(evaluateBar(null, 1, 2), null);
});

t.test('table: one line per row, statuses shown, pipes escaped', async (t) => {
  const rows = fakeRows();
  rows[0]!.shape = 'a|b';
  const lines = renderTable(rows).split('\n');
  t.equal(lines.length, 2 + rows.length);
  const columns = (line: string) => line.split(/(?<!\\)\|/).length;
  t.ok(lines.every((l) => columns(l) === columns(lines[0]!)), 'every line has the header column count');
  t.match(lines[2]!, /\| gemm \| a\\\|b \| 10\.0 \/ 9\.00 \| 215 GFLOP\/s \| OpenBLAS \| 8\.00 \/ 7\.50 \|/);
  t.match(lines[2]!, /0\.80× \| ≥0\.7× OpenBLAS at 2T: PASS \| 54% \/ 67% of peak FMA avx512 2T \|/);
  t.match(lines[3]!, /\| not built \| — \| PyTorch \| 60\.0 \/ 60\.0 \|.*\| — \| >1× PyTorch: n\/a \|/);
  t.match(lines[4]!, /\| PyTorch \| not installed \| — \| — \| ≥1× PyTorch: n\/a \| 125% \/ — of STREAM/);
  t.equal(formatMs(0.01234), '0.012');
  t.equal(formatMs(123.4), '123');
});

function fakeReport(): BenchReport {
  return {
    schema: RESULTS_SCHEMA,
    suite: 'kernels',
    date: '2025-01-02T03:04:05.000Z',
    options: { quick: true, threads: 2, budgetMs: 200 },
    machine: {
      cpuModel: 'Test CPU', logicalCores: 2, isa: 'avx512', node: '20.0.0',
      torch: null, openblas: '0.3.21', gitCommit: 'abc', gitDirty: false,
    },
    limits: { peakFma: { isa: 'avx512', results: [{ threads: 2, gflops: 400 }] }, stream: { error: 'no compiler' } },
    peers: { torch: { status: 'not installed', install: 'apt-get install python3-torch' } },
    rows: fakeRows(),
    notes: ['PyTorch peer not available. Install: apt-get install python3-torch'],
  };
}

t.test('report: machine line, limits, install hint, not-built and cache notes', async (t) => {
  const text = renderReport(fakeReport());
  t.match(text, /Test CPU, 2 logical cores; lmkit ISA avx512, 2 threads; .*torch not installed, OpenBLAS 0\.3\.21/);
  t.match(text, /peak FMA \(avx512\) 2T: 400 GFLOP\/s; STREAM triad: no compiler/);
  t.match(text, /- PyTorch peer not available\. Install: apt-get install python3-torch/);
  t.match(text, /- not built .*: attention fwd\+bwd B4 H6 T512 d64 causal/);
  t.match(text, /above 100% of STREAM/, 'layernorm at 125% of STREAM gets the cache note');
});

t.test('results file: date-suite name, quick suffix, JSON round trip', async (t) => {
  t.equal(resultsPath('/r', 'kernels', { date: '2025-01-02' }), path.join('/r', 'bench', 'results', '2025-01-02-kernels.json'));
  t.equal(resultsPath('/r', 'kernels', { date: '2025-01-02', quick: true }), path.join('/r', 'bench', 'results', '2025-01-02-kernels-quick.json'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lmkit-bench-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const report = fakeReport();
  const file = writeResults(path.join(dir, 'nested', 'out.json'), report);
  const back = JSON.parse(fs.readFileSync(file, 'utf8'));
  t.same(back, JSON.parse(JSON.stringify(report)));
  t.equal(back.rows[0].bar.status, 'PASS');
});

t.test('command line: suites, --quick, --threads checks', async (t) => {
  t.same(parseArgs([]).suites, ['kernels', 'train', 'decode'], 'every suite with a performance target');
  t.match(parseArgs([]), { quick: false, out: null });
  t.match(parseArgs(['kernels', '--quick', '--threads', '3']), { suites: ['kernels'], quick: true, threads: 3 });
  t.match(parseArgs(['--threads=1']), { threads: 1 });
  t.throws(() => parseArgs(['--threads', '0']), new UsageError('Expected an integer 1..256 for --threads but received 0'));
  t.throws(() => parseArgs(['--threads', '1.5']), /--threads but received 1\.5/);
  t.throws(() => parseArgs(['--threads']), /--threads needs a value/);
  t.throws(() => parseArgs(['--fast']), /Unknown option --fast/);
  t.throws(() => parseArgs(['kernels', 'train', '--out', 'x.json']), /--out takes one suite/);
});

t.test('timing plan: budget, minimum samples, 4-budget cap', async (t) => {
  t.equal(plannedReps(1, { budgetMs: 500 }), 500);
  t.equal(plannedReps(0.001, { budgetMs: 500 }), 1000, 'capped at maxReps');
  t.equal(plannedReps(300, { budgetMs: 500 }), 5, 'at least 5 samples');
  t.equal(plannedReps(700, { budgetMs: 500 }), 2, 'but at most 4 budgets');
  t.equal(plannedReps(5000, { budgetMs: 500 }), 1);
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
});

t.test('train / decode rows: tokens/s from the median, ratio and bar', async (t) => {
  const work = { tokens: 8 * 256 };
  const row = makeRow({
    kernel: 'train step', shape: '6×384 T256 B8', work, threads: 2,
    ours: okSide(timing(1000, 900), work),
    peer: okSide(timing(1200, 1100), work, { name: 'PyTorch' }),
    bar: { text: '≥1.5× PyTorch', min: 1.5 },
  });
  t.same(row.ours.rate, { value: 2048, unit: 'tokens/s' }, '2048 tokens in 1 s');
  t.ok(Math.abs(row.peer!.rate!.value - 2048 / 1.2) < 1e-9);
  t.ok(Math.abs(row.speedup! - 1.2) < 1e-12);
  t.equal(row.bar!.status, 'FAIL', '1.2× is under the 1.5× bar');
  t.match(renderTable([row]).split('\n')[2]!, /\| 2048 tokens\/s \| PyTorch \| 1200 \/ 1100 \| 1707 tokens\/s \| 1\.20× \| ≥1\.5× PyTorch: FAIL \| — \|/);
});

t.test('measureRuns: warm-up untimed, at least minRuns, at most maxRuns, median of the key', async (t) => {
  let calls = 0;
  const costs = [100, 5, 1, 3, 2, 9];
  const r = measureRuns(() => ({ ms: costs[calls++]!, other: 0 }), { warmup: 1, minRuns: 5, maxRuns: 5, budgetMs: 0, key: 'ms' });
  t.equal(calls, 6, 'one warm-up and five timed runs');
  t.equal(r.reps, 5);
  t.equal(r.medianMs, 3, 'the warm-up (100) is not a sample');
  t.equal(r.minMs, 1);
  t.equal(r.samples.length, 5);
  let more = 0;
  const capped = measureRuns(() => ({ ms: ++more }), { warmup: 0, minRuns: 1, maxRuns: 3, budgetMs: 60_000, key: 'ms' });
  t.equal(capped.reps, 3, 'a large budget stops at maxRuns');
});

t.test('limit bars: our share of the measured limit, shown beside the speed bar', async (t) => {
  t.equal(evaluateLimitBar({ text: 'x', min: 0.85 }, 0.86)!.status, 'PASS');
  t.equal(evaluateLimitBar({ text: 'x', min: 0.85 }, 0.84)!.status, 'FAIL');
  t.equal(evaluateLimitBar({ text: 'x', min: 0.85 }, null)!.status, 'n/a');
  t.equal(evaluateLimitBar(null, 0.9), null);
  const flops = { flops: 2 * 1024 ** 3 };
  // 2·1024³ flops in 10 ms = 215 GFLOP/s = 54% of the 400 GFLOP/s limit.
  const row = makeRow({
    kernel: 'gemm', shape: '1024³', work: flops, threads: 2, limit: fmaLimit,
    ours: okSide(timing(10), flops),
    peer: okSide(timing(12), flops, { name: 'OpenBLAS' }),
    bar: { text: '≥1.0× OpenBLAS', min: 1, threads: 2 },
    limitBar: { text: '≥85% of peak FMA', min: 0.85 },
  });
  t.equal(row.bar!.status, 'PASS');
  t.equal(row.limitBar!.status, 'FAIL');
  t.match(renderTable([row]).split('\n')[2]!, /\| ≥1\.0× OpenBLAS: PASS; ≥85% of peak FMA: FAIL \|/);
});

t.test('report: memory table in tensors, and the count of bars', async (t) => {
  const report = fakeReport();
  const work = { flops: 1e9 };
  report.rows.push(
    makeRow({
      kernel: 'attention fwd+bwd', shape: 'B4 H6 T512 d64 causal', work, threads: 2,
      ours: okSide(timing(20), work),
      peer: okSide(timing(80), work, { name: 'PyTorch' }),
      bar: { text: '≥2× PyTorch', min: 2 },
      extra: {
        memory: {
          ours: { peakGrowthMiB: 12 },
          peer: { peakGrowthMiB: 300 },
          tensorMiB: 3,
          bar: { text: 'O(T·d): ≤ 6 tensors', status: 'PASS' },
        },
      },
    }),
  );
  const text = renderReport(report);
  t.match(text, /\| attention fwd\+bwd \| B4 H6 T512 d64 causal \| 12\.0 MiB \(4\.0 tensors\) \| PyTorch 300\.0 MiB \(100\.0 tensors\) \| 3\.0 MiB \| O\(T·d\): ≤ 6 tensors: PASS \|/);
  // Bars: gemm PASS, attention (no ours) n/a, layernorm n/a, the new row PASS and its memory PASS.
  t.match(text, /Bars: 3 PASS, 0 FAIL, 2 n\/a/);
});

t.test('runJson: the child sees this environment less `unset`, plus `env`', async (t) => {
  process.env.LMKIT_BENCH_TEST_DROP = 'dropped';
  t.teardown(() => delete process.env.LMKIT_BENCH_TEST_DROP);
  const script = 'console.log(JSON.stringify({drop: process.env.LMKIT_BENCH_TEST_DROP ?? null, add: process.env.LMKIT_BENCH_TEST_ADD ?? null}))';
  const kept = runJson(process.execPath, ['-e', script]);
  t.same(kept, { ok: true, value: { drop: 'dropped', add: null } });
  const changed = runJson(process.execPath, ['-e', script], { unset: ['LMKIT_BENCH_TEST_DROP'], env: { LMKIT_BENCH_TEST_ADD: 'added' } });
  t.same(changed, { ok: true, value: { drop: null, add: 'added' } });
  const both = runJson(process.execPath, ['-e', script], { unset: ['LMKIT_BENCH_TEST_DROP'], env: { LMKIT_BENCH_TEST_DROP: 'set again' } });
  t.same(both.ok && both.value.drop, 'set again', 'env wins over unset');
});

t.test('cpu steal: the share of CPU time /proc/stat says the hypervisor took, noted above 2%', async (t) => {
  // user nice system idle iowait irq softirq steal guest guest_nice
  const before = readCpuTimes('cpu  100 0 20 800 5 0 5 70 0 0\ncpu0 50 0 10 400 2 0 2 35 0 0\n');
  const after = readCpuTimes('cpu  400 0 40 900 5 0 5 150 30 0\ncpu0 200 0 20 450 2 0 2 75 15 0\n');
  t.same(before, { total: 1000, steal: 70 }, 'the summed cpu line, guest time not counted twice');
  t.same(after, { total: 1500, steal: 150 });
  t.equal(stealShare(before, after), 80 / 500);
  t.equal(stealShare(before, before), null, 'no time passed');
  t.equal(stealShare(null, after), null);
  t.equal(readCpuTimes('intr 1 2 3\n'), null, 'no cpu line');
  t.equal(readCpuTimes('cpu  1 2 3\n'), null, 'a kernel too old to count steal');
  t.equal(readCpuTimes(null), null);
  const real = readCpuTimes();
  if (process.platform === 'linux') t.ok(real && real.total > 0 && real.steal >= 0, 'this machine\'s counters read');
  t.same(stealNotes(null), []);
  t.same(stealNotes(STEAL_NOTE_THRESHOLD / 2), []);
  const [note] = stealNotes(0.28);
  t.match(note, /28\.0% of the CPU time/);
});

t.test('core-to-core round trips: kept in order beside the best-of limits, and noted', async (t) => {
  const run = (gflops: number, roundTripNs: number) => ({
    peakFma: { isa: 'avx512', results: [{ threads: 2, gflops }] },
    peakBf16: { error: 'no AVX512-BF16' },
    stream: { results: [{ threads: 2, gbs: 40 }] },
    coreToCore: { cpus: [0, 1], roundTripNs },
  });
  const limits = mergeLimits([run(400, 110), run(420, 470)]);
  t.same(limits.coreToCore, { cpus: [0, 1], roundTripNs: [110, 470] }, 'every reading, start first');
  t.equal(limitFor(limits, 'fma', 2)?.value, 420, 'the peak is still the best reading');
  const [note] = coreToCoreNotes(limits.coreToCore);
  t.match(note, /CPUs 0 and 1 and back in 110 ns at the start, 470 ns at the end/);
  const failed = mergeLimits([{ ...run(400, 0), coreToCore: { error: 'needs two distinct CPUs' } }]);
  t.same(failed.coreToCore, { error: 'needs two distinct CPUs' }, 'the error when no reading');
  t.same(coreToCoreNotes(failed.coreToCore), [], 'no note without a reading');
});
