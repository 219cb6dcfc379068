// Replica and data checks: ranks holding bitwise the same parameters pass; a
// rank whose weights differ by one ulp makes every rank throw DIST_DIVERGED
// naming it; a rank that read other data fails with DIST_DATA_MISMATCH.
import t from 'tap';
import { createHash } from 'node:crypto';
import { checkReplicasAgree, checkSameData, parametersDigest } from '../../lib/distributed/replicas.js';
import { DistributedError } from '../../lib/errors.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { RecordingWorld, ReplayWorld } from '../helpers/fake_world.js';

const params = (bump = 0): Tensor[] => {
  const w = new Float32Array([0.1, 0.2, 0.3]);
  if (bump) w[1] = w[1]! + bump;
  return [new Tensor(w, [3], true), new Tensor(new Float32Array([1]), [1], true)];
};

/** Rank 0 sees `mine`, its 2 peers hold `peers[r-1]`: what checkReplicasAgree does on each rank. */
function check(mine: Tensor[], peers: Tensor[][]): { rank0: unknown; peer: unknown } {
  const N = peers.length + 1;
  const recorded = peers.map((p, i) => {
    const w = new RecordingWorld(i + 1, N, [parametersDigest(mine)]); // rank 0's broadcast digest arrives
    let peerError: unknown = null;
    try {
      checkReplicasAgree(w, p, 'iteration 7');
    } catch (err) {
      peerError = err;
    }
    return { w, peerError };
  });
  let rank0: unknown = null;
  try {
    checkReplicasAgree(new ReplayWorld(0, N, recorded.map((r) => r.w)), mine, 'iteration 7');
  } catch (err) {
    rank0 = err;
  }
  return { rank0, peer: recorded[0]!.peerError };
}

t.test('identical replicas pass', async (t) => {
  const r = check(params(), [params(), params()]);
  t.equal(r.rank0, null);
  t.equal(r.peer, null);
});

t.test('one rank one ulp off: DIST_DIVERGED naming it, with the fix', async (t) => {
  const r = check(params(), [params(), params(1e-8)]);
  t.ok(r.rank0 instanceof DistributedError);
  t.equal((r.rank0 as DistributedError).code, 'DIST_DIVERGED');
  t.match((r.rank0 as Error).message, /^iteration 7: the weights of rank 2 differ from rank 0's; replicas must stay identical\. .*LMKIT_CPU_ISA/);
});

t.test('the digest covers every byte of every parameter, in order', async (t) => {
  const a = parametersDigest(params()), b = parametersDigest(params(1e-8)), c = parametersDigest([...params()].reverse());
  t.notSame(Array.from(a), Array.from(b));
  t.notSame(Array.from(a), Array.from(c));
  t.same(Array.from(a), Array.from(parametersDigest(params())));
});

t.test('checkSameData: rank 1 read another file: DIST_DATA_MISMATCH naming the data and the rank', async (t) => {
  const sha = (text: string) => createHash('sha256').update(text).digest('hex');
  const peer = new RecordingWorld(1, 2, [new Uint8Array(Buffer.from(sha('rank 0 data'), 'hex'))]);
  t.throws(() => checkSameData(peer, sha('other data'), '--data a.txt'), { code: 'DIST_DATA_MISMATCH' }, 'rank 1 sees it too');
  const same = new RecordingWorld(1, 2, [new Uint8Array(Buffer.from(sha('rank 0 data'), 'hex'))]);
  checkSameData(same, sha('rank 0 data'), '--data a.txt');
  t.throws(() => checkSameData(new ReplayWorld(0, 2, [peer]), sha('rank 0 data'), '--data a.txt'),
    /^--data a\.txt: rank 1 read other data than rank 0; every rank must read the same file: copy it to every host at the same path$/);
  t.doesNotThrow(() => checkSameData(new ReplayWorld(0, 2, [same]), sha('rank 0 data'), '--data a.txt'));
});
