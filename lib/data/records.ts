// The three record shapes of the fine-tuning stages (SPEC §4 "Data"), and
// their validators. A validator takes one parsed JSON line and returns the
// typed record or throws an Error naming the field and what it should hold;
// lib/io/jsonl.ts prefixes that with file:line. Unknown extra fields (ids,
// sources, scores in real datasets) are accepted and dropped.

/** One instruction-tuning example (FLAN / Alpaca shape). `input` may be ''. */
export interface InstructionExample {
  instruction: string;
  input: string;
  output: string;
  /** The task family it came from, when known (evaluation groups by it). */
  task?: string;
}

/** K >= 2 responses to one prompt, ranked best first. */
export interface PreferenceExample {
  prompt: string;
  responses: string[];
  /** Indices into `responses`, best first: a permutation of 0..K-1. */
  ranking: number[];
}

/** A prompt without an answer (PPO rollouts, evaluation). */
export interface PromptExample {
  prompt: string;
}

type Fields = Record<string, unknown>;

function object(value: unknown): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  return value as Fields;
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (the field is missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

function stringField(obj: Fields, key: string, nonEmpty: boolean, hint: string): string {
  const v = obj[key];
  if (typeof v !== 'string') throw new Error(`field "${key}" must be a string, got ${describe(v)}; ${hint}`);
  if (nonEmpty && v.trim() === '') throw new Error(`field "${key}" is empty; ${hint}`);
  return v;
}

/** `{instruction, input?, output, task?}`: output non-empty; instruction and input not both empty. */
export function parseInstructionExample(value: unknown): InstructionExample {
  const obj = object(value);
  const instruction = stringField(obj, 'instruction', false, 'each line needs {"instruction": ..., "input": ..., "output": ...}');
  // Alpaca-style files omit "input" when there is none.
  const input = obj.input === undefined ? '' : stringField(obj, 'input', false, 'use "" when the instruction needs no input');
  const output = stringField(obj, 'output', true, 'supervised fine-tuning needs a non-empty target output');
  if (instruction.trim() === '' && input.trim() === '')
    throw new Error('fields "instruction" and "input" are both empty; give the model something to answer');
  const example: InstructionExample = { instruction, input, output };
  if (obj.task !== undefined) example.task = stringField(obj, 'task', true, '"task" names the task family, or leave it out');
  return example;
}

/** `{prompt, responses, ranking}`: K >= 2 non-empty responses, ranking a permutation of 0..K-1. */
export function parsePreferenceExample(value: unknown): PreferenceExample {
  const obj = object(value);
  const prompt = stringField(obj, 'prompt', true, 'each line needs {"prompt": ..., "responses": [...], "ranking": [...]}');
  const responses = obj.responses;
  if (!Array.isArray(responses)) throw new Error(`field "responses" must be an array of strings, got ${describe(responses)}`);
  if (responses.length < 2)
    throw new Error(`field "responses" has ${responses.length} response(s); a ranking needs K >= 2 responses to compare`);
  responses.forEach((r, i) => {
    if (typeof r !== 'string') throw new Error(`field "responses[${i}]" must be a string, got ${describe(r)}`);
    if (r.trim() === '') throw new Error(`field "responses[${i}]" is empty; drop empty responses before ranking`);
  });
  const ranking = obj.ranking;
  const k = responses.length;
  const expected = `a permutation of 0..${k - 1} (each index of "responses" once, best first)`;
  if (!Array.isArray(ranking)) throw new Error(`field "ranking" must be ${expected}, got ${describe(ranking)}`);
  if (ranking.length !== k)
    throw new Error(`field "ranking" has ${ranking.length} entries for ${k} responses; it must be ${expected}`);
  const seen = new Set<number>();
  for (const [i, r] of ranking.entries()) {
    if (!Number.isInteger(r) || (r as number) < 0 || (r as number) >= k)
      throw new Error(`field "ranking[${i}]" is ${JSON.stringify(r)}, not an index of "responses"; it must be ${expected}`);
    if (seen.has(r as number)) throw new Error(`field "ranking" lists ${r} twice (${JSON.stringify(ranking)}); it must be ${expected}`);
    seen.add(r as number);
  }
  return { prompt, responses: responses as string[], ranking: ranking as number[] };
}

/** `{prompt}`, non-empty. */
export function parsePromptExample(value: unknown): PromptExample {
  const obj = object(value);
  return { prompt: stringField(obj, 'prompt', true, 'each line needs {"prompt": "..."} with some text') };
}
