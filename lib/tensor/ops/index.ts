// Differentiable tensor ops, one module per family.
export * from './elementwise.js';
export * from './shape.js';
export * from './linear.js';
export * from './matmul_precision.js';
export * from './norm.js';
export * from './activation.js';
export * from './attention.js';
export * from './loss.js';
export * from './embedding.js';
export * from './dropout.js';
export * from './rope.js';
export * from './log_probs.js';
export * from './ppo_loss.js';
