// Whitening over ranks (data-parallel PPO): two ranks' rollouts whitened with
// the mean and variance of both give what maskedWhiten gives on the two
// batches stacked into one (float32 rounding apart), and a world of one is
// maskedWhiten itself, bitwise.
import t from 'tap';
import { SINGLE_PROCESS } from '../../lib/distributed/world.js';
import { maskedWhiten, maskedWhitenOverRanks } from '../../lib/stages/ppo_whiten.js';
import { RecordingWorld, ReplayWorld } from '../helpers/fake_world.js';

const rows = 3, cols = 5;
const values = (seed: number) => Float32Array.from({ length: rows * cols }, (_, i) => Math.sin(seed * 7 + i * 1.3) * (1 + seed));
const mask = (seed: number) => Float32Array.from({ length: rows * cols }, (_, i) => ((i + seed) % 4 === 0 ? 0 : 1));

const f64 = (...xs: number[]): Uint8Array => new Uint8Array(Float64Array.from(xs).buffer);

t.test('two ranks whiten with the statistics of both batches', async (t) => {
  // The peer's second contribution depends on the first result: give it the totals, counted here by hand.
  const all = [...values(0), ...values(1)], on = [...mask(0), ...mask(1)];
  const n = on.reduce((a, b) => a + b, 0), sum = all.reduce((a, v, i) => a + (on[i] ? v : 0), 0);
  const ss = all.reduce((a, v, i) => a + (on[i] ? (v - sum / n) ** 2 : 0), 0);
  const peer = new RecordingWorld(1, 2, [f64(n, sum), f64(ss)]);
  const peerOut = maskedWhitenOverRanks(peer, values(1), mask(1), { rows, cols });
  const mine = maskedWhitenOverRanks(new ReplayWorld(0, 2, [peer]), values(0), mask(0), { rows, cols });
  const stacked = maskedWhiten(Float32Array.from([...values(0), ...values(1)]), Float32Array.from([...mask(0), ...mask(1)]), { rows: 2 * rows, cols });
  let worst = 0;
  mine.forEach((x, i) => (worst = Math.max(worst, Math.abs(x - stacked[i]!))));
  t.ok(worst < 1e-6, `rank 0's share matches the stacked batch: max abs diff ${worst}`);
  t.same(Array.from(peerOut), Array.from(stacked.subarray(rows * cols)), 'rank 1\'s share too');
  t.equal(mine[0], 0, 'padding stays 0');
});

t.test('a world of one is maskedWhiten, bitwise', async (t) => {
  t.same(Array.from(maskedWhitenOverRanks(SINGLE_PROCESS, values(2), mask(2), { rows, cols })), Array.from(maskedWhiten(values(2), mask(2), { rows, cols })));
});
