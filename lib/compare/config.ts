// What `lmkit compare` runs: the sizes of the four families' shared budget
// and of each task, at three scales. The full run was sized for about
// fifteen minutes on two idle cores; measured: 21m43s on two cores shared
// with another training run (bench/results/2026-12-02-compare.md). Every
// field says why it is what it is.
// The numbers the comparison reports are measured on whatever these give.
import { ConfigError } from '../errors.js';
import { NLU_TASKS } from './formats.js';

export interface CompareConfig {
  name: 'full' | 'quick' | 'tiny';
  /** Seeds every pre-training (weights, windows, masks): one pre-trained model per family. */
  seed: number;
  /** One fine-tuning per seed and task (data order, new heads, few-shot demonstrations): the spread the table shows. */
  finetuneSeeds: number[];
  /**
   * The shared shape: decoder, encoder and GLM have n_layer blocks, the
   * encoder-decoder n_layer/2 + n_layer/2 (T5 splits its depth). GLM's MLP
   * is 4·n_embd wide; the others' MLP widths are solved so every family has
   * GLM's parameter count (sizing.ts).
   */
  model: { n_layer: number; n_head: number; n_embd: number };
  /**
   * The same corpus budget for every family: iters × batch_size windows of
   * block_size characters, each family with its own objective. GLM mixes in
   * its document-level [gMASK] objective for glmDocumentShare of the windows.
   */
  pretrain: { iters: number; batch_size: number; block_size: number; learning_rate: number; glmDocumentShare: number };
  /** Classification: per task, train / eval instances (disjoint), and the fine-tuning every family gets. */
  nlu: { tasks: string[]; train: number; eval: number; iters: number; batch_size: number; learning_rate: number };
  /** Conditional generation (the cipher task): word lengths, instances, fine-tuning. */
  seq2seq: { minLength: number; maxLength: number; train: number; eval: number; iters: number; batch_size: number; learning_rate: number };
  /** Unconditional generation: held-out segments of the corpus's val split, each `length` characters after one given character. */
  perplexity: { segments: number; length: number };
  /** Demonstrations in a few-shot prompt. */
  shots: number;
}

export const FULL_COMPARE: CompareConfig = {
  name: 'full',
  seed: 1337,
  finetuneSeeds: [1, 2, 3],
  // Two layers of 128: at this scale they learn copying sooner than four (the demo's tuning).
  model: { n_layer: 2, n_head: 4, n_embd: 128 },
  // block 256 holds a 3-shot prompt; lr 2e-3 suits these small models.
  pretrain: { iters: 1200, batch_size: 8, block_size: 256, learning_rate: 2e-3, glmDocumentShare: 0.5 },
  nlu: { tasks: ['sentiment', 'entailment'], train: 400, eval: 200, iters: 150, batch_size: 16, learning_rate: 2e-3 },
  seq2seq: { minLength: 3, maxLength: 8, train: 1000, eval: 200, iters: 300, batch_size: 32, learning_rate: 3e-3 },
  // 48 characters: within every family's trained decoder positions (T5's targets reach ~52 at block 256).
  perplexity: { segments: 64, length: 48 },
  shots: 3,
};

/** The same comparison about five times smaller: a smoke run whose numbers are weak by design. */
export const QUICK_COMPARE: CompareConfig = {
  name: 'quick',
  seed: 1337,
  finetuneSeeds: [1],
  model: { n_layer: 2, n_head: 4, n_embd: 64 },
  pretrain: { iters: 250, batch_size: 8, block_size: 256, learning_rate: 2e-3, glmDocumentShare: 0.5 },
  nlu: { tasks: ['sentiment'], train: 200, eval: 100, iters: 60, batch_size: 16, learning_rate: 2e-3 },
  seq2seq: { minLength: 3, maxLength: 8, train: 400, eval: 100, iters: 100, batch_size: 32, learning_rate: 3e-3 },
  perplexity: { segments: 32, length: 48 },
  shots: 3,
};

/** For tests: every path of the pipeline in seconds, numbers meaningless. */
export const TINY_COMPARE: CompareConfig = {
  name: 'tiny',
  seed: 7,
  finetuneSeeds: [1, 2],
  model: { n_layer: 2, n_head: 2, n_embd: 16 },
  pretrain: { iters: 4, batch_size: 2, block_size: 128, learning_rate: 3e-3, glmDocumentShare: 0.5 },
  nlu: { tasks: ['sentiment'], train: 8, eval: 6, iters: 2, batch_size: 4, learning_rate: 3e-3 },
  seq2seq: { minLength: 3, maxLength: 4, train: 8, eval: 4, iters: 2, batch_size: 4, learning_rate: 3e-3 },
  perplexity: { segments: 3, length: 8 },
  shots: 1,
};

export const COMPARE_CONFIGS: Readonly<Record<CompareConfig['name'], CompareConfig>> = { full: FULL_COMPARE, quick: QUICK_COMPARE, tiny: TINY_COMPARE };

/** Checks what the pipeline relies on, naming the field. */
export function checkCompareConfig(c: CompareConfig): void {
  const bad = (field: string, what: string): never => {
    throw new ConfigError('CONFIG_INVALID', `compare config "${c.name}": ${field} ${what}`);
  };
  const positive = (field: string, v: number): void => {
    if (!Number.isSafeInteger(v) || v < 1) bad(field, `must be a positive integer, got ${v}`);
  };
  positive('model.n_layer', c.model.n_layer);
  if (c.model.n_layer % 2 !== 0) bad('model.n_layer', `must be even (the encoder-decoder gets n_layer/2 + n_layer/2 blocks), got ${c.model.n_layer}`);
  positive('model.n_embd', c.model.n_embd);
  positive('model.n_head', c.model.n_head);
  for (const [k, v] of Object.entries(c.pretrain)) if (k !== 'learning_rate' && k !== 'glmDocumentShare') positive(`pretrain.${k}`, v);
  if (!(c.pretrain.glmDocumentShare >= 0 && c.pretrain.glmDocumentShare <= 1)) bad('pretrain.glmDocumentShare', `must be in [0, 1], got ${c.pretrain.glmDocumentShare}`);
  for (const part of ['nlu', 'seq2seq'] as const)
    for (const k of ['train', 'eval', 'iters', 'batch_size'] as const) positive(`${part}.${k}`, c[part][k]);
  if (c.nlu.tasks.length === 0) bad('nlu.tasks', 'is empty; name at least one classification task');
  for (const task of c.nlu.tasks) if (!NLU_TASKS.includes(task)) bad('nlu.tasks', `has "${task}"; classification tasks: ${NLU_TASKS.join(', ')}`);
  positive('perplexity.segments', c.perplexity.segments);
  positive('perplexity.length', c.perplexity.length);
  if (c.perplexity.length + 2 > c.pretrain.block_size) bad('perplexity.length', `${c.perplexity.length} + 2 exceeds pretrain.block_size ${c.pretrain.block_size}`);
  if (c.finetuneSeeds.length === 0) bad('finetuneSeeds', 'is empty; give at least one seed');
  if (new Set(c.finetuneSeeds).size !== c.finetuneSeeds.length) bad('finetuneSeeds', `repeats a seed: [${c.finetuneSeeds}]`);
  if (!Number.isSafeInteger(c.shots) || c.shots < 1) bad('shots', `must be a positive integer, got ${c.shots}`);
}
