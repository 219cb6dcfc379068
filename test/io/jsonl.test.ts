// JSONL reading: records with line numbers, errors naming file and line.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadJsonl, readJsonl, stringFields } from '../../lib/io/jsonl.js';

const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-jsonl-'));
const file = (name: string, text: string) => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};
const instruction = stringFields(['instruction', 'output'], ['input']);

t.test('reads records with line numbers, skipping blank lines', async (t) => {
  const p = file('ok.jsonl', '{"instruction":"a","output":"b"}\n\n{"instruction":"c","input":"d","output":"e"}\r\n');
  const lines: number[] = [];
  for await (const r of readJsonl(p, instruction)) lines.push(r.line);
  t.same(lines, [1, 3]);
  t.same((await loadJsonl(p, instruction))[1], { instruction: 'c', input: 'd', output: 'e' });
});

t.test('bad lines fail with file:line and the reason', async (t) => {
  await t.rejects(loadJsonl(file('bad.jsonl', '{"instruction":"a","output":"b"}\n{"instruction": oops}\n'), instruction), {
    name: 'DataError', code: 'DATA_BAD_LINE', message: /bad\.jsonl:2: not valid JSON/ });
  await t.rejects(loadJsonl(file('field.jsonl', '{"instruction":"a"}\n'), instruction), {
    message: /field\.jsonl:1: field "output" must be a string \(got nothing\)/ });
  await t.rejects(loadJsonl(file('arr.jsonl', '[1,2]\n'), instruction), { message: /arr\.jsonl:1: expected a JSON object/ });
  await t.rejects(loadJsonl(path.join(dir, 'missing.jsonl'), instruction), { code: 'DATA_MISSING', message: /missing\.jsonl: no such file/ });
});
