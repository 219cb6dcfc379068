// Fused attention against PyTorch fixtures, a float64 reference written here,
// the mask rule read back through the kernel, finite differences, thread
// counts, and bad input.
import t, { type Test } from 'tap';
import {
  attentionForward,
  attentionBackward,
  type AttentionOptions,
} from '../../lib/kernels/attention.js';
import { setNumThreads, numThreads } from '../../lib/runtime.js';
import { loadFixtures, f32, i32, type FixtureCase } from '../helpers/fixtures.js';
import { expectClose, expectBitwise } from '../helpers/compare.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn } from '../helpers/random.js';

// ------------------------------------------------------------ references

/** The contract's mask rule, verbatim (the kernel uses a per-row prefix instead). */
function visible(o: AttentionOptions, b: number, i: number, j: number): boolean {
  const kv = o.kvLen ? o.kvLen[b]! : o.tk;
  if (!(j < kv)) return false;
  if (!o.causal) return true;
  return j <= i + (o.qOffset ?? 0) || j < (o.prefixLen ? o.prefixLen[b]! : 0);
}

interface Grads {
  out: Float64Array;
  lse: Float64Array;
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

/** float64 attention with an explicit softmax row, and its backward (D = Σ P·dP). */
function reference(
  q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array, o: AttentionOptions,
): Grads {
  const { batch, heads, tq, tk, headDim: d } = o;
  const scale = o.scale ?? 1 / Math.sqrt(d);
  const r: Grads = {
    out: new Float64Array(batch * heads * tq * d),
    lse: new Float64Array(batch * heads * tq),
    dq: new Float64Array(batch * heads * tq * d),
    dk: new Float64Array(batch * heads * tk * d),
    dv: new Float64Array(batch * heads * tk * d),
  };
  const p = new Float64Array(tk);
  const dp = new Float64Array(tk);
  for (let b = 0; b < batch; b++)
    for (let h = 0; h < heads; h++) {
      const qb = (b * heads + h) * tq * d;
      const kb = (b * heads + h) * tk * d;
      for (let i = 0; i < tq; i++) {
        const row = (b * heads + h) * tq + i;
        let max = -Infinity;
        for (let j = 0; j < tk; j++) {
          p[j] = -Infinity;
          if (!visible(o, b, i, j)) continue;
          let s = 0;
          for (let x = 0; x < d; x++) s += q[qb + i * d + x]! * k[kb + j * d + x]!;
          p[j] = s * scale;
          max = Math.max(max, p[j]!);
        }
        if (max === -Infinity) {
          r.lse[row] = -Infinity; // fully masked: out and gradients stay 0
          continue;
        }
        let sum = 0;
        for (let j = 0; j < tk; j++) sum += p[j] === -Infinity ? 0 : Math.exp(p[j]! - max);
        r.lse[row] = max + Math.log(sum);
        for (let j = 0; j < tk; j++) p[j] = p[j] === -Infinity ? 0 : Math.exp(p[j]! - max) / sum;
        let D = 0;
        for (let j = 0; j < tk; j++) {
          let g = 0;
          for (let x = 0; x < d; x++) {
            r.out[qb + i * d + x]! += p[j]! * v[kb + j * d + x]!;
            g += dout[qb + i * d + x]! * v[kb + j * d + x]!;
          }
          dp[j] = g;
          D += p[j]! * g;
        }
        for (let j = 0; j < tk; j++) {
          if (p[j] === 0) continue;
          const ds = p[j]! * (dp[j]! - D) * scale;
          for (let x = 0; x < d; x++) {
            r.dq[qb + i * d + x]! += ds * k[kb + j * d + x]!;
            r.dk[kb + j * d + x]! += ds * q[qb + i * d + x]!;
            r.dv[kb + j * d + x]! += p[j]! * dout[qb + i * d + x]!;
          }
        }
      }
    }
  return r;
}

interface Run {
  out: Float32Array;
  lse: Float32Array;
  dq: Float32Array;
  dk: Float32Array;
  dv: Float32Array;
}

function run(q: Float32Array, k: Float32Array, v: Float32Array, dout: Float32Array, o: AttentionOptions): Run {
  const out = new Float32Array(q.length).fill(NaN); // NaN: any element left unwritten shows up
  const lse = new Float32Array(o.batch * o.heads * o.tq).fill(NaN);
  attentionForward(q, k, v, out, lse, o);
  const dq = new Float32Array(q.length).fill(NaN);
  const dk = new Float32Array(k.length).fill(NaN);
  const dv = new Float32Array(v.length).fill(NaN);
  attentionBackward(dout, q, k, v, out, lse, dq, dk, dv, o);
  return { out, lse, dq, dk, dv };
}

function fixtureOptions(c: FixtureCase): AttentionOptions {
  const o = { ...(c.opts as unknown as AttentionOptions) };
  if (c.tensors.prefixLen) o.prefixLen = i32(c, 'prefixLen');
  if (c.tensors.kvLen) o.kvLen = i32(c, 'kvLen');
  return o;
}

// Tolerances. Inputs are N(0,1) float32 and exact in both computations, so
// the differences are float32 rounding in the kernel: dot products over
// headDim ≤ 128 terms, softmax sums over ≤ 200 keys, exp with ≤ 8.4e-8
// relative error, and one rescale per key block. Outputs are convex
// combinations of V rows (|out| ≲ 3), so each carries about
// sqrt(terms)·6e-8·|terms| ≈ 1e-6 error; 2e-5 abs + 1e-4 rel leaves 10× margin
// on the worst measured case (≈ 2e-6). lse is m + log l with |lse| ≲ 20:
// 2e-5 abs + 2e-6 rel. Gradients sum one more product over tq (dk, dv) or tk
// (dq) rows of O(1–10) magnitude (peaky softmaxes give larger dS), so they get
// 1e-4 abs + 1e-4 rel (worst measured ≈ 3e-6).
const TOL_OUT = { atol: 2e-5, rtol: 1e-4 };
const TOL_LSE = { atol: 2e-5, rtol: 2e-6 };
const TOL_GRAD = { atol: 1e-4, rtol: 1e-4 };

function compareAll(t: Test, name: string, got: Run, want: Record<keyof Run, ArrayLike<number>>): void {
  expectClose(t, `${name} out`, got.out, want.out, TOL_OUT);
  expectClose(t, `${name} lse`, got.lse, want.lse, TOL_LSE);
  expectClose(t, `${name} dq`, got.dq, want.dq, TOL_GRAD);
  expectClose(t, `${name} dk`, got.dk, want.dk, TOL_GRAD);
  expectClose(t, `${name} dv`, got.dv, want.dv, TOL_GRAD);
}

// ---------------------------------------------------------------- tests

t.test('attention matches PyTorch autograd (float64) on every mask shape', async (t) => {
  const cases = loadFixtures('attention');
  await forEachIsa(t, (t) => {
    for (const c of cases) {
      const o = fixtureOptions(c);
      const got = run(f32(c, 'q'), f32(c, 'k'), f32(c, 'v'), f32(c, 'dout'), o);
      compareAll(t, c.name, got, {
        out: f32(c, 'out'), lse: f32(c, 'lse'), dq: f32(c, 'dq'), dk: f32(c, 'dk'), dv: f32(c, 'dv'),
      });
    }
  });
});

t.test('the float64 reference reads the mask rule as written (GLM, decode, padding)', async (t) => {
  // GLM, 5 tokens, Part A = first 2, causal Part B: rows 0–1 see A, row i ≥ 2 sees A and j ≤ i.
  const glm: AttentionOptions = { batch: 1, heads: 1, tq: 5, tk: 5, headDim: 1, causal: true, prefixLen: new Int32Array([2]) };
  const glmWant = ['11000', '11000', '11100', '11110', '11111'];
  // KV-cached decode: 2 new queries after 3 cached keys, one padded key at the end.
  const dec: AttentionOptions = { batch: 1, heads: 1, tq: 2, tk: 6, headDim: 1, causal: true, qOffset: 3, kvLen: new Int32Array([5]) };
  const decWant = ['11110', '11111'].map((s) => s + '0');
  for (const [o, want] of [[glm, glmWant], [dec, decWant]] as const) {
    const rows = want.map((_, i) => Array.from({ length: o.tk }, (_, j) => (visible(o, 0, i, j) ? '1' : '0')).join(''));
    t.same(rows, want);
  }
});

t.test("the kernel's mask equals the rule, read back through one-hot values", async (t) => {
  // q = 0 makes every visible score equal, and v[j] = e_j (headDim = tk), so
  // out[i][j] = 1/|visible(i)| exactly where key j is visible, else 0.
  const rng = new Rng(5);
  const configs: AttentionOptions[] = [];
  for (const tk of [1, 7, 70, 130])
    for (const causal of [false, true])
      for (const qOffset of [0, 3, tk])
        configs.push({
          batch: 3, heads: 1, tq: Math.max(1, tk - qOffset + 2), tk, headDim: tk, causal, qOffset,
          prefixLen: new Int32Array([0, rng.int(0, tk + 1), tk]),
          kvLen: new Int32Array([tk, rng.int(0, tk + 1), rng.int(0, tk + 1)]),
        });
  await forEachIsa(t, (t) => {
    for (const o of configs) {
      const { batch, tq, tk } = o;
      const q = new Float32Array(batch * tq * tk);
      const v = new Float32Array(batch * tk * tk);
      for (let b = 0; b < batch; b++) for (let j = 0; j < tk; j++) v[(b * tk + j) * tk + j] = 1;
      const k = randn(rng, batch * tk * tk);
      const out = new Float32Array(q.length);
      const lse = new Float32Array(batch * tq);
      attentionForward(q, k, v, out, lse, o);
      const want = new Float64Array(q.length);
      const wantLse = new Float64Array(batch * tq);
      for (let b = 0; b < batch; b++)
        for (let i = 0; i < tq; i++) {
          let count = 0;
          for (let j = 0; j < tk; j++) if (visible(o, b, i, j)) count++;
          wantLse[b * tq + i] = count === 0 ? -Infinity : Math.log(count);
          for (let j = 0; j < tk; j++) if (visible(o, b, i, j)) want[(b * tq + i) * tk + j] = 1 / count;
        }
      const name = `tk ${tk} causal ${o.causal} qOffset ${o.qOffset} prefix [${o.prefixLen}] kvLen [${o.kvLen}]`;
      // Sums of ≤ 130 equal terms: relative error ≤ 130·6e-8.
      expectClose(t, `${name} out`, out, want, { atol: 1e-6, rtol: 1e-5 });
      expectClose(t, `${name} lse`, lse, wantLse, { atol: 1e-6, rtol: 1e-6 });
    }
  });
});

t.test('attention matches the float64 reference on multi-block shapes', async (t) => {
  const rng = new Rng(17);
  const shapes: AttentionOptions[] = [
    // 130 rows/keys: three 64-blocks, the last partial; every option at once.
    { batch: 2, heads: 2, tq: 130, tk: 130, headDim: 64, causal: true, prefixLen: new Int32Array([40, 0]), kvLen: new Int32Array([130, 97]) },
    // Cross-attention, tq ≠ tk, headDim 33 (AVX tails), custom scale.
    { batch: 1, heads: 2, tq: 100, tk: 200, headDim: 33, scale: 0.2 },
    // Chunked prefill into a KV cache: 7 queries after 120 cached keys.
    { batch: 1, heads: 3, tq: 7, tk: 127, headDim: 80, causal: true, qOffset: 120 },
  ];
  const inputs = shapes.map((o) => ({
    o,
    q: randn(rng, o.batch * o.heads * o.tq * o.headDim),
    k: randn(rng, o.batch * o.heads * o.tk * o.headDim),
    v: randn(rng, o.batch * o.heads * o.tk * o.headDim),
    dout: randn(rng, o.batch * o.heads * o.tq * o.headDim),
  }));
  const refs = inputs.map(({ o, q, k, v, dout }) => reference(q, k, v, dout, o));
  await forEachIsa(t, (t) => {
    inputs.forEach(({ o, q, k, v, dout }, n) => {
      compareAll(t, `B${o.batch} NH${o.heads} tq${o.tq} tk${o.tk} d${o.headDim}`, run(q, k, v, dout, o), refs[n]!);
    });
  });
});

t.test('fully masked rows give zeros and lse = -Infinity, never NaN', async (t) => {
  const rng = new Rng(9);
  await forEachIsa(t, (t) => {
    for (const tk of [0, 5, 70]) {
      const o: AttentionOptions = {
        batch: 2, heads: 2, tq: 4, tk, headDim: 7, causal: true,
        prefixLen: new Int32Array([Math.min(2, tk), 0]), kvLen: new Int32Array([0, 0]),
      };
      const q = randn(rng, 2 * 2 * 4 * 7);
      const kv = randn(rng, 2 * 2 * tk * 7);
      const r = run(q, kv, kv.slice(), randn(rng, q.length), o);
      t.ok(r.out.every((x) => x === 0), `tk ${tk}: out is all zeros`);
      t.ok(r.lse.every((x) => x === -Infinity), `tk ${tk}: lse is all -Infinity`);
      t.ok([...r.dq, ...r.dk, ...r.dv].every((x) => x === 0), `tk ${tk}: gradients are all zeros`);
    }
  });
});

t.test('attentionBackward agrees with central differences of attentionForward', async (t) => {
  // loss = Σ out·dout accumulated in float64. With h = 1e-2 the truncation
  // error is h²/6·|f'''| ≈ 2e-5·|f'''| and the float32 rounding of the forward
  // (≈ 1e-7 relative over 30 outputs of O(1)) adds ≈ 1e-6/(2h) = 5e-5
  // (measured worst: 3.5e-5), so 3e-4 abs + 1e-3 rel separates a correct
  // gradient from a wrong one (a missing scale or sign gives errors of O(0.1–1)).
  const rng = new Rng(23);
  const o: AttentionOptions = {
    batch: 1, heads: 2, tq: 5, tk: 6, headDim: 3, causal: true, qOffset: 1,
    prefixLen: new Int32Array([2]), kvLen: new Int32Array([5]),
  };
  const q = randn(rng, 2 * 5 * 3);
  const k = randn(rng, 2 * 6 * 3);
  const v = randn(rng, 2 * 6 * 3);
  const dout = randn(rng, q.length);
  const loss = (): number => {
    const out = new Float32Array(q.length);
    attentionForward(q, k, v, out, new Float32Array(10), o);
    let s = 0;
    for (let i = 0; i < out.length; i++) s += out[i]! * dout[i]!;
    return s;
  };
  await forEachIsa(t, (t) => {
    const r = run(q, k, v, dout, o);
    const h = 1e-2;
    for (const [name, x, g] of [['dq', q, r.dq], ['dk', k, r.dk], ['dv', v, r.dv]] as const) {
      const fd = new Float64Array(x.length);
      for (let i = 0; i < x.length; i++) {
        const x0 = x[i]!;
        x[i] = x0 + h;
        const up = loss();
        x[i] = x0 - h;
        const down = loss();
        x[i] = x0;
        fd[i] = (up - down) / (2 * h);
      }
      expectClose(t, `${name} vs finite differences`, g, fd, { atol: 3e-4, rtol: 1e-3 });
    }
  });
});

t.test('attention results do not depend on the thread count (bitwise)', async (t) => {
  const rng = new Rng(31);
  const o: AttentionOptions = {
    batch: 2, heads: 3, tq: 150, tk: 150, headDim: 40, causal: true,
    prefixLen: new Int32Array([30, 0]), kvLen: new Int32Array([150, 111]),
  };
  const q = randn(rng, 2 * 3 * 150 * 40);
  const k = randn(rng, q.length);
  const v = randn(rng, q.length);
  const dout = randn(rng, q.length);
  const initial = numThreads();
  try {
    await forEachIsa(t, (t) => {
      const results: Run[] = [];
      for (const threads of [1, 2, 3]) {
        setNumThreads(threads);
        results.push(run(q, k, v, dout, o));
      }
      for (const n of [1, 2]) {
        for (const key of ['out', 'lse', 'dq', 'dk', 'dv'] as const)
          expectBitwise(t, `${key}: ${n + 1} threads vs 1`, results[n]![key], results[0]![key]);
      }
    });
  } finally {
    setNumThreads(initial);
  }
});

t.test('tq = 0: no queries, so dk and dv are zero; batch = 0 is accepted', async (t) => {
  const empty = new Float32Array(0);
  attentionForward(empty, new Float32Array(8), new Float32Array(8), empty, empty, { batch: 1, heads: 1, tq: 0, tk: 2, headDim: 4 });
  const dk = new Float32Array(8).fill(NaN);
  const dv = new Float32Array(8).fill(NaN);
  attentionBackward(empty, empty, new Float32Array(8), new Float32Array(8), empty, empty, empty, dk, dv,
    { batch: 1, heads: 1, tq: 0, tk: 2, headDim: 4 });
  t.ok(dk.every((x) => x === 0) && dv.every((x) => x === 0), 'dk and dv overwritten with zeros');
  t.doesNotThrow(() => attentionForward(empty, empty, empty, empty, empty,
    { batch: 0, heads: 4, tq: 3, tk: 3, headDim: 4, kvLen: new Int32Array(0) }));
});

// ------------------------------------------------------------- bad input

t.test('attentionForward rejects bad arguments with a message naming them', async (t) => {
  const base: AttentionOptions = { batch: 2, heads: 1, tq: 3, tk: 4, headDim: 2 };
  const q = new Float32Array(12);
  const k = new Float32Array(16);
  const v = new Float32Array(16);
  const out = new Float32Array(12).fill(7);
  const lse = new Float32Array(6);
  const call = (args: Partial<Record<'q' | 'k' | 'v' | 'out' | 'lse', unknown>>, opts: unknown = base) => () =>
    (attentionForward as (...a: unknown[]) => void)(
      'q' in args ? args.q : q, 'k' in args ? args.k : k, 'v' in args ? args.v : v,
      'out' in args ? args.out : out, 'lse' in args ? args.lse : lse, opts);
  const cases: [string, () => void, ErrorConstructor, RegExp][] = [
    ['q Float64Array', call({ q: new Float64Array(12) }), TypeError, /attentionForward: expected a Float32Array for q but received Float64Array/],
    ['v plain array', call({ v: [1, 2] }), TypeError, /Float32Array for v but received Array/],
    ['lse missing', call({ lse: null }), TypeError, /for lse but received null/],
    ['q length', call({ q: new Float32Array(10) }), RangeError, /attentionForward: q has 10 elements, expected batch\*heads\*tq\*headDim = 12/],
    ['k length', call({ k: new Float32Array(15) }), RangeError, /k has 15 elements, expected batch\*heads\*tk\*headDim = 16/],
    ['out length', call({ out: new Float32Array(13) }), RangeError, /out has 13 elements/],
    ['lse length', call({ lse: new Float32Array(3) }), RangeError, /lse has 3 elements, expected batch\*heads\*tq = 6/],
    ['headDim 0', call({}, { ...base, headDim: 0 }), RangeError, /positive integer for headDim but received number 0/],
    ['tq 1.5', call({}, { ...base, tq: 1.5 }), RangeError, /integer for tq but received number 1.5/],
    ['heads -1', call({}, { ...base, heads: -1 }), RangeError, /integer for heads but received number -1/],
    ['batch string', call({}, { ...base, batch: '2' }), TypeError, /integer for batch but received string "2"/],
    ['tk missing', call({}, { batch: 2, heads: 1, tq: 3, headDim: 2 }), TypeError, /integer for tk but received undefined/],
    ['scale NaN', call({}, { ...base, scale: NaN }), RangeError, /finite number for scale but received NaN/],
    ['scale Infinity', call({}, { ...base, scale: Infinity }), RangeError, /finite number for scale/],
    ['causal string', call({}, { ...base, causal: 'yes' }), TypeError, /boolean for causal/],
    ['qOffset -1', call({}, { ...base, qOffset: -1 }), RangeError, /non-negative integer for qOffset but received number -1/],
    ['qOffset NaN', call({}, { ...base, qOffset: NaN }), RangeError, /for qOffset but received NaN/],
    ['prefixLen Float32Array', call({}, { ...base, prefixLen: new Float32Array(2) }), TypeError, /Int32Array for prefixLen but received Float32Array/],
    ['prefixLen length', call({}, { ...base, prefixLen: new Int32Array(3) }), RangeError, /prefixLen has 3 elements, expected batch = 2/],
    ['prefixLen value', call({}, { ...base, prefixLen: new Int32Array([0, 5]) }), RangeError, /attentionForward: prefixLen\[1\] = 5 is outside \[0, tk = 4\]/],
    ['kvLen negative', call({}, { ...base, kvLen: new Int32Array([-1, 0]) }), RangeError, /kvLen\[0\] = -1 is outside \[0, tk = 4\]/],
    ['kvLen array', call({}, { ...base, kvLen: [4, 4] }), TypeError, /Int32Array for kvLen but received Array/],
    ['options not an object', call({}, 3), TypeError, /options object for argument 6 but received number 3/],
  ];
  const shared = new Float32Array(24);
  cases.push(
    ['out overlaps q', call({ q: shared.subarray(0, 12), out: shared.subarray(6, 18) }), RangeError, /attentionForward: out overlaps q/],
    ['lse overlaps out', call({ out: shared.subarray(0, 12), lse: shared.subarray(10, 16) }), RangeError, /lse overlaps out|out overlaps lse/],
    ['lse is v', call({ v: shared.subarray(0, 16), lse: shared.subarray(2, 8) }), RangeError, /lse overlaps v/],
  );
  for (const [name, fn, type, message] of cases) t.throws(fn, { name: type.name, message }, name);
  t.ok(out.every((x) => x === 7), 'nothing was written by a rejected call');
  t.throws(() => (attentionForward as (...a: unknown[]) => void)(q, k, v, out), { name: 'TypeError', message: /attentionForward: expected a Float32Array for lse but received undefined/ }, 'too few arguments');
});

t.test('attentionBackward rejects bad arguments with a message naming them', async (t) => {
  const base: AttentionOptions = { batch: 1, heads: 2, tq: 3, tk: 4, headDim: 2 };
  const names = ['dout', 'q', 'k', 'v', 'out', 'lse', 'dq', 'dk', 'dv'] as const;
  const sizes = { dout: 12, q: 12, k: 16, v: 16, out: 12, lse: 6, dq: 12, dk: 16, dv: 16 };
  const arrays = Object.fromEntries(names.map((n) => [n, new Float32Array(sizes[n])])) as Record<(typeof names)[number], Float32Array>;
  const call = (over: Partial<Record<(typeof names)[number], unknown>>, opts: unknown = base) => () =>
    (attentionBackward as (...a: unknown[]) => void)(...names.map((n) => (n in over ? over[n] : arrays[n])), opts);
  const shared = new Float32Array(40);
  const cases: [string, () => void, ErrorConstructor, RegExp][] = [
    ['dout Int32Array', call({ dout: new Int32Array(12) }), TypeError, /attentionBackward: expected a Float32Array for dout but received Int32Array/],
    ['dv null', call({ dv: null }), TypeError, /for dv but received null/],
    ['lse length', call({ lse: new Float32Array(5) }), RangeError, /attentionBackward: lse has 5 elements, expected batch\*heads\*tq = 6/],
    ['dk length', call({ dk: new Float32Array(12) }), RangeError, /dk has 12 elements, expected batch\*heads\*tk\*headDim = 16/],
    ['out length', call({ out: new Float32Array(16) }), RangeError, /out has 16 elements, expected batch\*heads\*tq\*headDim = 12/],
    ['headDim 2.5', call({}, { ...base, headDim: 2.5 }), RangeError, /headDim but received number 2.5/],
    ['scale NaN', call({}, { ...base, scale: NaN }), RangeError, /attentionBackward: expected a finite number for scale/],
    ['kvLen value', call({}, { ...base, kvLen: new Int32Array([9]) }), RangeError, /attentionBackward: kvLen\[0\] = 9 is outside \[0, tk = 4\]/],
    ['prefixLen length', call({}, { ...base, prefixLen: new Int32Array(2) }), RangeError, /prefixLen has 2 elements, expected batch = 1/],
    ['dq overlaps dk', call({ dq: shared.subarray(0, 12), dk: shared.subarray(8, 24) }), RangeError, /dq overlaps dk/],
    ['dv overlaps out', call({ out: shared.subarray(0, 12), dv: shared.subarray(11, 27) }), RangeError, /dv overlaps out/],
    ['dq is dout', call({ dout: shared.subarray(0, 12), dq: shared.subarray(0, 12) }), RangeError, /dq overlaps dout/],
    ['dk overlaps lse', call({ lse: shared.subarray(20, 26), dk: shared.subarray(10, 26) }), RangeError, /dk overlaps lse/],
  ];
  for (const [name, fn, type, message] of cases) t.throws(fn, { name: type.name, message }, name);
});
