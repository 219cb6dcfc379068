// The results file (bench/results/<date>-<suite>.json) and the machine facts
// stored with it, so a figure can be traced to the CPU, versions and commit.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RESULTS_SCHEMA = 'lmkit-bench/1';

function git(root, args) {
  try {
    return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/**
 * CPU, threads, ISA and versions. `backend` is lmkit.backendInfo() (or null
 * when lmkit could not load); peer versions are filled in by the suite.
 */
export function machineInfo({ root, backend }) {
  const status = git(root, ['status', '--porcelain', '--untracked-files=no']);
  return {
    cpuModel: os.cpus()[0]?.model?.trim() ?? 'unknown CPU',
    logicalCores: os.availableParallelism(),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    platform: `${process.platform}-${process.arch}`,
    kernel: os.release(),
    isa: backend?.cpu?.isa ?? 'unknown',
    isaAvailable: backend?.cpu?.isaAvailable ?? [],
    node: process.versions.node,
    torch: null,
    openblas: null,
    gitCommit: git(root, ['rev-parse', '--short=12', 'HEAD']),
    gitDirty: status == null ? false : status.length > 0,
  };
}

/** Local calendar date, YYYY-MM-DD. */
export function localDate(d = new Date()) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/**
 * bench/results/<date>-<suite>.json; a --quick run gets a -quick suffix so it
 * does not overwrite the day's full run.
 */
export function resultsPath(root, suite, { date = localDate(), quick = false } = {}) {
  return path.join(root, 'bench', 'results', `${date}-${suite}${quick ? '-quick' : ''}.json`);
}

/** Writes the report as pretty JSON (creating the folder) and returns the path. */
export function writeResults(file, report) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}
