// gemmBf16 against a float64 reference on bf16-rounded inputs (the rounding
// written here, independently of the kernel's), against the exact fp32
// product, and across thread counts. Shapes straddle the fast path's edges
// (14×32 micro-tiles and 224-row C tiles of the vdpbf16ps path, 32×32
// blocks, 16-pair steps and 768-row C tiles of the AMX path, k blocks of 512,
// odd k) and each body runs on every path this machine has: under each ISA,
// and under avx512 once more with AMX turned off where the CPU has AMX. So
// avx512 is the AMX path on a CPU with AMX-BF16, the vdpbf16ps path on one
// with AVX512-BF16; the other ISAs (and avx512 without either) the portable
// emulation.
import { existsSync, readFileSync } from 'node:fs';
import t from 'tap';
import type { Test } from 'tap';
import { gemmBf16 } from '../../lib/kernels/gemm.js';
import { backendInfo, numThreads, setCpuAmx, setCpuIsa, setNumThreads } from '../../lib/runtime.js';
import { expectBitwise } from '../helpers/compare.js';
import { f32, loadFixtures } from '../helpers/fixtures.js';
import { forEachIsa } from '../helpers/isa.js';
import { Rng, randn } from '../helpers/random.js';

/**
 * forEachIsa, and on a CPU with AMX the avx512 body a second time with AMX
 * off (the vdpbf16ps path); AMX is back on afterwards.
 */
async function forEachPath(t: Test, body: (t: Test, isa: string) => void | Promise<void>): Promise<void> {
  const amx = backendInfo().cpu.amx;
  await forEachIsa(t, async (t, isa) => {
    await body(t, isa);
    if (isa === 'avx512' && amx) {
      setCpuAmx(false);
      try {
        await t.test('AMX off (vdpbf16ps)', async (tt) => body(tt, 'avx512, AMX off'));
      } finally {
        setCpuAmx(true);
      }
    }
  });
}

type Opts = { m: number; n: number; k: number; transA?: boolean; transB?: boolean; alpha?: number; beta?: number };

const bits = new Uint32Array(1);
const asFloat = new Float32Array(bits.buffer);

/**
 * x rounded to bfloat16 (kept as a float32): the top 16 bits, plus one when
 * the dropped 16 bits are above half, or exactly half with an odd kept part.
 * fp32 denormals become a signed zero (vcvtne2ps2bf16 flushes them), NaN
 * stays NaN.
 */
function bf16(x: number): number {
  asFloat[0] = x;
  const u = bits[0]!;
  const sign = u >>> 31, exponent = (u >>> 23) & 0xff;
  if (Number.isNaN(asFloat[0])) return NaN;
  if (exponent === 0) return sign ? -0 : 0;
  let kept = u >>> 16;
  const dropped = u & 0xffff;
  if (dropped > 0x8000 || (dropped === 0x8000 && (kept & 1) === 1)) kept += 1;
  bits[0] = (kept << 16) >>> 0;
  return asFloat[0];
}

const opA = (a: Float32Array, o: Opts, i: number, p: number) => (o.transA ? a[p * o.m + i]! : a[i * o.k + p]!);
const opB = (b: Float32Array, o: Opts, p: number, j: number) => (o.transB ? b[j * o.k + p]! : b[p * o.n + j]!);

interface Reference {
  /** alpha·Σ bf16(a)·bf16(b) + beta·c in float64. */
  want: Float64Array;
  /** |alpha|·Σ|bf16(a)·bf16(b)| + |beta·c|: the scale of the fp32 summation error. */
  magnitude: Float64Array;
  /** alpha·Σ a·b + beta·c on the unrounded inputs. */
  exact: Float64Array;
  /** |alpha|·Σ|a·b| + |beta·c|. */
  exactMagnitude: Float64Array;
}

