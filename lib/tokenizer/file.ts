// Reading and writing tokenizer files, with TokenizerErrors that name the file.
import { readFileSync, writeFileSync } from 'node:fs';
import { TokenizerError } from './errors.js';

export function readJsonFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TokenizerError('IO', `${path}: cannot read tokenizer file (${(err as Error).message})`, { cause: err });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new TokenizerError('BAD_JSON', `${path}: not valid JSON (${(err as Error).message}); is the file truncated?`, { cause: err });
  }
}

export function writeJsonFile(path: string, doc: unknown): void {
  try {
    writeFileSync(path, JSON.stringify(doc) + '\n');
  } catch (err) {
    throw new TokenizerError('IO', `${path}: cannot write tokenizer file (${(err as Error).message})`, { cause: err });
  }
}
