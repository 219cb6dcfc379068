// `lmkit compare`: the seed article's claim about architectures, measured.
// The four families (decoder, encoder, encoder-decoder, GLM) at GLM's
// parameter count (sizing.ts), each pre-trained on the same corpus budget
// with its own objective (causal LM, MLM, span corruption, blank infilling),
// then, on the same data (data.ts):
//   NLU                classification, zero-shot / few-shot / fine-tuned (accuracy)
//   conditional gen.   the cipher "translation", zero/few-shot / fine-tuned (exact match, char F1)
//   unconditional gen. per-character perplexity of held-out corpus text
// Fine-tuning runs once per seed in config.finetuneSeeds; the spread over
// them is kept. Every number is measured in this run and the same config
// gives the same numbers (wall times aside).
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { TextCorpus } from '../data/text_corpus.js';
import type { Arch } from '../models/arch.js';
import type { DecoderLM } from '../models/decoder.js';
import type { EncoderDecoderLM } from '../models/encoder_decoder.js';
import type { EncoderLM } from '../models/encoder.js';
import type { GLM } from '../models/glm.js';
import { pretrain } from '../stages/pretrain.js';
import { resolvedModelKeys, resolvedObjectiveKeys } from '../stages/pretrain_config.js';
import { ARCH_ADAPTERS } from '../stages/pretrain_task.js';
import { Random } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { checkCompareConfig, type CompareConfig } from './config.js';
import { buildCompareData, checkPromptsFit, drawDemos, type CompareData } from './data.js';
import { decoderAdapter } from './families/decoder.js';
import { encoderDecoderAdapter } from './families/encoder_decoder.js';
import { encoderAdapter } from './families/encoder.js';
import { glmAdapter } from './families/glm.js';
import { isUnsupported, type FamilyAdapter, type Unsupported } from './family.js';
import type { FineTuneSettings } from './finetune.js';
import { nluLabels } from './formats.js';
import { accuracy, charF1, exactMatch, perCharPerplexity, spread, type Spread } from './metrics.js';
import { familyPretrainConfig, sizeFamilies, type FamilyShape } from './sizing.js';
import { compareTokenizer } from './tokenizer.js';

/** A measured metric over seeds, or why the family cannot be measured there. */
export type Cell = Spread | Unsupported;

export interface SettingCells {
  zeroShot: Cell;
  fewShot: Cell;
  fineTuned: Cell;
}

export interface NluResult extends SettingCells {
  task: string;
}

export interface FamilyResult {
  arch: Arch;
  shape: string;
  parameters: number;
  pretrain: {
    /** Corpus tokens read: iters × batch_size × block_size, the same for every family. */
    corpusTokens: number;
    /** Tokens the objective predicts per corpus token, measured on the first windows. */
    targetShare: number;
    valLoss: number | null;
    unigramValLoss: number | null;
    seconds: number;
  };
  methods: { nlu: { prompted: string; fineTuned: string }; seq2seq: { prompted: string; fineTuned: string } | null };
  nlu: NluResult[];
  seq2seq: { exact: SettingCells; charF1: SettingCells };
  /** Per-character perplexity of the held-out segments. */
  text: { kind: 'likelihood' | 'pseudo'; perplexity: number; how: string } | ({ kind: 'none' } & Unsupported);
  /** Seconds spent fine-tuning and evaluating (all tasks, all seeds). */
  evalSeconds: number;
  /** A few fine-tuned generations: [source, reference, prediction]. */
  samples: [string, string, string][];
}

export interface CompareResult {
  config: CompareConfig;
  vocabSize: number;
  /** Examples per evaluation set. */
  evalSizes: { nlu: Record<string, number>; seq2seq: number; textChars: number };
  families: FamilyResult[];
  seconds: number;
}

export type CompareEvent =
  | { type: 'family'; arch: Arch; index: number; total: number; shape: string; parameters: number }
  | { type: 'pretrain'; arch: Arch; iter: number; maxIters: number; loss: number; etaSec: number }
  | { type: 'phase'; arch: Arch; phase: string }
  | { type: 'result'; arch: Arch; text: string };

export interface CompareOptions {
  config: CompareConfig;
  /** The pre-training corpus (UTF-8 text). */
  corpusFile: string;
  /** Where the shared tokenizer.json is written. */
  workDir: string;
  onEvent?: (e: CompareEvent) => void;
}

