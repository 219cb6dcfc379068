#!/usr/bin/env node
// Entry of `npm run bench`: runs the named suites (bench/suites/<name>.mjs),
// prints each report as markdown on stdout (progress goes to stderr) and
// writes bench/results/<date>-<suite>.json.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { parseArgs, UsageError, USAGE } from './lib/args.mjs';
import { readCpuTimes, stealShare, stealNotes } from './lib/cpu_steal.mjs';
import { loadLmkit } from './lib/lmkit.mjs';
import { machineInfo, resultsPath, writeResults, RESULTS_SCHEMA } from './lib/results.mjs';
import { renderReport } from './lib/table.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const suitesDir = path.join(root, 'bench', 'suites');
const log = (line) => process.stderr.write(`[bench] ${line}\n`);

function availableSuites() {
  return fs.readdirSync(suitesDir).filter((f) => f.endsWith('.mjs')).map((f) => f.slice(0, -4)).sort();
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(`${USAGE}\n\nsuites: ${availableSuites().join(', ')}\n`);
    return 0;
  }
  const unknown = opts.suites.filter((s) => !availableSuites().includes(s));
  if (unknown.length) {
    process.stderr.write(`Unknown suite ${unknown.join(', ')}; available: ${availableSuites().join(', ')}\n`);
    return 2;
  }

  const lmkit = await loadLmkit(root, log);
  if (opts.backend === 'cuda') {
    const cuda = lmkit.backendInfo().cuda;
    // Timings of the emulation library would measure the emulator, not a GPU.
    const why = !cuda.available ? cuda.reason : cuda.device?.emulated ? 'the CUDA device is the CPU emulation library' : null;
    if (why) {
      process.stdout.write(`No CUDA GPU to benchmark here (${why}); skipping the CUDA benchmarks.\n`);
      return 0;
    }
  }
  const options = { quick: opts.quick, threads: opts.threads, budgetMs: opts.quick ? 200 : 500 };
  for (const name of opts.suites) {
    const suite = await import(pathToFileURL(path.join(suitesDir, `${name}.mjs`)).href);
    const started = Date.now();
    const date = new Date();
    // Other work on the machine skews every figure, and PyTorch's OpenMP
    // threads more than most; record it so a reader can tell.
    const loadAtStart = os.loadavg()[0];
    const cpuAtStart = readCpuTimes();
    log(`suite ${name}: ${suite.description ?? ''} (threads ${options.threads}${options.quick ? ', quick' : ''})`);
    const result = await suite.run({ lmkit, root, options, log });
    const steal = stealShare(cpuAtStart, readCpuTimes());
    const report = {
      schema: RESULTS_SCHEMA,
      suite: name,
      date: date.toISOString(),
      options,
      machine: {
        ...machineInfo({ root, backend: lmkit.backendInfo() }),
        lmkitThreads: lmkit.numThreads(),
        loadAverage1m: { start: loadAtStart, end: os.loadavg()[0] },
        cpuStealShare: steal,
        ...result.machine,
      },
      limits: result.limits ?? {},
      peers: result.peers ?? {},
      rows: result.rows,
      // Figures a suite measures beyond the speed rows (the serve suite's lag and memory), kept as it gives them.
      ...(result.figures ? { figures: result.figures } : {}),
      notes: [...(result.notes ?? []), ...loadNotes(loadAtStart, options.threads), ...stealNotes(steal)],
      durationS: Math.round((Date.now() - started) / 100) / 10,
    };
    process.stdout.write(`${renderReport(report)}\n`);
    const file = writeResults(opts.out ?? resultsPath(root, name, { quick: opts.quick }), report);
    log(`suite ${name}: ${report.durationS} s, results in ${path.relative(process.cwd(), file)}`);
  }
  return 0;
}

/**
 * A warning when the cores were busy as the suite started. The 1-minute load
 * average also counts work that just ended (an earlier suite of the same run,
 * for one), so it says "may", not "did".
 */
function loadNotes(load, threads) {
  const cores = os.availableParallelism();
  if (!(load > 0.5 * cores)) return [];
  return [
    `1-minute load average ${load.toFixed(2)} on ${cores} cores as the suite started (it also counts work that just ended, ` +
      `such as an earlier suite of this run): if other work still shared the CPU, times are inflated and noisy (PyTorch's ` +
      `OpenMP threads suffer most); ${threads > 1 ? 'compare with --threads 1 or ' : ''}rerun on an idle machine`,
  ];
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`[bench] failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
