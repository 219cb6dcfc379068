// Replicas must stay identical: data parallelism relies on every rank taking
// the same optimizer step from the same weights. Different kernels on
// different hosts (AVX-512 here, AVX2 there), a checkpoint that reached one
// rank only, or a bug would let them drift apart silently; comparing a hash
// of the weights with rank 0's at the start and at every checkpoint turns
// that into an error naming the ranks.
import { createHash } from 'node:crypto';

import { DistributedError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { World } from './world.js';

/** sha256 over the parameters' float32 bytes, in order. */
export function parametersDigest(params: readonly Tensor[]): Uint8Array {
  const hash = createHash('sha256');
  for (const p of params) {
    const d = p.data;
    hash.update(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
  }
  return new Uint8Array(hash.digest());
}

/**
 * Throws a DistributedError on every rank unless all ranks hold bitwise the
 * same parameters as rank 0. `when` says at which point (e.g. "iteration 20").
 */
export function checkReplicasAgree(world: World, params: readonly Tensor[], when: string): void {
  if (world.worldSize === 1) return;
  const mine = parametersDigest(params);
  const rank0 = mine.slice();
  world.broadcast(rank0, 0, `broadcast of rank 0's weight hash (${when})`);
  const differs = new Float64Array(world.worldSize);
  differs[world.rank] = mine.every((b, i) => b === rank0[i]) ? 0 : 1;
  world.allReduce(differs, 'sum', `weight hash comparison (${when})`);
  const ranks = [...differs.keys()].filter((r) => differs[r] !== 0);
  if (ranks.length > 0)
    throw new DistributedError('DIST_DIVERGED', `${when}: the weights of rank${ranks.length > 1 ? 's' : ''} ${ranks.join(', ')} differ from rank 0's; ` +
      'replicas must stay identical. Run every rank on the same lmkit build and CPU kernels (set LMKIT_CPU_ISA to the same value on every host)');
}
