// Loads the native addon (a prebuild when one matches, else the local build)
// and declares the shape of its export table. Nothing else in lib/ touches
// node-gyp-build or the raw addon.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import type { GemmOptions, GemmBatchedOptions } from './kernels/gemm.js';
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
}

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
  cpuInfo(): CpuInfo;
  setNumThreads(n: number): void;
  numThreads(): number;
  setCpuIsa(isa: string): void;

  gemm(a: Float32Array, b: Float32Array, c: Float32Array, opts: GemmOptions): void;
  gemmBatched(a: Float32Array, b: Float32Array, c: Float32Array, opts: GemmBatchedOptions): void;

  attentionForward(
    q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array, lse: Float32Array,
    opts: AttentionOptions,
  ): void;
  attentionBackward(
    dout: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array, out: Float32Array,
    lse: Float32Array, dq: Float32Array, dk: Float32Array, dv: Float32Array, opts: AttentionOptions,
  ): void;
  layerNormForward(
    x: Float32Array, weight: Float32Array, bias: Float32Array,
    out: Float32Array, mean: Float32Array, rstd: Float32Array, opts: LayerNormOptions,
  ): void;
  layerNormBackward(
    dout: Float32Array, x: Float32Array, weight: Float32Array, mean: Float32Array, rstd: Float32Array,
    dx: Float32Array, dweight: Float32Array, dbias: Float32Array, opts: NormShape,
  ): void;
  rmsNormForward(x: Float32Array, weight: Float32Array, out: Float32Array, rstd: Float32Array, opts: RmsNormOptions): void;
  rmsNormBackward(
    dout: Float32Array, x: Float32Array, weight: Float32Array, rstd: Float32Array,
    dx: Float32Array, dweight: Float32Array, opts: NormShape,
  ): void;

  softmaxCrossEntropy(
    logits: Float32Array, targets: Int32Array, dlogits: Float32Array | null, opts: CrossEntropyOptions,
  ): CrossEntropyResult;
  tokenLogProbs(
    logits: Float32Array, targets: Int32Array, logp: Float32Array, entropy: Float32Array | null, opts: RowsShape,
  ): void;
  tokenLogProbsBackward(
    logits: Float32Array, targets: Int32Array, dlogp: Float32Array, dentropy: Float32Array | null,
    dlogits: Float32Array, opts: RowsShape,
  ): void;

  geluForward(x: Float32Array, out: Float32Array, opts: GeluOptions): void;
  geluBackward(dout: Float32Array, x: Float32Array, dx: Float32Array, opts: GeluOptions): void;
  siluForward(x: Float32Array, out: Float32Array): void;
  siluBackward(dout: Float32Array, x: Float32Array, dx: Float32Array): void;
  ppoLoss(
    logp: Float32Array, oldLogp: Float32Array, refLogp: Float32Array | null, advantages: Float32Array,
    mask: Float32Array, dlogp: Float32Array, opts: PpoLossOptions,
  ): PpoStats;
  valueLoss(
    values: Float32Array, oldValues: Float32Array, returns: Float32Array, mask: Float32Array,
    dvalues: Float32Array, opts: ValueLossOptions,
  ): ValueLossStats;

  embeddingForward(ids: Int32Array, weight: Float32Array, out: Float32Array, opts: EmbeddingOptions): void;
  embeddingBackward(ids: Int32Array, dout: Float32Array, dweight: Float32Array, opts: EmbeddingOptions): void;

  biasAdd(x: Float32Array, bias: Float32Array, opts: BiasOptions): void;
  biasBackward(dout: Float32Array, dbias: Float32Array, opts: BiasOptions): void;

  adamwStep(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, opts: AdamWOptions): void;
  clipGradNorm(grads: Float32Array[], opts: ClipGradNormOptions): number;

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

function loadAddon(): NativeAddon {
  const require = createRequire(import.meta.url);
  const nodeGypBuild = require('node-gyp-build') as (root: string) => unknown;
  try {
    return nodeGypBuild(packageRoot) as NativeAddon;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(
      `lmkit: no native build for ${process.platform}-${process.arch} (Node ${process.versions.node}) ` +
        `in ${packageRoot}: ${reason}\n` +
        'Run: npm rebuild lmkit --build-from-source   (needs python3, make and a C++17 compiler)',
    );
  }
}

export const addon: NativeAddon = loadAddon();
