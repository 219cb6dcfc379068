// Seeded train and evaluation instance sets. Each (task, split) draws from
// its own stream, seeded by (seed, task, split), so adding a task or changing
// a count leaves the other sets as they were; no instance appears twice in a
// set, and no evaluation instance appears in training (the model is scored on
// problems it never saw, whatever the template).
import { ConfigError } from '../errors.js';
import { Random } from '../tensor/random.js';
import { getTask } from './registry.js';
import { resolveParams, type TaskInstance } from './types.js';

export interface InstanceSetOptions {
  /** Families to draw training instances for (e.g. taskSplit().train). */
  trainTasks: readonly string[];
  /** Families to draw evaluation instances for (held-out ones, and trained ones for in-task accuracy). */
  evalTasks: readonly string[];
  trainPerTask: number;
  evalPerTask: number;
  /** Evaluation instances of some families instead of evalPerTask, e.g. more where a comparison needs the power. */
  evalPerTaskOverrides?: Readonly<Record<string, number>>;
  seed: number;
  /** Per-task generator parameters, e.g. `{ addition: { maxDigits: 2 } }`; defaults otherwise. */
  params?: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export interface InstanceSets {
  /** Grouped by task in `trainTasks` order; shuffle before batching. */
  train: TaskInstance[];
  eval: TaskInstance[];
}

/** What makes two instances the same problem: task, template fields, input. */
export function instanceKey(instance: TaskInstance): string {
  const fields = Object.keys(instance.fields).sort().map((k) => `${k}=${instance.fields[k]}`).join('&');
  return `${instance.task}\u0000${fields}\u0000${instance.input}`;
}

/** FNV-1a over the text, mixed with the seed: a uint32 stream seed per (seed, task, split). */
function streamSeed(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ (seed >>> 0)) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * `count` distinct instances of `task`, none whose key is in `exclude`.
 * Throws when the family's parameters allow too few distinct problems.
 */
export function generateInstances(
  task: string, count: number, rng: Random,
  params: Readonly<Record<string, number>> = {}, exclude: ReadonlySet<string> = new Set(),
): TaskInstance[] {
  if (!Number.isInteger(count) || count < 0) throw new ConfigError('CONFIG_INVALID', `count must be a non-negative integer, got ${count}`);
  const family = getTask(task);
  const resolved = resolveParams(family, params);
  const seen = new Set<string>();
  const out: TaskInstance[] = [];
  // Generous: a space nearly exhausted would otherwise loop for a long time.
  const maxAttempts = 100 * count + 1000;
  for (let attempt = 0; out.length < count && attempt < maxAttempts; attempt++) {
    const instance = family.generate(rng, resolved);
    const key = instanceKey(instance);
    if (seen.has(key) || exclude.has(key)) continue;
    seen.add(key);
    out.push(instance);
  }
  if (out.length < count)
    throw new ConfigError('CONFIG_TOO_FEW_INSTANCES', `task "${task}": found only ${out.length} distinct instances of the ${count} asked for (${exclude.size} reserved for evaluation); ask for fewer or widen its parameters (${JSON.stringify(resolved)})`);
  return out;
}

/** Train and evaluation sets with no instance in both. */
export function buildInstanceSets(options: InstanceSetOptions): InstanceSets {
  const { trainTasks, evalTasks, trainPerTask, evalPerTask, seed } = options;
  for (const task of [...Object.keys(options.params ?? {}), ...Object.keys(options.evalPerTaskOverrides ?? {})]) getTask(task);
  for (const [name, tasks] of [['trainTasks', trainTasks], ['evalTasks', evalTasks]] as const) {
    const dup = tasks.find((task, i) => tasks.indexOf(task) !== i);
    if (dup !== undefined) throw new ConfigError('CONFIG_INVALID', `${name}: "${dup}" is listed twice; list each task once`);
  }
  const evalSet: TaskInstance[] = [];
  const reserved = new Map<string, Set<string>>();
  for (const task of evalTasks) {
    const drawn = generateInstances(task, options.evalPerTaskOverrides?.[task] ?? evalPerTask, new Random(streamSeed(seed, `${task}/eval`)), options.params?.[task]);
    reserved.set(task, new Set(drawn.map(instanceKey)));
    evalSet.push(...drawn);
  }
  const train: TaskInstance[] = [];
  for (const task of trainTasks)
    train.push(...generateInstances(task, trainPerTask, new Random(streamSeed(seed, `${task}/train`)), options.params?.[task], reserved.get(task)));
  return { train, eval: evalSet };
}