function reference(a: Float32Array, b: Float32Array, c0: Float32Array, o: Opts): Reference {
  const { m, n, k } = o;
  const alpha = o.alpha ?? 1, beta = o.beta ?? 0;
  const ra = a.map(bf16), rb = b.map(bf16);
  const r: Reference = { want: new Float64Array(m * n), magnitude: new Float64Array(m * n), exact: new Float64Array(m * n), exactMagnitude: new Float64Array(m * n) };
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let acc = 0, mag = 0, ex = 0, exMag = 0;
      for (let p = 0; p < k; p++) {
        const prod = opA(ra, o, i, p) * opB(rb, o, p, j);
        acc += prod;
        mag += Math.abs(prod);
        const exact = opA(a, o, i, p) * opB(b, o, p, j);
        ex += exact;
        exMag += Math.abs(exact);
      }
      const cij = beta === 0 ? 0 : beta * c0[i * n + j]!;
      r.want[i * n + j] = alpha * acc + cij;
      r.magnitude[i * n + j] = Math.abs(alpha) * mag + Math.abs(cij);
      r.exact[i * n + j] = alpha * ex + cij;
      r.exactMagnitude[i * n + j] = Math.abs(alpha) * exMag + Math.abs(cij);
    }
  return r;
}

/**
 * The products of bf16 values are exact in fp32, so only the k − 1 sums, the
 * alpha and beta products, the beta sum and the k-block re-reads of C round:
 * |err| ≤ γ·(|alpha|·Σ|terms| + |beta·c|), γ = (k + 4)·2⁻²⁴ (Higham §3.1, any
 * summation order). A lost, doubled or unrounded term is off by far more.
 */
function checkAgainstRounded(t: Test, name: string, got: Float32Array, ref: Reference, k: number): void {
  const gamma = (k + 4) * 2 ** -24;
  let maxRatio = 0, where = '';
  for (let i = 0; i < got.length; i++) {
    const diff = Math.abs(got[i]! - ref.want[i]!);
    const bound = gamma * ref.magnitude[i]! + 1e-30;
    const ratio = Number.isNaN(diff) ? Infinity : diff / bound;
    if (ratio > maxRatio) maxRatio = ratio;
    if (!(ratio <= 1) && where === '') where = ` at [${i}]: got ${got[i]}, want ${ref.want[i]}`;
  }
  t.ok(where === '', `${name}: max error ${maxRatio.toFixed(3)} of (k+4)·2^-24·Σ|terms|${where}`);
}

const transposes: Array<[boolean, boolean]> = [[false, false], [false, true], [true, false], [true, true]];

function operands(rng: Rng, o: Opts): { a: Float32Array; b: Float32Array; c0: Float32Array } {
  const a = randn(rng, o.m * o.k);
  const b = randn(rng, o.k * o.n);
  // beta = 0 must never read C: NaN there would show.
  const c0 = (o.beta ?? 0) === 0 ? new Float32Array(o.m * o.n).fill(NaN) : randn(rng, o.m * o.n);
  return { a, b, c0 };
}

t.test('bf16 rounding: k = 1 products by 1 return bf16(a), the rounding written here', async (t) => {
  const specials = [
    1, -1, 1 + 2 ** -8, 1 + 2 ** -8 + 2 ** -20, 1 + 3 * 2 ** -8, 1 + 2 ** -9, -(1 + 3 * 2 ** -8), // ties to even, above half
    3.4e38, -3.4e38, 3.3961514e38, Infinity, -Infinity, // overflow rounds to ±inf
    1.1754944e-38, 1.1754942e-38, 1e-40, -1e-40, 0, -0, // smallest normal, denormals flush
    NaN, 65504, 1e-30, Math.PI, -Math.E,
  ];
  const rng = new Rng(1);
  const a = Float32Array.from([...specials, ...randn(rng, 200, 100)]);
  const want = Array.from(a, bf16);
  await forEachPath(t, (t) => {
    const c = new Float32Array(a.length);
    gemmBf16(a, Float32Array.of(1), c, { m: a.length, n: 1, k: 1 });
    const bad = want.findIndex((w, i) => !(w === c[i] || (Number.isNaN(w) && Number.isNaN(c[i]!))));
    t.equal(bad, -1, `C = bf16(A) for ${a.length} values${bad >= 0 ? `; [${bad}] ${a[bad]} gave ${c[bad]}, want ${want[bad]}` : ''}`);
  });
});

