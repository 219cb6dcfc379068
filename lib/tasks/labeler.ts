// A simulated human labeler (InstructGPT §3.4 has people rank K outputs; the
// demo has no people). It ranks K responses to one task prompt by a utility
//   u = exactWeight·exact + partialWeight·partial + wellFormedWeight·wellFormed
//       − conciseWeight·extra / (extra + |reference|)
// where exact/partial come from the task's verifier, wellFormed (0 or 1) is
// "one trimmed line of task characters whose answer can be read and that ends
// with that answer (a final '.' allowed)", and extra is how many characters
// the response has beyond the reference output. With the default weights any
// exactly-right response outranks every wrong one (u >= 1.3 against < 0.7).
//
// Noise, seeded:
//   none    sort by u, best first; ties keep response order.
//   flip p  with probability 2p the ranking is a uniformly random
//           permutation, else the noise-free one: each pair of responses
//           then ends up in the wrong order with probability exactly p
//           (2p · 1/2), p in [0, 0.5]. Errors are per prompt, as with a
//           careless labeler, not independent per pair (those need not form
//           a ranking at all).
//   gumbel  sort by u + temperature·G, G ~ Gumbel(0, 1) i.i.d.: a
//           Plackett–Luce ranking, so i lands above j with probability
//           σ((u_i − u_j) / temperature), the Bradley–Terry model a reward
//           model is trained under.
import type { PreferenceExample } from '../data/records.js';
import { writePreferenceJsonl } from '../data/records_jsonl.js';
import { ConfigError } from '../errors.js';
import { Random } from '../tensor/random.js';
import { TASK_CHARSET } from './registry.js';
import { renderInstance } from './render.js';
import { scoreResponse, type AnswerForm, type TaskScore } from './scoring.js';
import type { TaskInstance } from './types.js';

export type LabelerNoise =
  | { kind: 'none' }
  | { kind: 'flip'; p: number }
  | { kind: 'gumbel'; temperature: number };

export interface LabelerOptions {
  exactWeight?: number;
  partialWeight?: number;
  wellFormedWeight?: number;
  conciseWeight?: number;
  noise?: LabelerNoise;
  seed?: number;
}

export const DEFAULT_LABELER: Required<LabelerOptions> = {
  exactWeight: 1,
  partialWeight: 0.5,
  wellFormedWeight: 0.2,
  conciseWeight: 0.2,
  noise: { kind: 'none' },
  seed: 0,
};

/** Everything the labeler saw in one response. */
export interface Assessment {
  score: TaskScore;
  wellFormed: 0 | 1;
  /** Characters beyond the reference output's length. */
  extraChars: number;
  /** The noise-free utility u. */
  utility: number;
}

export interface Judgement {
  /** Indices into the responses, best first. */
  ranking: number[];
  assessments: Assessment[];
}

/** One prompt to label: its rendered text, the task instance behind it, K responses. */
export interface LabelItem {
  prompt: string;
  instance: TaskInstance;
  responses: readonly string[];
  form?: AnswerForm;
}

const TASK_CHARS = new Set(TASK_CHARSET);

function checkOptions(o: Required<LabelerOptions>): void {
  for (const key of ['exactWeight', 'partialWeight', 'wellFormedWeight', 'conciseWeight'] as const)
    if (!(Number.isFinite(o[key]) && o[key] >= 0)) throw new ConfigError('CONFIG_INVALID', `labeler: ${key} must be a finite number >= 0, got ${o[key]}`);
  const n = o.noise;
  if (n.kind === 'flip' && !(n.p >= 0 && n.p <= 0.5))
    throw new ConfigError('CONFIG_INVALID', `labeler: noise.p must be in [0, 0.5] (0.5 is a random ranking), got ${n.p}`);
  if (n.kind === 'gumbel' && !(Number.isFinite(n.temperature) && n.temperature > 0))
    throw new ConfigError('CONFIG_INVALID', `labeler: noise.temperature must be > 0, got ${n.temperature}; use { kind: 'none' } for no noise`);
  if (!['none', 'flip', 'gumbel'].includes(n.kind))
    throw new ConfigError('CONFIG_INVALID', `labeler: noise.kind must be none, flip or gumbel, got ${JSON.stringify((n as { kind: unknown }).kind)}`);
  if (!Number.isInteger(o.seed)) throw new ConfigError('CONFIG_INVALID', `labeler: seed must be an integer, got ${o.seed}`);
}

function endsWithAnswer(response: string, parsed: string): boolean {
  const body = response.endsWith('.') ? response.slice(0, -1) : response;
  return body.toLowerCase().endsWith(parsed.toLowerCase());
}

export class SimulatedLabeler {
  readonly options: Readonly<Required<LabelerOptions>>;
  private readonly rng: Random;

  constructor(options: LabelerOptions = {}) {
    const merged = { ...DEFAULT_LABELER, ...options };
    checkOptions(merged);
    this.options = merged;
    this.rng = new Random(merged.seed);
  }

  /** The noise-free judgement of one response. */
  assess(instance: TaskInstance, response: string, form: AnswerForm = 'direct'): Assessment {
    const o = this.options;
    const score = scoreResponse(instance, response, form);
    const wellFormed = response.length > 0 && response === response.trim() && !response.includes('\n')
      && [...response].every((c) => TASK_CHARS.has(c)) && score.parsed !== null && endsWithAnswer(response, score.parsed) ? 1 : 0;
    const reference = [...renderInstance(instance, { form }).output].length;
    const extraChars = Math.max(0, [...response].length - reference);
    const utility = o.exactWeight * score.exact + o.partialWeight * score.partial + o.wellFormedWeight * wellFormed
      - o.conciseWeight * (extraChars / (extraChars + reference));
    return { score, wellFormed, extraChars, utility };
  }

  /** Ranks K >= 2 responses to `instance`, best first, with the configured noise. */
  rank(instance: TaskInstance, responses: readonly string[], form: AnswerForm = 'direct'): Judgement {
    if (responses.length < 2) throw new ConfigError('CONFIG_INVALID', `labeler: got ${responses.length} response(s); ranking needs K >= 2`);
    const assessments = responses.map((r) => this.assess(instance, r, form));
    const u = assessments.map((a) => a.utility);
    const order = (keys: readonly number[]): number[] => keys.map((_, i) => i).sort((a, b) => keys[b]! - keys[a]! || a - b);
    const noise = this.options.noise;
    let ranking: number[];
    if (noise.kind === 'gumbel') {
      // Gumbel(0, 1) = −log(−log U); U strictly inside (0, 1) keeps both logs finite.
      const gumbel = (): number => -Math.log(-Math.log((this.rng.nextUint32() + 0.5) / 4294967296));
      ranking = order(u.map((x) => x + noise.temperature * gumbel()));
    } else if (noise.kind === 'flip' && this.rng.uniform() < 2 * noise.p) {
      ranking = this.rng.shuffle(responses.map((_, i) => i));
    } else {
      ranking = order(u);
    }
    return { ranking, assessments };
  }

  /** The preference record of one prompt. */
  label(item: LabelItem): PreferenceExample {
    return { prompt: item.prompt, responses: [...item.responses], ranking: this.rank(item.instance, item.responses, item.form).ranking };
  }
}

/** Labels every item and writes the preference JSONL atomically; returns the records. */
export function writeLabeledPreferences(file: string, items: readonly LabelItem[], labeler: SimulatedLabeler): PreferenceExample[] {
  const records = items.map((item) => labeler.label(item));
  writePreferenceJsonl(file, records);
  return records;
}
