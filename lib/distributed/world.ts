// The processes of a training job as the training stages see them: a rank,
// a world size and the collectives data parallelism needs. A single process
// is a world of one whose collectives do nothing, so every stage runs the
// same code with or without MPI. Under mpirun (OMPI_COMM_WORLD_SIZE set) or
// after initDistributed(), the world is MPI_COMM_WORLD through the addon's
// communication thread; every collective has a deadline (LMKIT_DIST_TIMEOUT,
// default 300 s), so a dead or stopped peer is an error, never a hang.
import { DistributedError } from '../errors.js';
import { addon } from '../native.js';
import { openMpiLibrary } from './mpi_library.js';

export type ReduceOp = 'sum' | 'max' | 'min';

/** A collective in flight. */
export interface Collective {
  /** Blocks until it is done (bounded by the timeout); throws a DistributedError if it failed. */
  wait(): void;
  /** Whether it has finished, without blocking. */
  done(): boolean;
}

export interface CommStats {
  /** Seconds this rank's main thread spent blocked on collectives. */
  waitSec: number;
  /** Seconds the communication thread spent inside collectives (overlapped with compute or not). */
  busySec: number;
  /** Bytes all-reduced or broadcast by this rank. */
  bytes: number;
}

export interface World {
  readonly rank: number;
  readonly worldSize: number;
  /** Whether collectives go through MPI (true for a 1-rank mpirun too). */
  readonly usesMpi: boolean;
  /** Element-wise reduction across ranks, in place; every rank ends with the same values. `what` names it in errors. */
  allReduce(buffer: Float32Array | Float64Array, op?: ReduceOp, what?: string): void;
  /** allReduce without waiting; the buffer must not be touched until wait(). */
  allReduceStart(buffer: Float32Array | Float64Array, op?: ReduceOp, what?: string): Collective;
  /** Copies root's bytes of `buffer` into every rank's (same length everywhere). */
  broadcast(buffer: ArrayBufferView, root?: number, what?: string): void;
  barrier(what?: string): void;
  commStats(): CommStats;
  /** Stops every rank of the job (MPI_Abort); a single process exits. */
  abort(code?: number): never;
}

const DONE: Collective = { wait: () => {}, done: () => true };

/** A world of one: collectives leave their buffers as they are. */
export const SINGLE_PROCESS: World = Object.freeze({
  rank: 0,
  worldSize: 1,
  usesMpi: false,
  allReduce: () => {},
  allReduceStart: () => DONE,
  broadcast: () => {},
  barrier: () => {},
  commStats: () => ({ waitSec: 0, busySec: 0, bytes: 0 }),
  abort: (code = 1): never => process.exit(code),
});

export interface InitDistributedOptions {
  /** libmpi to open (default: LMKIT_MPI_LIB, else libmpi.so.40, libmpi.so). */
  library?: string;
  /** Seconds a collective may take before it fails (default: LMKIT_DIST_TIMEOUT, else 300). */
  timeoutSec?: number;
}

export const DEFAULT_TIMEOUT_SEC = 300;

class MpiWorld implements World {
  readonly usesMpi = true;
  private waitSec = 0;

  constructor(readonly rank: number, readonly worldSize: number) {}

  allReduce(buffer: Float32Array | Float64Array, op: ReduceOp = 'sum', what = 'all-reduce'): void {
    this.allReduceStart(buffer, op, what).wait();
  }

  allReduceStart(buffer: Float32Array | Float64Array, op: ReduceOp = 'sum', what = 'all-reduce'): Collective {
    return this.pending(addon.mpiAllReduceStart(buffer, op), what);
  }

  broadcast(buffer: ArrayBufferView, root = 0, what = 'broadcast'): void {
    this.pending(addon.mpiBroadcastStart(buffer, root), what).wait();
  }

  barrier(what = 'barrier'): void {
    this.pending(addon.mpiBarrierStart(), what).wait();
  }

  commStats(): CommStats {
    const s = addon.mpiStats();
    return { waitSec: this.waitSec, busySec: s.busySeconds, bytes: s.bytes };
  }

  abort(code = 1): never {
    return addon.mpiAbort(code);
  }

