// Matrix products with autograd: linear (x·Wᵀ + b, PyTorch nn.Linear layout,
// weight [out, in]) and matmul over leading batch dims. linear's three GEMMs
// run in the scope's matmul precision (matmul_precision.ts).
import { DeviceError, ShapeError } from '../../errors.js';
import { biasAdd, biasBackward, gemm, gemmBatched, gemmBf16, type GemmShapeOptions } from '../../kernels/index.js';
import { needsGrad, record } from '../autograd.js';
import { zerosLike, type F32Buffer } from '../device.js';
import { Tensor, sameDevice } from '../tensor.js';
import { matmulPrecision } from './matmul_precision.js';

type Product = (a: F32Buffer, b: F32Buffer, c: F32Buffer, opts: GemmShapeOptions) => void;

/** The GEMM for the current matmul precision; bf16 takes host (CPU) arrays only. */
function productFor(x: F32Buffer, w: F32Buffer): Product {
  if (matmulPrecision() === 'fp32') return gemm;
  if (!(x instanceof Float32Array && w instanceof Float32Array))
    throw new DeviceError('DEVICE_UNSUPPORTED', 'linear: matmul precision bf16 runs on CPU tensors only, and these are on CUDA; use fp32 there (gemm with allowTf32 is the CUDA fast path)');
  return (a, b, c, opts) => gemmBf16(a as Float32Array, b as Float32Array, c as Float32Array, opts);
}

/** y[..., out] = x[..., in] · weightᵀ + bias; weight is [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const [outF, inF] = weight.shape as [number, number];
  if (weight.ndim !== 2 || x.lastDim !== inF)
    throw new ShapeError('SHAPE_MISMATCH', `linear: input [${x.shape.join(', ')}] does not fit weight [${weight.shape.join(', ')}] (expected last dim ${inF})`);
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== outF))
    throw new ShapeError('SHAPE_MISMATCH', `linear: bias [${bias.shape.join(', ')}] does not fit weight [${weight.shape.join(', ')}]`);
  const rows = x.rows;
  sameDevice('linear', x, weight, bias);
  const xd = x.f32Buffer('linear'), w = weight.f32Buffer('linear');
  // Chosen at forward time: the backward products use the same precision.
  const product = productFor(xd, w);
  const y = zerosLike(xd, rows * outF);
  // y starts as the bias in every row; the GEMM adds x·Wᵀ onto it (beta = 1).
  if (bias) biasAdd(y, bias.f32Buffer('linear'), { rows, cols: outF });
  product(xd, w, y, { m: rows, n: outF, k: inF, transB: true, beta: bias ? 1 : 0 });
  const out = new Tensor(y, [...x.shape.slice(0, -1), outF]);
  if (needsGrad(x, weight, bias))
    record(out, 'linear', bias ? [x, weight, bias] : [x, weight], (g) => {
      const dx = x.requiresGrad || x.gradFn ? zerosLike(g, rows * inF) : null;
      if (dx) product(g, w, dx, { m: rows, n: inF, k: outF });
      const dw = zerosLike(g, outF * inF);
      product(g, xd, dw, { m: outF, n: inF, k: rows, transA: true });
      const grads: (F32Buffer | null)[] = [dx, dw];
      if (bias) {
        const db = zerosLike(g, outF);
        biasBackward(g, db, { rows, cols: outF });
        grads.push(db);
      }
      return grads;
    });
  return out;
}

/** a[..., m, k] · b[..., k, n] with equal leading dims (no broadcasting). */
export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim < 2 || b.ndim !== a.ndim)
    throw new ShapeError('SHAPE_MISMATCH', `matmul: [${a.shape.join(', ')}] · [${b.shape.join(', ')}] needs equal ranks ≥ 2`);
  const lead = a.shape.slice(0, -2);
  if (lead.some((d, i) => d !== b.shape[i]))
    throw new ShapeError('SHAPE_MISMATCH', `matmul: batch dims of [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
  const [m, k] = a.shape.slice(-2) as [number, number];
  const [k2, n] = b.shape.slice(-2) as [number, number];
  if (k !== k2) throw new ShapeError('SHAPE_MISMATCH', `matmul: inner dims ${k} and ${k2} differ`);
  const batch = lead.reduce((p, d) => p * d, 1);
  sameDevice('matmul', a, b);
  const ad = a.f32Buffer('matmul'), bd = b.f32Buffer('matmul');
  const c = zerosLike(ad, batch * m * n);
  gemmBatched(ad, bd, c, { batch, m, n, k });
  const out = new Tensor(c, [...lead, m, n]);
  if (needsGrad(a, b))
    record(out, 'matmul', [a, b], (g) => {
      const da = zerosLike(ad), db = zerosLike(bd);
      // dA = G·Bᵀ, dB = Aᵀ·G per batch entry.
      gemmBatched(g, bd, da, { batch, m, n: k, k: n, transB: true, strideA: m * n, strideB: k * n, strideC: m * k });
      gemmBatched(ad, g, db, { batch, m: k, n, k: m, transA: true, strideA: m * k, strideB: m * n, strideC: k * n });
      return [da, db];
    });
  return out;
}
