// The world of ranks: a single process never opens libmpi (a pre-training
// run leaves no libmpi in the process's memory map) and is a world of one
// whose collectives change nothing; launch detection; a missing or foreign
// libmpi is one DistributedError saying how to install Open MPI, also from
// the CLI; under mpirun (3 ranks) the public API's all-reduce (sum, max,
// min; float32 and float64), broadcast of a typed-array view from root 1,
// barrier and a collective waited on later give every rank the values
// computed by hand. The mpirun part skips without Open MPI.
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runTrain } from '../../lib/cli/train.js';
import { INSTALL_HINT, openMpiLibrary } from '../../lib/distributed/mpi_library.js';
import { defaultWorld, launchedByMpi, SINGLE_PROCESS } from '../../lib/distributed/world.js';
import { DistributedError } from '../../lib/errors.js';
import { addon } from '../../lib/native.js';
import { pretrain } from '../../lib/stages/pretrain.js';
import { pretrainConfig } from '../../lib/stages/pretrain_config.js';
import { presetConfig } from '../../lib/stages/presets.js';
import { captured } from '../helpers/cli_run.js';
import { repoRoot } from '../helpers/gpt2.js';
import { checkDistFresh, mpirunAvailable, mpirunFlags } from '../helpers/mpirun.js';

const shakespeare = path.join(repoRoot, 'data', 'tinyshakespeare.txt');

t.test('a single process trains without ever opening libmpi', async (t) => {
  t.equal(launchedByMpi(), false, 'the tests do not run under mpirun');
  t.equal(defaultWorld(), SINGLE_PROCESS);
  const r = pretrain({ config: pretrainConfig({ max_iters: 2, eval_interval: 0 }, 'test', presetConfig('tiny')), dataFile: shakespeare });
  t.equal(r.iter, 2);
  const maps = readFileSync('/proc/self/maps', 'utf8');
  t.notMatch(maps, /libmpi/, 'no libmpi mapped into this process');
});

t.test('a world of one: collectives leave the buffers as they are', async (t) => {
  const w = SINGLE_PROCESS;
  const a = Float32Array.of(1.5, -2), b = Float64Array.of(3), c = Uint8Array.of(7, 8);
  w.allReduce(a);
  w.allReduce(b, 'max');
  w.broadcast(c);
  w.barrier();
  w.allReduceStart(a).wait();
  t.same([Array.from(a), Array.from(b), Array.from(c)], [[1.5, -2], [3], [7, 8]]);
  t.same([w.rank, w.worldSize, w.usesMpi], [0, 1, false]);
});

t.test('launch detection: OMPI_COMM_WORLD_SIZE, or LMKIT_DISTRIBUTED=1 / 0 to force it', async (t) => {
  t.equal(launchedByMpi({}), false);
  t.equal(launchedByMpi({ OMPI_COMM_WORLD_SIZE: '2' }), true);
  t.equal(launchedByMpi({ OMPI_COMM_WORLD_SIZE: '2', LMKIT_DISTRIBUTED: '0' }), false);
  t.equal(launchedByMpi({ LMKIT_DISTRIBUTED: '1' }), true, 'e.g. a launcher that does not set Open MPI\'s variables');
});

