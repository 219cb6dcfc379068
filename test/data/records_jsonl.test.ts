// Instruction / preference / prompt JSONL: round trips through the atomic
// writers, human-style files with extra fields, and one bad line per case
// (issue #6 must-show 4): each error names file:line and the field.
import t from 'tap';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  loadInstructionJsonl, loadPreferenceJsonl, loadPromptJsonl, readPreferenceJsonl,
  writeInstructionJsonl, writePreferenceJsonl, writePromptJsonl,
} from '../../lib/data/records_jsonl.js';
import type { InstructionExample, PreferenceExample } from '../../lib/data/records.js';

const good = {
  instruction: '{"instruction":"Reverse the letters.","input":"lamp","output":"pmal"}',
  preference: '{"prompt":"Add 2+2","responses":["4","5","four"],"ranking":[0,2,1]}',
};

t.test('round trips through the writers, which write only the documented fields', async (t) => {
  const dir = t.testdir({});
  const inst: InstructionExample[] = [
    { instruction: 'Reverse the letters.', input: 'lamp', output: 'pmal', task: 'reverse' },
    { instruction: 'Say hi.', input: '', output: 'hi "there"\n\u2028ok' },
  ];
  const f1 = path.join(dir, 'inst.jsonl');
  writeInstructionJsonl(f1, inst);
  t.same(await loadInstructionJsonl(f1), inst);
  t.equal(readFileSync(f1, 'utf8').split('\n').length, 3, 'one line per record, newline-terminated');
  const prefs = [{ prompt: 'p', responses: ['a', 'b'], ranking: [1, 0], extra: 'dropped' }] as unknown as PreferenceExample[];
  const f2 = path.join(dir, 'pref.jsonl');
  writePreferenceJsonl(f2, prefs);
  t.same(await loadPreferenceJsonl(f2), [{ prompt: 'p', responses: ['a', 'b'], ranking: [1, 0] }]);
  t.notMatch(readFileSync(f2, 'utf8'), /extra/);
  const f3 = path.join(dir, 'prompts.jsonl');
  writePromptJsonl(f3, [{ prompt: 'one' }, { prompt: 'two' }]);
  t.same(await loadPromptJsonl(f3), [{ prompt: 'one' }, { prompt: 'two' }]);
  t.same(readdirSync(dir).sort(), ['inst.jsonl', 'pref.jsonl', 'prompts.jsonl'], 'no temp files left');
});

t.test('human-made files: extra fields, missing input, blank lines, CRLF, line numbers', async (t) => {
  const dir = t.testdir({
    'alpaca.jsonl': '{"instruction":"Name a colour.","output":"blue","id":17}\r\n\r\n' + good.instruction + '\r\n',
    'hh.jsonl': `{"prompt":"Hi","responses":["Hello!","Go away."],"ranking":[0,1],"annotator":"a3","time":12.5}\n\n${good.preference}\n`,
  });
  t.same(await loadInstructionJsonl(path.join(dir, 'alpaca.jsonl')), [
    { instruction: 'Name a colour.', input: '', output: 'blue' },
    { instruction: 'Reverse the letters.', input: 'lamp', output: 'pmal' },
  ]);
  const lines: number[] = [];
  for await (const r of readPreferenceJsonl(path.join(dir, 'hh.jsonl'))) lines.push(r.line);
  t.same(lines, [1, 3]);
});

/** Each bad line sits on line 2, after a good one. */
const badInstruction: [string, string, RegExp][] = [
  ['malformed JSON', '{"instruction": "x", "output": }', /not valid JSON/],
  ['not an object', '["x","y"]', /expected a JSON object, got an array/],
  ['missing output', '{"instruction":"x","input":"y"}', /field "output" must be a string, got nothing \(the field is missing\)/],
  ['output of the wrong type', '{"instruction":"x","input":"y","output":42}', /field "output" must be a string, got number 42/],
  ['empty output', '{"instruction":"x","input":"y","output":"  "}', /field "output" is empty; supervised fine-tuning needs a non-empty target output/],
  ['instruction of the wrong type', '{"instruction":["x"],"output":"y"}', /field "instruction" must be a string, got an array/],
  ['input null', '{"instruction":"x","input":null,"output":"y"}', /field "input" must be a string, got null/],
  ['nothing to answer', '{"instruction":"","input":"","output":"y"}', /fields "instruction" and "input" are both empty/],
  ['empty task', '{"instruction":"x","output":"y","task":""}', /field "task" is empty/],
];

