// The stage commands' shared pieces: the progress display (bar on a TTY,
// plain lines at log_interval elsewhere, the same loss line as lmkit train),
// the config layers, and the checkpoint-kind check.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { loopEvent, readCheckpointOf, stageConfigFrom, stageProgress } from '../../lib/cli/stage_common.js';
import { sftConfig } from '../../lib/stages/stage_config.js';
import { saveTinyDecoder, saveTinyGlm } from '../helpers/stage_checkpoints.js';

const step = (iter: number, logged: boolean) => ({ type: 'step', iter, maxIters: 10, loss: 2.5, lr: 1e-3, gradNorm: 0.5, tokensPerSec: 12345, elapsedSec: iter, etaSec: 90 - iter, logged });

t.test('not a TTY: plain lines for logged steps and events; a TTY: one bar redrawn with \\r', async (t) => {
  let text = '';
  const plain = stageProgress({ write: (s: string) => (text += s), isTTY: false });
  t.ok(loopEvent(plain, step(1, false)));
  loopEvent(plain, step(5, true));
  loopEvent(plain, { type: 'checkpoint', iter: 5, dir: 'out/checkpoint' });
  t.notOk(loopEvent(plain, { type: 'eval' }), 'a stage\'s own event is left to it');
  plain.end();
  t.equal(text, 'iter 5/10: loss 2.5000, lr 1.00e-3, 12.3k tok/s, grad norm 0.500, ETA 1m25s\niter 5: checkpoint written to out/checkpoint\n');

  text = '';
  const tty = stageProgress({ write: (s: string) => (text += s), isTTY: true, columns: 120 });
  tty.step({ iter: 10, maxIters: 10, stats: 'reward 0.500 | KL 0.100', etaSec: 0, plain: 'never shown on a TTY' });
  t.match(text, /^\r\x1b\[Kiter 10\/10 █+ reward 0\.500 \| KL 0\.100 \| ETA 0s$/);
  tty.line('done');
  t.match(text, /\r\x1b\[Kdone\n$/, 'a line clears the bar first');
  tty.end();
  t.notMatch(text, /never shown/);
});

t.test('config layers: defaults ← --config ← --set/--max-iters/--seed; checkpoint kinds', async (t) => {
  const dir = t.testdir();
  const file = path.join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ batch_size: 3, learning_rate: 1e-3, max_iters: 50 }));
  const c = stageConfigFrom({ config: file, set: ['learning_rate=2e-3', 'packing=true'], seed: '9' }, { flag: 'max-iters', text: '20', key: 'max_iters' }, sftConfig);
  t.match(c, { batch_size: 3, learning_rate: 2e-3, packing: true, seed: 9, max_iters: 20, lr_decay_iters: 20 });
  writeFileSync(file, '{"batch_size": ');
  t.throws(() => stageConfigFrom({ config: file }, { flag: 'max-iters', text: undefined, key: 'max_iters' }, sftConfig), { code: 'CONFIG_UNREADABLE', message: /c\.json: cannot read the config/ });
  writeFileSync(file, JSON.stringify({ batch_sise: 3 }));
  t.throws(() => stageConfigFrom({ config: file }, { flag: 'max-iters', text: undefined, key: 'max_iters' }, sftConfig), { code: 'CONFIG_UNKNOWN_KEY', message: /c\.json: unknown key "batch_sise"/ });

  saveTinyDecoder(path.join(dir, 'run', 'checkpoint'));
  saveTinyGlm(path.join(dir, 'glm'));
  t.equal(readCheckpointOf('ckpt', path.join(dir, 'run'), 'decoder', '').config['model_type'], 'gpt2', 'a run folder resolves to its checkpoint/');
  t.throws(() => readCheckpointOf('ckpt', path.join(dir, 'glm'), 'reward', 'train one with lmkit rm'), { name: 'CheckpointError', code: 'CHECKPOINT_WRONG_KIND', message: /describes a GLM checkpoint, not a reward model; train one with lmkit rm/ });
});