function adapterFor(arch: Arch, model: unknown, tokenizer: Tokenizer): FamilyAdapter {
  switch (arch) {
    case 'decoder': return decoderAdapter(model as DecoderLM, tokenizer);
    case 'encoder': return encoderAdapter(model as EncoderLM, tokenizer);
    case 'encoder-decoder': return encoderDecoderAdapter(model as EncoderDecoderLM, tokenizer);
    case 'glm': return glmAdapter(model as GLM, tokenizer);
  }
}

/** Predicted tokens per corpus token under the family's objective, over a few windows (its own RNG stream). */
function targetShare(shape: FamilyShape, c: CompareConfig, tokenizer: Tokenizer, corpus: TextCorpus): number {
  const config = familyPretrainConfig(shape.arch, shape.model, c, 'unused.json');
  const task = ARCH_ADAPTERS[shape.arch].createTask({ tokenizer, blockSize: c.pretrain.block_size, model: resolvedModelKeys(config), objective: resolvedObjectiveKeys(config), seed: 0 });
  const rng = new Random(c.seed + 5);
  let targets = 0, tokens = 0;
  for (let k = 0; k < 8; k++) {
    const batch = task.makeBatch(corpus.getBatch('train', c.pretrain.batch_size, c.pretrain.block_size, rng), rng);
    targets += batch.targets.reduce((n, id) => n + (id === -100 ? 0 : 1), 0);
    tokens += c.pretrain.batch_size * c.pretrain.block_size;
  }
  return targets / tokens;
}

/** A metric per seed, or the family's reason when it cannot do the task. */
function perSeed(seeds: readonly number[], run: (seed: number) => number | Unsupported): Cell {
  const values: number[] = [];
  for (const seed of seeds) {
    const v = run(seed);
    if (isUnsupported(v)) return v;
    values.push(v);
  }
  return spread(values);
}

function evaluateFamily(adapter: FamilyAdapter, data: CompareData, c: CompareConfig, emit: (e: CompareEvent) => void): Omit<FamilyResult, 'arch' | 'shape' | 'parameters' | 'pretrain' | 'evalSeconds'> {
  const arch = adapter.arch;
  const seeds = c.finetuneSeeds;
  const settings = (part: 'nlu' | 'seq2seq', seed: number): FineTuneSettings =>
    ({ iters: c[part].iters, batchSize: c[part].batch_size, learningRate: c[part].learning_rate, seed });

  emit({ type: 'phase', arch, phase: 'held-out text likelihood' });
  const score = adapter.textNll(data.segments);
  const text = score.kind === 'none' ? score : { kind: score.kind, perplexity: perCharPerplexity({ nll: score.nll, chars: data.segmentChars }), how: score.how };

  const nlu = data.nlu.map(({ task, train, eval: queries }): NluResult => {
    emit({ type: 'phase', arch, phase: `${task}: zero-shot, ${c.shots}-shot, fine-tuning` });
    const gold = queries.map((q) => q.label);
    nluLabels(task);
    const prompted = (demos: readonly (readonly typeof train[number][])[]): number | Unsupported => {
      const p = adapter.promptNlu(task, queries, demos);
      return isUnsupported(p) ? p : accuracy(p, gold);
    };
    return {
      task,
      zeroShot: perSeed([0], () => prompted(queries.map(() => []))),
      fewShot: perSeed(seeds, (seed) => prompted(drawDemos(train, queries.length, c.shots, seed + 100))),
      fineTuned: perSeed(seeds, (seed) => accuracy(adapter.fineTuneNlu(task, train, queries, settings('nlu', seed)).predictions, gold)),
    };
  });

  emit({ type: 'phase', arch, phase: `cipher: zero-shot, ${c.shots}-shot, fine-tuning` });
  const { train, eval: queries } = data.seq2seq;
  const sources = queries.map((q) => q.source), refs = queries.map((q) => q.target);
  const maxNewTokens = c.seq2seq.maxLength + 4; // room for a wrong, longer answer to be read whole
  const both = (predictions: string[] | Unsupported): [number, number] | Unsupported =>
    isUnsupported(predictions) ? predictions : [exactMatch(predictions, refs), charF1(predictions, refs)];
  const samples: [string, string, string][] = [];
  const runs = {
    zeroShot: seeds.slice(0, 1).map(() => both(adapter.promptSeq2Seq(sources, sources.map(() => []), maxNewTokens))),
    fewShot: seeds.map((seed) => both(adapter.promptSeq2Seq(sources, drawDemos(train, sources.length, c.shots, seed + 200), maxNewTokens))),
    fineTuned: seeds.map((seed, k) => {
      const r = adapter.fineTuneSeq2Seq(train, sources, settings('seq2seq', seed), maxNewTokens);
      if (isUnsupported(r)) return r;
      if (k === 0) for (let i = 0; i < Math.min(4, sources.length); i++) samples.push([sources[i]!, refs[i]!, r.predictions[i]!]);
      return both(r.predictions);
    }),
  };
  const cell = (xs: ([number, number] | Unsupported)[], which: 0 | 1): Cell => {
    const bad = xs.find(isUnsupported);
    return bad ?? spread(xs.map((x) => (x as [number, number])[which]));
  };
  const pick = (which: 0 | 1): SettingCells => ({ zeroShot: cell(runs.zeroShot, which), fewShot: cell(runs.fewShot, which), fineTuned: cell(runs.fineTuned, which) });
  return {
    methods: { nlu: adapter.nluMethod, seq2seq: adapter.seq2seqMethod },
    nlu, seq2seq: { exact: pick(0), charF1: pick(1) }, text, samples,
  };
}

