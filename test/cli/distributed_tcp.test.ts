// Two simulated hosts (scripts/netns-two-hosts.sh: network namespaces joined
// by a veth pair, TCP only): `lmkit train` with one rank per host, stopped
// at iteration 5 and resumed on a fresh launch to 10 (rank 1 receives the
// checkpoint over the link), ends bitwise where an uninterrupted loopback
// run on shared memory ends; at least the gradients of every step crossed
// the link. Skips, saying why, without root, network namespaces or Open MPI.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { repoRoot } from '../helpers/gpt2.js';
import { expectExit0, mpirunAvailable, mpirunJob } from '../helpers/mpirun.js';

const script = path.join(repoRoot, 'scripts', 'netns-two-hosts.sh');
const prefix = `lmk${process.pid}`.slice(0, 12);

function netnsSkip(): string | false {
  const mpi = mpirunAvailable();
  if (mpi !== true) return mpi;
  if (process.getuid?.() !== 0) return 'two simulated hosts need root (network namespaces); run the tests as root to include this one';
  const up = spawnSync(script, ['up', prefix], { encoding: 'utf8' });
  if (up.status !== 0) {
    spawnSync(script, ['down', prefix]);
    return `network namespaces are not available here (${(up.stderr || up.error?.message || '').trim().split('\n')[0]}); needs CAP_SYS_ADMIN/CAP_NET_ADMIN, iproute2 and util-linux`;
  }
  return false;
}

const skip = netnsSkip();
if (!skip) t.teardown(() => void spawnSync(script, ['down', prefix]));

/** mpirun from host 1, one rank per host (the script execs into mpirun: the job's process group is killed at the end). */
const acrossHosts = (t: Test, args: string[]) => mpirunJob(t, 2, args, { launcher: [script, 'run', prefix, '--'] }).done;

const bytesSent = (): number => Number(spawnSync(script, ['bytes', prefix], { encoding: 'utf8' }).stdout.trim());

t.test('one rank per simulated host over TCP: stop at 5, resume to 10, bitwise equal to a shared-memory run', { skip }, async (t) => {
  const dir = t.testdir({ 'data.txt': readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 60000) });
  const common = (out: string, iters: number) => ['train', '--config', 'tiny', '--data', path.join(dir, 'data.txt'), '--out', out,
    '--max-iters', String(iters), '--set', 'eval_interval=0', '--set', 'eval_iters=2', '--set', 'checkpoint_interval=0', '--set', 'dropout=0.1'];
  const tcp = path.join(dir, 'tcp'), shm = path.join(dir, 'shm');
  const before = bytesSent();
  const first = await acrossHosts(t, common(tcp, 5));
  expectExit0(t, first, 'iterations 0–5 across the hosts');
  const second = await acrossHosts(t, [...common(tcp, 10), '--resume']);
  expectExit0(t, second, 'resumed to 10 across the hosts');
  t.match(second.output, /resuming at iteration 5/);
  const sent = bytesSent() - before;

  const loopback = await mpirunJob(t, 2, common(shm, 10)).done;
  expectExit0(t, loopback, 'loopback run, shared memory');
  const a = readCheckpoint(path.join(tcp, 'checkpoint'), { training: true }), b = readCheckpoint(path.join(shm, 'checkpoint'), { training: true });
  const differing = [...a.weights.tensors.keys()].filter((name) => !Buffer.from(a.weights.tensors.get(name)!.bytes).equals(Buffer.from(b.weights.tensors.get(name)!.bytes)));
  t.same(differing, [], `all ${a.weights.tensors.size} weight tensors bitwise equal (TCP between hosts vs shared memory)`);
  const params = [...a.weights.tensors.values()].reduce((n, s) => n + s.bytes.length, 0);
  t.ok(sent >= 10 * params, `${sent} bytes left host 1 over the veth link: at least 10 steps × ${params} bytes of gradients`);
});
