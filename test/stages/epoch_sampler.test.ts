// Seeded epochs: each a permutation, batches running across epoch ends, and a
// resume's replay checked against the saved state.
import t from 'tap';
import { EpochSampler } from '../../lib/stages/epoch_sampler.js';

const single = (order: number[]) => order.map((i) => [i]);

t.test('every epoch visits each example once, in a fresh order; batches run on across epochs', async (t) => {
  const s = new EpochSampler(5, 7, (order) => order);
  const drawn = [...s.next(3), ...s.next(3), ...s.next(3), ...s.next(3), ...s.next(3)]; // 15 = 3 epochs
  const epochs = [drawn.slice(0, 5), drawn.slice(5, 10), drawn.slice(10, 15)];
  for (const e of epochs) t.same([...e].sort(), [0, 1, 2, 3, 4], `epoch ${e.join(',')} is a permutation`);
  t.ok(epochs.some((e) => e.join() !== epochs[0]!.join()), 'the order changes between epochs');
  t.equal(s.epoch, 3);
  const again = new EpochSampler(5, 7, (order) => order);
  t.same([...again.next(8), ...again.next(7)], drawn, 'same seed, same order, however it is batched');
  t.not(new EpochSampler(5, 8, (order) => order).next(15).join(), drawn.join(), 'another seed, another order');
});

t.test('arrange groups an epoch\'s order into units (packed rows)', async (t) => {
  const s = new EpochSampler(6, 1, (order) => [order.slice(0, 4), order.slice(4)]);
  const [a, b] = s.next(2);
  t.same([...a!, ...b!].sort(), [0, 1, 2, 3, 4, 5]);
});

t.test('replay reaches the saved state; a replay that does not is refused', async (t) => {
  const s = new EpochSampler(4, 3, single);
  for (let i = 0; i < 5; i++) s.next(2);
  const saved = s.state();
  const next = s.next(2);
  const r = new EpochSampler(4, 3, single);
  r.replay(5, 2, saved);
  t.same(r.next(2), next, 'the replayed sampler continues where the first one was');
  t.throws(() => new EpochSampler(4, 3, single).replay(1, 2, saved), { name: 'ConfigError', code: 'CONFIG_RESUME_MISMATCH', message: /replaying 1 batches of 2/ });
  t.throws(() => new EpochSampler(0, 3, single), /at least one example/);
});
