// Rotary position embedding (Su et al. 2021), in the "rotate half" layout of
// Hugging Face LLaMA: pairs (x[i], x[i + d/2]) of each head are rotated by
// angle pos·θ_i, θ_i = base^(−2i/d). The backward is the inverse rotation.
import { ShapeError } from '../../errors.js';
import { needsGrad, record } from '../autograd.js';
import { viaHost } from '../device.js';
import { Tensor } from '../tensor.js';

/** cos/sin tables [positions, headDim/2] for positions 0..maxPositions−1. */
export interface RopeTables {
  cos: Float32Array;
  sin: Float32Array;
  half: number;
  maxPositions: number;
}

export function ropeTables(headDim: number, maxPositions: number, base = 10000): RopeTables {
  if (headDim % 2 !== 0) throw new ShapeError('SHAPE_INVALID', `rope: headDim ${headDim} must be even`);
  const half = headDim / 2;
  const cos = new Float32Array(maxPositions * half), sin = new Float32Array(maxPositions * half);
  for (let p = 0; p < maxPositions; p++)
    for (let i = 0; i < half; i++) {
      const angle = p * Math.pow(base, (-2 * i) / headDim);
      cos[p * half + i] = Math.cos(angle);
      sin[p * half + i] = Math.sin(angle);
    }
  return { cos, sin, half, maxPositions };
}

function rotate(out: Float32Array, x: Float32Array, t: RopeTables, rowsPerSeq: number, headDim: number, positions: Int32Array | number, sign: 1 | -1): void {
  const half = t.half;
  const rows = x.length / headDim;
  // positions of length B·T give each batch row its own positions (per-row KV cache lengths).
  const perRow = typeof positions !== 'number' && positions.length !== rowsPerSeq;
  const rowsPerBatch = perRow ? rows / (positions.length / rowsPerSeq) : 0;
  for (let r = 0; r < rows; r++) {
    const ti = r % rowsPerSeq; // time index within [.., T, HS]
    const pos = typeof positions === 'number' ? positions + ti
      : perRow ? positions[Math.floor(r / rowsPerBatch) * rowsPerSeq + ti]! : positions[ti]!;
    const base = r * headDim;
    for (let i = 0; i < half; i++) {
      const c = t.cos[pos * half + i]!, s = sign * t.sin[pos * half + i]!;
      const a = x[base + i]!, b = x[base + half + i]!;
      out[base + i] = a * c - b * s;
      out[base + half + i] = b * c + a * s;
    }
  }
}

/**
 * Rotates x [B, NH, T, HS]; positions are start + t (a number), one per
 * time step (an Int32Array of length T), or one per (row, step) (length B·T).
 */
export function applyRope(x: Tensor, tables: RopeTables, positions: Int32Array | number = 0): Tensor {
  const [B, , T, headDim] = x.shape as [number, number, number, number];
  if (x.ndim !== 4 || headDim !== 2 * tables.half)
    throw new ShapeError('SHAPE_MISMATCH', `rope: expected [batch, heads, time, ${2 * tables.half}], got [${x.shape}]`);
  if (typeof positions !== 'number' && positions.length !== T && positions.length !== B * T)
    throw new ShapeError('SHAPE_MISMATCH', `rope: ${positions.length} positions for [${x.shape}]; expected T = ${T} or B·T = ${B * T}`);
  const last = typeof positions === 'number' ? positions + T - 1 : Math.max(...positions);
  if (last >= tables.maxPositions)
    throw new ShapeError('SHAPE_INVALID', `rope: position ${last} is beyond the ${tables.maxPositions} positions the model was built for`);
  // In JS on the host (on 'cuda' through a round trip: no rotary kernel yet).
  const out = viaHost(x.f32Buffer('rope'), (xd) => {
    const o = new Float32Array(xd.length);
    rotate(o, xd, tables, T, headDim, positions, 1);
    return o;
  });
  const y = new Tensor(out, x.shape);
  if (needsGrad(x))
    record(y, 'rope', [x], (g) => [
      viaHost(g, (gd) => {
        const dx = new Float32Array(gd.length);
        rotate(dx, gd, tables, T, headDim, positions, -1);
        return dx;
      }),
    ]);
  return y;
}
