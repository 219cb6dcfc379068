// Backend selection and the runtime knobs: CPU threads and instruction set,
// the CUDA backend's status, memory and stream.
import { DeviceError } from './errors.js';
import { addon, addonPath, type CpuInfo, type CudaDeviceInfo, type CudaMemoryStats } from './native.js';
import { cudaStatus, requestedBackend, requireCuda, type Device } from './tensor/device.js';

export type { CpuInfo, CudaDeviceInfo, CudaMemoryStats, Device };

export interface BackendInfo {
  /** The default device: where lmkit.defaultDevice() puts models (tensors start on 'cpu' either way). */
  backend: Device;
  /** LMKIT_BACKEND or the last setBackend() ('auto' picks CUDA when it is available). */
  requested: 'cpu' | 'cuda' | 'auto';
  /** The native addon file in use: a prebuild (prebuilds/<platform>-<arch>/) or a source build (build/Release/). */
  addon: string;
  cpu: CpuInfo;
  cuda: { available: boolean; reason: string; library?: string; device?: CudaDeviceInfo };
}

let requested: 'cpu' | 'cuda' | 'auto' | null = null;

/**
 * What the kernels run on and why. The first call (or the first use of a
 * 'cuda' tensor) looks for the CUDA backend; importing lmkit never does.
 */
export function backendInfo(): BackendInfo {
  const want = requested ?? requestedBackend();
  // LMKIT_BACKEND=cpu never opens anything: cudaStatus() reports it.
  const cuda = cudaStatus();
  const backend: Device = want !== 'cpu' && cuda.available ? 'cuda' : 'cpu';
  return { backend, requested: want, addon: addonPath, cpu: addon.cpuInfo(), cuda: { ...cuda } };
}

/** The device models go to by default: 'cuda' when chosen (or auto) and available, else 'cpu'. */
export function defaultDevice(): Device {
  return backendInfo().backend;
}

/** Chooses the default device; 'cuda' throws a DeviceError with the reason when CUDA is unavailable. */
export function setBackend(backend: 'cpu' | 'cuda' | 'auto'): void {
  if (backend !== 'cpu' && backend !== 'cuda' && backend !== 'auto')
    throw new TypeError(`setBackend: expected one of 'cpu', 'cuda', 'auto' for backend but received ${JSON.stringify(backend)}`);
  if (backend === 'cuda') requireCuda('setBackend');
  requested = backend;
}

/** The CUDA caching allocator's counters. */
export function cudaMemoryStats(): CudaMemoryStats {
  requireCuda('cudaMemoryStats');
  return addon.cudaMemoryStats();
}

/** Returns the allocator's cached (free) blocks to the device. */
export function cudaEmptyCache(): void {
  requireCuda('cudaEmptyCache');
  addon.cudaEmptyCache();
}

/** Waits until every queued CUDA kernel and copy has finished (for timing). */
export function cudaSynchronize(): void {
  if (!cudaStatus().available) throw new DeviceError('CUDA_UNAVAILABLE', `cudaSynchronize: ${cudaStatus().reason}`);
  addon.cudaSynchronize();
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

/**
 * Lets gemmBf16 use AMX-BF16 tiles where the CPU has them (the default), or
 * not: then it runs on vdpbf16ps (for tests and benchmarks; LMKIT_CPU_AMX=0
 * does the same at load). Throws when enabling it on a CPU without AMX.
 */
export function setCpuAmx(enabled: boolean): void {
  addon.setCpuAmx(enabled);
}
