// What a synthetic task family is: a seeded generator of instances with a
// known answer, instruction phrasings (FLAN: several templates per task), the
// kind of answer (how a free-text response is parsed), and optionally worked
// steps for the chain-of-thought form. Families are plain data + functions.
import { ConfigError } from '../errors.js';
import type { Random } from '../tensor/random.js';

/**
 * How an answer is read out of a response and compared:
 * - `word`: the first whitespace-separated token, trailing punctuation removed; compared exactly (case matters).
 * - `number`: the first number (lib/generate/answers.ts parseFirstNumber); compared as a non-negative integer.
 * - `label`: the first of the family's label words (parseLabel); no partial credit.
 * - `yesno`: the first standalone yes/no (parseYesNo); no partial credit.
 */
export type AnswerKind = 'word' | 'number' | 'label' | 'yesno';

/** One generated problem. Plain JSON; `task` + `fields` + `input` identify it. */
export interface TaskInstance {
  /** Family name, e.g. "reverse". */
  task: string;
  /** The text the instruction applies to, e.g. "lamp", "345+659". */
  input: string;
  /** Values of the family's template fields, e.g. `{ letter: "a" }`; `{}` for most families. */
  fields: Readonly<Record<string, string>>;
  /** The canonical final answer, e.g. "pmal", "1004". */
  answer: string;
  /** Worked steps (chain-of-thought body) when the family has that form. */
  steps?: string;
}

/** A tunable size or difficulty of a family, with its allowed integer range. */
export interface ParamSpec {
  default: number;
  min: number;
  max: number;
  /** One line: what it controls. */
  doc: string;
}

export type TaskParams = Readonly<Record<string, number>>;

export interface TaskFamily {
  readonly name: string;
  /** FLAN-style cluster of related families; a whole cluster can be held out. */
  readonly cluster: string;
  /** One line for reports. */
  readonly description: string;
  /**
   * Instruction phrasings (>= 3, distinct across all families). They may name
   * the instance's `fields` as `{name}`; the input is never inside them.
   */
  readonly templates: readonly string[];
  readonly answerKind: AnswerKind;
  /** For `label` families: the label words (the answers), e.g. ["good", "bad"]. */
  readonly labels?: readonly string[];
  /** True when generated instances carry `steps` (the worked chain-of-thought form). */
  readonly hasWorkedSteps: boolean;
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** Draws one instance; `params` is complete and validated (see resolveParams). */
  generate(rng: Random, params: TaskParams): TaskInstance;
}

/**
 * Fills in defaults and checks every given parameter: a known name, an
 * integer in range, and each minX <= maxX. Errors name `family.param`.
 */
export function resolveParams(family: TaskFamily, given: Readonly<Record<string, number | undefined>> = {}): TaskParams {
  const out: Record<string, number> = {};
  for (const key of Object.keys(given))
    if (!(key in family.params))
      throw new ConfigError('CONFIG_UNKNOWN_KEY', `task "${family.name}": unknown parameter "${key}" (known: ${Object.keys(family.params).join(', ') || 'none'})`);
  for (const [key, spec] of Object.entries(family.params)) {
    const v = given[key] ?? spec.default;
    if (!Number.isInteger(v) || v < spec.min || v > spec.max)
      throw new ConfigError('CONFIG_INVALID', `task "${family.name}": parameter ${key} must be an integer in [${spec.min}, ${spec.max}] (${spec.doc}), got ${JSON.stringify(given[key])}`);
    out[key] = v;
  }
  for (const key of Object.keys(out)) {
    if (!key.startsWith('min')) continue;
    const maxKey = `max${key.slice(3)}`;
    if (maxKey in out && out[key]! > out[maxKey]!)
      throw new ConfigError('CONFIG_INVALID', `task "${family.name}": ${key} = ${out[key]} exceeds ${maxKey} = ${out[maxKey]}; lower ${key} or raise ${maxKey}`);
  }
  return out;
}
