// GLM blank infilling: the seed article's x1..x6 worked example (Part A,
// Part B, both position rows, and the attention mask as the real kernel
// applies it), span-sampling statistics, exact reconstruction, bad input,
// and the document-level [gMASK] objective's span lengths.
import t from 'tap';
import {
  blankInfillingExample, buildGlmExample, collateGlm, documentExample, gMaskExample, poissonSpanLength, sampleSpans,
  IGNORE_INDEX, type GlmExample, type GlmSpecialTokens,
} from '../../lib/objectives/blank_infilling.js';
import { attention } from '../../lib/tensor/ops/attention.js';
import { Random } from '../../lib/tensor/random.js';
import { Tensor } from '../../lib/tensor/tensor.js';

// Text tokens x1..x6 are ids 1..6; the specials sit above them.
const sp: GlmSpecialTokens = { mask: 100, gmask: 101, start: 102, end: 103 };
const name = (id: number): string => (id === sp.mask ? 'M' : id === sp.gmask ? 'gM' : id === sp.start ? 'S' : id === sp.end ? 'E' : id === IGNORE_INDEX ? '-' : `x${id}`);

t.test('seed example: x1..x6, spans [x3] and [x5, x6], Part B order (span 2, span 1)', async (t) => {
  // Spans are 0-based starts: x3 is index 2, x5 x6 start at index 4. Order [1, 0] puts [x5, x6] first, as the paper's figure.
  const ex = buildGlmExample([1, 2, 3, 4, 5, 6], [{ start: 2, length: 1 }, { start: 4, length: 2 }], [1, 0], sp);
  const A = [...ex.input.subarray(0, ex.prefixLen)].map(name);
  const Bin = [...ex.input.subarray(ex.prefixLen)].map(name);
  const Btgt = [...ex.target.subarray(ex.prefixLen)].map(name);
  t.comment(`Part A          ${A.join(' ')}`);
  t.comment(`Part B input    ${Bin.join(' ')}`);
  t.comment(`Part B target   ${Btgt.join(' ')}`);
  t.comment(`position (1-based, as the paper) ${[...ex.positions].map((p) => p + 1).join(' ')}`);
  t.comment(`block position  ${[...ex.blockPositions].join(' ')}`);
  t.same(A, ['x1', 'x2', 'M', 'x4', 'M']);
  t.same(Bin, ['S', 'x5', 'x6', 'S', 'x3']);
  t.same(Btgt, ['x5', 'x6', 'E', 'x3', 'E']);
  t.same([...ex.target.subarray(0, ex.prefixLen)], [IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX, IGNORE_INDEX], 'no loss on Part A');
  // We store 0-based positions; the paper's figure counts from 1.
  t.same([...ex.positions].map((p) => p + 1), [1, 2, 3, 4, 5, 5, 5, 5, 3, 3], 'positions (paper, 1-based)');
  t.same([...ex.positions], [0, 1, 2, 3, 4, 4, 4, 4, 2, 2], 'positions (stored, 0-based)');
  t.same([...ex.blockPositions], [0, 0, 0, 0, 0, 1, 2, 3, 1, 2]);
  t.equal(ex.prefixLen, 5);

  // The mask as the fused attention kernel applies it: q = 0 gives equal scores,
  // so row i averages the one-hot values e_j of exactly the keys it may see.
  const batch = collateGlm([ex], 0);
  const T = ex.input.length;
  const v = new Float32Array(T * T);
  for (let j = 0; j < T; j++) v[j * T + j] = 1;
  const q = new Tensor(new Float32Array(T * T), [1, 1, T, T]);
  const out = attention(q, new Tensor(new Float32Array(T * T), [1, 1, T, T]), new Tensor(v, [1, 1, T, T]), {
    causal: true, prefixLen: batch.prefixLen, kvLen: batch.kvLen,
  }).f32();
  const seen = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (out[i * T + j]! > 0 ? 1 : 0)));
  const labels = [...ex.input].map(name);
  t.comment('attention mask (row = query, column = key, 1 = attended):');
  t.comment(`      ${labels.map((l) => l.padEnd(3)).join('')}`);
  seen.forEach((row, i) => t.comment(`  ${labels[i]!.padEnd(4)}${row.map((s) => String(s).padEnd(3)).join('')}`));
  // The paper's Figure 2(d): Part A rows see all of Part A; Part B rows see Part A and Part B up to themselves.
  const want = Array.from({ length: T }, (_, i) => Array.from({ length: T }, (_, j) => (j < 5 || (i >= 5 && j <= i) ? 1 : 0)));
  t.same(seen, want, 'mask equals the paper figure');
  // Each row's weights are uniform over what it sees (sum to 1): nothing else leaks in.
  seen.forEach((row, i) => {
    const n = row.reduce((a: number, s) => a + s, 0);
    t.ok(row.every((s, j) => Math.abs(out[i * T + j]! - s / n) < 1e-6), `row ${i} averages exactly its ${n} visible keys`);
  });
});

