// Running `lmkit` in tests: as a child process (the real command, through the
// TypeScript loader tap gave us) or in-process with stdout/stderr captured.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './gpt2.js';

const main = path.join(repoRoot, 'lib', 'cli', 'main.ts');
const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Spawns `lmkit ...args`, writes `input` to its stdin and closes it. */
export function spawnLmkit(args: string[], input = ''): { child: ChildProcessWithoutNullStreams; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [...loader, main, ...args], { env: { ...process.env, LMKIT_NUM_THREADS: '1' } });
  let stdout = '', stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.end(input);
  const done = new Promise<CliResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, done };
}

/** Runs a command function in this process with process.stdout.write and console.error captured. */
export async function captured(run: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> {
  const write = process.stdout.write, error = console.error, log = console.log;
  let stdout = '', stderr = '';
  process.stdout.write = ((s: string) => ((stdout += s), true)) as typeof process.stdout.write;
  console.error = (...a: unknown[]) => void (stderr += a.join(' ') + '\n');
  console.log = (...a: unknown[]) => void (stdout += a.join(' ') + '\n');
  try {
    return { code: await run(), stdout, stderr };
  } finally {
    process.stdout.write = write;
    console.error = error;
    console.log = log;
  }
}
