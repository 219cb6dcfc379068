// Repeatable input data for the bench (values do not affect kernel speed,
// but NaN/denormal-free, realistic ranges keep every path on its fast branch).

/** Uniform floats in [offset - scale, offset + scale) from a fixed LCG. */
export function uniform(length, seed, scale = 1, offset = 0) {
  const out = new Float32Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = offset + scale * ((s >>> 8) / 8388608 - 1);
  }
  return out;
}

/** Integers in [0, bound) from a fixed LCG. */
export function integers(length, seed, bound) {
  const out = new Int32Array(length);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 8) % bound;
  }
  return out;
}

/** A 0/1 mask with about `keep` of the entries set. */
export function mask(length, seed, keep) {
  const u = uniform(length, seed, 0.5, 0.5);
  return u.map((v) => (v < keep ? 1 : 0));
}
