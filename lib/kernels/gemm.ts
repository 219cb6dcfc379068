// GEMM entry points: C = alpha·op(A)·op(B) + beta·C on row-major Float32Arrays.
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

/** The shape and scaling of one product (gemmBf16 takes these alone). */
export interface GemmShapeOptions {
  /** Rows of op(A) and C. */
  m: number;
  /** Columns of op(B) and C. */
  n: number;
  /** Columns of op(A), rows of op(B). */
  k: number;
  /** Use Aᵀ (A stored k×m). */
  transA?: boolean;
  /** Use Bᵀ (B stored n×k). */
  transB?: boolean;
  alpha?: number;
  /** 0 (default) ignores the old contents of C, NaN included. */
  beta?: number;
}

export interface GemmOptions extends GemmShapeOptions {
  /**
   * CUDA buffers only: run on tensor cores with A and B rounded to tf32
   * (10-bit mantissa, ~1e-3 relative error), like PyTorch's allow_tf32.
   * Default false (fp32). The CPU always computes in fp32.
   */
  allowTf32?: boolean;
}

export interface GemmBatchedOptions extends GemmOptions {
  batch: number;
  /** Elements between consecutive A matrices (default m·k; 0 broadcasts). */
  strideA?: number;
  strideB?: number;
  /** Must be ≥ m·n: C matrices may not overlap. */
  strideC?: number;
}

/** C[m×n] = alpha·op(A)·op(B) + beta·C. */
export function gemm(a: F32Buffer, b: F32Buffer, c: F32Buffer, opts: GemmOptions): void {
  addon.gemm(a, b, c, opts);
}

/** `batch` independent GEMMs over strided matrices. */
export function gemmBatched(
  a: F32Buffer,
  b: F32Buffer,
  c: F32Buffer,
  opts: GemmBatchedOptions,
): void {
  addon.gemmBatched(a, b, c, opts);
}

/**
 * gemm with op(A) and op(B) rounded to bfloat16 (nearest even; fp32
 * denormals become ±0) and the products summed in fp32: about 2^-8 relative
 * error against the fp32 product. It runs on AMX-BF16 tiles where the CPU
 * has them, else on AVX512-BF16's vdpbf16ps, else emulated through gemm
 * (backendInfo().cpu.bf16Gemm says which; setCpuAmx turns AMX off). Made
 * for training-sized products: it rounds all of op(B) on every call, so
 * decode shapes (m ≤ 8) run faster through gemm.
 * CPU (host) arrays only.
 */
export function gemmBf16(a: Float32Array, b: Float32Array, c: Float32Array, opts: GemmShapeOptions): void {
  addon.gemmBf16(a, b, c, opts);
}