export function runCompare(o: CompareOptions): CompareResult {
  const c = o.config;
  checkCompareConfig(c);
  const emit = o.onEvent ?? (() => {});
  const started = performance.now();
  mkdirSync(o.workDir, { recursive: true });
  const tokenizer = compareTokenizer(readFileSync(o.corpusFile, 'utf8'), c.pretrain.block_size);
  const tokenizerFile = path.join(o.workDir, 'tokenizer.json');
  tokenizer.save(tokenizerFile);
  const shapes = sizeFamilies(c, tokenizer);
  const data = buildCompareData(c, tokenizer, o.corpusFile);
  checkPromptsFit(data, c, tokenizer);
  const corpus = TextCorpus.fromFile(o.corpusFile, { tokenizer: { kind: 'given', tokenizer } });

  const families = shapes.map((shape, index): FamilyResult => {
    const { arch } = shape;
    emit({ type: 'family', arch, index: index + 1, total: shapes.length, shape: shape.shape, parameters: shape.parameters });
    const t0 = performance.now();
    const pre = pretrain({
      config: familyPretrainConfig(arch, shape.model, c, tokenizerFile), dataFile: o.corpusFile,
      onProgress: (e) => {
        if (e.type === 'step' && e.logged) emit({ type: 'pretrain', arch, iter: e.iter, maxIters: e.maxIters, loss: e.loss, etaSec: e.etaSec });
      },
    });
    const pretrainSeconds = (performance.now() - t0) / 1000;
    if (pre.model.numParameters() !== shape.parameters)
      throw new Error(`compare: pre-training built ${pre.model.numParameters()} parameters for the ${arch}, sizing counted ${shape.parameters}`);
    const t1 = performance.now();
    const measured = evaluateFamily(adapterFor(arch, pre.model, tokenizer), data, c, emit);
    const result: FamilyResult = {
      arch, shape: shape.shape, parameters: shape.parameters,
      pretrain: {
        corpusTokens: c.pretrain.iters * c.pretrain.batch_size * c.pretrain.block_size,
        targetShare: targetShare(shape, c, tokenizer, corpus),
        valLoss: pre.valLoss, unigramValLoss: pre.unigramValLoss, seconds: pretrainSeconds,
      },
      ...measured,
      evalSeconds: (performance.now() - t1) / 1000,
    };
    emit({ type: 'result', arch, text: `${arch}: pre-trained in ${pretrainSeconds.toFixed(0)} s, evaluated in ${result.evalSeconds.toFixed(0)} s` });
    return result;
  });

  return {
    config: c, vocabSize: tokenizer.vocabSize,
    evalSizes: { nlu: Object.fromEntries(data.nlu.map((d) => [d.task, d.eval.length])), seq2seq: data.seq2seq.eval.length, textChars: data.segmentChars },
    families, seconds: (performance.now() - started) / 1000,
  };
}
