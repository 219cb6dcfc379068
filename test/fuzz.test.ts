// Throws thousands of random bad calls at every native entry point. Each call
// must either throw a TypeError/RangeError that names the op, or (when the
// mutation happened to leave the call valid) succeed without writing outside
// its buffers — checked with guard zones around every array.
import t from 'tap';
import { addon } from '../lib/native.js';
import { Rng } from './helpers/random.js';
import { templates, type Arg, type CallTemplate } from './fuzz/templates.js';

const GUARD = 16;
const CANARY = 0x7fa5a5a5; // a NaN pattern no kernel writes

type Typed = Float32Array | Int32Array | Uint8Array;
interface Guarded {
  view: Typed;
  words: Uint32Array | Uint8Array;
  offset: number; // first element of the view inside `words`
}

/** Copies `src` into a new buffer with guard zones on both sides. */
function guarded(src: Typed, registry: Guarded[]): Typed {
  const n = src.length;
  let view: Typed;
  let words: Uint32Array | Uint8Array;
  if (src instanceof Uint8Array) {
    const buf = new ArrayBuffer(n + 2 * GUARD);
    words = new Uint8Array(buf).fill(0xa5);
    view = new Uint8Array(buf, GUARD, n);
  } else {
    const buf = new ArrayBuffer(4 * (n + 2 * GUARD));
    words = new Uint32Array(buf).fill(CANARY);
    view = src instanceof Float32Array ? new Float32Array(buf, 4 * GUARD, n) : new Int32Array(buf, 4 * GUARD, n);
  }
  view.set(src as never);
  registry.push({ view, words, offset: GUARD });
  return view;
}

function guardsIntact(g: Guarded): boolean {
  const fill = g.words instanceof Uint8Array ? 0xa5 : CANARY;
  for (let i = 0; i < g.offset; i++) if (g.words[i] !== fill) return false;
  for (let i = g.offset + g.view.length; i < g.words.length; i++) if (g.words[i] !== fill) return false;
  return true;
}

const isTyped = (v: unknown): v is Typed =>
  v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array;
const isOptions = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !isTyped(v) && !Array.isArray(v);

const badValues = (rng: Rng): unknown[] => [
  undefined, null, 0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 40 + 1, 1e300, -0, '3', {}, [], true,
  new Float64Array(4), new Int32Array(3), new Float32Array(rng.int(0, 5)), new Uint8Array(2), 10n,
  () => 1, Symbol('x'), new ArrayBuffer(8),
];

/** One random mutation of a valid call; returns a label for failure messages. */
function mutate(rng: Rng, tpl: CallTemplate, args: unknown[]): string {
  const typedIdx = args.flatMap((a, i) => (isTyped(a) ? [i] : []));
  const optIdx = args.findIndex(isOptions);
  const pick = <T>(xs: T[]): T => xs[rng.int(0, xs.length)]!;
  switch (rng.int(0, 8)) {
    case 0: { // wrong kind of value where an array belongs
      const i = pick(typedIdx.length ? typedIdx : [0]);
      args[i] = pick(badValues(rng));
      return `arg ${i} replaced`;
    }
    case 1: { // wrong length
      if (!typedIdx.length) return 'none';
      const i = pick(typedIdx);
      const a = args[i] as Typed;
      const len = Math.max(0, a.length + pick([-3, -1, 1, 2, -a.length]));
      args[i] = new (a.constructor as new (n: number) => Typed)(len);
      return `arg ${i} length ${a.length} -> ${len}`;
    }
    case 2:
    case 3: { // bad option value
      if (optIdx < 0) return 'none';
      const opts = { ...(args[optIdx] as Record<string, unknown>) };
      const keys = Object.keys(opts);
      const key = pick(keys.length ? keys : ['x']);
      opts[key] = pick(badValues(rng));
      args[optIdx] = opts;
      return `option ${key}`;
    }
    case 4: { // missing option or options object replaced
      if (optIdx < 0) return 'none';
      if (rng.next() < 0.5) {
        const opts = { ...(args[optIdx] as Record<string, unknown>) };
        const key = pick(Object.keys(opts).length ? Object.keys(opts) : ['x']);
        delete opts[key];
        args[optIdx] = opts;
        return `option ${key} deleted`;
      }
      args[optIdx] = pick(badValues(rng));
      return 'options replaced';
    }
    case 5: { // argument count
      if (rng.next() < 0.5) args.length = rng.int(0, args.length);
      else args.push(new Float32Array(1), 7);
      return `arg count ${args.length}`;
    }
    case 6: { // ids / targets / lengths out of range
      const targets = [...(tpl.indexArrays ?? [])];
      const opts = optIdx >= 0 ? (args[optIdx] as Record<string, unknown>) : undefined;
      for (const key of ['prefixLen', 'kvLen']) if (opts && isTyped(opts[key])) targets.push({ arg: -1, limit: 0 });
      if (!targets.length) return 'none';
      const tgt = pick(targets);
      const arr = (tgt.arg >= 0 ? args[tgt.arg] : opts![pick(['prefixLen', 'kvLen'])]) as Int32Array;
      if (!(arr instanceof Int32Array) || arr.length === 0) return 'none';
      arr[rng.int(0, arr.length)] = pick([-1, -100, -(2 ** 31), 2 ** 31 - 1, tgt.limit, tgt.limit + 1, 1e6]);
      return 'index out of range';
    }
    default: { // an output aliasing an input
      if (typedIdx.length < 2) return 'none';
      const i = pick(typedIdx);
      const j = pick(typedIdx);
      const a = args[i] as Typed;
      const b = args[j] as Typed;
      if (a.constructor === b.constructor && a.length === b.length) args[j] = a;
      return `arg ${j} aliases arg ${i}`;
    }
  }
}

