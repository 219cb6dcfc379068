// Loads the native addon (a prebuild when one matches, else the local build)
// and declares the shape of its export table. Nothing else in lib/ touches
// node-gyp-build or the raw addon.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import type { GemmOptions, GemmBatchedOptions, GemmShapeOptions } from './kernels/gemm.js';
import type { AttentionOptions } from './kernels/attention.js';
import type { LayerNormOptions, NormShape, RmsNormOptions } from './kernels/layernorm.js';
import type { CrossEntropyOptions, CrossEntropyResult, RowsShape } from './kernels/cross_entropy.js';
import type { GeluOptions } from './kernels/activations.js';
import type { PpoLossOptions, PpoStats, ValueLossOptions, ValueLossStats } from './kernels/ppo_loss.js';
import type { EmbeddingOptions } from './kernels/embedding.js';
import type { BiasOptions } from './kernels/bias.js';
import type { AdamWOptions, ClipGradNormOptions } from './kernels/optimizer.js';
import type { PermuteOptions } from './kernels/permute.js';

export interface CpuInfo {
  /** Instruction set the kernels dispatch to: 'avx512' | 'avx2' | 'scalar'. */
  isa: string;
  /** Why that ISA was chosen (hardware, LMKIT_CPU_ISA, setCpuIsa). */
  isaReason: string;
  /** ISAs this CPU can run, weakest first. */
  isaAvailable: string[];
  /** Threads in lmkit's pool. */
  threads: number;
  /**
   * How gemmBf16 runs now: 'amx' (AMX-BF16 tiles, while isa is 'avx512' on a
   * CPU and OS that offer them and setCpuAmx / LMKIT_CPU_AMX=0 did not turn
   * them off), 'avx512bf16' (vdpbf16ps, while isa is 'avx512' on a CPU with
   * AVX512-BF16) or 'emulated' (same rounding, fp32 sums through gemm).
   */
  bf16Gemm: 'amx' | 'avx512bf16' | 'emulated';
  /** Whether this CPU and OS offer AMX-BF16 tiles to this process. */
  amx: boolean;
}

/** A typed view of CUDA device memory (the device twin of a typed array). */
export interface CudaArray {
  readonly length: number;
  readonly dtype: 'float32' | 'int32' | 'uint8';
  /** True after dispose(). */
  readonly disposed: boolean;
  /** Elements [begin, end) as a view of the same memory. */
  subarray(begin?: number, end?: number): CudaArray;
  /** Lets go of this view's memory now instead of at garbage collection. */
  dispose(): void;
}

export interface CudaDeviceInfo {
  name: string;
  computeCapability: string;
  multiprocessors: number;
  totalMemory: number;
  driverVersion: number;
  runtimeVersion: number;
  /** True for the CPU emulation library (tests). */
  emulated: boolean;
  /** SM clock in kHz (0 when unknown). */
  clockKHz: number;
}

export interface CudaStatus {
  available: boolean;
  /** Why it is, or is not, available. */
  reason: string;
  /** The library that was opened, if any. */
  library?: string;
  device?: CudaDeviceInfo;
}

export interface CudaMemoryStats {
  /** Bytes in live device buffers. */
  allocatedBytes: number;
  /** allocatedBytes plus the caching allocator's free blocks. */
  reservedBytes: number;
  peakAllocatedBytes: number;
  allocations: number;
  cacheHits: number;
  deviceMallocs: number;
}

/** Float32 buffers of the kernel contract: host typed arrays or device arrays. */
export type F32Buffer = Float32Array | CudaArray;
export type I32Buffer = Int32Array | CudaArray;

/** What mpiInit reports (native/binding/distributed.cpp). */
export interface MpiInitResult {
  ok: boolean;
  error: string;
  rank: number;
  size: number;
  /** MPI_Get_library_version. */
  version: string;
  /** The libmpi file that was opened. */
  library: string;
}

/** The end of one collective: `seconds` the communication thread spent on it. */
export interface MpiOutcome {
  ok: boolean;
  error: string;
  /** It (or the earlier collective that broke communication) ran past the timeout. */
  timedOut: boolean;
  seconds: number;
}

export interface MpiStats {
  /** Communication-thread seconds inside collectives, all so far. */
  busySeconds: number;
  collectives: number;
  bytes: number;
}

/** The addon's export table, one entry per native function. */
export interface NativeAddon {
  CudaArray: abstract new () => CudaArray;
  cudaLoad(candidates: string[], explicitPath: boolean, disabledReason: string): CudaStatus;
  cudaAlloc(dtype: 'float32' | 'int32' | 'uint8', length: number, zero: boolean): CudaArray;
  cudaUpload(host: Float32Array | Int32Array | Uint8Array): CudaArray;
  cudaDownload(src: CudaArray, dst: Float32Array | Int32Array | Uint8Array): void;
  cudaCopy(dst: CudaArray, src: CudaArray): void;
  cudaFill(dst: CudaArray, value: number): void;
  cudaScale(x: CudaArray, out: CudaArray, alpha: number): void;
  cudaMemoryStats(): CudaMemoryStats;
  cudaEmptyCache(): void;
  cudaSynchronize(): void;

  cpuInfo(): CpuInfo;
  setNumThreads(n: number): void;
  numThreads(): number;
  setCpuIsa(isa: string): void;
  setCpuAmx(enabled: boolean): void;

  gemm(a: F32Buffer, b: F32Buffer, c: F32Buffer, opts: GemmOptions): void;
  gemmBatched(a: F32Buffer, b: F32Buffer, c: F32Buffer, opts: GemmBatchedOptions): void;
  gemmBf16(a: Float32Array, b: Float32Array, c: Float32Array, opts: GemmShapeOptions): void;

