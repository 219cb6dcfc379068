// The public surface of lmkit.
export * as kernels from './kernels/index.js';
export { backendInfo, setNumThreads, numThreads, setCpuIsa } from './runtime.js';
export type { BackendInfo, CpuInfo, CpuIsa } from './runtime.js';

export { LmkitError, CheckpointError, DataError, ConfigError, ShapeError, TrainingError } from './errors.js';

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
export { GLM } from './models/glm.js';
export { glmConfig } from './models/glm_config.js';
export type { GlmConfig } from './models/glm_config.js';
export {
  blankInfillingExample, buildGlmExample, gMaskExample, collateGlm, sampleSpans, DEFAULT_BLANK_INFILLING,
} from './objectives/blank_infilling.js';
export type { GlmExample, GlmBatch, GlmSpecialTokens, BlankInfillingConfig, Span } from './objectives/blank_infilling.js';
export { EncoderLM } from './models/encoder.js';
export { encoderConfig } from './models/encoder_config.js';
export type { EncoderConfig } from './models/encoder_config.js';
export { maskTokens, mlmBatch } from './objectives/mlm.js';
export type { MlmConfig, MlmExample, MlmBatch } from './objectives/mlm.js';
export { EncoderDecoderLM } from './models/encoder_decoder.js';
export { encoderDecoderConfig } from './models/encoder_decoder_config.js';
export type { EncoderDecoderConfig } from './models/encoder_decoder_config.js';
export { DecoderBlockWithCross } from './nn/cross_block.js';
export { randomSpansNoiseMask, corruptSpans, spanCorrupt, reconstructSpans, T5_SPAN_CORRUPTION } from './objectives/span_corruption.js';
export type { SpanCorruptionConfig, SpanCorrupted } from './objectives/span_corruption.js';
export { padBatch } from './objectives/pad_batch.js';
export type { PaddedBatch } from './objectives/pad_batch.js';

export { AdamW } from './optim/adamw.js';
export type { AdamWConfig, AdamWState } from './optim/adamw.js';
export { learningRate } from './optim/schedule.js';
export type { CosineSchedule } from './optim/schedule.js';

export { readSafetensors, writeSafetensors, parseSafetensors, toFloat32, toInt32 } from './io/safetensors.js';
export type { SafetensorsDtype, StoredTensor, SafetensorsFile, TensorToWrite } from './io/safetensors.js';
export { readJsonl, loadJsonl } from './io/jsonl.js';

export * as tokenizer from './tokenizer/index.js';

export { TextCorpus } from './data/text_corpus.js';
export type { Batch, Split, TokenizerSpec, TextCorpusOptions } from './data/text_corpus.js';
export { saveCheckpoint, readCheckpoint, locateCheckpoint, recoverCheckpoint, CHECKPOINT_FILES } from './io/checkpoint.js';
export type { CheckpointContents, LoadedCheckpoint, OptimizerMoments } from './io/checkpoint.js';
export { decoderFromCheckpoint, decoderCheckpointConfig } from './models/decoder_checkpoint.js';
export { pretrain, accumulateGradients, estimateLoss } from './stages/pretrain.js';
export type { PretrainOptions, PretrainResult, PretrainEvent } from './stages/pretrain.js';
export { pretrainConfig, DEFAULT_PRETRAIN } from './stages/pretrain_config.js';
export type { PretrainConfig } from './stages/pretrain_config.js';
export { presetConfig, PRESETS } from './stages/presets.js';

export { generate, stream } from './generate/generate.js';
export type { GenerateOptions, GeneratedSequence, PromptInput, StreamPiece, FinishReason } from './generate/generate.js';
export { beamSearch, BeamHypotheses } from './generate/beam_search.js';
export type { BeamSearchOptions, BeamHypothesis, EarlyStopping } from './generate/beam_search.js';
export { decoderSession, reorderCache } from './generate/kv_cache.js';
export type { DecodeSession, SessionFactory } from './generate/kv_cache.js';
export { processLogits, warpLogits, pickToken, sampleToken, applyTopK, applyTopP, applyRepetitionPenalty, applyNoRepeatNgram } from './generate/sampling.js';
export {
  PromptError, fillTemplate, zeroShotPrompt, oneShotPrompt, fewShotPrompt, selectDemonstrations,
  chainOfThoughtPrompt, zeroShotCotPrompt, zeroShotCotAnswerPrompt, TRANSLATION_TEMPLATE, CHAIN_OF_THOUGHT_TEMPLATE,
} from './generate/prompts.js';
export type { FewShotTemplate, CotExemplar, PromptFields, ZeroShotCotTemplate } from './generate/prompts.js';
export { parseFirstNumber, parseLabel, parseAnswerIs, parseYesNo } from './generate/answers.js';
export { ChatError, chatPrompt, renderChat, renderMessage, DEFAULT_CHAT_TEMPLATE } from './generate/chat.js';
export type { ChatMessage, ChatRole, ChatTemplate, ChatPrompt, ChatPromptOptions } from './generate/chat.js';
export { scoreContinuations, sequenceLogLikelihood, clozeClassify, clozeClassifyText } from './generate/scoring.js';
export type { ScoreRequest, ScoreResult, ScoreOptions, ClozeResult } from './generate/scoring.js';

// Architectures: pre-training (lmkit train --arch) and checkpoints for every model family.
export { ARCHS, archOf, parseArch, checkpointArch, MODEL_TYPES } from './models/arch.js';
export type { Arch, LanguageModel, ModelOf } from './models/arch.js';
export { modelFromCheckpoint, modelCheckpointConfig } from './models/model_checkpoint.js';
export {
  MLM_TOKENS, T5_TOKENS, GLM_TOKENS, sentinelToken, mlmSpecialTokens, t5SpecialTokens, glmSpecialTokens, mlmTokenIds, t5TokenIds, glmTokenIds,
} from './objectives/special_tokens.js';
export type { MlmTokenIds, T5TokenIds, GlmTokenIds } from './objectives/special_tokens.js';
export { noiseSpanCounts } from './objectives/span_corruption.js';
export { accumulateLoss } from './stages/pretrain.js';
export type { LossEstimate } from './stages/pretrain.js';
export { resolvedModelKeys, resolvedObjectiveKeys, OBJECTIVE_KEYS } from './stages/pretrain_config.js';
export type { ModelKeys, ObjectiveKeys } from './stages/pretrain_config.js';
export { ARCH_ADAPTERS } from './stages/pretrain_task.js';
export type { ArchAdapter, PretrainTask, ObjectiveBatch, TaskSetup } from './stages/pretrain_task.js';
export { UnigramBaseline, unigramBaseline } from './stages/unigram_baseline.js';
