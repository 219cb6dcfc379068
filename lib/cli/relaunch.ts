// `lmkit serve` runs its HTTP thread under a capped V8 young generation.
// Left to node's defaults V8 grows the main thread's semi-spaces (up to 16
// MiB each) with the request rate, and the process's RSS grew 1.19× between
// request 1,000 and 10,000 with the heap itself flat; capped at 2 MiB it
// stayed at 0.95× (bench/results/2026-12-02-serve.json). Heap sizes can only be set
// when a process starts, so the command starts itself once more with the
// flag, unless the user already chose a size (node flag or NODE_OPTIONS).
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** Set in the relaunched process, so it never relaunches again. */
const RELAUNCHED = 'LMKIT_SERVE_RELAUNCHED';

/** True when this process should start the server itself: the flag is in effect, or the user picked a size. */
export function youngGenerationChosen(env: NodeJS.ProcessEnv = process.env, execArgv: readonly string[] = process.execArgv): boolean {
  const named = (args: string) => /--max-semi-space-size\b|--max_semi_space_size\b/.test(args);
  return env[RELAUNCHED] === '1' || named(execArgv.join(' ')) || named(env.NODE_OPTIONS ?? '');
}

/**
 * Runs `node <flags> <this script> <args>` with the same stdio and resolves
 * with its exit code. SIGTERM and SIGINT are passed on as SIGTERM (the
 * server drains on either; a Ctrl-C reaches the child from the terminal too,
 * and a second SIGINT would end it before it drained).
 */
export function relaunchWithFlags(flags: readonly string[], args: readonly string[]): Promise<number> {
  const script = process.argv[1];
  if (!script) return Promise.reject(new Error('relaunch: process.argv[1] (the lmkit script) is missing'));
  // The IPC channel tells the child when this process is gone, even by SIGKILL (see followLauncher).
  const child = spawn(process.execPath, [...flags, ...process.execArgv, script, ...args], {
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env, [RELAUNCHED]: '1' },
  });
  const pass = () => { child.kill('SIGTERM'); };
  process.on('SIGTERM', pass);
  process.on('SIGINT', pass);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      process.off('SIGTERM', pass);
      process.off('SIGINT', pass);
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

/**
 * In the relaunched server: when the launching process goes away (killed, even
 * with SIGKILL), drain and stop as on SIGTERM rather than live on orphaned.
 * The channel itself must not keep the server's event loop alive.
 */
export function followLauncher(): void {
  if (process.env[RELAUNCHED] !== '1' || !process.channel) return;
  process.channel.unref();
  process.once('disconnect', () => { process.kill(process.pid, 'SIGTERM'); });
}
