// JSONL readers: one JSON value per line, streamed, with the file and line
// number in every error. Blank lines are skipped.
import { createReadStream, existsSync } from 'node:fs';
import { createInterface } from 'node:readline';

import { DataError } from '../errors.js';

export interface JsonlRecord<T> {
  value: T;
  /** 1-based line number in the file. */
  line: number;
}

/** Checks one parsed line; returns the typed record or throws with a reason. */
export type Validator<T> = (value: unknown) => T;

/** Streams the records of a JSONL file, validating each. */
export async function* readJsonl<T>(file: string, validate: Validator<T>): AsyncGenerator<JsonlRecord<T>> {
  if (!existsSync(file)) throw new DataError('DATA_MISSING', `${file}: no such file`);
  const lines = createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new DataError('DATA_BAD_LINE', `${file}:${line}: not valid JSON (${(err as Error).message})`);
    }
    try {
      yield { value: validate(parsed), line };
    } catch (err) {
      if (err instanceof DataError) throw err;
      throw new DataError('DATA_BAD_LINE', `${file}:${line}: ${(err as Error).message}`);
    }
  }
}

/** Reads a whole JSONL file into memory. */
export async function loadJsonl<T>(file: string, validate: Validator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const r of readJsonl(file, validate)) out.push(r.value);
  return out;
}

/** Builds a validator for objects with the given string fields. */
export function stringFields<K extends string>(required: readonly K[], optional: readonly K[] = []): Validator<Record<K, string>> {
  return (value) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected a JSON object');
    const obj = value as Record<string, unknown>;
    for (const key of required)
      if (typeof obj[key] !== 'string') throw new Error(`field "${key}" must be a string (got ${obj[key] === undefined ? 'nothing' : typeof obj[key]})`);
    for (const key of optional)
      if (obj[key] !== undefined && typeof obj[key] !== 'string') throw new Error(`field "${key}" must be a string`);
    return obj as Record<K, string>;
  };
}
