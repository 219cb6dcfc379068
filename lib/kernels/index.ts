// lmkit.kernels: the native kernel contract (SPEC §2), one module per family.
export * from './gemm.js';
export * from './ppo_loss.js';
export * from './embedding.js';
export * from './bias.js';
export * from './optimizer.js';
