// Replica check: ranks holding bitwise the same parameters pass; a rank whose
// weights differ by one ulp makes every rank throw DIST_DIVERGED naming it.
import t from 'tap';
import { checkReplicasAgree, parametersDigest } from '../../lib/distributed/replicas.js';
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
