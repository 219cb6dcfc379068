// A compare run read back from its metrics.json (for `lmkit demo --compare`):
// the tiny run written as `lmkit compare` writes it comes back equal, from
// the file or its folder; the section it makes says where its numbers come
// from; files that are not a finished compare run are refused naming the key,
// and the demo refuses one before it trains anything.
import t from 'tap';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runDemoCommand } from '../../lib/cli/demo.js';
import { TINY_COMPARE } from '../../lib/compare/config.js';
import { runCompare } from '../../lib/compare/pipeline.js';
import { compareSection, savedCompareSection } from '../../lib/compare/report.js';
import { readCompareResult } from '../../lib/compare/result_file.js';
import { renderReport } from '../../lib/report/render_html.js';
import { metricsJson } from '../../lib/report/write_report.js';
import { captured } from '../helpers/cli_run.js';
import { repoRoot } from '../helpers/gpt2.js';

const text = readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 60_000);
const dir = t.testdir({ 'corpus.txt': text, run: {} });
const result = runCompare({ config: TINY_COMPARE, corpusFile: path.join(dir, 'corpus.txt'), workDir: path.join(dir, 'work') });
const run = { date: '2026-12-02T00:00:00.000Z', command: 'lmkit compare --tiny', machine: 'test machine' };
const file = path.join(dir, 'run', 'metrics.json');
const written = metricsJson({ run, ...result });
writeFileSync(file, written);

/** The written JSON with one edit, saved beside it. */
function edited(name: string, edit: (o: Record<string, any>) => void): string {
  const o = JSON.parse(written) as Record<string, any>;
  edit(o);
  const f = path.join(dir, `${name}.json`);
  writeFileSync(f, JSON.stringify(o));
  return f;
}

t.test('the written result comes back equal, from the file or its folder', async (t) => {
  const saved = readCompareResult(file);
  t.same(saved.run, run);
  t.same(saved.result, JSON.parse(JSON.stringify(result)), 'every number as measured');
  t.notOk('run' in saved.result, 'the run is kept apart from the result');
  t.equal(readCompareResult(path.join(dir, 'run')).file, file, 'a folder means its metrics.json');
});

t.test('the section says where its numbers come from, then shows the comparison', async (t) => {
  const saved = readCompareResult(file);
  const section = savedCompareSection(saved);
  t.match(section.paragraphs![0], `not measured by this run: they are read from ${file}, written by \`lmkit compare --tiny\` on 2026-12-02T00:00:00.000Z (test machine;`);
  t.same(section.paragraphs!.slice(1), compareSection(saved.result).paragraphs, 'then the compare section as `lmkit compare` shows it');
  t.same(section.tables, compareSection(saved.result).tables);
  const html = renderReport({ title: 'demo', sections: [section] });
  t.match(html, /not measured by this run/);
  t.match(html, /Does GLM match the best family\?/);
});

t.test('what is not a finished compare run is refused, naming the key', async (t) => {
  t.throws(() => readCompareResult(path.join(dir, 'missing.json')), { code: 'COMPARE_RESULT_UNREADABLE', message: /missing\.json: cannot read the compare result \(no such file\)/ });
  writeFileSync(path.join(dir, 'half.json'), written.slice(0, 200));
  t.throws(() => readCompareResult(path.join(dir, 'half.json')), { code: 'COMPARE_RESULT_UNREADABLE', message: /half\.json: cannot read/ });
  const cases: [string, (o: Record<string, any>) => void, RegExp][] = [
    ['no-run', (o) => delete o.run, /run should be an object, got nothing/],
    ['demo-metrics', (o) => { for (const k of Object.keys(o)) if (k !== 'run') delete o[k]; o.pretrain = {}; }, /config should be an object, got nothing/],
    ['config-name', (o) => (o.config.name = 'huge'), /config\.name is "huge", not one of full, quick, tiny/],
    ['config-bad', (o) => (o.config.finetuneSeeds = [1, 1]), /config is not a valid compare config \(.*repeats a seed/],
    ['nan', (o) => (o.families[2].nlu[0].fineTuned.mean = 'NaN'), /families\[2\]\.nlu\[0\]\.fineTuned\.mean should be a finite number, got "NaN"/],
    ['no-task', (o) => (o.families[0].nlu = []), /families\[0\]\.nlu has no entry for the task "sentiment"/],
    ['no-glm', (o) => o.families.pop(), /families should hold each of decoder, encoder, encoder-decoder, glm once, has \[decoder, encoder, encoder-decoder\]/],
    ['text-kind', (o) => (o.families[3].text.kind = 'guess'), /families\[3\]\.text\.kind is "guess"/],
    ['sample', (o) => (o.families[0].samples[0] = ['a', 'b']), /families\[0\]\.samples\[0\] should be \[source, reference, prediction\]/],
  ];
  for (const [name, edit, message] of cases)
    t.throws(() => readCompareResult(edited(name, edit)), { code: 'COMPARE_RESULT_INVALID', message }, name);
});

t.test('lmkit demo --compare refuses a bad file before training anything', async (t) => {
  const out = path.join(dir, 'demo-out');
  const r = await captured(async () => runDemoCommand(['--quick', '--out', out, '--compare', path.join(dir, 'nowhere')]));
  t.equal(r.code, 1);
  t.match(r.stderr, /lmkit demo: .*nowhere.*cannot read the compare result \(no such file\).*\[COMPARE_RESULT_UNREADABLE\]/);
  t.notOk(existsSync(out), 'no stage ran, nothing was written');
});