t.test('[gMASK]: one span at the end of Part A; split = n gives the generation prompt', async (t) => {
  const ex = gMaskExample([1, 2, 3, 4, 5], 3, sp);
  t.same([...ex.input].map(name), ['x1', 'x2', 'x3', 'gM', 'S', 'x4', 'x5']);
  t.same([...ex.target].map(name), ['-', '-', '-', '-', 'x4', 'x5', 'E']);
  t.same([...ex.positions], [0, 1, 2, 3, 3, 3, 3]);
  t.same([...ex.blockPositions], [0, 0, 0, 0, 1, 2, 3]);
  t.equal(ex.prefixLen, 4);
  const prompt = gMaskExample([1, 2], 2, sp);
  t.same([...prompt.input].map(name), ['x1', 'x2', 'gM', 'S']);
  t.same([...prompt.target].map(name), ['-', '-', '-', 'E']);
  t.same([...prompt.positions], [0, 1, 2, 2]);
});

/** Rebuilds the original text: each [MASK] in Part A becomes its span's targets (without [E]). */
function reconstruct(ex: GlmExample): number[] {
  const fill = new Map<number, number[]>();
  for (let i = ex.prefixLen; i < ex.input.length; i++) {
    if (ex.target[i] === sp.end) continue;
    const p = ex.positions[i]!;
    fill.set(p, [...(fill.get(p) ?? []), ex.target[i]!]);
  }
  const out: number[] = [];
  for (let i = 0; i < ex.prefixLen; i++) out.push(...(ex.input[i] === sp.mask ? fill.get(i)! : [ex.input[i]!]));
  return out;
}

t.test('sampled examples: ~15% masked, spans disjoint with gaps, exact reconstruction, no leak (500 seeds)', async (t) => {
  let masked = 0, total = 0, reordered = 0, multi = 0, bad = 0;
  const lengths: number[] = [];
  for (let seed = 0; seed < 500; seed++) {
    const rng = new Random(seed);
    const n = 20 + (seed % 181); // 20..200 tokens
    const text = Array.from({ length: n }, () => rng.int(50));
    const spanRng = new Random(seed + 10_000);
    const spans = sampleSpans(n, new Random(seed + 10_000));
    const ex = blankInfillingExample(text, spanRng, sp);
    // Spans: sorted, ≥ 1 token gap, inside the text, exactly round(15%·n) tokens.
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!, prev = spans[i - 1];
      if (s.length < 1 || s.start < 0 || s.start + s.length > n || (prev && prev.start + prev.length + 1 > s.start)) bad++;
      lengths.push(s.length);
    }
    const m = spans.reduce((a, s) => a + s.length, 0);
    if (m !== Math.max(1, Math.round(0.15 * n))) bad++;
    masked += m;
    total += n;
    // Part A holds n − m text tokens and one [MASK] per span; Part B every masked token once.
    const partA = [...ex.input.subarray(0, ex.prefixLen)];
    if (partA.filter((x) => x === sp.mask).length !== spans.length || partA.length !== n - m + spans.length) bad++;
    if (ex.input.length !== ex.prefixLen + m + spans.length) bad++;
    if (JSON.stringify(reconstruct(ex)) !== JSON.stringify(text)) bad++;
    // Teacher forcing: Part B input at i is the target at i−1 within a span; never its own target.
    for (let i = ex.prefixLen; i < ex.input.length; i++)
      if (ex.blockPositions[i]! > 1 && ex.input[i] !== ex.target[i - 1]) bad++;
    if (spans.length > 1) {
      multi++;
      const firstB = ex.positions[ex.prefixLen]!;
      const firstMask = partA.indexOf(sp.mask);
      if (firstB !== firstMask) reordered++;
    }
  }
  t.equal(bad, 0, 'no violated invariant');
  const frac = masked / total;
  t.comment(`masked fraction ${frac.toFixed(4)} over ${total} tokens; ${lengths.length} spans, mean length ${(lengths.reduce((a, b) => a + b, 0) / lengths.length).toFixed(3)} (last span per example cut to the budget)`);
  // Per example the budget is round(0.15·n), so the pooled fraction is 15% within rounding (≤ 0.5/20 per row).
  t.ok(Math.abs(frac - 0.15) < 0.005, `masked fraction ${frac.toFixed(4)} ≈ 0.15`);
  // Part B order is shuffled: with k ≥ 2 spans the first B span is not the first blank with prob 1 − 1/k ≥ 1/2.
  t.ok(reordered > multi * 0.4, `Part B reordered in ${reordered}/${multi} multi-span examples`);
});

