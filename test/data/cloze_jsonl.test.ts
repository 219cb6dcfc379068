// Cloze JSONL ({text, label}): round trip through the atomic writer, extra
// fields dropped, and each bad line a DataError naming file:line and the field.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { countMasks, loadClozeJsonl, readClozeJsonl, writeClozeJsonl } from '../../lib/data/cloze_jsonl.js';

const good = '{"text":"the soup was hot. It was [MASK].","label":"good"}';

t.test('round trip; extra fields dropped; blank lines skipped with line numbers kept', async (t) => {
  const dir = t.testdir({ 'human.jsonl': `{"text":"meh [MASK]","label":"bad","id":3}\n\n${good}\r\n` });
  const file = path.join(dir, 'out.jsonl');
  const records = [{ text: 'a [MASK] b', label: 'x' }, { text: 'quote " and \u2028 [MASK]', label: 'y' }];
  writeClozeJsonl(file, records);
  t.same(await loadClozeJsonl(file), records);
  t.equal(readFileSync(file, 'utf8').split('\n').length, 3);
  const lines: number[] = [];
  for await (const r of readClozeJsonl(path.join(dir, 'human.jsonl'))) lines.push(r.line);
  t.same(lines, [1, 3]);
  t.same(await loadClozeJsonl(path.join(dir, 'human.jsonl')), [{ text: 'meh [MASK]', label: 'bad' }, { text: 'the soup was hot. It was [MASK].', label: 'good' }]);
  t.same([countMasks('x'), countMasks('[MASK]'), countMasks('[gMASK] [MASK][MASK]')], [0, 1, 2], '[gMASK] is not a [MASK]');
});

const bad: [string, string, RegExp][] = [
  ['malformed JSON', '{"text":"a [MASK]",', /not valid JSON/],
  ['not an object', '"a [MASK]"', /expected a JSON object \{"text": "\.\.\. \[MASK\] \.\.\.", "label": "\.\.\."\}, got string/],
  ['missing text', '{"label":"good"}', /field "text" must be a string with one \[MASK\], got nothing \(the field is missing\)/],
  ['text not a string', '{"text":7,"label":"good"}', /field "text" must be a string with one \[MASK\], got 7/],
  ['no [MASK]', '{"text":"no blank here","label":"good"}', /field "text" must hold exactly one \[MASK\] \(where the label's word goes\), found 0/],
  ['two [MASK]s', '{"text":"[MASK] and [MASK]","label":"good"}', /field "text" must hold exactly one \[MASK\].*found 2/],
  ['missing label', '{"text":"a [MASK]"}', /field "label" must be a non-empty string, got nothing/],
  ['empty label', '{"text":"a [MASK]","label":" "}', /field "label" must be a non-empty string, got " "/],
  ['unknown label', '{"text":"a [MASK]","label":"meh"}', /label "meh" is not one of the labels given \(good, bad\)/],
];

t.test('bad lines: DataError with file:line and the field', async (t) => {
  const dir = t.testdir({});
  for (const [name, line, reason] of bad) {
    const file = path.join(dir, `${name.replace(/\W+/g, '_')}.jsonl`);
    writeFileSync(file, `${good}\n${line}\n${good}\n`);
    await t.rejects(loadClozeJsonl(file, ['good', 'bad']), { name: 'DataError', code: 'DATA_BAD_LINE', message: new RegExp(`${path.basename(file)}:2: ${reason.source}`) }, name);
  }
  const any = path.join(dir, 'any.jsonl');
  writeFileSync(any, `${good}\n{"text":"a [MASK]","label":"meh"}\n`);
  t.equal((await loadClozeJsonl(any)).length, 2, 'without a label list any label reads');
});

t.test('missing and empty files; the writer refuses a bad record and writes nothing', async (t) => {
  const dir = t.testdir({ 'blank.jsonl': '\n' });
  await t.rejects(loadClozeJsonl(path.join(dir, 'blank.jsonl')), { code: 'DATA_EMPTY', message: /blank\.jsonl: no records; expected one JSON object \{"text", "label"\} per line/ });
  await t.rejects(loadClozeJsonl(path.join(dir, 'none.jsonl')), { code: 'DATA_MISSING', message: /none\.jsonl: no such file/ });
  const out = path.join(dir, 'out.jsonl');
  t.throws(() => writeClozeJsonl(out, [{ text: 'a [MASK]', label: 'x' }, { text: 'no blank', label: 'x' }]), { code: 'DATA_BAD_RECORD', message: /out\.jsonl: record 1 not written: field "text" must hold exactly one \[MASK\]/ });
  t.notOk(existsSync(out));
});
