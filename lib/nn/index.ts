// Layers: every model is built from these.
export { Module } from './module.js';
export { Linear } from './linear.js';
export { Embedding } from './embedding.js';
export { LayerNorm, RMSNorm } from './norm.js';
export type { Norm } from './norm.js';
export { MLP } from './mlp.js';
export type { Activation } from './mlp.js';
export { MultiHeadAttention } from './attention.js';
export { CrossAttention } from './cross_attention.js';
export type { MemoryKv } from './cross_attention.js';
export type { AttentionOptions, LayerKvCache } from './attention.js';
export { TransformerBlock } from './block.js';
export type { BlockConfig } from './block.js';