t.test('gemmBf16 matches PyTorch: its bf16 rounding, and the float64 product of its rounded inputs', async (t) => {
  const [rounding, ...products] = loadFixtures('gemm_bf16');
  const x = f32(rounding!, 'x'), want = f32(rounding!, 'bf16');
  await forEachPath(t, (t) => {
    const c = new Float32Array(x.length);
    gemmBf16(x, Float32Array.of(1), c, { m: x.length, n: 1, k: 1 });
    expectBitwise(t, `${x.length} values: C = torch's x.to(bfloat16)`, c, want);
    t.same(Array.from(x, bf16), Array.from(want), "this test's bf16() agrees with torch's");
    for (const p of products) {
      const o = p.opts as Opts;
      const got = f32(p, 'c0').slice();
      gemmBf16(f32(p, 'a'), f32(p, 'b'), got, o);
      const ref: Reference = { want: Float64Array.from(f32(p, 'c')), magnitude: Float64Array.from(f32(p, 'magnitude')), exact: new Float64Array(0), exactMagnitude: new Float64Array(0) };
      // The fixture's C is rounded to float32: half an ulp more, within the bound's +4.
      checkAgainstRounded(t, p.name, got, ref, o.k);
    }
  });
});

t.test('gemmBf16 matches the float64 reference on rounded inputs across block edges, all transposes', async (t) => {
  // m: the 14-row micro-tile ±1, the 224-row C tile ±1, the 32-row AMX
  // block ±1, the 768-row AMX C tile + 1; n: 16/32 ±1; k: 1, odd, a 16-pair
  // AMX step ±1, the 512-deep block ±1, two blocks + 1.
  const shapes: Array<[number, number, number]> = [
    [1, 1, 1], [3, 17, 33], [17, 33, 257], [13, 31, 3], [15, 65, 511], [14, 32, 512],
    [33, 1, 513], [225, 47, 17], [223, 33, 31], [29, 63, 1025], [1, 257, 65], [257, 3, 9],
    [32, 32, 32], [31, 64, 33], [65, 31, 34], [769, 17, 5],
  ];
  const rng = new Rng(21);
  const cases = shapes.flatMap(([m, n, k], si) =>
    transposes.map(([transA, transB]) => {
      const o: Opts = si % 2 === 0 ? { m, n, k, transA, transB } : { m, n, k, transA, transB, alpha: -1.25, beta: 0.5 };
      const ops = operands(rng, o);
      return { o, ...ops, ref: reference(ops.a, ops.b, ops.c0, o) };
    }),
  );
  await forEachPath(t, (t) => {
    for (const { o, a, b, c0, ref } of cases) {
      const c = c0.slice();
      gemmBf16(a, b, c, o);
      checkAgainstRounded(t, `m${o.m} n${o.n} k${o.k} tA${+!!o.transA} tB${+!!o.transB}`, c, ref, o.k);
    }
  });
});

