// A tiny `lmkit compare` end to end: the four families within ±10% of GLM's
// parameter count on the same corpus budget, every cell measured or
// explained, and a second run with the same config bitwise the same
// (wall times aside); the markdown and the report section render.
import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { TINY_COMPARE, checkCompareConfig } from '../../lib/compare/config.js';
import { isUnsupported } from '../../lib/compare/family.js';
import { runCompare, type CompareResult } from '../../lib/compare/pipeline.js';
import { compareMarkdown, compareSection, glmVerdicts } from '../../lib/compare/report.js';
import { renderReport } from '../../lib/report/render_html.js';
import { repoRoot } from '../helpers/gpt2.js';

const text = readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 60_000);

/** The result without its wall times: what must repeat exactly. */
function measured(r: CompareResult): string {
  return JSON.stringify(r, (key, value: unknown) => (key === 'seconds' || key === 'evalSeconds' ? undefined : value));
}

t.test('tiny compare: equal size and budget, every cell accounted for, rerun bitwise the same', async (t) => {
  const dir = t.testdir({ 'corpus.txt': text });
  const run = (work: string) => runCompare({ config: TINY_COMPARE, corpusFile: path.join(dir, 'corpus.txt'), workDir: path.join(dir, work) });
  const a = run('a');
  t.same(a.families.map((f) => f.arch), ['decoder', 'encoder', 'encoder-decoder', 'glm']);
  const glm = a.families.find((f) => f.arch === 'glm')!;
  for (const f of a.families) {
    t.ok(Math.abs(f.parameters / glm.parameters - 1) <= 0.1, `${f.arch}: ${f.parameters} parameters, GLM ${glm.parameters}`);
    t.equal(f.pretrain.corpusTokens, TINY_COMPARE.pretrain.iters * TINY_COMPARE.pretrain.batch_size * TINY_COMPARE.pretrain.block_size, `${f.arch}: the shared corpus budget`);
    t.ok(f.pretrain.targetShare > 0 && f.pretrain.targetShare <= 1, `${f.arch}: predicts ${f.pretrain.targetShare} per corpus token`);
    for (const n of f.nlu) {
      t.equal(n.fineTuned.hasOwnProperty('values') && (n.fineTuned as { values: number[] }).values.length, TINY_COMPARE.finetuneSeeds.length, `${f.arch} ${n.task}: one fine-tuning per seed`);
      for (const cell of [n.zeroShot, n.fewShot, n.fineTuned]) t.notOk(isUnsupported(cell), `${f.arch} ${n.task}: every family classifies`);
    }
  }
  t.equal(a.families[0]!.pretrain.targetShare, 1, 'a causal LM predicts every token');
  const encoder = a.families.find((f) => f.arch === 'encoder')!;
  t.ok(isUnsupported(encoder.seq2seq.exact.fineTuned) && isUnsupported(encoder.seq2seq.charF1.zeroShot), 'the encoder cannot generate, and says so');
  t.equal(encoder.text.kind, 'pseudo', 'its text score is a pseudo-likelihood, kept apart');
  for (const f of a.families.filter((x) => x.arch !== 'encoder')) {
    t.equal(f.text.kind, 'likelihood', `${f.arch}: a likelihood`);
    t.ok(f.text.kind !== 'none' && Number.isFinite(f.text.perplexity) && f.text.perplexity > 1, `${f.arch}: perplexity ${f.text.kind !== 'none' ? f.text.perplexity : '-'}`);
  }

  const b = run('b');
  t.equal(measured(b), measured(a), 'the same config gives the same numbers');

  const md = compareMarkdown(a, { date: 'd', command: 'lmkit compare --tiny', machine: 'm' });
  for (const f of a.families) t.match(md, new RegExp(`\\| ${f.arch} \\| ${f.shape.replace(/[()+×]/g, '.')} \\| ${f.parameters.toLocaleString('en-US')} \\|`), `${f.arch}'s budget row`);
  t.match(md, /\| encoder \| n\/a \| n\/a \| n\/a \|/, 'the encoder has no cipher numbers');
  const verdicts = glmVerdicts(a);
  t.equal(verdicts.length, TINY_COMPARE.nlu.tasks.length * 3 + 6 + 1, 'one verdict per column');
  t.match(md, new RegExp(`GLM matches the best family in ${verdicts.filter((v) => v.matches).length} of ${verdicts.length} columns`));
  const html = renderReport({ title: 'compare', sections: [compareSection(a)] });
  t.match(html, /The four architectures side by side/);
  t.notMatch(html, /\*\*/, 'the HTML marks the best with a star, not markdown');
});

t.test('configs that cannot run are refused before any training, naming the field', async (t) => {
  t.throws(() => checkCompareConfig({ ...TINY_COMPARE, model: { ...TINY_COMPARE.model, n_layer: 3 } }), { code: 'CONFIG_INVALID', message: /n_layer must be even/ });
  t.throws(() => checkCompareConfig({ ...TINY_COMPARE, nlu: { ...TINY_COMPARE.nlu, tasks: ['reverse'] } }), { message: /has "reverse"; classification tasks: sentiment, entailment/ });
  t.throws(() => checkCompareConfig({ ...TINY_COMPARE, finetuneSeeds: [1, 1] }), { message: /repeats a seed/ });
  const dir = t.testdir({ 'corpus.txt': text });
  const long = { ...TINY_COMPARE, shots: 4 };
  t.throws(() => runCompare({ config: long, corpusFile: path.join(dir, 'corpus.txt'), workDir: dir }), { code: 'CONFIG_INVALID', message: /4-shot sentiment prompt can take \d+ tokens with its answer, over pretrain.block_size 128/ });
});
