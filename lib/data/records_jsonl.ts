// Instruction, preference and prompt JSONL files: streamed readers whose
// errors name file:line and the field (lib/io/jsonl.ts), and atomic writers
// that check every record first, so a file we write always reads back.
import { DataError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic_write.js';
import { loadJsonl, readJsonl, type JsonlRecord, type Validator } from '../io/jsonl.js';
import {
  parseInstructionExample, parsePreferenceExample, parsePromptExample,
  type InstructionExample, type PreferenceExample, type PromptExample,
} from './records.js';

/** Streams `{instruction, input, output}` lines. */
export function readInstructionJsonl(file: string): AsyncGenerator<JsonlRecord<InstructionExample>> {
  return readJsonl(file, parseInstructionExample);
}

/** Streams `{prompt, responses, ranking}` lines (simulated or human rankings alike). */
export function readPreferenceJsonl(file: string): AsyncGenerator<JsonlRecord<PreferenceExample>> {
  return readJsonl(file, parsePreferenceExample);
}

/** Streams `{prompt}` lines. */
export function readPromptJsonl(file: string): AsyncGenerator<JsonlRecord<PromptExample>> {
  return readJsonl(file, parsePromptExample);
}

export async function loadInstructionJsonl(file: string): Promise<InstructionExample[]> {
  return nonEmpty(file, await loadJsonl(file, parseInstructionExample), '{"instruction", "input", "output"}');
}

export async function loadPreferenceJsonl(file: string): Promise<PreferenceExample[]> {
  return nonEmpty(file, await loadJsonl(file, parsePreferenceExample), '{"prompt", "responses", "ranking"}');
}

export async function loadPromptJsonl(file: string): Promise<PromptExample[]> {
  return nonEmpty(file, await loadJsonl(file, parsePromptExample), '{"prompt"}');
}

/** A stage given a file with no records would silently train on nothing. */
function nonEmpty<T>(file: string, records: T[], shape: string): T[] {
  if (records.length === 0) throw new DataError('DATA_EMPTY', `${file}: no records; expected one JSON object ${shape} per line`);
  return records;
}

export function writeInstructionJsonl(file: string, records: readonly InstructionExample[]): void {
  writeRecords(file, records, parseInstructionExample);
}

export function writePreferenceJsonl(file: string, records: readonly PreferenceExample[]): void {
  writeRecords(file, records, parsePreferenceExample);
}

export function writePromptJsonl(file: string, records: readonly PromptExample[]): void {
  writeRecords(file, records, parsePromptExample);
}

const utf8 = new TextEncoder();

function writeRecords<T>(file: string, records: readonly T[], validate: Validator<T>): void {
  const lines: string[] = [];
  records.forEach((record, i) => {
    let checked: T;
    try {
      // The validator drops unknown fields, so only the documented shape is written.
      checked = validate(record);
    } catch (err) {
      throw new DataError('DATA_BAD_RECORD', `${file}: record ${i} not written: ${(err as Error).message}`);
    }
    lines.push(JSON.stringify(checked));
  });
  writeFileAtomic(file, [utf8.encode(lines.map((l) => `${l}\n`).join(''))]);
}
