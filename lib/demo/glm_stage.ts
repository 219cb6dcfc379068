// The GLM part of the demo: one shared transformer pre-trained by
// autoregressive blank infilling on the corpus, then fine-tuned to classify
// sentiment as a cloze — "<sentence>. It was [MASK]." with the verbalizers
// good / bad — and, with the same weights, asked to fill blanks in text.
import path from 'node:path';

import { glmFillBlanks } from '../generate/glm_fill.js';
import type { GLM } from '../models/glm.js';
import type { SampleGeneration } from '../report/model.js';
import { clozeAccuracy, clozeFineTune, type ClozeExample } from '../stages/cloze.js';
import { pretrain } from '../stages/pretrain.js';
import { pretrainConfig } from '../stages/pretrain_config.js';
import { clozeConfig } from '../stages/stage_config.js';
import { generateInstances } from '../tasks/instances.js';
import { Random } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { DemoConfig } from './config.js';
import { trackSteps, type DemoListener } from './progress.js';

export interface GlmStageResult {
  pretrainCurve: [number, number][];
  pretrainValLoss: number | null;
  clozeCurve: [number, number][];
  clozeAccuracyBefore: number;
  clozeAccuracy: number;
  /** 1 / number of labels. */
  chance: number;
  clozeEval: number;
  samples: SampleGeneration[];
}

const VERBALIZERS = { good: 'good', bad: 'bad' } as const;

export function clozeText(sentence: string): string {
  return `${sentence}. It was [MASK].`;
}

export function runGlmStage(c: DemoConfig, tokenizerFile: string, tokenizer: Tokenizer, corpusFile: string, workDir: string, emit: DemoListener): GlmStageResult {
  const g = c.glm;
  const pretrainCurve: [number, number][] = [];
  const config = pretrainConfig({
    arch: 'glm', tokenizer: tokenizerFile, n_layer: g.n_layer, n_head: 4, n_embd: g.n_embd, block_size: 128, batch_size: 12,
    max_iters: g.pretrainIters, lr_decay_iters: g.pretrainIters, learning_rate: 2e-3, min_lr: 2e-4, warmup_iters: Math.min(50, Math.floor(g.pretrainIters / 10)),
    beta2: 0.99, dropout: 0, eval_interval: g.pretrainIters, eval_iters: 10, log_interval: 10, checkpoint_interval: 0, seed: c.seed,
  }, 'demo GLM pre-training');
  const pre = pretrain({ config, dataFile: corpusFile, outDir: path.join(workDir, 'glm'), onProgress: trackSteps('GLM pre-train', emit, pretrainCurve) });
  const model = pre.model as GLM;

  // Sentiment sentences never seen in fine-tuning are the evaluation set.
  const instances = generateInstances('sentiment', g.clozeTrain + g.clozeEval, new Random(c.seed + 31));
  const examples: ClozeExample[] = instances.map((i) => ({ text: clozeText(i.input), label: i.answer }));
  const train = examples.slice(0, g.clozeTrain), evalSet = examples.slice(g.clozeTrain);
  const before = clozeAccuracy(model, tokenizer, evalSet, VERBALIZERS);
  const clozeCurve: [number, number][] = [];
  clozeFineTune({
    config: clozeConfig({ max_iters: g.clozeIters, lr_decay_iters: g.clozeIters, batch_size: 16, learning_rate: 1e-3, min_lr: 1e-4, warmup_iters: 10, eval_interval: g.clozeIters, seed: c.seed }, 'demo cloze'),
    model, tokenizer, train, verbalizers: VERBALIZERS, outDir: path.join(workDir, 'cloze'), onProgress: trackSteps('GLM cloze', emit, clozeCurve),
  });
  const after = clozeAccuracy(model, tokenizer, evalSet, VERBALIZERS);
  emit({ type: 'result', text: `GLM cloze accuracy: ${(100 * after.accuracy).toFixed(1)}% (before fine-tuning ${(100 * before.accuracy).toFixed(1)}%, chance 50%)` });

  // The same weights generate: fill a blank in a sentence and in a line of the corpus.
  const samples: SampleGeneration[] = [];
  for (const text of [clozeText(instances[g.clozeTrain]!.input), 'ROMEO: I will [MASK] thee.']) {
    const filled = glmFillBlanks(model, tokenizer, text, { maxNewTokens: 12 });
    samples.push({ prompt: text, output: filled.blanks.map((b) => b.text).join(' | '), label: 'GLM fills the blank (greedy)' });
  }
  return {
    pretrainCurve, pretrainValLoss: pre.valLoss, clozeCurve, clozeAccuracyBefore: before.accuracy, clozeAccuracy: after.accuracy,
    chance: 1 / Object.keys(VERBALIZERS).length, clozeEval: evalSet.length, samples,
  };
}
