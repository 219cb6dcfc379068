// Warmup + cosine schedule against nanoGPT's get_lr, evaluated by hand.
import t from 'tap';
import { learningRate } from '../../lib/optim/schedule.js';

t.test('warmup, cosine decay and floor follow nanoGPT get_lr', async (t) => {
  const s = { lr: 1e-3, warmupSteps: 100, decaySteps: 2000, minLr: 1e-4 };
  t.equal(learningRate(0, s), 1e-3 / 101);
  t.equal(learningRate(99, s), (1e-3 * 100) / 101);
  t.equal(learningRate(100, s), 1e-3, 'peak right after warmup');
  // Halfway through the decay, cos(π/2) = 0: midpoint of lr and minLr.
  t.ok(Math.abs(learningRate(1050, s) - 5.5e-4) < 1e-12);
  t.equal(learningRate(2000, s), 1e-4);
  t.equal(learningRate(5000, s), 1e-4);
});
