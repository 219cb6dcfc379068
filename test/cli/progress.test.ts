// The progress renderer: a bar redrawn in place on a TTY, plain lines at
// log_interval elsewhere; evals and checkpoints always get their own line.
import t from 'tap';
import { formatDuration, progressRenderer } from '../../lib/cli/progress.js';
import type { PretrainEvent } from '../../lib/stages/pretrain.js';

const step = (iter: number, logged: boolean): PretrainEvent => ({
  type: 'step', iter, maxIters: 10, loss: 2.5, lr: 1e-3, gradNorm: 0.5, tokensPerSec: 12345, elapsedSec: iter, etaSec: 90 - iter, logged,
});

t.test('not a TTY: one plain line per logged step, none for the others', async (t) => {
  let text = '';
  const r = progressRenderer({ write: (s: string) => (text += s), isTTY: false });
  r.onProgress(step(1, false));
  r.onProgress(step(5, true));
  r.onProgress({ type: 'eval', iter: 5, trainLoss: 2.4, valLoss: 2.6, bestValLoss: 2.6 });
  r.end();
  t.equal(text, 'iter 5/10: loss 2.5000, lr 1.00e-3, 12.3k tok/s, grad norm 0.500, ETA 1m25s\niter 5: train loss 2.4000, val loss 2.6000\n');
  t.notMatch(text, /\r/);
});

t.test('TTY: the bar line is redrawn with \\r and ended before other lines', async (t) => {
  let text = '';
  const r = progressRenderer({ write: (s: string) => (text += s), isTTY: true, columns: 100 });
  r.onProgress(step(10, false)); // the last step always draws
  t.match(text, /^\r\x1b\[Kiter 10\/10 █+ loss 2\.5000 \| 12\.3k tok\/s \| ETA 1m20s$/);
  r.onProgress({ type: 'checkpoint', iter: 10, dir: 'out/checkpoint' });
  t.match(text, /\r\x1b\[Kiter 10: checkpoint written to out\/checkpoint\n$/);
  r.end();
  t.equal(formatDuration(3725), '1h02m');
});
