// Run by test/distributed/world.test.ts under mpirun: every rank exercises
// lmkit's public distributed API on values that depend on its rank and
// prints one JSON line with what it got back.
import { initDistributed, allReduce, broadcast, barrier, rank, worldSize, defaultWorld } from '../../dist/index.js';

const world = initDistributed();
const r = rank(), n = worldSize();
const f32 = Float32Array.from([r + 1, -r, 0.5 * r]);
allReduce(f32, 'sum');
const f64max = Float64Array.from([r, -r]);
allReduce(f64max, 'max');
const f64min = Float64Array.from([r, -r]);
allReduce(f64min, 'min');
// A view into a bigger buffer: only its bytes travel, from root 1.
const backing = new Int32Array(6).fill(-7);
const view = backing.subarray(2, 5);
if (r === 1) view.set([11, 22, 33]);
broadcast(view, 1);
barrier();
// A collective the caller waits on later, as the gradient buckets do.
const pending = world.allReduceStart(Float64Array.from([r * 10]), 'sum');
pending.wait();
let typeError = '';
try {
  allReduce(new Int32Array(2));
} catch (err) {
  typeError = `${err.constructor.name}: ${err.message}`;
}
console.log(JSON.stringify({
  rank: r, worldSize: n, same: defaultWorld() === world, usesMpi: world.usesMpi,
  f32: Array.from(f32), f64max: Array.from(f64max), f64min: Array.from(f64min), backing: Array.from(backing), typeError,
  bytes: world.commStats().bytes,
}));