t.test('span lengths follow zero-truncated Poisson(3)', async (t) => {
  const rng = new Random(7);
  const N = 40_000;
  const counts = new Map<number, number>();
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const k = poissonSpanLength(rng, 3);
    sum += k;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  // Zero-truncated Poisson: P(k) = e^−λ λ^k / k! / (1 − e^−λ), mean μ = λ/(1 − e^−λ) = 3.157,
  // variance μ(1 + λ − μ) = 2.661; 4 standard errors of the mean over 40k draws = 0.033.
  const lambda = 3, z = 1 - Math.exp(-lambda), mu = lambda / z, variance = mu * (1 + lambda - mu);
  const mean = sum / N;
  t.comment(`mean span length ${mean.toFixed(4)} (expected ${mu.toFixed(4)}), P(0) = ${(counts.get(0) ?? 0) / N}`);
  t.ok(Math.abs(mean - mu) < 4 * Math.sqrt(variance / N), `mean ${mean.toFixed(4)} within 4 SE of ${mu.toFixed(4)}`);
  t.notOk(counts.has(0), 'no empty spans');
  let fact = 1;
  for (let k = 1; k <= 8; k++) {
    fact *= k;
    const p = (Math.exp(-lambda) * lambda ** k) / fact / z;
    const got = (counts.get(k) ?? 0) / N;
    t.ok(Math.abs(got - p) < 4 * Math.sqrt((p * (1 - p)) / N), `P(${k}) = ${got.toFixed(4)} ≈ ${p.toFixed(4)}`);
  }
});

t.test('same seed, same example; the rng state advances', async (t) => {
  const text = Array.from({ length: 60 }, (_, i) => i % 40);
  const a = blankInfillingExample(text, new Random(3), sp);
  const b = blankInfillingExample(text, new Random(3), sp);
  t.same([...a.input], [...b.input]);
  const rng = new Random(3);
  blankInfillingExample(text, rng, sp);
  t.notSame([...blankInfillingExample(text, rng, sp).input], [...a.input]);
});

