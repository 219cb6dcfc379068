// The public surface of lmkit.
export * as kernels from './kernels/index.js';
export { backendInfo, setNumThreads, numThreads, setCpuIsa } from './runtime.js';
export type { BackendInfo, CpuInfo, CpuIsa } from './runtime.js';
