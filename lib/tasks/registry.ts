// The synthetic task suite: every family by name, their clusters, the
// characters any task text can contain, and FLAN's task split (Wei et al.
// 2022: instruction-tune on some task clusters, evaluate zero-shot on a
// held-out one the model never saw an instruction for).
import { ConfigError } from '../errors.js';
import { ADDITION } from './addition.js';
import { CIPHER } from './cipher.js';
import { ENTAILMENT } from './entailment.js';
import { ENTITY } from './entity.js';
import { COUNT_LETTER, FIRST_LETTER, LAST_LETTER } from './letters.js';
import { SENTIMENT } from './sentiment.js';
import { COPY, REVERSE, SORT_LETTERS, UPPERCASE } from './strings.js';
import type { TaskFamily } from './types.js';

export const TASK_FAMILIES: readonly TaskFamily[] = [
  COPY, REVERSE, SORT_LETTERS, UPPERCASE,
  FIRST_LETTER, LAST_LETTER, COUNT_LETTER,
  ADDITION, SENTIMENT, ENTITY, ENTAILMENT,
];

/**
 * Families outside the demo's suite (not instruction-tuned on, not in
 * TASK_NAMES or the clusters); getTask knows them. cipher is the
 * conditional-generation task of `lmkit compare`.
 */
export const EXTRA_FAMILIES: readonly TaskFamily[] = [CIPHER];

const BY_NAME = new Map([...TASK_FAMILIES, ...EXTRA_FAMILIES].map((f) => [f.name, f]));

export const TASK_NAMES: readonly string[] = TASK_FAMILIES.map((f) => f.name);

/** Cluster name → its family names, in suite order. */
export const TASK_CLUSTERS: Readonly<Record<string, readonly string[]>> = Object.fromEntries(
  [...new Set(TASK_FAMILIES.map((f) => f.cluster))].map((c) => [c, TASK_FAMILIES.filter((f) => f.cluster === c).map((f) => f.name)]),
);

export function getTask(name: string): TaskFamily {
  const family = BY_NAME.get(name);
  if (!family) throw new ConfigError('CONFIG_UNKNOWN_TASK', `unknown task "${name}" (tasks: ${[...BY_NAME.keys()].join(', ')})`);
  return family;
}

/**
 * Every character a task text (instruction, input, direct or worked output)
 * can contain, sorted: space, the punctuation , . : ; ? + =, digits, A-Z,
 * a-z. No newline: prompt layout belongs to the instruction format, not the
 * tasks. The demo's char tokenizer is tinyshakespeare's characters ∪ these.
 */
export const TASK_CHARSET: string = [...new Set(` ,.:;?+=0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ${'abcdefghijklmnopqrstuvwxyz'}`)].sort().join('');

/**
 * Held out by default: copying needs only the skill every string family
 * trains (write the input's letters) under an instruction never seen, so a
 * small model can show zero-shot transfer; hold out a cluster for FLAN's
 * stricter setting, e.g. `taskSplit(['strings'])`.
 */
export const DEFAULT_HELD_OUT: readonly string[] = ['copy'];

export interface TaskSplit {
  /** Families to instruction-tune on (B, C, D …). */
  train: string[];
  /** Families evaluated zero-shot (A), never trained on. */
  heldOut: string[];
}

/**
 * Splits the suite into train and held-out families. `heldOut` names
 * families or whole clusters; both sides must end up non-empty.
 */
export function taskSplit(heldOut: readonly string[] = DEFAULT_HELD_OUT): TaskSplit {
  const held = new Set<string>();
  for (const name of heldOut) {
    if (name in TASK_CLUSTERS) TASK_CLUSTERS[name]!.forEach((f) => held.add(f));
    else if (TASK_NAMES.includes(name)) held.add(name);
    else
      throw new ConfigError('CONFIG_UNKNOWN_TASK', `heldOut: "${name}" is neither a task nor a cluster (tasks: ${TASK_NAMES.join(', ')}; clusters: ${Object.keys(TASK_CLUSTERS).join(', ')})`);
  }
  const split = { train: TASK_NAMES.filter((n) => !held.has(n)), heldOut: TASK_NAMES.filter((n) => held.has(n)) };
  if (split.heldOut.length === 0) throw new ConfigError('CONFIG_INVALID', 'heldOut: no task held out; name at least one task or cluster to evaluate zero-shot');
  if (split.train.length === 0) throw new ConfigError('CONFIG_INVALID', `heldOut: every task is held out (${heldOut.join(', ')}); leave some to train on`);
  return split;
}
