// Cloze classification data for GLM fine-tuning: one `{text, label}` object
// per line, the text holding exactly one "[MASK]" where the label's
// verbalizer goes (the pattern is already applied). Errors name file:line and
// the field (lib/io/jsonl.ts); the writer checks every record first.
import { DataError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic_write.js';
import { loadJsonl, readJsonl, type JsonlRecord } from '../io/jsonl.js';

/** The blank of a cloze pattern, as GLM's tokenizers spell it. */
export const CLOZE_MASK = '[MASK]';

/** One cloze example: `text` with exactly one [MASK], `label` a key of the verbalizers. */
export interface ClozeExample {
  text: string;
  label: string;
}

/** Occurrences of [MASK] in a text. */
export function countMasks(text: string): number {
  return text.split(CLOZE_MASK).length - 1;
}

/** `{text, label}`: text with exactly one [MASK], label a non-empty string. Extra fields are dropped. */
export function parseClozeExample(value: unknown): ClozeExample {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error(`expected a JSON object {"text": "... [MASK] ...", "label": "..."}, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`);
  const obj = value as Record<string, unknown>;
  const { text, label } = obj;
  if (typeof text !== 'string') throw new Error(`field "text" must be a string with one ${CLOZE_MASK}, got ${text === undefined ? 'nothing (the field is missing)' : JSON.stringify(text).slice(0, 40)}`);
  const masks = countMasks(text);
  if (masks !== 1)
    throw new Error(`field "text" must hold exactly one ${CLOZE_MASK} (where the label's word goes), found ${masks}: ${JSON.stringify(text).slice(0, 60)}; write e.g. "the food was great. It was ${CLOZE_MASK}."`);
  if (typeof label !== 'string' || label.trim() === '')
    throw new Error(`field "label" must be a non-empty string, got ${label === undefined ? 'nothing (the field is missing)' : JSON.stringify(label).slice(0, 40)}`);
  return { text, label };
}

/** Streams `{text, label}` lines. */
export function readClozeJsonl(file: string): AsyncGenerator<JsonlRecord<ClozeExample>> {
  return readJsonl(file, parseClozeExample);
}

/**
 * Reads a whole cloze file. With `labels`, a line whose label is not one of
 * them is an error naming file:line (a typo would otherwise surface later
 * as an unknown label without a line).
 */
export async function loadClozeJsonl(file: string, labels?: readonly string[]): Promise<ClozeExample[]> {
  const known = labels ? new Set(labels) : null;
  const validate = (value: unknown): ClozeExample => {
    const ex = parseClozeExample(value);
    if (known && !known.has(ex.label))
      throw new Error(`label ${JSON.stringify(ex.label)} is not one of the labels given (${[...known].join(', ')}); add it to the verbalizers or fix the line`);
    return ex;
  };
  const records = await loadJsonl(file, validate);
  if (records.length === 0) throw new DataError('DATA_EMPTY', `${file}: no records; expected one JSON object {"text", "label"} per line`);
  return records;
}

export function writeClozeJsonl(file: string, records: readonly ClozeExample[]): void {
  const lines = records.map((record, i) => {
    try {
      return JSON.stringify(parseClozeExample(record)) + '\n';
    } catch (err) {
      throw new DataError('DATA_BAD_RECORD', `${file}: record ${i} not written: ${(err as Error).message}`);
    }
  });
  writeFileAtomic(file, [new TextEncoder().encode(lines.join(''))]);
}
