// `lmkit compare` in process on the tiny config: it prints the markdown
// table and writes compare.md, index.html and metrics.json (the run beside
// the result, readable by `lmkit demo --compare`); --seeds replaces the
// fine-tuning seeds; bad flags are one-line errors.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { COMPARE_HELP, parseSeeds, runCompareCommand } from '../../lib/cli/compare.js';
import { readCompareResult } from '../../lib/compare/result_file.js';
import { captured } from '../helpers/cli_run.js';
import { repoRoot } from '../helpers/gpt2.js';

const dir = t.testdir({ 'corpus.txt': readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 60_000) });
const corpus = path.join(dir, 'corpus.txt');
const run = (argv: string[]) => captured(async () => runCompareCommand(argv));

t.test('a tiny run writes the table, the report and the result with its run', async (t) => {
  const out = path.join(dir, 'out');
  const r = await run(['--tiny', '--out', out, '--data', corpus, '--seeds', '3,4']);
  t.equal(r.code, 0, r.stderr);
  const md = readFileSync(path.join(out, 'compare.md'), 'utf8');
  t.match(md, /^# lmkit compare: the four architectures side by side \(tiny run\)/);
  t.equal(r.stdout, `${md}\n`, 'the markdown is what was printed');
  t.match(md, /fine-tuning seeds 3, 4/);
  t.match(readFileSync(path.join(out, 'index.html'), 'utf8'), /The four architectures side by side/);
  t.ok(existsSync(path.join(out, 'tokenizer.json')), 'the shared tokenizer is kept');
  const saved = readCompareResult(out);
  t.equal(saved.run.command, `lmkit compare --tiny --out ${out} --data ${corpus} --seeds 3,4`);
  t.same(saved.result.config.finetuneSeeds, [3, 4]);
  t.match(r.stderr, /done in .*compare\.md, report .*index\.html, metrics .*metrics\.json/);
});

t.test('bad flags are one-line errors', async (t) => {
  const both = await run(['--tiny', '--quick', '--out', path.join(dir, 'x')]);
  t.equal(both.code, 1);
  t.match(both.stderr, /lmkit compare: --quick and --tiny choose different sizes; pass one \[CONFIG_INVALID\]/);
  const seeds = await run(['--tiny', '--seeds', '1,x', '--out', path.join(dir, 'y')]);
  t.equal(seeds.code, 1);
  t.match(seeds.stderr, /--seeds "1,x": expected non-negative integers/);
  const unknown = await run(['--fast']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /Run: lmkit compare --help/);
  t.notOk(existsSync(path.join(dir, 'x')) || existsSync(path.join(dir, 'y')), 'nothing written for a refused run');
  const help = await run(['--help']);
  t.equal(help.code, 0);
  t.equal(help.stdout, `${COMPARE_HELP}\n`);
});

t.test('parseSeeds: distinct non-negative integers', async (t) => {
  t.same(parseSeeds('1, 2,3'), [1, 2, 3]);
  t.same(parseSeeds('0'), [0]);
  t.throws(() => parseSeeds('1,1'), { code: 'CONFIG_INVALID', message: /repeated/ });
  t.throws(() => parseSeeds('-1'), { code: 'CONFIG_INVALID' });
  t.throws(() => parseSeeds(''), { code: 'CONFIG_INVALID' });
});
