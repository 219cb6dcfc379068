// Kernels: lmkit's C++ kernels called directly on typed arrays (row-major
// Float32Array / Int32Array), as lmkit.kernels. Every call checks its
// arguments first and throws a TypeError/RangeError naming the bad one.
import { backendInfo, kernels } from 'lmkit';

const info = backendInfo();
console.log(`backend: ${info.backend}, CPU kernels: ${info.cpu.isa}, CUDA: ${info.cuda.available ? 'available' : info.cuda.reason}`);

// C[2×2] = A[2×3] · B[3×2]
const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
const b = Float32Array.from([7, 8, 9, 10, 11, 12]);
const c = new Float32Array(2 * 2);
kernels.gemm(a, b, c, { m: 2, n: 2, k: 3 });
console.log(`gemm: ${Array.from(c).join(' ')}`); // 58 64 139 154

// LayerNorm over the last dim of x[2×4], with mean and 1/std kept for the backward pass.
const x = Float32Array.from([1, 2, 3, 4, -1, 0, 1, 2]);
const y = new Float32Array(8);
const mean = new Float32Array(2);
const rstd = new Float32Array(2);
kernels.layerNormForward(x, new Float32Array(4).fill(1), new Float32Array(4), y, mean, rstd, { rows: 2, cols: 4 });
console.log(`layerNorm: mean ${Array.from(mean).join(' ')}, row 0 ${Array.from(y.subarray(0, 4), (v) => v.toFixed(4)).join(' ')}`);

// Causal self-attention, q/k/v [batch=1, heads=1, T=3, headDim=2]; lse is each row's log-sum-exp.
const q = Float32Array.from([1, 0, 0, 1, 1, 1]);
const out = new Float32Array(6);
const lse = new Float32Array(3);
kernels.attentionForward(q, q, q, out, lse, { batch: 1, heads: 1, tq: 3, tk: 3, headDim: 2, causal: true });
console.log(`attention: row 0 ${Array.from(out.subarray(0, 2)).join(' ')} (query 0 sees only key 0)`);

// Softmax cross-entropy of 2 rows over a vocabulary of 3, with the gradient of the mean loss.
const logits = Float32Array.from([2, 0, 0, 0, 0, 0]);
const dlogits = new Float32Array(6);
const { loss, count } = kernels.softmaxCrossEntropy(logits, Int32Array.from([0, 2]), dlogits, { rows: 2, vocab: 3 });
console.log(`crossEntropy: loss ${loss.toFixed(4)} over ${count} rows`);

// Bad arguments are errors before any kernel runs.
try {
  kernels.gemm(a, b, new Float32Array(3), { m: 2, n: 2, k: 3 });
} catch (err) {
  console.log(`gemm with a short c: ${(err as Error).name}: ${(err as Error).message}`);
}
