// The training commands under mpirun: one rank (0) draws the progress and
// prints the results, every rank labels its errors with its rank, and a
// failure on any rank stops the whole job (MPI_Abort) instead of leaving the
// others waiting on it.
import { defaultWorld, type World } from '../distributed/world.js';
import type { ProgressSink } from './progress.js';

/** The world the command trains in (MPI under mpirun, else one process). */
export function commandWorld(): World {
  return defaultWorld();
}

/** `lmkit train`, or `lmkit train [rank 1 of 2]` in a job of several ranks. */
export function commandLabel(command: string, world: World | null): string {
  return world && world.worldSize > 1 ? `${command} [rank ${world.rank} of ${world.worldSize}]` : command;
}

const SILENT: ProgressSink = { write: () => true, isTTY: false };

/** Where progress goes: the given sink on rank 0, nowhere on the others. */
export function rankZeroSink(world: World, sink: ProgressSink): ProgressSink {
  return world.rank === 0 ? sink : SILENT;
}

/** console.error on rank 0 only (the results of a run are printed once). */
export function rankZeroLog(world: World, line: string, stream: 'stdout' | 'stderr' = 'stderr'): void {
  if (world.rank !== 0) return;
  if (stream === 'stdout') console.log(line);
  else console.error(line);
}

/**
 * A command's exit code; in a job of several ranks a failure aborts the job
 * (after this rank's message was printed) so no rank waits for one that quit.
 */
export function commandExit(world: World | null, code: number): number {
  if (code !== 0 && world && world.usesMpi && world.worldSize > 1) world.abort(code);
  return code;
}
