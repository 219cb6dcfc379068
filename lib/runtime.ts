// Backend selection and the CPU runtime knobs (threads, instruction set).
import { addon, type CpuInfo } from './native.js';

export type { CpuInfo };

export interface BackendInfo {
  /** The backend kernels run on. */
  backend: 'cpu' | 'cuda';
  cpu: CpuInfo;
  cuda: { available: boolean; reason: string };
}

/** What the kernels run on and why. */
export function backendInfo(): BackendInfo {
  return {
    backend: 'cpu',
    cpu: addon.cpuInfo(),
    cuda: { available: false, reason: 'this build of lmkit has no CUDA backend' },
  };
}

/** Resizes lmkit's thread pool (default: LMKIT_NUM_THREADS, else the usable cores). */
export function setNumThreads(n: number): void {
  addon.setNumThreads(n);
}

export function numThreads(): number {
  return addon.numThreads();
}

export type CpuIsa = 'scalar' | 'avx2' | 'avx512';

/**
 * Caps the CPU kernels to one instruction set (for tests and benchmarks;
 * LMKIT_CPU_ISA does the same at load). Throws if the CPU lacks it.
 */
export function setCpuIsa(isa: CpuIsa): void {
  addon.setCpuIsa(isa);
}