t.test('a missing or foreign libmpi is a DistributedError that says how to install Open MPI', async (t) => {
  let caught: unknown;
  try {
    openMpiLibrary('/nonexistent/libmpi.so.40');
  } catch (err) {
    caught = err;
  }
  t.ok(caught instanceof DistributedError, 'a DistributedError');
  t.equal((caught as DistributedError).code, 'DIST_NO_MPI');
  t.ok((caught as Error).message.includes('/nonexistent/libmpi.so.40') && (caught as Error).message.includes(INSTALL_HINT), (caught as Error).message);
  t.throws(() => openMpiLibrary('libm.so.6'), /libm\.so\.6 is not an Open MPI library \(missing MPI_Init_thread, .*ompi_mpi_comm_world/);
  t.match(INSTALL_HINT, /apt-get install openmpi-bin libopenmpi-dev/);
});

t.test('lmkit train asked to run distributed without an MPI library: one line, exit 1', async (t) => {
  const saved = { ...process.env };
  process.env['LMKIT_DISTRIBUTED'] = '1';
  process.env['LMKIT_MPI_LIB'] = '/nonexistent/libmpi.so';
  try {
    const r = await captured(async () => runTrain(['--config', 'tiny', '--max-iters', '1', '--out', t.testdir()]));
    t.equal(r.code, 1);
    t.match(r.stderr, /^lmkit train: distributed training needs Open MPI, which could not be loaded \(.*\/nonexistent\/libmpi\.so.*\); install Open MPI .*\[DIST_NO_MPI\]\n$/);
  } finally {
    process.env = saved;
  }
});

t.test('the native MPI entries check their arguments before touching MPI', async (t) => {
  t.throws(() => addon.mpiOpen(5 as unknown as string), new TypeError('mpiOpen: expected a string for library but received number 5'));
  t.throws(() => addon.mpiAllReduceStart(new Float32Array(2), 'sum'), { name: 'RangeError', message: 'mpiAllReduceStart: MPI is not initialised in this process; call initDistributed() first' });
  t.throws(() => addon.mpiBroadcastStart(new Uint8Array(2), 0), /^mpiBroadcastStart: MPI is not initialised/);
  t.throws(() => addon.mpiBarrierStart(), /^mpiBarrierStart: MPI is not initialised/);
  t.throws(() => addon.mpiWait(12345), { name: 'RangeError', message: 'mpiWait: number 12345 is not a collective in flight' });
  t.throws(() => addon.mpiDone(-1), /^mpiDone: number -1 is not a collective in flight/);
  t.throws(() => addon.mpiSetTimeout(0), /^mpiSetTimeout: expected seconds in \(0, 1e9\]/);
  t.same(addon.mpiStats(), { busySeconds: 0, collectives: 0, bytes: 0 }, 'nothing ran');
});

const available = mpirunAvailable();
t.test('under mpirun, 3 ranks: all-reduce, broadcast, barrier and a deferred wait through the public API', { skip: available === true ? false : available }, async (t) => {
  checkDistFresh();
  const script = path.join(repoRoot, 'test', 'helpers', 'mpi_collectives.mjs');
  const child = spawn('mpirun', [...mpirunFlags(3), process.execPath, script], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const watchdog = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 60_000);
  t.teardown(() => {
    clearTimeout(watchdog);
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ended
    }
  });
  let out = '', err = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.equal(code, 0, err);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).sort((a, b) => (a['rank'] as number) - (b['rank'] as number));
  t.same(lines.map((l) => l['rank']), [0, 1, 2]);
  for (const l of lines) {
    const r = l['rank'];
    t.same(l['worldSize'], 3, `rank ${r}: worldSize`);
    t.same([l['same'], l['usesMpi']], [true, true], `rank ${r}: defaultWorld() is the world initDistributed() returned`);
    t.same(l['f32'], [1 + 2 + 3, 0 - 1 - 2, 0.5 * (0 + 1 + 2)], `rank ${r}: float32 sum of [r+1, −r, r/2]`);
    t.same(l['f64max'], [2, 0], `rank ${r}: float64 max of [r, −r]`);
    t.same(l['f64min'], [0, -2], `rank ${r}: float64 min of [r, −r]`);
    t.same(l['backing'], [-7, -7, 11, 22, 33, -7], `rank ${r}: root 1's view arrived, the bytes around it untouched`);
    t.match(l['typeError'], /^TypeError: mpiAllReduceStart: expected a Float32Array or Float64Array for buffer but received Int32Array/, `rank ${r}: a wrong buffer type is a TypeError naming it`);
  }
});