t.test('gemmBf16 with k longer than one packed super-block', async (t) => {
  // 4000 rows: 16 MB of packed words hold 1536 depths (3 blocks of 512), so
  // k = 1601 takes two super-blocks and C is re-read (beta = 1) across them.
  const o: Opts = { m: 4000, n: 100, k: 1601, alpha: 0.5, beta: -1 };
  const { a, b, c0 } = operands(new Rng(12), o);
  const rows = [0, 1, 13, 14, 1999, 3583, 3584, 3999];
  // The reference for a few rows only (m·n·k is large for float64 JS loops).
  const sub: Opts = { ...o, m: rows.length };
  const ref = reference(Float32Array.from(rows.flatMap((i) => Array.from(a.subarray(i * o.k, (i + 1) * o.k)))), b,
    Float32Array.from(rows.flatMap((i) => Array.from(c0.subarray(i * o.n, (i + 1) * o.n)))), sub);
  await forEachPath(t, (t) => {
    const c = c0.slice();
    gemmBf16(a, b, c, o);
    const got = Float32Array.from(rows.flatMap((i) => Array.from(c.subarray(i * o.n, (i + 1) * o.n))));
    checkAgainstRounded(t, `rows ${rows.join(', ')} of 4000×100, k 1601`, got, ref, o.k);
  });
});

t.test('gemmBf16 is within ~2^-8 of the exact fp32 product (and is not fp32)', async (t) => {
  // Each rounded input is within 2⁻⁹ relative, so a product within
  // 2·2⁻⁹ + 2⁻¹⁸: |C − exact| ≤ (2⁻⁸ + 2⁻¹⁸ + (k+4)·2⁻²⁴)·(|alpha|·Σ|a·b| + |beta·c|)
  // elementwise (measured: 0.13 of it at k = 768). The relative Frobenius
  // error measured 2.4e-3 (≈ 2⁻⁸·⁷); an fp32 GEMM's would be near 2⁻²³, so
  // the lower limit also shows the inputs really are rounded.
  const o: Opts = { m: 96, n: 80, k: 768, transB: true };
  const { a, b } = operands(new Rng(8), o);
  const ref = reference(a, b, new Float32Array(o.m * o.n), o);
  await forEachPath(t, (t) => {
    const c = new Float32Array(o.m * o.n);
    gemmBf16(a, b, c, o);
    const gamma = 2 ** -8 + 2 ** -18 + (o.k + 4) * 2 ** -24;
    let worst = 0, errSq = 0, normSq = 0;
    for (let i = 0; i < c.length; i++) {
      const diff = Math.abs(c[i]! - ref.exact[i]!);
      worst = Math.max(worst, diff / (gamma * ref.exactMagnitude[i]!));
      errSq += diff * diff;
      normSq += ref.exact[i]! ** 2;
    }
    const rel = Math.sqrt(errSq / normSq);
    t.ok(worst <= 1, `elementwise: max error ${worst.toFixed(3)} of (2^-8 + 2^-18 + (k+4)·2^-24)·Σ|a·b|`);
    t.ok(rel < 2 ** -8 && rel > 2 ** -14, `relative Frobenius error ${rel.toExponential(2)} in (2^-14, 2^-8)`);
  });
});

t.test('gemmBf16: beta = 0 ignores NaN in C; alpha = 0 or k = 0 gives beta·C', async (t) => {
  await forEachPath(t, (t) => {
    const rng = new Rng(7);
    const a = randn(rng, 5 * 9), b = randn(rng, 9 * 6);
    const c = new Float32Array(30).fill(NaN);
    gemmBf16(a, b, c, { m: 5, n: 6, k: 9 });
    t.ok(c.every(Number.isFinite), 'beta = 0: no NaN from C');
    const c2 = new Float32Array(12).fill(2);
    gemmBf16(new Float32Array(0), new Float32Array(0), c2, { m: 3, n: 4, k: 0, beta: 0.5 });
    t.same(Array.from(c2), new Array(12).fill(1), 'k = 0: beta·C');
    const c3 = new Float32Array(30).fill(4);
    gemmBf16(a.map(() => NaN), b, c3, { m: 5, n: 6, k: 9, alpha: 0, beta: -1 });
    t.same(Array.from(c3), new Array(30).fill(-4), 'alpha = 0: beta·C, A never read');
  });
});

