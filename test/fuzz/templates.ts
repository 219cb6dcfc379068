// Valid calls for every native entry point, built from small random sizes.
// The fuzzer mutates these into bad calls; a template must itself be valid so
// that a mutation is the only thing wrong with the call.
import type { Rng } from '../helpers/random.js';

export type Arg = Float32Array | Int32Array | Uint8Array | Float32Array[] | Record<string, unknown> | null;

export interface CallTemplate {
  name: string;
  args: Arg[];
  /** Ids/targets arrays with their valid range, for out-of-range mutations. */
  indexArrays?: { arg: number; limit: number }[];
}

const f = (n: number) => new Float32Array(n).map((_, i) => Math.sin(i + 1));
const ids = (rng: Rng, n: number, limit: number) => new Int32Array(n).map(() => rng.int(0, limit));
const dim = (rng: Rng, max = 9) => rng.int(1, max + 1);
/** A random permutation of 4 axes. */
const perm4 = (rng: Rng) => {
  const p = [0, 1, 2, 3];
  for (let k = 3; k > 0; k--) {
    const j = rng.int(0, k + 1);
    [p[k], p[j]] = [p[j]!, p[k]!];
  }
  return p;
};

export function templates(rng: Rng): CallTemplate[] {
  const [m, n, k, batch] = [dim(rng), dim(rng), dim(rng), dim(rng, 3)];
  const [rows, cols] = [dim(rng), dim(rng)];
  const [B, H, tq, tk, D] = [dim(rng, 2), dim(rng, 2), dim(rng, 5), dim(rng, 5), dim(rng, 8)];
  const vocab = dim(rng, 12);
  const attn = { batch: B, heads: H, tq, tk, headDim: D, causal: rng.next() < 0.5, qOffset: rng.int(0, 3),
    prefixLen: ids(rng, B, tk + 1), kvLen: ids(rng, B, tk + 1) };
  const q = B * H * tq * D;
  const kv = B * H * tk * D;
  return [
    { name: 'gemm', args: [f(m * k), f(k * n), f(m * n), { m, n, k, transA: true, alpha: 2, beta: 0.5 }] },
    { name: 'gemmBf16', args: [f(m * k), f(k * n), f(m * n), { m, n, k, transB: true, alpha: -1, beta: 0.5 }] },
    { name: 'gemmBatched', args: [f(batch * m * k), f(k * n), f(batch * m * n), { batch, m, n, k, strideB: 0 }] },
    { name: 'layerNormForward', args: [f(rows * cols), f(cols), f(cols), f(rows * cols), f(rows), f(rows), { rows, cols, eps: 1e-5 }] },
    { name: 'layerNormBackward', args: [f(rows * cols), f(rows * cols), f(cols), f(rows), f(rows), f(rows * cols), f(cols), f(cols), { rows, cols }] },
    { name: 'rmsNormForward', args: [f(rows * cols), f(cols), f(rows * cols), f(rows), { rows, cols }] },
    { name: 'rmsNormBackward', args: [f(rows * cols), f(rows * cols), f(cols), f(rows), f(rows * cols), f(cols), { rows, cols }] },
    { name: 'attentionForward', args: [f(q), f(kv), f(kv), f(q), f(B * H * tq), attn] },
    { name: 'attentionBackward', args: [f(q), f(q), f(kv), f(kv), f(q), f(B * H * tq), f(q), f(kv), f(kv), attn] },
    { name: 'ppoLoss', args: [f(rows * cols), f(rows * cols), f(rows * cols), f(rows * cols), f(rows * cols), f(rows * cols),
      { rows, cols, clipEps: 0.2, klCoef: 0.1, klMode: 'k3' }] },
    { name: 'valueLoss', args: [f(rows * cols), f(rows * cols), f(rows * cols), f(rows * cols), f(rows * cols), { rows, cols, clipRange: 0.2 }] },
    { name: 'softmaxCrossEntropy', args: [f(rows * vocab), ids(rng, rows, vocab), f(rows * vocab), { rows, vocab, labelSmoothing: 0.1 }],
      indexArrays: [{ arg: 1, limit: vocab }] },
    { name: 'tokenLogProbs', args: [f(rows * vocab), ids(rng, rows, vocab), f(rows), f(rows), { rows, vocab }],
      indexArrays: [{ arg: 1, limit: vocab }] },
    { name: 'tokenLogProbsBackward', args: [f(rows * vocab), ids(rng, rows, vocab), f(rows), f(rows), f(rows * vocab), { rows, vocab }],
      indexArrays: [{ arg: 1, limit: vocab }] },
    { name: 'geluForward', args: [f(n), f(n), { approximate: 'tanh' }] },
    { name: 'geluBackward', args: [f(n), f(n), f(n), { approximate: 'none' }] },
    { name: 'siluForward', args: [f(n), f(n)] },
    { name: 'siluBackward', args: [f(n), f(n), f(n)] },
    { name: 'embeddingForward', args: [ids(rng, rows, vocab), f(vocab * cols), f(rows * cols), { dim: cols }],
      indexArrays: [{ arg: 0, limit: vocab }] },
    { name: 'embeddingBackward', args: [ids(rng, rows, vocab), f(rows * cols), f(vocab * cols), { dim: cols }],
      indexArrays: [{ arg: 0, limit: vocab }] },
    { name: 'biasAdd', args: [f(rows * cols), f(cols), { rows, cols }] },
    { name: 'biasBackward', args: [f(rows * cols), f(cols), { rows, cols }] },
    { name: 'adamwStep', args: [f(n), f(n), f(n), new Float32Array(n).fill(0.5), { lr: 1e-3, step: rng.int(1, 5), decayMask: new Uint8Array(n).fill(1) }] },
    { name: 'clipGradNorm', args: [[f(n), f(m)], { maxNorm: 1 }] },
    { name: 'permute', args: [f(B * H * tq * D), f(B * H * tq * D),
      { shape: Int32Array.from([B, H, tq, D]), perm: Int32Array.from(perm4(rng)) }] },
    { name: 'elementwiseAdd', args: [f(n), f(n), f(n)] },
    { name: 'elementwiseMul', args: [f(n), f(n), f(n)] },
  ];
}
