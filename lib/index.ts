// The public surface of lmkit.
export * as kernels from './kernels/index.js';
export { backendInfo, setNumThreads, numThreads, setCpuIsa } from './runtime.js';
export type { BackendInfo, CpuInfo, CpuIsa } from './runtime.js';

export { LmkitError, CheckpointError, DataError, ConfigError, ShapeError } from './errors.js';

export { Tensor, tensor, intTensor, zeros, full } from './tensor/tensor.js';
export type { DType, Shape } from './tensor/tensor.js';
export { backward, noGrad, isGradEnabled } from './tensor/autograd.js';
export { gradcheck } from './tensor/gradcheck.js';
export type { GradcheckOptions, GradcheckResult } from './tensor/gradcheck.js';
export { Random } from './tensor/random.js';
export type { RngState } from './tensor/random.js';
export * as ops from './tensor/ops/index.js';

export * as nn from './nn/index.js';
export { DecoderLM } from './models/decoder.js';
export { decoderConfig } from './models/decoder_config.js';
export type { DecoderConfig } from './models/decoder_config.js';
export { saveWeights, loadWeights } from './models/weights.js';

export { AdamW } from './optim/adamw.js';
export type { AdamWConfig, AdamWState } from './optim/adamw.js';
export { learningRate } from './optim/schedule.js';
export type { CosineSchedule } from './optim/schedule.js';

export { readSafetensors, writeSafetensors, parseSafetensors, toFloat32, toInt32 } from './io/safetensors.js';
export type { SafetensorsDtype, StoredTensor, SafetensorsFile, TensorToWrite } from './io/safetensors.js';
export { readJsonl, loadJsonl } from './io/jsonl.js';

export * as tokenizer from './tokenizer/index.js';
