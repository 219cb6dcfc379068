// Finite-difference gradient check (like torch.autograd.gradcheck, in float32
// with a float64 reduction): compares backward() of L = Σ w·f(inputs), w a
// fixed random projection, with central differences of L per input element.
import { backward, noGrad } from './autograd.js';
import { Tensor } from './tensor.js';

export interface GradcheckOptions {
  /** Finite-difference step (float32 inputs need ~1e-2..1e-3). */
  eps?: number;
  atol?: number;
  rtol?: number;
  /** Check at most this many elements per input (spread evenly). */
  maxElements?: number;
}

export interface GradcheckResult {
  ok: boolean;
  /** Per input: worst |analytic − numeric| and where. */
  inputs: { maxAbsDiff: number; worstIndex: number; analytic: number; numeric: number }[];
}

export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const eps = opts.eps ?? 1e-2;
  const atol = opts.atol ?? 1e-3;
  const rtol = opts.rtol ?? 1e-2;
  const maxElements = opts.maxElements ?? 64;

  const out0 = fn(...inputs);
  // A fixed projection makes every output element matter with distinct weight.
  const w = new Float64Array(out0.size).map((_, i) => Math.sin(1.7 * i + 0.3));
  const loss = (out: Tensor): number => {
    const d = out.f32('gradcheck');
    let acc = 0;
    for (let i = 0; i < d.length; i++) acc += w[i]! * d[i]!;
    return acc;
  };
  for (const t of inputs) t.grad = null;
  backward(out0, Float32Array.from(w));

  let ok = true;
  const results = inputs.map((t) => {
    const result = { maxAbsDiff: 0, worstIndex: -1, analytic: 0, numeric: 0 };
    if (!t.requiresGrad) return result;
    const data = t.f32('gradcheck');
    const analytic = t.grad ?? new Float32Array(data.length);
    const step = Math.max(1, Math.floor(data.length / maxElements));
    for (let i = 0; i < data.length; i += step) {
      const orig = data[i]!;
      data[i] = orig + eps;
      const plus = noGrad(() => loss(fn(...inputs)));
      data[i] = orig - eps;
      const minus = noGrad(() => loss(fn(...inputs)));
      data[i] = orig;
      const numeric = (plus - minus) / (2 * eps);
      const diff = Math.abs(analytic[i]! - numeric);
      if (diff > result.maxAbsDiff) Object.assign(result, { maxAbsDiff: diff, worstIndex: i, analytic: analytic[i]!, numeric });
      if (!(diff <= atol + rtol * Math.abs(numeric))) ok = false;
    }
    return result;
  });
  return { ok, inputs: results };
}