  attentionForward(
    q: F32Buffer, k: F32Buffer, v: F32Buffer, out: F32Buffer, lse: F32Buffer,
    opts: AttentionOptions,
  ): void;
  attentionBackward(
    dout: F32Buffer, q: F32Buffer, k: F32Buffer, v: F32Buffer, out: F32Buffer,
    lse: F32Buffer, dq: F32Buffer, dk: F32Buffer, dv: F32Buffer, opts: AttentionOptions,
  ): void;
  layerNormForward(
    x: F32Buffer, weight: F32Buffer, bias: F32Buffer,
    out: F32Buffer, mean: F32Buffer, rstd: F32Buffer, opts: LayerNormOptions,
  ): void;
  layerNormBackward(
    dout: F32Buffer, x: F32Buffer, weight: F32Buffer, mean: F32Buffer, rstd: F32Buffer,
    dx: F32Buffer, dweight: F32Buffer, dbias: F32Buffer, opts: NormShape,
  ): void;
  rmsNormForward(x: F32Buffer, weight: F32Buffer, out: F32Buffer, rstd: F32Buffer, opts: RmsNormOptions): void;
  rmsNormBackward(
    dout: F32Buffer, x: F32Buffer, weight: F32Buffer, rstd: F32Buffer,
    dx: F32Buffer, dweight: F32Buffer, opts: NormShape,
  ): void;

  softmaxCrossEntropy(
    logits: F32Buffer, targets: I32Buffer, dlogits: F32Buffer | null, opts: CrossEntropyOptions,
  ): CrossEntropyResult;
  tokenLogProbs(
    logits: F32Buffer, targets: I32Buffer, logp: F32Buffer, entropy: F32Buffer | null, opts: RowsShape,
  ): void;
  tokenLogProbsBackward(
    logits: F32Buffer, targets: I32Buffer, dlogp: F32Buffer, dentropy: F32Buffer | null,
    dlogits: F32Buffer, opts: RowsShape,
  ): void;

  geluForward(x: F32Buffer, out: F32Buffer, opts: GeluOptions): void;
  geluBackward(dout: F32Buffer, x: F32Buffer, dx: F32Buffer, opts: GeluOptions): void;
  siluForward(x: F32Buffer, out: F32Buffer): void;
  siluBackward(dout: F32Buffer, x: F32Buffer, dx: F32Buffer): void;
  ppoLoss(
    logp: F32Buffer, oldLogp: F32Buffer, refLogp: F32Buffer | null, advantages: F32Buffer,
    mask: F32Buffer, dlogp: F32Buffer, opts: PpoLossOptions,
  ): PpoStats;
  valueLoss(
    values: F32Buffer, oldValues: F32Buffer, returns: F32Buffer, mask: F32Buffer,
    dvalues: F32Buffer, opts: ValueLossOptions,
  ): ValueLossStats;

  embeddingForward(ids: I32Buffer, weight: F32Buffer, out: F32Buffer, opts: EmbeddingOptions): void;
  embeddingBackward(ids: I32Buffer, dout: F32Buffer, dweight: F32Buffer, opts: EmbeddingOptions): void;

  biasAdd(x: F32Buffer, bias: F32Buffer, opts: BiasOptions): void;
  biasBackward(dout: F32Buffer, dbias: F32Buffer, opts: BiasOptions): void;

  adamwStep(param: F32Buffer, grad: F32Buffer, m: F32Buffer, v: F32Buffer, opts: AdamWOptions): void;
  clipGradNorm(grads: F32Buffer[], opts: ClipGradNormOptions): number;

  permute(x: F32Buffer, out: F32Buffer, opts: PermuteOptions): void;
  elementwiseAdd(a: F32Buffer, b: F32Buffer, out: F32Buffer): void;
  elementwiseMul(a: F32Buffer, b: F32Buffer, out: F32Buffer): void;
  permute(x: Float32Array, out: Float32Array, opts: PermuteOptions): void;
  elementwiseAdd(a: Float32Array, b: Float32Array, out: Float32Array): void;
  elementwiseMul(a: Float32Array, b: Float32Array, out: Float32Array): void;

  // Open MPI, opened only when asked (lib/distributed).
  mpiOpen(library: string): { ok: boolean; error: string };
  mpiInit(opts: { timeoutSec?: number }): MpiInitResult;
  mpiSetTimeout(seconds: number): void;
  mpiAllReduceStart(buffer: Float32Array | Float64Array, op: 'sum' | 'max' | 'min'): number;
  mpiBroadcastStart(buffer: ArrayBufferView, root: number): number;
  mpiBarrierStart(): number;
  mpiWait(ticket: number): MpiOutcome;
  mpiDone(ticket: number): boolean;
  mpiStats(): MpiStats;
  mpiAbort(code: number): never;
  mpiFinalize(): void;
}

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The addon node-gyp-build picks (build/Release/ first, then prebuilds/<platform>-<arch>/) and its path. */
function loadAddon(): { addon: NativeAddon; file: string } {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as { resolve(root: string): string };
  try {
    const file = nodeGypBuild.resolve(packageRoot);
    return { addon: require(file) as NativeAddon, file };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `lmkit: no native build for ${process.platform}-${process.arch} (Node ${process.versions.node}) ` +
        `in ${packageRoot}: ${reason}\n` +
        'Run: npm rebuild lmkit --build-from-source   (needs python3, make and a C++17 compiler)',
    );
  }
}

const loaded = loadAddon();
export const addon: NativeAddon = loaded.addon;
/** Absolute path of the loaded addon file; the CUDA backend is looked for beside it first. */
export const addonPath: string = loaded.file;
