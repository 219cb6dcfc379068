// The public surface of lmkit.
export * as kernels from './kernels/index.js';
export {
  backendInfo, setBackend, defaultDevice, setNumThreads, numThreads, setCpuIsa, setCpuAmx, cudaMemoryStats, cudaEmptyCache, cudaSynchronize,
} from './runtime.js';
export type { BackendInfo, CpuInfo, CpuIsa, CudaDeviceInfo, CudaMemoryStats, Device } from './runtime.js';

export { LmkitError, CheckpointError, DataError, ConfigError, ShapeError, TrainingError, DeviceError } from './errors.js';
export { toHost as toHostBuffer } from './tensor/device.js';
export type { CudaArray, F32Buffer, I32Buffer } from './native.js';

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

// report: the demo's self-contained HTML report (inline CSS + SVG charts) and metrics.json.
export { renderReport } from './report/render_html.js';
export { writeReport, metricsJson, REPORT_FILES } from './report/write_report.js';
export type { WrittenReport } from './report/write_report.js';
export { checkReport } from './report/model.js';
export type { Report, RunInfo, StageTiming, ReportSection, LineChart, ChartSeries, ReportTable, TableCell, SampleGeneration } from './report/model.js';
export { renderLineChart, seriesStyle, SERIES_COLOURS } from './report/svg_chart.js';
export type { ChartRender, SkippedPoints } from './report/svg_chart.js';
export { linearScale, logScale, niceStep } from './report/ticks.js';
export type { AxisScale } from './report/ticks.js';
export { escapeHtml, formatNumber } from './report/format.js';
// --- tasks (issue #6): instruction/preference/prompt records and JSONL, synthetic task suite, simulated labeler ---
export { parseInstructionExample, parsePreferenceExample, parsePromptExample } from './data/records.js';
export type { InstructionExample, PreferenceExample, PromptExample } from './data/records.js';
export {
  readInstructionJsonl, readPreferenceJsonl, readPromptJsonl, loadInstructionJsonl, loadPreferenceJsonl, loadPromptJsonl,
  writeInstructionJsonl, writePreferenceJsonl, writePromptJsonl,
} from './data/records_jsonl.js';
export { TASK_FAMILIES, TASK_NAMES, TASK_CLUSTERS, TASK_CHARSET, DEFAULT_HELD_OUT, getTask, taskSplit } from './tasks/registry.js';
export type { TaskSplit } from './tasks/registry.js';
export { resolveParams } from './tasks/types.js';
export type { TaskFamily, TaskInstance, AnswerKind, ParamSpec, TaskParams } from './tasks/types.js';
export { buildInstanceSets, generateInstances, instanceKey } from './tasks/instances.js';
export type { InstanceSetOptions, InstanceSets } from './tasks/instances.js';
export { renderInstance, renderInstances, COT_TRIGGER } from './tasks/render.js';
export type { RenderOptions, FormMix } from './tasks/render.js';
export { scoreResponse, parseTaskAnswer, editDistance, editSimilarity, COT_ANSWER_PREFIX } from './tasks/scoring.js';
export type { AnswerForm, TaskScore } from './tasks/scoring.js';
export { SimulatedLabeler, writeLabeledPreferences, DEFAULT_LABELER } from './tasks/labeler.js';
export type { LabelerOptions, LabelerNoise, Assessment, Judgement, LabelItem } from './tasks/labeler.js';
// --- PPO (RLHF) stage, issue #6: trainer, rollouts, and the math (rewards, GAE, whitening, KL control).
export { ppo } from './stages/ppo.js';
export type { PpoOptions, PpoResult, PpoEvent, PpoStepStats } from './stages/ppo.js';
export { ppoConfig, DEFAULT_PPO } from './stages/ppo_config.js';
export type { PpoConfig } from './stages/ppo_config.js';
export {
  sampleResponses, collectRollout, responseBatch, responseLogProbs, responseValues, rewardFnFromScorer,
} from './stages/ppo_rollout.js';
export type {
  ValueModel, RewardFn, SequenceScorer, SamplingOptions, ResponseBatch, Rollout, CollectRolloutOptions,
} from './stages/ppo_rollout.js';
export { tokenRewards } from './stages/ppo_rewards.js';
export type { TokenRewards, TokenRewardsOptions } from './stages/ppo_rewards.js';
export { gae } from './stages/ppo_gae.js';
export type { Gae, GaeOptions } from './stages/ppo_gae.js';
export { maskedMean, maskedVar, maskedWhiten } from './stages/ppo_whiten.js';
export { AdaptiveKlController, FixedKlController } from './stages/kl_controller.js';
export type { KlController, AdaptiveKlOptions } from './stages/kl_controller.js';
export type { TokenGrid } from './stages/token_grid.js';
// Generation for the encoder-decoder and GLM families (issue #5): KV-cached sessions, blank filling, GLM cloze.
export { encoderDecoderSession } from './generate/encoder_decoder_session.js';
export { glmSession, GlmRows, firstBlank } from './generate/glm_session.js';
export { glmFillBlanks, fillBlankIds } from './generate/glm_fill.js';
export type { FillResult, FilledBlank, FilledIds } from './generate/glm_fill.js';
export { planGeneration } from './generate/families.js';
export type { GeneratingModel, GenerationPlan } from './generate/families.js';
export type { OpenedSession } from './generate/kv_cache.js';
export { glmClozeClassify, glmClozeClassifyText } from './generate/glm_scoring.js';
export { glmClozeRows, glmVerbalizerTokenLogProbs, glmVerbalizerScores, glmClozeLoss } from './objectives/glm_cloze.js';
export type { ClozeExample } from './objectives/glm_cloze.js';
export { glmSpecialTokens, GLM_SPECIAL_SPELLINGS } from './objectives/glm_specials.js';
export type { GlmForwardOptions } from './models/glm.js';
export type { EncoderDecoderDecodeOptions } from './models/encoder_decoder.js';
// --- instruction tuning (SFT) and reward model (issue #6, sftrm)
export { RESPONSE_END, renderPrompt, responseEndId } from './stages/instruction_format.js';
export { sft, evaluateSft, sftLossOn } from './stages/sft.js';
export type { SftOptions, SftResult, SftEvent } from './stages/sft.js';
export { encodeInstructions, packRows, collateSft } from './stages/sft_data.js';
export type { EncodedExample, SftBatch } from './stages/sft_data.js';
export { sftConfig, rewardConfig, DEFAULT_SFT, DEFAULT_REWARD } from './stages/stage_config.js';
export type { StageConfig, SftConfig, RewardConfig } from './stages/stage_config.js';
export type { LoopEvent } from './stages/training_loop.js';
export { RewardModel, scoreSequences, padSequences, rewardModelCheckpointConfig, rewardModelFromCheckpoint, REWARD_MODEL_TYPE } from './models/reward_model.js';
export { pairwiseRankingLoss, rankingPairs, checkRanking, pairAccuracy, negLogSigmoid } from './objectives/pairwise_ranking.js';
export { trainRewardModel, evaluateRewardModel, rewardLossOn } from './stages/reward.js';
export type { RewardOptions, RewardResult, RewardEvent, RewardEvaluation } from './stages/reward.js';
export { encodePreferences, collatePreferences } from './stages/reward_data.js';
export type { EncodedPreference, PreferenceBatch } from './stages/reward_data.js';
// Architectures: pre-training (lmkit train --arch) and checkpoints for every model family.
export { ARCHS, archOf, parseArch, checkpointArch, MODEL_TYPES } from './models/arch.js';
export type { Arch, LanguageModel, ModelOf } from './models/arch.js';
export { modelFromCheckpoint, modelCheckpointConfig } from './models/model_checkpoint.js';
export {
  MLM_TOKENS, T5_TOKENS, GLM_TOKENS, sentinelToken, mlmSpecialTokens, t5SpecialTokens, glmAddedTokens, mlmTokenIds, t5TokenIds, glmTokenIds,
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

// --- stage CLIs (issue #6, stagecli): GLM cloze fine-tuning, cloze JSONL, GLM checkpoints, PPO run folder.
// Renamed here to avoid clashes: the stage's { text, label } record is ClozeTextExample (ClozeExample is objectives' token-id form), its result ClozeFineTuneResult (ClozeResult is generate's).
export { clozeFineTune, clozeAccuracy, clozeEvaluationOn, clozeLabelLogProbs, encodeVerbalizers, encodeClozeExamples } from './stages/cloze.js';
export type { ClozeOptions, ClozeResult as ClozeFineTuneResult, ClozeEvent, ClozeEvaluation, ClozeLabels } from './stages/cloze.js';
export { clozeConfig, DEFAULT_CLOZE } from './stages/stage_config.js';
export type { ClozeConfig } from './stages/stage_config.js';
export { readClozeJsonl, loadClozeJsonl, writeClozeJsonl, parseClozeExample, countMasks, CLOZE_MASK } from './data/cloze_jsonl.js';
export type { ClozeExample as ClozeTextExample } from './data/cloze_jsonl.js';
export { glmCheckpointConfig, glmFromCheckpoint, GLM_MODEL_TYPE } from './models/glm_checkpoint.js';
export { PromptOrder, writePpoCheckpoint, parsePpoRunState, readValueCheckpoint, valueModelConfig, weightsSha256, ppoStatsFromMetrics, VALUE_CHECKPOINT, VALUE_MODEL_TYPE } from './stages/ppo_checkpoint.js';
export type { PpoRunState, PpoCheckpointParts } from './stages/ppo_checkpoint.js';

// --- serving (issue #8): the embeddable engine (worker threads, continuous batching) and the OpenAI-compatible server.
export { createEngine, Engine } from './serve/engine.js';
export type { EngineOptions, EngineGenerateOptions, EngineBeamOptions, EngineResult, EngineFinish, EngineStats, GenerationStream } from './serve/engine.js';
export { createApiServer, ApiServer, defaultLimits } from './serve/server.js';
export type { ApiServerOptions, ServerLimits } from './serve/server.js';
export { RequestError, EngineError } from './serve/errors.js';
export type { RequestErrorCode, EngineErrorCode } from './serve/errors.js';
export { ContinuousBatcher } from './serve/batcher.js';
export type { SequenceJob, BatchEvent, BatchFinish } from './serve/batcher.js';
export { KvSlotPool } from './serve/slot_pool.js';
export { MetricsRegistry } from './serve/metrics.js';
// --- distributed (issue #11): data-parallel training on Open MPI, opened at run time only under mpirun or initDistributed().
export { DistributedError } from './errors.js';
export {
  initDistributed, defaultWorld, launchedByMpi, rank, worldSize, allReduce, broadcast, barrier, SINGLE_PROCESS,
  DataParallel, drawShard, checkReplicasAgree, shareCheckpoint,
} from './distributed/index.js';
export type { World, Collective, CommStats, ReduceOp, InitDistributedOptions, DataParallelOptions, StepTotals } from './distributed/index.js';
// --- types that public signatures use (so consumers can name them, and the API reference lists them)
export type { HostArray, Storage } from './tensor/device.js';
export type { DecoderForwardOptions } from './models/decoder.js';
export type { TensorData } from './io/safetensors.js';
export type { JsonlRecord, Validator } from './io/jsonl.js';
export type { ChatErrorCode, TokenCounter } from './generate/chat.js';
export type { PromptErrorCode } from './generate/prompts.js';
export type { ResolvedOptions } from './generate/options.js';
export type { ProcessorOptions, RowContext, WarperOptions } from './generate/sampling.js';
export type { SequenceFinish, SequenceOptions } from './serve/sequence.js';
export type { ServerMetrics } from './serve/server_metrics.js';
export type { ModelInfo, WorkerMemory } from './serve/worker_protocol.js';
