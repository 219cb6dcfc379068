// lib/cli/distributed.ts: errors carry the rank in a job of several ranks,
// progress and results reach the terminal from rank 0 only, and one process
// keeps the plain label.
import t from 'tap';
import { commandExit, commandLabel, rankZeroLog, rankZeroSink } from '../../lib/cli/distributed.js';
import { SINGLE_PROCESS } from '../../lib/distributed/world.js';
import { captured } from '../helpers/cli_run.js';
import { RecordingWorld } from '../helpers/fake_world.js';

t.test('labels: the rank in a job of several, plain for one process', async (t) => {
  t.equal(commandLabel('train', new RecordingWorld(1, 4)), 'train [rank 1 of 4]');
  t.equal(commandLabel('train', SINGLE_PROCESS), 'train');
  t.equal(commandLabel('sft', null), 'sft', 'a failure before the world exists');
});

t.test('progress and results from rank 0 only', async (t) => {
  let written = '';
  const sink = { write: (s: string) => ((written += s), true), isTTY: true };
  rankZeroSink(new RecordingWorld(1, 2), sink).write('x');
  t.equal(written, '', 'rank 1 writes nothing');
  t.equal(rankZeroSink(new RecordingWorld(0, 2), sink), sink, 'rank 0 keeps the terminal');
  const r = await captured(async () => {
    rankZeroLog(new RecordingWorld(1, 2), 'from rank 1');
    rankZeroLog(new RecordingWorld(0, 2), 'from rank 0');
    rankZeroLog(new RecordingWorld(0, 2), 'result', 'stdout');
    return 0;
  });
  t.equal(r.stderr, 'from rank 0\n');
  t.equal(r.stdout, 'result\n');
});

t.test('exit codes: a world without MPI returns the code (a real job would abort on failure)', async (t) => {
  t.equal(commandExit(new RecordingWorld(1, 2), 1), 1, 'usesMpi false: nothing to abort');
  t.equal(commandExit(SINGLE_PROCESS, 0), 0);
  t.equal(commandExit(null, 2), 2);
});
