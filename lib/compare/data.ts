// The evaluation data of `lmkit compare`, the same for every family: seeded
// train/eval instances of each classification task and of the cipher task
// (disjoint, from lib/tasks), few-shot demonstrations drawn from the train
// pool, and held-out text segments from the tail of the corpus that
// pre-training held out (its val split), spaced evenly so no seed is needed.
import { ConfigError } from '../errors.js';
import { TextCorpus } from '../data/text_corpus.js';
import { buildInstanceSets } from '../tasks/instances.js';
import { Random } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { CompareConfig } from './config.js';
import { nluLabels, nluPrompt, seq2seqPrompt, type NluItem, type Seq2SeqItem } from './formats.js';

export interface CompareData {
  nlu: { task: string; train: NluItem[]; eval: NluItem[] }[];
  seq2seq: { train: Seq2SeqItem[]; eval: Seq2SeqItem[] };
  /** Token ids: position 0 is given, the rest scored. */
  segments: number[][];
  /** Characters the scored tokens of all segments spell. */
  segmentChars: number;
}

/** The val split pre-training holds out (lmkit train's default val_fraction). */
export const VAL_FRACTION = 0.1;

export function buildCompareData(c: CompareConfig, tokenizer: Tokenizer, corpusFile: string): CompareData {
  const nluSets = buildInstanceSets({ trainTasks: c.nlu.tasks, evalTasks: c.nlu.tasks, trainPerTask: c.nlu.train, evalPerTask: c.nlu.eval, seed: c.seed });
  const nlu = c.nlu.tasks.map((task) => ({
    task,
    train: nluSets.train.filter((i) => i.task === task).map((i) => ({ text: i.input, label: i.answer })),
    eval: nluSets.eval.filter((i) => i.task === task).map((i) => ({ text: i.input, label: i.answer })),
  }));
  const s = c.seq2seq;
  const cipher = buildInstanceSets({
    trainTasks: ['cipher'], evalTasks: ['cipher'], trainPerTask: s.train, evalPerTask: s.eval, seed: c.seed,
    params: { cipher: { minLength: s.minLength, maxLength: s.maxLength } },
  });
  const pairs = (xs: typeof cipher.train): Seq2SeqItem[] => xs.map((i) => ({ source: i.input, target: i.answer }));

  const corpus = TextCorpus.fromFile(corpusFile, { tokenizer: { kind: 'given', tokenizer }, valFraction: VAL_FRACTION });
  const { segments: n, length } = c.perplexity;
  const val = corpus.val;
  const room = val.length - (length + 1);
  if (room < 0) throw new ConfigError('CONFIG_INVALID', `compare: the corpus's val split has ${val.length} tokens, fewer than one segment of ${length + 1}; use a longer corpus or a smaller perplexity.length`);
  const segments = Array.from({ length: n }, (_, i) => {
    const at = n > 1 ? Math.round((i * room) / (n - 1)) : 0;
    return Array.from(val.subarray(at, at + length + 1));
  });
  const segmentChars = segments.reduce((a, seg) => a + [...tokenizer.decode(seg.slice(1))].length, 0);
  return { nlu, seq2seq: { train: pairs(cipher.train), eval: pairs(cipher.eval) }, segments, segmentChars };
}

/** k demonstrations for each query, drawn from the train pool (a fresh draw per query). */
export function drawDemos<T>(pool: readonly T[], queries: number, k: number, seed: number): T[][] {
  if (pool.length < k) throw new ConfigError('CONFIG_INVALID', `compare: ${k}-shot prompts need ${k} training examples, the pool has ${pool.length}`);
  const rng = new Random(seed);
  return Array.from({ length: queries }, () => rng.shuffle([...pool]).slice(0, k));
}

/**
 * Refuses, before any training, a config whose longest possible few-shot
 * prompt (the longest demonstrations and query, plus the answer) would not
 * fit in block_size tokens, the decoder's context and the tightest of the four.
 */
export function checkPromptsFit(data: CompareData, c: CompareConfig, tokenizer: Tokenizer): void {
  const len = (text: string): number => tokenizer.encode(text).length;
  const longest = (xs: readonly number[]): number => Math.max(0, ...xs);
  const block = c.pretrain.block_size;
  for (const { task, train, eval: queries } of data.nlu) {
    const demo = longest(train.map((x) => len(nluPrompt(task, '', [x]).before) - len(nluPrompt(task, '').before)));
    const query = longest(queries.map((q) => { const p = nluPrompt(task, q.text); return len(p.before) + len(p.after); }));
    const answer = longest(nluLabels(task).map(len));
    const need = c.shots * demo + query + answer;
    if (need > block)
      throw new ConfigError('CONFIG_INVALID', `compare: a ${c.shots}-shot ${task} prompt can take ${need} tokens with its answer, over pretrain.block_size ${block}; raise block_size or lower shots`);
  }
  const { train, eval: queries } = data.seq2seq;
  const demo = longest(train.map((x) => len(seq2seqPrompt('', [x]).before) - len(seq2seqPrompt('').before)));
  const need = c.shots * demo + longest(queries.map((q) => len(seq2seqPrompt(q.source).before))) + c.seq2seq.maxLength + 4;
  if (need > block)
    throw new ConfigError('CONFIG_INVALID', `compare: a ${c.shots}-shot cipher prompt can take ${need} tokens with its answer, over pretrain.block_size ${block}; raise block_size or lower shots`);
}
