// PPO math against TRL's formulas (test/fixtures/gen_ppo_math.py, numpy,
// float64) and hand-computed cases: per-token rewards, GAE, masked
// whitening, the adaptive and fixed KL controllers; and their bad input.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, DataError, ShapeError } from '../../lib/errors.js';
import { AdaptiveKlController, FixedKlController } from '../../lib/stages/kl_controller.js';
import { gae } from '../../lib/stages/ppo_gae.js';
import { tokenRewards } from '../../lib/stages/ppo_rewards.js';
import { maskedMean, maskedVar, maskedWhiten } from '../../lib/stages/ppo_whiten.js';
import { expectClose } from '../helpers/compare.js';
import { repoRoot } from '../helpers/gpt2.js';

interface RewardsGaeCase {
  name: string; rows: number; cols: number; klCoef: number; gamma: number; lambda: number;
  scores: number[]; logp: number[]; refLogp: number[]; values: number[]; mask: number[];
  rewards: number[]; kl: number[]; sequenceKl: number[]; advantages: number[]; returns: number[]; whitenedAdvantages: number[];
}
interface WhitenCase { name: string; rows: number; cols: number; shiftMean: boolean; values: number[]; mask: number[]; mean: number; var: number; whitened: number[] }
interface KlCase { name: string; adaptive: boolean; initKlCoef: number; target: number; horizon: number; updates: [number, number][]; values: number[] }

const fixture = JSON.parse(readFileSync(path.join(repoRoot, 'test', 'fixtures', 'ppo_math.json'), 'utf8')) as {
  version: number; rewardsGae: RewardsGaeCase[]; whiten: WhitenCase[]; klController: KlCase[];
};
const F = (values: ArrayLike<number>): Float32Array => Float32Array.from(values);

// Inputs are exact float32 values; outputs come back as float32 from float64
// sums, so each differs from numpy's float64 by ≤ ½ ulp of float32 (6e-8
// relative) plus accumulated rounding of a few float64 ops: 1e-6 relative
// with a 1e-6 floor covers it with room, and would catch any formula slip.
const TOL = { atol: 1e-6, rtol: 1e-6 };

t.test('fixture file is the version this test reads', async (t) => {
  t.equal(fixture.version, 1);
  t.ok(fixture.rewardsGae.length >= 5 && fixture.whiten.length >= 3 && fixture.klController.length >= 4, 'cases present');
});

t.test('rewards, GAE and whitened advantages match TRL compute_rewards / compute_advantages', async (t) => {
  for (const c of fixture.rewardsGae) {
    t.test(c.name, async (t) => {
      const grid = { rows: c.rows, cols: c.cols };
      const mask = F(c.mask);
      const r = tokenRewards(c.scores, F(c.logp), F(c.refLogp), mask, { ...grid, klCoef: c.klCoef });
      expectClose(t, 'rewards', r.rewards, c.rewards, TOL);
      expectClose(t, 'kl', r.kl, c.kl, TOL);
      expectClose(t, 'sequenceKl', r.sequenceKl, c.sequenceKl, TOL);
      // GAE from the fixture's rewards, so this compares GAE alone (float32 rewards in).
      const g = gae(F(c.rewards), F(c.values), mask, { ...grid, gamma: c.gamma, lambda: c.lambda });
      expectClose(t, 'advantages', g.advantages, c.advantages, TOL);
      expectClose(t, 'returns', g.returns, c.returns, TOL);
      expectClose(t, 'whitenedAdvantages', maskedWhiten(F(c.advantages), mask, grid), c.whitenedAdvantages, TOL);
      // And the whole chain from rollout arrays, as the trainer runs it: three
      // float32 roundings in a row (rewards, advantages, whitened), so 3× TOL.
      const chain = maskedWhiten(gae(r.rewards, F(c.values), mask, { ...grid, gamma: c.gamma, lambda: c.lambda }).advantages, mask, grid);
      expectClose(t, 'whitenedAdvantages (full chain)', chain, c.whitenedAdvantages, { atol: 3e-6, rtol: 3e-6 });
    });
  }
});