t.test('gemmBf16 results do not depend on the thread count (bitwise)', async (t) => {
  const rng = new Rng(3);
  const [m, n, k] = [257, 129, 1100];
  const a = randn(rng, m * k), b = randn(rng, k * n);
  const initial = numThreads();
  try {
    await forEachPath(t, (t) => {
      for (const [transA, transB] of transposes) {
        const results = [1, 2, 3].map((threads) => {
          setNumThreads(threads);
          const c = new Float32Array(m * n);
          gemmBf16(a, b, c, { m, n, k, transA, transB });
          return c;
        });
        expectBitwise(t, `tA${+transA} tB${+transB}: 2 threads vs 1`, results[1]!, results[0]!);
        expectBitwise(t, `tA${+transA} tB${+transB}: 3 threads vs 1`, results[2]!, results[0]!);
      }
    });
  } finally {
    setNumThreads(initial);
  }
});

t.test('gemmBf16 rejects wrong sizes and aliasing with a RangeError naming the argument', async (t) => {
  const a = new Float32Array(6), b = new Float32Array(6), c = new Float32Array(4);
  t.throws(() => gemmBf16(a, b, new Float32Array(3), { m: 2, n: 2, k: 3 }), { name: 'RangeError', message: /gemmBf16: c has 3 elements, expected m\*n = 4/ });
  t.throws(() => gemmBf16(a, b, c, { m: 2, n: 2, k: 4 }), { name: 'RangeError', message: /gemmBf16: a has 6 elements/ });
  const shared = new Float32Array(10);
  t.throws(() => gemmBf16(shared.subarray(0, 6), b, shared.subarray(4, 8), { m: 2, n: 2, k: 3 }), { message: /gemmBf16: .*c.*a/ });
});

const cpuFlags = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : null;

t.test('cpuInfo().bf16Gemm: AMX where the CPU has it, else vdpbf16ps where it has that, while avx512 is active', { skip: cpuFlags === null ? 'no /proc/cpuinfo to read the CPU flags from (Linux only)' : false }, async (t) => {
  const flags = cpuFlags ?? '';
  const hasBf16 = /\bavx512_bf16\b/.test(flags);
  // The kernel may withhold the tile state (then there is no amx_tile flag,
  // or the permission request fails): cpu.amx reports what this process got.
  const hasAmx = /\bamx_bf16\b/.test(flags) && /\bamx_tile\b/.test(flags);
  const amx = backendInfo().cpu.amx;
  t.ok(!amx || (hasAmx && hasBf16), `cpu.amx ${amx}: only with amx_bf16, amx_tile and avx512_bf16 in the flags`);
  const initial = backendInfo().cpu.isa;
  try {
    await forEachPath(t, (t, path) => {
      const want = path === 'avx512' && amx ? 'amx' : path.startsWith('avx512') && hasBf16 ? 'avx512bf16' : 'emulated';
      t.equal(backendInfo().cpu.bf16Gemm, want, `${path}, avx512_bf16 ${hasBf16 ? 'present' : 'absent'}, AMX ${amx ? 'granted' : 'absent'}: ${want}`);
    });
  } finally {
    setCpuIsa(initial as 'scalar' | 'avx2' | 'avx512');
  }
});

t.test('setCpuAmx: enabling it without AMX is a RangeError; disabling is always allowed', async (t) => {
  setCpuAmx(false);
  t.not(backendInfo().cpu.bf16Gemm, 'amx', 'AMX off: another path');
  if (backendInfo().cpu.amx) {
    setCpuAmx(true);
    t.equal(backendInfo().cpu.isa === 'avx512' ? backendInfo().cpu.bf16Gemm : 'amx', 'amx', 'AMX back on');
  } else {
    t.throws(() => setCpuAmx(true), { name: 'RangeError', message: /setCpuAmx: this CPU \(or OS\) does not offer AMX-BF16/ });
  }
  t.throws(() => setCpuAmx('yes' as unknown as boolean), { name: 'TypeError', message: /setCpuAmx: expected a boolean/ });
});
