// T5 span corruption: an exact worked example from a fixed mask, the mask's
// statistics over many seeds, exact reconstruction, determinism, bad input.
import t from 'tap';
import { corruptSpans, randomSpansNoiseMask, reconstructSpans, spanCorrupt, T5_SPAN_CORRUPTION } from '../../lib/objectives/span_corruption.js';
import { Random } from '../../lib/tensor/random.js';

const SENTINELS = Array.from({ length: 100 }, (_, k) => 999 - k); // <extra_id_k> = 999 − k, T5's top-of-vocabulary layout
const EOS = 1;
const config = { ...T5_SPAN_CORRUPTION, sentinelIds: SENTINELS, eosId: EOS };

/** Maximal runs of true in a mask. */
function runs(mask: readonly boolean[]): number[] {
  const out: number[] = [];
  mask.forEach((m, i) => {
    if (m && (i === 0 || !mask[i - 1])) out.push(1);
    else if (m) out[out.length - 1]! += 1;
  });
  return out;
}

t.test('a fixed mask gives the exact T5 input and target', async (t) => {
  // x1..x8 = 11..18; spans [x3] and [x6 x7] (the example in the module header).
  const tokens = [11, 12, 13, 14, 15, 16, 17, 18];
  const mask = [false, false, true, false, false, true, true, false];
  const { input, target } = corruptSpans(tokens, mask, SENTINELS, EOS);
  t.same(Array.from(input), [11, 12, 999, 14, 15, 998, 18, EOS], 'input: spans → <extra_id_0>, <extra_id_1>, then eos');
  t.same(Array.from(target), [999, 13, 998, 16, 17, EOS], 'target: each sentinel then its span, then eos');
  t.same(Array.from(reconstructSpans(input, target, SENTINELS, EOS)), tokens, 'reconstructs');
  const noEos = corruptSpans(tokens, mask, SENTINELS, null);
  t.same(Array.from(noEos.target), [999, 13, 998, 16, 17], 'eosId null: nothing appended');
});

t.test('noise fraction and mean span length follow T5 (15%, 3) over many seeds', async (t) => {
  const rng = new Random(7);
  let noise = 0, total = 0, spanTokens = 0, spans = 0, worstFrac = 0, worstSpan = 0, startsWithNoise = 0;
  const distinct = new Set<string>();
  for (let s = 0; s < 2000; s++) {
    const L = 100 + rng.int(101); // 100..200 tokens
    const mask = randomSpansNoiseMask(L, rng);
    t.equal(mask.length, L);
    const n = mask.filter(Boolean).length, r = runs(mask);
    noise += n; total += L; spanTokens += n; spans += r.length;
    worstFrac = Math.max(worstFrac, Math.abs(n / L - 0.15));
    worstSpan = Math.max(worstSpan, Math.abs(n / r.length - 3));
    if (mask[0]) startsWithNoise++;
    if (L === 150) distinct.add(mask.map(Number).join(''));
  }
  // Per sequence the noise count is round(0.15·L): off by at most 0.5/L ≤ 0.005.
  t.ok(worstFrac <= 0.005 + 1e-12, `every sequence's noise fraction is within 0.5/L of 15% (worst ${worstFrac.toFixed(4)})`);
  t.ok(Math.abs(noise / total - 0.15) < 0.002, `overall noise fraction ${(noise / total).toFixed(4)} ≈ 0.15`);
  // Spans = round(noise/3) with noise ≥ 15, so a sequence's mean span is 3 ± 1.5/spans ≤ 3 ± 0.3; rounding up and down averages out.
  t.ok(worstSpan <= 0.3 + 1e-12, `every sequence's mean span is within 0.3 of 3 (worst ${worstSpan.toFixed(3)})`);
  t.ok(Math.abs(spanTokens / spans - 3) < 0.05, `overall mean span ${(spanTokens / spans).toFixed(3)} ≈ 3 (measured from the mask's runs)`);
  t.equal(startsWithNoise, 0, 'T5 interleaves non-noise first: no sequence starts with noise');
  t.ok(distinct.size > 5, `masks vary with the rng (${distinct.size} distinct at L = 150)`);
});

t.test('input + target reconstruct the original exactly; no span token leaks into the input', async (t) => {
  const rng = new Random(11);
  for (let s = 0; s < 300; s++) {
    const L = 2 + rng.int(120);
    const tokens = Int32Array.from({ length: L }, () => 2 + rng.int(500));
    const { input, target } = spanCorrupt(tokens, config, rng);
    t.same(Array.from(reconstructSpans(input, target, SENTINELS, EOS)), Array.from(tokens));
    const nSentinels = Array.from(input).filter((id) => id >= 900).length;
    // Every noise token is gone from the input: kept tokens + one sentinel per span + eos.
    t.equal(input.length + target.length, L + 2 * nSentinels + 2, 'each token is in exactly one of input and target');
  }
});

t.test('deterministic per seed', async (t) => {
  const tokens = Int32Array.from({ length: 60 }, (_, i) => 2 + i);
  const a = spanCorrupt(tokens, config, new Random(3)), b = spanCorrupt(tokens, config, new Random(3)), c = spanCorrupt(tokens, config, new Random(4));
  t.same(Array.from(a.input), Array.from(b.input));
  t.same(Array.from(a.target), Array.from(b.target));
  t.not(Array.from(a.input).join(), Array.from(c.input).join(), 'another seed, another mask');
});

t.test('short sequences and bad input', async (t) => {
  // Two tokens: T5 clamps noise to [1, L−1], so one is kept and one dropped.
  const two = randomSpansNoiseMask(2, new Random(1));
  t.same(two, [false, true]);
  t.throws(() => randomSpansNoiseMask(1, new Random(1)), { code: 'DATA_TOO_SHORT', message: /at least 2/ });
  t.throws(() => randomSpansNoiseMask(0, new Random(1)), { code: 'DATA_TOO_SHORT' });
  t.throws(() => randomSpansNoiseMask(10, new Random(1), 1), { code: 'CONFIG_INVALID', message: /noiseDensity/ });
  t.throws(() => randomSpansNoiseMask(10, new Random(1), 0.15, 0), { code: 'CONFIG_INVALID', message: /meanSpanLength/ });
  t.throws(() => spanCorrupt([5, 999, 6], config, new Random(1)), { code: 'DATA_INVALID', message: /sentinel or eos/ });
  t.throws(() => spanCorrupt(Int32Array.from({ length: 100 }, (_, i) => 2 + i), { ...config, sentinelIds: [999] }, new Random(1)), { code: 'CONFIG_INVALID', message: /<extra_id_1>/ });
  t.throws(() => spanCorrupt([5, 6, 7], { ...config, sentinelIds: [999, 999] }, new Random(1)), { code: 'CONFIG_INVALID', message: /distinct/ });
  t.throws(() => corruptSpans([1, 2], [true], SENTINELS), { code: 'DATA_INVALID', message: /mask of 1 for 2/ });
  t.throws(() => reconstructSpans([5, 999], [6], SENTINELS), { code: 'DATA_INVALID', message: /start with a sentinel/ });
  t.throws(() => reconstructSpans([5, 998], [999, 6], SENTINELS), { code: 'DATA_INVALID', message: /<extra_id_1>/ });
});
