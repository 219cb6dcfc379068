// What the training stages add to a run for data parallelism (lib/distributed):
// a resume must see the world size it was trained with; each rank has its
// own dropout stream (rank 0 keeps the single-process one), all of them saved
// in the checkpoint; and the metrics carry how long the ranks waited on
// communication.
import { ConfigError } from '../errors.js';
import { gatherRngStates, rankSeed, sumOverRanks } from '../distributed/sharding.js';
import type { World } from '../distributed/world.js';
import { Random, type RngState } from '../tensor/random.js';
import type { TrainerState } from './trainer_state.js';

/** Throws unless the checkpoint was trained on as many ranks as this run has. */
export function checkResumedWorld(state: TrainerState, world: World): void {
  const saved = state.world_size ?? 1;
  if (saved !== world.worldSize)
    throw new ConfigError('CONFIG_RESUME_MISMATCH', `resume: the checkpoint was trained on ${saved} rank${saved > 1 ? 's' : ''} but this run has ${world.worldSize}; ` +
      `the global batch and every rank's data share depend on it. Resume with ${saved > 1 ? `mpirun -np ${saved}` : 'a single process (no mpirun)'}`);
}

/** A fresh run's dropout state for this rank, from the stage's dropout seed. */
export function freshDropoutState(seed: number, world: World): RngState {
  return new Random(rankSeed(seed, world.rank)).state();
}

/** This rank's dropout state in a resumed checkpoint. */
export function resumedDropoutState(state: TrainerState, world: World): RngState {
  return state.dropout_rng_ranks?.[world.rank] ?? state.dropout_rng;
}

/**
 * The trainer-state fields that describe the world: nothing for one process
 * (checkpoints stay as they were), else world_size and every rank's dropout
 * state. A collective: every rank calls it at each checkpoint.
 */
export function worldStateFields(world: World, dropout: RngState): Pick<TrainerState, 'world_size' | 'dropout_rng_ranks'> {
  if (world.worldSize === 1) return {};
  return { world_size: world.worldSize, dropout_rng_ranks: gatherRngStates(world, dropout, 'gather of the dropout RNG states') };
}

/** Seconds spent on communication since the last call, for a metrics line. */
export function commWindow(world: World): () => Record<string, number> {
  let last = world.commStats();
  return () => {
    if (world.worldSize === 1) return {};
    const now = world.commStats();
    const fields = { world_size: world.worldSize, comm_wait_s: now.waitSec - last.waitSec, comm_busy_s: now.busySec - last.busySec };
    last = now;
    return fields;
  };
}

/**
 * Means over a set split across ranks: each rank gives the means over its
 * share and the share's weight (examples, target tokens), or null for an
 * empty share; returns the weighted means over the whole set. One process
 * gets its own means back untouched.
 */
export function meanOverRanks(world: World, share: { means: readonly number[]; weight: number } | null, width: number, what: string): number[] {
  if (world.worldSize === 1) return [...share!.means];
  const sums = share && share.weight > 0 ? [...share.means.map((m) => m * share.weight), share.weight] : new Array<number>(width + 1).fill(0);
  const reduced = sumOverRanks(world, sums, what);
  const total = reduced.pop()!;
  return reduced.map((s) => s / total);
}
