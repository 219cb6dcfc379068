// lmkit.kernels: the native kernel contract (SPEC §2), one module per family.
export * from './gemm.js';
export * from './attention.js';