t.test('masked mean, variance and whitening match TRL masked_whiten', async (t) => {
  for (const c of fixture.whiten) {
    const grid = { rows: c.rows, cols: c.cols };
    const values = F(c.values), mask = F(c.mask);
    expectClose(t, `${c.name}: mean`, [maskedMean(values, mask, grid)], [c.mean], { atol: 1e-9, rtol: 1e-12 });
    expectClose(t, `${c.name}: var`, [maskedVar(values, mask, grid)], [c.var], { atol: 1e-12, rtol: 1e-9 });
    expectClose(t, `${c.name}: whitened`, maskedWhiten(values, mask, { ...grid, shiftMean: c.shiftMean }), c.whitened, TOL);
  }
});

t.test('KL controllers match TRL AdaptiveKLController / FixedKLController', async (t) => {
  for (const c of fixture.klController) {
    const ctl = c.adaptive ? new AdaptiveKlController({ initKlCoef: c.initKlCoef, target: c.target, horizon: c.horizon }) : new FixedKlController(c.initKlCoef);
    const got = c.updates.map(([kl, n]) => (ctl.update(kl, n), ctl.value));
    expectClose(t, `${c.name}: β after each update`, got, c.values, { atol: 0, rtol: 1e-14 });
  }
});

t.test('hand-computed: rewards put −β·KL on every token and the score on the last', async (t) => {
  // Row 0: two tokens then padding; row 1: one token. β = 0.1.
  // KL = logp − ref: row 0 [0.5, −1], row 1 [0.25]; row 0's score 3 lands on its token 1.
  const r = tokenRewards([3, -2], F([-1, -2, 9, -0.5, 9, 9]), F([-1.5, -1, 9, -0.75, 9, 9]), F([1, 1, 0, 1, 0, 0]), { rows: 2, cols: 3, klCoef: 0.1 });
  expectClose(t, 'rewards', r.rewards, [-0.05, 0.1 + 3, 0, -0.025 - 2, 0, 0], { atol: 1e-7 });
  expectClose(t, 'sequenceKl', r.sequenceKl, [-0.5, 0.25], { atol: 1e-7 });
});

t.test('hand-computed GAE: λ = 1 gives Monte Carlo returns, λ = 0 one-step TD, γ discounts', async (t) => {
  const grid = { rows: 1, cols: 3 };
  const mask = F([1, 1, 1]);
  const rewards = F([0, 0, 1]), values = F([0.5, 0.5, 0.5]);
  // δ = [0 + 0.5 − 0.5, 0 + 0.5 − 0.5, 1 + 0 − 0.5] = [0, 0, 0.5]
  const mc = gae(rewards, values, mask, { ...grid, gamma: 1, lambda: 1 });
  expectClose(t, 'λ=1 advantages', mc.advantages, [0.5, 0.5, 0.5], { atol: 1e-7 });
  expectClose(t, 'λ=1 returns = the return 1 from every step', mc.returns, [1, 1, 1], { atol: 1e-7 });
  const td = gae(rewards, values, mask, { ...grid, gamma: 1, lambda: 0 });
  expectClose(t, 'λ=0 advantages = δ', td.advantages, [0, 0, 0.5], { atol: 1e-7 });
  expectClose(t, 'λ=0 returns = r + V(next)', td.returns, [0.5, 0.5, 1], { atol: 1e-7 });
  // γ = λ = 0.5, r = [1, 2], V = 0: A1 = 2, A0 = 1 + 0.25·2 = 1.5. Padding after stays 0.
  const d = gae(F([1, 2, 0]), F([0, 0, 7]), F([1, 1, 0]), { ...grid, gamma: 0.5, lambda: 0.5 });
  expectClose(t, 'discounted advantages', d.advantages, [1.5, 2, 0], { atol: 1e-7 });
  expectClose(t, 'discounted returns', d.returns, [1.5, 2, 0], { atol: 1e-7 });
});

t.test('hand-computed whitening: [1, 2, 3] → [−1, 0, 1] (unbiased σ = 1); padding ignored', async (t) => {
  const grid = { rows: 1, cols: 4 };
  const w = maskedWhiten(F([1, 2, 3, 1000]), F([1, 1, 1, 0]), grid);
  const s = 1 / Math.sqrt(1 + 1e-8);
  expectClose(t, 'whitened', w, [-s, 0, s, 0], { atol: 1e-7 });
  expectClose(t, 'not shifted: mean added back', maskedWhiten(F([1, 2, 3, 1000]), F([1, 1, 1, 0]), { ...grid, shiftMean: false }), [2 - s, 2, 2 + s, 0], { atol: 1e-6 });
});

