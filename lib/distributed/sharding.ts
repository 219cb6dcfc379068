// Which data each rank reads, and the small reductions around it.
//
// DistributedSampler semantics over lmkit's seeded streams: every rank runs
// the same sampler with the same seed, draws the units of all ranks in rank
// order and keeps its own. The ranks therefore read disjoint shares of every
// global batch, the sampler's state is the same on all of them (one state in
// the checkpoint resumes them all), and rank r's k-th micro-batch is global
// micro-batch k·worldSize + r: with one micro-batch per rank, the order a
// single process with gradient_accumulation_steps = worldSize reads.
import type { RngState } from '../tensor/random.js';
import type { World } from './world.js';

/** Draws one unit per rank from a shared stream and returns this rank's. */
export function drawShard<T>(world: World, draw: () => T): T {
  let mine: T | undefined;
  for (let r = 0; r < world.worldSize; r++) {
    const unit = draw();
    if (r === world.rank) mine = unit;
  }
  return mine!;
}

/** Whether item `index` of a list split round-robin across ranks is this rank's. */
export function isMine(world: World, index: number): boolean {
  return index % world.worldSize === world.rank;
}

/** Sums each number over ranks (float64), in place semantics on a copy. */
export function sumOverRanks(world: World, values: readonly number[], what: string): number[] {
  if (world.worldSize === 1) return [...values];
  const buffer = Float64Array.from(values);
  world.allReduce(buffer, 'sum', what);
  return Array.from(buffer);
}

/**
 * Every rank's RNG state, by rank (a uint32 is exact in float64, so a sum of
 * arrays holding one rank's state each gathers them).
 */
export function gatherRngStates(world: World, state: RngState, what: string): RngState[] {
  const all = new Float64Array(4 * world.worldSize);
  all.set(state, 4 * world.rank);
  world.allReduce(all, 'sum', what);
  return Array.from({ length: world.worldSize }, (_, r) => Array.from(all.subarray(4 * r, 4 * r + 4)) as RngState);
}

/**
 * A seed for rank r's own stream (dropout): rank 0 keeps `seed`, so a world
 * of one draws what it always did; the others get unrelated streams.
 */
export function rankSeed(seed: number, rank: number): number {
  return rank === 0 ? seed : (seed + Math.imul(rank, 0x9e3779b1)) >>> 0;
}