t.test('collation: right padding, −100 targets, per-row prefixLen and kvLen', async (t) => {
  const a = buildGlmExample([1, 2, 3, 4, 5, 6], [{ start: 2, length: 1 }, { start: 4, length: 2 }], [1, 0], sp);
  const b = gMaskExample([1, 2], 1, sp);
  const batch = collateGlm([a, b], 0);
  t.same(batch.input.shape, [2, 10]);
  t.same([...batch.prefixLen], [5, 2]);
  t.same([...batch.kvLen], [10, 4]);
  t.same([...batch.input.i32().subarray(10)], [1, sp.gmask, sp.start, 2, 0, 0, 0, 0, 0, 0]);
  t.same([...batch.target.i32().subarray(10)], [-100, -100, 2, sp.end, -100, -100, -100, -100, -100, -100]);
  t.same([...batch.positions.i32().subarray(10)], [0, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
  t.same([...batch.blockPositions.i32().subarray(10)], [0, 0, 1, 2, 0, 0, 0, 0, 0, 0]);
});

t.test('bad input: clear errors; a span over the whole text is allowed', async (t) => {
  const rng = new Random(0);
  t.throws(() => blankInfillingExample([], rng, sp), { code: 'DATA_EMPTY' }, 'empty text');
  t.throws(() => sampleSpans(0, rng), { code: 'DATA_EMPTY' });
  t.throws(() => buildGlmExample([1, 2, 3], [{ start: 1, length: 0 }], [0], sp), { code: 'DATA_INVALID', message: /empty/ }, 'empty span');
  t.throws(() => buildGlmExample([1, 2, 3], [], [], sp), { code: 'DATA_INVALID', message: /no spans/ });
  t.throws(() => buildGlmExample([1, 2, 3], [{ start: 0, length: 2 }, { start: 1, length: 1 }], [0, 1], sp), { message: /overlap/ });
  t.throws(() => buildGlmExample([1, 2, 3], [{ start: 2, length: 2 }], [0], sp), { message: /outside/ });
  t.throws(() => buildGlmExample([1, 2, 3], [{ start: 0, length: 1 }], [1], sp), { message: /permutation/ });
  t.throws(() => buildGlmExample([1, sp.mask, 3], [{ start: 0, length: 1 }], [0], sp), { message: /special id/ }, 'specials in the text');
  t.throws(() => buildGlmExample([1, 2], [{ start: 0, length: 1 }], [0], { ...sp, end: sp.start }), { message: /distinct/ });
  t.throws(() => sampleSpans(10, rng, { maskRatio: 0.9, poissonLambda: 3 }), { code: 'DATA_INVALID', message: /maskRatio/ });
  t.throws(() => sampleSpans(10, rng, { maskRatio: 0.15, poissonLambda: 0 }), { message: /poissonLambda/ });
  t.throws(() => gMaskExample([1, 2], 3, sp), { message: /split/ });
  t.throws(() => collateGlm([], 0), { code: 'DATA_EMPTY' });
  // Masking everything is well defined: Part A is a lone [MASK], Part B the whole text.
  const all = buildGlmExample([1, 2, 3], [{ start: 0, length: 3 }], [0], sp);
  t.same([...all.input].map(name), ['M', 'S', 'x1', 'x2', 'x3']);
  t.same(reconstruct(all), [1, 2, 3]);
  // One-token text: the 1-token minimum budget blanks it.
  t.same(sampleSpans(1, new Random(1)), [{ start: 0, length: 1 }]);
});

t.test('documentExample: one [gMASK] span over the last 50–100% of the text (GLM_Doc)', async (t) => {
  const specials = { mask: 90, gmask: 91, start: 92, end: 93 };
  const tokens = Int32Array.from({ length: 11 }, (_, i) => 10 + i);
  const rng = new Random(4);
  const lengths = new Set<number>();
  let wrong = 0;
  for (let k = 0; k < 300; k++) {
    const ex = documentExample(tokens, rng, specials);
    const A = ex.prefixLen;
    lengths.add(11 - (A - 1));
    const partA = [...tokens.subarray(0, A - 1), 91]; // the text before the span, then [gMASK]
    const input = [92, ...tokens.subarray(A - 1)]; // Part B reads [S] and the span
    const target = [...tokens.subarray(A - 1), 93]; // and predicts the span, then [E]
    if ([...ex.input.subarray(0, A)].join() !== partA.join() || [...ex.input.subarray(A)].join() !== input.join() || [...ex.target.subarray(A)].join() !== target.join()) wrong++;
  }
  t.equal(wrong, 0, 'Part A = prefix [gMASK]; Part B = [S] span → span [E], in all 300 draws');
  t.same([...lengths].sort((a, b) => a - b), [6, 7, 8, 9, 10, 11], 'every length from ⌈11/2⌉ to 11 occurs, nothing else');
});