t.test('hand-computed KL controller: KL twice the target moves β up by 0.2·n/horizon', async (t) => {
  const c = new AdaptiveKlController({ initKlCoef: 0.2, target: 6, horizon: 10000 });
  c.update(12, 256);
  t.ok(Math.abs(c.value - 0.2 * (1 + (0.2 * 256) / 10000)) < 1e-15, `β = ${c.value}`);
  c.update(6, 256);
  t.ok(Math.abs(c.value - 0.2 * (1 + (0.2 * 256) / 10000)) < 1e-15, 'KL on target: β unchanged');
  c.update(3, 1000); // error −0.5 clipped to −0.2
  t.ok(Math.abs(c.value - 0.2 * 1.00512 * 0.98) < 1e-15, `β = ${c.value} after a low KL`);
  const f = new FixedKlController(0.3);
  f.update(100, 1000);
  t.equal(f.value, 0.3);
});

t.test('bad input: β < 0, γ or λ outside [0, 1], empty responses, too few tokens, wrong sizes', async (t) => {
  const g1 = { rows: 1, cols: 2 };
  const ones = F([1, 1]);
  t.throws(() => tokenRewards([1], F([0, 0]), F([0, 0]), ones, { ...g1, klCoef: -0.1 }), ConfigError, 'β < 0 in tokenRewards');
  t.throws(() => new AdaptiveKlController({ initKlCoef: -1, target: 6, horizon: 100 }), ConfigError, 'β < 0 in the adaptive controller');
  t.throws(() => new FixedKlController(-0.01), ConfigError, 'β < 0 in the fixed controller');
  t.throws(() => new AdaptiveKlController({ initKlCoef: 0.1, target: 0, horizon: 100 }), ConfigError, 'target 0');
  t.throws(() => new AdaptiveKlController({ initKlCoef: 0.1, target: 6, horizon: 0 }), ConfigError, 'horizon 0');
  t.throws(() => new FixedKlController(0.1).update(NaN, 1), ConfigError, 'NaN KL');
  for (const [gamma, lambda] of [[1.5, 0.9], [-0.1, 0.9], [1, 1.01], [1, -1], [NaN, 0.5]] as const) {
    t.throws(() => gae(ones, ones, ones, { ...g1, gamma, lambda }), ConfigError, `γ = ${gamma}, λ = ${lambda}`);
  }
  t.throws(() => gae(ones, ones, ones, { ...g1, gamma: 2, lambda: 0.5 }), { message: /gamma must be in \[0, 1\], got 2/ }, 'the message names the option and value');
  const err = t.throws(() => tokenRewards([1, 2], F([0, 0, 0, 0]), F([0, 0, 0, 0]), F([1, 1, 0, 0]), { rows: 2, cols: 2, klCoef: 0.1 }));
  t.ok(err instanceof DataError && /sample 1 has no response tokens/.test(err.message), `a rollout row with no response tokens: ${(err as Error).message}`);
  t.throws(() => maskedMean(F([1, 2]), F([0, 0]), g1), DataError, 'an all-padding batch has no mean');
  t.throws(() => maskedWhiten(F([1, 2]), F([1, 0]), g1), { message: /needs at least 2/ }, 'one token cannot be whitened');
  t.throws(() => tokenRewards([1], F([0, 0]), F([0]), ones, { ...g1, klCoef: 0.1 }), ShapeError, 'refLogp too short');
  t.throws(() => tokenRewards([1, 2], F([0, 0]), F([0, 0]), ones, { ...g1, klCoef: 0.1 }), DataError, 'two scores for one sample');
  t.throws(() => tokenRewards([NaN], F([0, 0]), F([0, 0]), ones, { ...g1, klCoef: 0.1 }), DataError, 'a NaN score');
  t.throws(() => gae(ones, ones, F([1, 0.5]), { ...g1, gamma: 1, lambda: 1 }), { message: /mask\[1\].*0\.5/ }, 'a mask that is not 0/1');
});
