// The texts every family of `lmkit compare` reads, written once so the
// families differ only in how they fill a blank, never in the words around it:
//   NLU      "<input>. It was ___."    (sentiment; entailment: "<input> ___.")
//   seq2seq  "<source> = ___"
// Few-shot prompts put k solved examples before the query, one per line.
// Each family replaces ___ with its own blank: the decoder continues the
// text there, GLM writes [MASK] / [gMASK], the encoder-decoder a sentinel,
// the encoder one [MASK] per verbalizer token.
import { ConfigError } from '../errors.js';
import { getTask } from '../tasks/registry.js';

/** One classification example. */
export interface NluItem {
  /** The task's input text, e.g. "the soup was zarby and grosk". */
  text: string;
  /** Gold label, one of the task's labels (its own verbalizer). */
  label: string;
}

/** One conditional-generation example. */
export interface Seq2SeqItem {
  source: string;
  target: string;
}

/** A text cut at its blank: what comes before it and after it. */
export interface BlankText {
  before: string;
  after: string;
}

/** The classification tasks compare knows, with their cloze patterns. */
const NLU_PATTERNS: Readonly<Record<string, (input: string) => BlankText>> = {
  sentiment: (x) => ({ before: `${x}. It was `, after: '.' }),
  entailment: (x) => ({ before: `${x} `, after: '.' }),
};

export const NLU_TASKS: readonly string[] = Object.keys(NLU_PATTERNS);

/** The task's labels (= verbalizers: every label is a plain word). */
export function nluLabels(task: string): readonly string[] {
  const family = getTask(task);
  if (family.answerKind === 'yesno') return ['yes', 'no'];
  if (family.answerKind === 'label' && family.labels) return family.labels;
  throw new ConfigError('CONFIG_INVALID', `compare: task "${task}" is not a classification task (answers of kind ${family.answerKind}); NLU tasks: ${NLU_TASKS.join(', ')}`);
}

function pattern(task: string): (input: string) => BlankText {
  const p = NLU_PATTERNS[task];
  if (!p) throw new ConfigError('CONFIG_UNKNOWN_TASK', `compare: no cloze pattern for task "${task}"; NLU tasks: ${NLU_TASKS.join(', ')}`);
  return p;
}

/** A solved example as a line: the pattern with its label written in. */
function solvedNlu(task: string, item: NluItem): string {
  const { before, after } = pattern(task)(item.text);
  return `${before}${item.label}${after}`;
}

/** The query's pattern with `demos` solved before it, one per line: the few-shot cloze (no demos: zero-shot). */
export function nluPrompt(task: string, query: string, demos: readonly NluItem[] = []): BlankText {
  const { before, after } = pattern(task)(query);
  const shots = demos.map((d) => `${solvedNlu(task, d)}\n`).join('');
  return { before: `${shots}${before}`, after };
}

/** Source text and the blank the target goes in; demos solved before it. */
export function seq2seqPrompt(source: string, demos: readonly Seq2SeqItem[] = []): BlankText {
  const shots = demos.map((d) => `${d.source} = ${d.target}\n`).join('');
  return { before: `${shots}${source} = `, after: '' };
}
