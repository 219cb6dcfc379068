// lmkit.kernels: the native kernel contract (SPEC §2), one module per family.
export * from './gemm.js';
export * from './attention.js';
export * from './layernorm.js';
export * from './cross_entropy.js';
export * from './activations.js';
export * from './ppo_loss.js';
export * from './embedding.js';
export * from './bias.js';
export * from './optimizer.js';
export * from './permute.js';
export * from './elementwise.js';