t.test('thousands of bad calls: clear TypeError/RangeError, no crash, no out-of-bounds write', async (t) => {
  const rng = new Rng(20261125);
  const native = addon as unknown as Record<string, (...a: unknown[]) => unknown>;
  const stats = new Map<string, { calls: number; threw: number }>();
  let failures = 0;
  const iterations = 6000;
  for (let it = 0; it < iterations && failures < 10; it++) {
    const all = templates(rng);
    const tpl = all[rng.int(0, all.length)]!;
    const fn = native[tpl.name];
    if (typeof fn !== 'function') continue;
    const registry: Guarded[] = [];
    const args: unknown[] = tpl.args.map((a: Arg) => {
      if (isTyped(a)) return guarded(a, registry);
      if (Array.isArray(a)) return a.map((x) => guarded(x, registry));
      if (isOptions(a)) {
        const o: Record<string, unknown> = { ...a };
        for (const [k, v] of Object.entries(o)) if (isTyped(v)) o[k] = guarded(v, registry);
        return o;
      }
      return a;
    });
    // Mutations that do not apply to this op ('none') are redrawn.
    const labels: string[] = [];
    for (let tries = 0; labels.length < (rng.next() < 0.3 ? 2 : 1) && tries < 20; tries++) {
      const label = mutate(rng, tpl, args);
      if (label !== 'none') labels.push(label);
    }
    const s = stats.get(tpl.name) ?? { calls: 0, threw: 0 };
    s.calls++;
    stats.set(tpl.name, s);
    try {
      fn(...args);
    } catch (err) {
      s.threw++;
      const e = err as Error;
      const okClass = e instanceof TypeError || e instanceof RangeError;
      const okMessage = typeof e.message === 'string' && e.message.startsWith(`${tpl.name}: `);
      if (!okClass || !okMessage) {
        failures++;
        t.fail(`${tpl.name} (${labels.join('; ')}): threw ${e.name}: ${e.message}`);
      }
    }
    for (const g of registry)
      if (!guardsIntact(g)) {
        failures++;
        t.fail(`${tpl.name} (${labels.join('; ')}): wrote outside a buffer`);
      }
  }
  const summary = [...stats].map(([name, s]) => `${name} ${s.threw}/${s.calls}`).join(', ');
  t.equal(failures, 0, `every bad call failed cleanly (thrown/calls: ${summary})`);
  // The mutations must actually be rejected most of the time, or the fuzzer tests nothing.
  for (const [name, s] of stats) t.ok(s.threw / s.calls > 0.5, `${name}: ${s.threw} of ${s.calls} mutated calls rejected`);
});

t.test('every native kernel has a fuzz template', async (t) => {
  // Runtime entries, and the CUDA loader / device-memory entries (they need a
  // loaded CUDA backend; their bad-argument checks are in test/cuda/device_training.test.ts).
  const runtime = new Set(['cpuInfo', 'setNumThreads', 'numThreads', 'setCpuIsa', 'setCpuAmx', 'cudaLoad', 'CudaArray', 'cudaAlloc',
    'cudaUpload', 'cudaDownload', 'cudaCopy', 'cudaFill', 'cudaScale', 'cudaMemoryStats', 'cudaEmptyCache', 'cudaSynchronize']);
  // The mpi* entries (lib/distributed) are no kernels: they act on the
  // process's MPI state (mpiAbort ends it), so they are not fuzzed here; their
  // argument checks are tested in test/distributed/world.test.ts.
  const isMpi = (name: string): boolean => name.startsWith('mpi');
  const covered = new Set(templates(new Rng(1)).map((tpl) => tpl.name));
  const kernels = Object.keys(addon).filter((name) => typeof (addon as unknown as Record<string, unknown>)[name] === 'function' && !runtime.has(name) && !isMpi(name));
  t.same(kernels.filter((name) => !covered.has(name)), [], 'addon functions without a template');
  t.same([...covered].filter((name) => !kernels.includes(name)), [], 'templates naming no addon function');
});
