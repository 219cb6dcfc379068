// Running lmkit under Open MPI's mpirun in tests: whether it is installed
// (the tests skip with how to install it otherwise), jobs with a watchdog
// that kills the whole process group (no test can hang on a job), and the
// pid of a given rank, for the tests that kill or stop one.
//
// The ranks run the compiled dist/ (npm run build:ts; .ci/run builds it
// before the tests), not the sources through tap's TypeScript loader: that
// loader takes ~10 s per process to start, two ranks at once on two cores.
// A dist/ older than any lib/ source is refused rather than tested.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Test } from 'tap';
import { repoRoot } from './gpt2.js';

const main = path.join(repoRoot, 'dist', 'cli', 'main.js');

/** Newest modification time of the files under `dir` whose names end with `ext`. */
function newest(dir: string, ext: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name), st = statSync(full);
    t = Math.max(t, st.isDirectory() ? newest(full, ext) : name.endsWith(ext) ? st.mtimeMs : 0);
  }
  return t;
}

/** Throws unless dist/ was built after the last change to lib/. */
export function checkDistFresh(): void {
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build:ts before the distributed tests`);
  if (newest(path.join(repoRoot, 'lib'), '.ts') > newest(path.join(repoRoot, 'dist'), '.js'))
    throw new Error('dist/ is older than lib/: run npm run build:ts before the distributed tests');
}

export const MPI_SKIP = 'Open MPI is not installed: the distributed tests need mpirun and libmpi (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev; .ci/run installs them)';

/** True where mpirun runs here, else the reason to skip. */
export function mpirunAvailable(): true | string {
  const r = spawnSync('mpirun', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /Open MPI/.test(r.stdout + r.stderr) ? true : MPI_SKIP;
}

export interface JobResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  output: string;
  /** Whether the watchdog had to kill the job. */
  killedByWatchdog: boolean;
}

/** Asserts a job exited 0; on failure the job's output goes to the test log. */
export function expectExit0(t: Test, r: { code: number | null; output?: string; stderr?: string }, what: string): void {
  if (!t.equal(r.code, 0, `${what}: exit code 0`)) t.comment(r.output ?? r.stderr ?? '');
}

export interface Job {
  child: ChildProcess;
  done: Promise<JobResult>;
  /** Output so far (stdout and stderr of every rank, as mpirun forwards it). */
  output(): string;
  /** Resolves when the output matches `pattern` (or the job ended first: null). */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray | null>;
  /** The pid of rank `rank`'s process (mpirun's child whose OMPI_COMM_WORLD_RANK it is). */
  pidOf(rank: number): number | null;
}

/** mpirun's flags for a loopback job on this machine, whoever runs the tests. */
export function mpirunFlags(np: number): string[] {
  return ['--oversubscribe', ...(process.getuid?.() === 0 ? ['--allow-run-as-root'] : []), '-np', String(np)];
}

/**
 * `mpirun -np <np> node dist/cli/main.js ...args` (or a script instead
 * of the CLI), killed with its whole group after
 * `watchdogMs` and at the end of the test `t`.
 */
export function mpirunJob(t: Test, np: number, args: string[], o: { env?: Record<string, string>; script?: string; watchdogMs?: number; launcher?: string[] } = {}): Job {
  checkDistFresh();
  const env = { ...process.env, LMKIT_NUM_THREADS: '1', ...o.env };
  const forwarded = Object.keys({ LMKIT_NUM_THREADS: 1, ...o.env }).flatMap((k) => ['-x', k]);
  // `launcher` replaces `mpirun <flags>` (scripts/netns-two-hosts.sh run, which forwards LMKIT_* itself).
  const [command, ...flags] = o.launcher ?? ['mpirun', ...mpirunFlags(np), ...forwarded];
  const child = spawn(command!, [...flags, process.execPath, o.script ?? main, ...args], {
    env, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (d: Buffer): void => {
    output += d;
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let killedByWatchdog = false;
  const killGroup = (): void => {
    try {
      process.kill(-child.pid!, 'SIGCONT'); // a stopped rank must be able to die
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const watchdog = setTimeout(() => ((killedByWatchdog = true), killGroup()), o.watchdogMs ?? 120_000);
  const done = new Promise<JobResult>((resolve) => child.on('close', (code, signal) => {
    clearTimeout(watchdog);
    for (const l of listeners) l();
    resolve({ code, signal, output, killedByWatchdog });
  }));
  t.teardown(killGroup);
  let ended = false;
  void done.then(() => (ended = true));
  return {
    child, done,
    output: () => output,
    waitFor: (pattern) => new Promise((resolve) => {
      const check = (): void => {
        const m = output.match(pattern);
        if (m || ended || child.exitCode !== null || child.signalCode !== null) {
          listeners.delete(check);
          resolve(m);
        }
      };
      listeners.add(check);
      check();
    }),
    pidOf: (rank) => {
      const tasks = readdirSync(`/proc/${child.pid}/task`);
      const children = tasks.flatMap((tid) => readFileSync(`/proc/${child.pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean));
      for (const pid of children) {
        try {
          if (readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').includes(`OMPI_COMM_WORLD_RANK=${rank}`)) return Number(pid);
        } catch {
          // exited meanwhile
        }
      }
      return null;
    },
  };
}
