// Sharing a checkpoint from rank 0: the other ranks get a private copy of
// every file, attachments (PPO's value/ folder) included, byte for byte, and
// read the same checkpoint from it; a save interrupted mid-swap is finished
// on rank 0 first; with nothing to resume every rank gets rank 0's folder
// (so all fail alike, naming it); a fresh run's folder is rank 0's alone.
// Peers simulated in-process (test/helpers/fake_world.ts).
import t from 'tap';
import { existsSync, readFileSync, readdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { resumeFolder, shareCheckpoint } from '../../lib/distributed/checkpoint_sync.js';
import { readCheckpoint, saveCheckpoint } from '../../lib/io/checkpoint.js';
import { exportWeights } from '../../lib/models/weights.js';
import { tinyDecoder, stageTokenizer } from '../helpers/stage_checkpoints.js';
import { RecordingWorld, ReplayWorld } from '../helpers/fake_world.js';

function files(dir: string, prefix = ''): string[] {
  return readdirSync(dir).sort().flatMap((n) => statSync(path.join(dir, n)).isDirectory() ? files(path.join(dir, n), `${prefix}${n}/`) : [`${prefix}${n}`]);
}

function save(dir: string): void {
  const model = tinyDecoder(3), value = tinyDecoder(4);
  const optimizer = { step: 5, m: { w: Float32Array.of(1, 2) }, v: { w: Float32Array.of(3, 4) } };
  saveCheckpoint(dir, {
    weights: exportWeights(model), config: { model_type: 'gpt2' }, tokenizer: stageTokenizer().toJSON(), optimizer, trainerState: { iter: 5 },
    attachments: { value: { weights: exportWeights(value), config: { model_type: 'gpt2' }, tokenizer: stageTokenizer().toJSON(), trainerState: { iter: 5 } } },
  }, 'test');
}

/** shareCheckpoint on rank 0 (recorded), then on rank 1 replaying what rank 0 sent. */
function share(dir: string): { rank0: string; rank1: string } {
  const root = new RecordingWorld(0, 2);
  const rank0 = shareCheckpoint(root, dir);
  const rank1 = shareCheckpoint(new ReplayWorld(1, 2, [root]), dir);
  return { rank0, rank1 };
}

t.test('rank 1 gets a byte-for-byte copy of every file, attachments included', async (t) => {
  const dir = path.join(t.testdir(), 'checkpoint');
  save(dir);
  const { rank0, rank1 } = share(dir);
  t.equal(rank0, dir, 'rank 0 reads its own folder');
  t.not(rank1, dir, 'rank 1 reads a copy');
  t.equal(path.basename(rank1), 'checkpoint');
  t.same(files(rank1), files(dir));
  t.ok(files(dir).includes('value/model.safetensors'), 'the value model travels too');
  for (const f of files(dir)) t.ok(readFileSync(path.join(rank1, f)).equals(readFileSync(path.join(dir, f))), `${f}: same bytes`);
  t.same(readCheckpoint(rank1, { training: true }).trainerState, { iter: 5 }, 'the copy loads as a checkpoint');
});

t.test('a save interrupted between its two renames is finished on rank 0 before sharing', async (t) => {
  const dir = path.join(t.testdir(), 'checkpoint');
  save(dir);
  renameSync(dir, `${dir}.old`); // the moment between "dir → dir.old" and "tmp → dir"
  const { rank0, rank1 } = share(dir);
  t.ok(existsSync(path.join(rank0, 'config.json')), 'rank 0 moved dir.old back');
  t.same(files(rank1), files(rank0));
});

t.test('nothing to resume: every rank gets rank 0\'s folder, to fail naming it', async (t) => {
  const dir = path.join(t.testdir(), 'checkpoint');
  const { rank0, rank1 } = share(dir);
  t.same([rank0, rank1], [dir, dir]);
});

t.test('resumeFolder: a fresh run hands the folder to rank 0 only; a resume shares it', async (t) => {
  const dir = path.join(t.testdir(), 'checkpoint');
  t.equal(resumeFolder(new RecordingWorld(0, 2), dir, false), dir);
  t.equal(resumeFolder(new RecordingWorld(1, 2), dir, false), null);
  t.equal(resumeFolder(new RecordingWorld(1, 2), null, true), null, 'no run folder: the stage reports it');
});
