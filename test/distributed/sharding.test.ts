// Data sharding (DistributedSampler semantics over one shared stream): rank r
// of N keeps the r-th of every N draws and the stream advances by N on every
// rank; round-robin shares partition a list; RNG states gathered by rank;
// rank 0 keeps the single-process dropout seed. Peers simulated in-process.
import t from 'tap';
import { drawShard, gatherRngStates, isMine, rankSeed, sumOverRanks } from '../../lib/distributed/sharding.js';
import { SINGLE_PROCESS } from '../../lib/distributed/world.js';
import { Random, type RngState } from '../../lib/tensor/random.js';
import { RecordingWorld, ReplayWorld } from '../helpers/fake_world.js';

t.test('drawShard: every rank draws all N units from the shared stream and keeps the one at its rank', async (t) => {
  const reference = new Random(11);
  const global = Array.from({ length: 6 }, () => reference.nextUint32()); // two rounds of 3 ranks
  for (let rank = 0; rank < 3; rank++) {
    const rng = new Random(11);
    const world = new RecordingWorld(rank, 3);
    const mine = [drawShard(world, () => rng.nextUint32()), drawShard(world, () => rng.nextUint32())];
    t.same(mine, [global[rank], global[3 + rank]], `rank ${rank} gets global draws ${rank} and ${3 + rank}`);
    t.same(rng.state(), reference.state(), `rank ${rank}'s stream stands where the others' does`);
  }
  const rng = new Random(11);
  t.equal(drawShard(SINGLE_PROCESS, () => rng.nextUint32()), global[0], 'a world of one draws once');
});

t.test('isMine splits a list round-robin: the shares partition it', async (t) => {
  const items = [...Array(10).keys()];
  const shares = [0, 1, 2].map((rank) => items.filter((i) => isMine(new RecordingWorld(rank, 3), i)));
  t.same(shares, [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]);
});

t.test('gatherRngStates: every rank ends with all states, by rank; sumOverRanks adds in float64', async (t) => {
  const states: RngState[] = [new Random(1).state(), new Random(2).state()];
  const peer = new RecordingWorld(1, 2);
  gatherRngStates(peer, states[1]!, 'gather');
  sumOverRanks(peer, [0.25, 1e-17], 'sums');
  const me = new ReplayWorld(0, 2, [peer]);
  t.same(gatherRngStates(me, states[0]!, 'gather'), states);
  t.same(sumOverRanks(me, [0.5, 1], 'sums'), [0.75, 1 + 1e-17]);
});

t.test('rankSeed: rank 0 keeps the seed (one process draws what it always did), other ranks get their own', async (t) => {
  t.equal(rankSeed(1338, 0), 1338);
  const seeds = [1, 2, 3, 4].map((r) => rankSeed(1338, r));
  t.equal(new Set([1338, ...seeds]).size, 5, 'all different');
  t.ok(seeds.every((s) => Number.isInteger(s) && s >= 0 && s <= 0xffffffff), 'uint32 seeds');
});
