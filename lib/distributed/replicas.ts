// Replicas must stay identical: data parallelism relies on every rank taking
// the same optimizer step from the same weights on its share of the same
// data. Different kernels on different hosts (AVX-512 here, AVX2 there), a
// different copy of the data file on one host, or a bug would let them drift
// apart silently; comparing hashes with rank 0's (of the weights at the start
// and at every checkpoint, of the data at the start) turns that into an
// error naming the ranks.
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

/** The ranks whose 32-byte `digest` differs from rank 0's (the same list on every rank). */
function ranksDiffering(world: World, digest: Uint8Array, what: string): number[] {
  const rank0 = digest.slice();
  world.broadcast(rank0, 0, `broadcast of rank 0's hash of ${what}`);
  const differs = new Float64Array(world.worldSize);
  differs[world.rank] = digest.every((b, i) => b === rank0[i]) ? 0 : 1;
  world.allReduce(differs, 'sum', `comparison of the hashes of ${what}`);
  return [...differs.keys()].filter((r) => differs[r] !== 0);
}

const ranksText = (ranks: number[]): string => `rank${ranks.length > 1 ? 's' : ''} ${ranks.join(', ')}`;

/**
 * Throws a DistributedError on every rank unless all ranks hold bitwise the
 * same parameters as rank 0. `when` says at which point (e.g. "iteration 20").
 */
export function checkReplicasAgree(world: World, params: readonly Tensor[], when: string): void {
  if (world.worldSize === 1) return;
  const ranks = ranksDiffering(world, parametersDigest(params), `the weights (${when})`);
  if (ranks.length > 0)
    throw new DistributedError('DIST_DIVERGED', `${when}: the weights of ${ranksText(ranks)} differ from rank 0's; ` +
      'replicas must stay identical. Run every rank on the same lmkit build and CPU kernels (set LMKIT_CPU_ISA to the same value on every host)');
}

/**
 * Throws a DistributedError on every rank unless every rank's training data
 * has rank 0's sha256 (hex); `what` names the data ("--data corpus.txt").
 */
export function checkSameData(world: World, sha256: string, what: string): void {
  if (world.worldSize === 1) return;
  const ranks = ranksDiffering(world, new Uint8Array(Buffer.from(sha256, 'hex')), what);
  if (ranks.length > 0)
    throw new DistributedError('DIST_DATA_MISMATCH', `${what}: ${ranksText(ranks)} read other data than rank 0; ` +
      'every rank must read the same file: copy it to every host at the same path');
}