const badPreference: [string, string, RegExp][] = [
  ['malformed JSON', '{"prompt":"p","responses":["a","b"],"ranking":[0,1]', /not valid JSON/],
  ['missing prompt', '{"responses":["a","b"],"ranking":[0,1]}', /field "prompt" must be a string, got nothing/],
  ['empty prompt', '{"prompt":"","responses":["a","b"],"ranking":[0,1]}', /field "prompt" is empty/],
  ['responses not an array', '{"prompt":"p","responses":"a","ranking":[0]}', /field "responses" must be an array of strings, got string/],
  ['K = 1', '{"prompt":"p","responses":["a"],"ranking":[0]}', /field "responses" has 1 response\(s\); a ranking needs K >= 2/],
  ['K = 0', '{"prompt":"p","responses":[],"ranking":[]}', /field "responses" has 0 response\(s\); a ranking needs K >= 2/],
  ['empty response', '{"prompt":"p","responses":["a",""],"ranking":[0,1]}', /field "responses\[1\]" is empty/],
  ['response not a string', '{"prompt":"p","responses":["a",3],"ranking":[0,1]}', /field "responses\[1\]" must be a string, got number 3/],
  ['ranking missing', '{"prompt":"p","responses":["a","b"]}', /field "ranking" must be a permutation of 0\.\.1 .*got nothing/],
  ['ranking repeats an index', '{"prompt":"p","responses":["a","b","c"],"ranking":[0,0,1]}', /field "ranking" lists 0 twice \(\[0,0,1\]\); it must be a permutation of 0\.\.2/],
  ['ranking index out of range', '{"prompt":"p","responses":["a","b"],"ranking":[0,2]}', /field "ranking\[1\]" is 2, not an index of "responses"/],
  ['ranking index not an integer', '{"prompt":"p","responses":["a","b"],"ranking":[0,0.5]}', /field "ranking\[1\]" is 0\.5/],
  ['ranking index a string', '{"prompt":"p","responses":["a","b"],"ranking":["0","1"]}', /field "ranking\[0\]" is "0"/],
  ['ranking too short', '{"prompt":"p","responses":["a","b","c"],"ranking":[2,0]}', /field "ranking" has 2 entries for 3 responses/],
  ['ranking too long', '{"prompt":"p","responses":["a","b"],"ranking":[1,0,2]}', /field "ranking" has 3 entries for 2 responses/],
];

for (const [kind, cases, load, first] of [
  ['instruction', badInstruction, loadInstructionJsonl, good.instruction],
  ['preference', badPreference, loadPreferenceJsonl, good.preference],
] as const) {
  t.test(`bad ${kind} lines: DataError with file:line and the field`, async (t) => {
    const dir = t.testdir({});
    for (const [name, line, reason] of cases) {
      const file = path.join(dir, `${name.replace(/\W+/g, '_')}.jsonl`);
      writeFileSync(file, `${first}\n${line}\n${first}\n`);
      await t.rejects((load as (f: string) => Promise<unknown>)(file), { name: 'DataError', code: 'DATA_BAD_LINE', message: new RegExp(`${path.basename(file)}:2: ${reason.source}`) }, name);
    }
  });
}

t.test('bad prompt lines, missing and empty files', async (t) => {
  const dir = t.testdir({ 'p.jsonl': '{"prompt":"ok"}\n{"text":"no prompt"}\n', 'e.jsonl': '{"prompt":" "}\n', 'blank.jsonl': '\n\n' });
  await t.rejects(loadPromptJsonl(path.join(dir, 'p.jsonl')), { message: /p\.jsonl:2: field "prompt" must be a string, got nothing/ });
  await t.rejects(loadPromptJsonl(path.join(dir, 'e.jsonl')), { message: /e\.jsonl:1: field "prompt" is empty/ });
  await t.rejects(loadPreferenceJsonl(path.join(dir, 'blank.jsonl')), { code: 'DATA_EMPTY', message: /blank\.jsonl: no records; expected one JSON object \{"prompt", "responses", "ranking"\} per line/ });
  await t.rejects(loadInstructionJsonl(path.join(dir, 'missing.jsonl')), { code: 'DATA_MISSING', message: /missing\.jsonl: no such file/ });
});

t.test('writers refuse a bad record, naming it, and leave the old file as it was', async (t) => {
  const dir = t.testdir({ 'keep.jsonl': `${good.preference}\n` });
  const keep = path.join(dir, 'keep.jsonl');
  t.throws(() => writePreferenceJsonl(keep, [{ prompt: 'p', responses: ['a', 'b'], ranking: [0, 1] }, { prompt: 'p', responses: ['a', 'b'], ranking: [1, 1] }]), {
    name: 'DataError', code: 'DATA_BAD_RECORD', message: /keep\.jsonl: record 1 not written: field "ranking" lists 1 twice/ });
  t.equal(readFileSync(keep, 'utf8'), `${good.preference}\n`);
  const fresh = path.join(dir, 'fresh.jsonl');
  t.throws(() => writeInstructionJsonl(fresh, [{ instruction: 'x', input: '', output: '' }]), { message: /record 0 not written: field "output" is empty/ });
  t.notOk(existsSync(fresh));
  t.same(readdirSync(dir), ['keep.jsonl'], 'no temp files left');
});