  private pending(ticket: number, what: string): Collective {
    let finished = false;
    return {
      done: () => finished || addon.mpiDone(ticket),
      wait: () => {
        if (finished) return;
        const t0 = performance.now();
        const outcome = addon.mpiWait(ticket);
        finished = true;
        this.waitSec += (performance.now() - t0) / 1000;
        if (!outcome.ok) {
          throw new DistributedError(outcome.timedOut ? 'DIST_TIMEOUT' : 'DIST_COLLECTIVE_FAILED',
            `${what}: ${outcome.error}. The job cannot go on: check the other ranks' output for the first error; ` +
            'a run with checkpoints continues from the last one with --resume (raise LMKIT_DIST_TIMEOUT if a rank was only slow)');
        }
      },
    };
  }
}

let world: World | null = null;

function timeoutFromEnv(): number {
  const text = process.env['LMKIT_DIST_TIMEOUT'];
  if (text === undefined || text === '') return DEFAULT_TIMEOUT_SEC;
  const s = Number(text);
  if (!(s > 0 && s <= 1e9)) throw new DistributedError('DIST_CONFIG', `LMKIT_DIST_TIMEOUT=${JSON.stringify(text)}: expected a number of seconds > 0`);
  return s;
}

/**
 * Joins the MPI job this process was launched in (mpirun): opens libmpi,
 * initialises MPI on the communication thread and returns the world. Later
 * calls return the same world. MPI is finalised when the process exits.
 */
export function initDistributed(options: InitDistributedOptions = {}): World {
  if (world?.usesMpi) return world;
  const timeoutSec = options.timeoutSec ?? timeoutFromEnv();
  if (!(timeoutSec > 0)) throw new DistributedError('DIST_CONFIG', `initDistributed: timeoutSec must be > 0, got ${timeoutSec}`);
  const library = openMpiLibrary(options.library);
  const r = addon.mpiInit({ timeoutSec });
  if (!r.ok) throw new DistributedError('DIST_INIT', `MPI could not be initialised with ${library}: ${r.error}; launch the job with Open MPI's mpirun (e.g. mpirun -np 2 lmkit train ...)`);
  world = new MpiWorld(r.rank, r.size);
  process.once('exit', () => addon.mpiFinalize());
  shareCoresWithLocalRanks();
  return world;
}

/**
 * Ranks on the same host split its cores: without LMKIT_NUM_THREADS, and
 * when mpirun did not bind this rank to fewer cores already, the thread pool
 * gets cores / ranks-on-this-host threads (at least one), so two unbound ranks
 * on two cores do not run four spinning threads.
 */
function shareCoresWithLocalRanks(): void {
  const local = Number(process.env['OMPI_COMM_WORLD_LOCAL_SIZE']);
  if (process.env['LMKIT_NUM_THREADS'] || !(local > 1)) return;
  addon.setNumThreads(Math.max(1, Math.floor(addon.numThreads() / local)));
}

/** Whether this process was started by Open MPI's launcher (or LMKIT_DISTRIBUTED=1 asks for MPI; =0 refuses it). */
export function launchedByMpi(env: NodeJS.ProcessEnv = process.env): boolean {
  const forced = env['LMKIT_DISTRIBUTED'];
  if (forced === '1') return true;
  if (forced === '0') return false;
  return env['OMPI_COMM_WORLD_SIZE'] !== undefined;
}

/**
 * The world training runs in: the MPI world when initDistributed() was called
 * or the process runs under mpirun, else a single process (MPI untouched).
 */
export function defaultWorld(): World {
  if (world) return world;
  if (launchedByMpi()) return initDistributed();
  return SINGLE_PROCESS;
}

/** This process's rank in the default world (0 in a single process). */
export function rank(): number {
  return defaultWorld().rank;
}

/** Processes in the default world (1 in a single process). */
export function worldSize(): number {
  return defaultWorld().worldSize;
}

/** allReduce in the default world: sum (or max/min) over ranks, in place. */
export function allReduce(buffer: Float32Array | Float64Array, op: ReduceOp = 'sum'): void {
  defaultWorld().allReduce(buffer, op);
}

/** broadcast in the default world: root's bytes into every rank's buffer. */
export function broadcast(buffer: ArrayBufferView, root = 0): void {
  defaultWorld().broadcast(buffer, root);
}

/** barrier in the default world. */
export function barrier(): void {
  defaultWorld().barrier();
}
