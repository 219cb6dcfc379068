// The reading of a compare result on hand-made numbers: the best family of
// each column (ties, n/a), the cell format with the spread over seeds, and
// whether GLM "matches" the best, with the band worked out by hand here:
// scores within 2·√((p(1−p) + q(1−q)) / n), perplexity within 5%; the
// encoder's pseudo-perplexity never competes with likelihoods.
import t from 'tap';
import { TINY_COMPARE } from '../../lib/compare/config.js';
import type { Cell, CompareResult, FamilyResult, SettingCells } from '../../lib/compare/pipeline.js';
import { compareMarkdown, glmVerdicts } from '../../lib/compare/report.js';
import { bestOf, formatCell } from '../../lib/compare/table.js';
import type { Arch } from '../../lib/models/arch.js';

const one = (x: number): Cell => ({ mean: x, min: x, max: x, values: [x] });
const na: Cell = { unsupported: 'no decoder to generate with' };
const same = (c: Cell): SettingCells => ({ zeroShot: c, fewShot: c, fineTuned: c });

function family(arch: Arch, nlu: number, cipher: Cell, text: FamilyResult['text']): FamilyResult {
  return {
    arch, shape: 's', parameters: 1000,
    pretrain: { corpusTokens: 1024, targetShare: 1, valLoss: 1, unigramValLoss: 2, seconds: 1 },
    methods: { nlu: { prompted: 'p', fineTuned: 'f' }, seq2seq: arch === 'encoder' ? null : { prompted: 'p', fineTuned: 'f' } },
    nlu: [{ task: 'sentiment', ...same(one(nlu)) }],
    seq2seq: { exact: same(cipher), charF1: same(cipher) },
    text, evalSeconds: 1, samples: [],
  };
}

function result(families: FamilyResult[]): CompareResult {
  return { config: TINY_COMPARE, vocabSize: 80, evalSizes: { nlu: { sentiment: 200 }, seq2seq: 200, textChars: 100 }, families, seconds: 10 };
}

const ppl = (x: number): FamilyResult['text'] => ({ kind: 'likelihood', perplexity: x, how: 'h' });

t.test('best of a column: highest (or lowest) mean, ties kept, all-tied means none, n/a skipped', async (t) => {
  t.same([...bestOf([one(0.5), one(0.8), na, one(0.8)])], [1, 3]);
  t.same([...bestOf([one(5), one(4), one(6)], true)], [1]);
  t.same([...bestOf([one(0.5), na, one(0.5)])], [], 'every measured family ties: no best');
  t.same([...bestOf([one(0.5)])], [0], 'a lone measured family is the best');
  t.equal(formatCell({ mean: 0.75, min: 0.7, max: 0.8, values: [0.7, 0.75, 0.8] }), '0.750 (0.700–0.800)');
  t.equal(formatCell(one(0.5), (s) => `**${s}**`), '**0.500**');
  t.equal(formatCell(na), 'n/a');
});

t.test('GLM within two standard errors of the best score matches; further away it does not', async (t) => {
  // Best 0.8, GLM 0.75, n = 200: band 2·√((0.16 + 0.1875)/200) = 0.0834 ≥ gap 0.05 → matches.
  // Best 0.8 (cipher), GLM 0.7: band 2·√((0.16 + 0.21)/200) = 0.0860 < gap 0.1 → does not.
  const r = result([
    family('decoder', 0.8, one(0.8), ppl(5)), family('encoder', 0.6, na, { kind: 'pseudo', perplexity: 1.5, how: 'pseudo' }),
    family('encoder-decoder', 0.5, one(0.6), ppl(5.5)), family('glm', 0.75, one(0.7), ppl(5.2)),
  ]);
  const v = Object.fromEntries(glmVerdicts(r).map((x) => [x.column, x]));
  const nlu = v['sentiment accuracy, fine-tuned']!;
  t.same(nlu.best, ['decoder']);
  t.equal(nlu.matches, true);
  t.match(nlu.measured, 'GLM 0.750 vs decoder 0.800 (gap 0.050, noise band ±0.083 at n = 200)');
  const cipher = v['cipher exact match, zero-shot']!;
  t.equal(cipher.matches, false);
  t.match(cipher.measured, 'gap 0.100, noise band ±0.086');
  // Perplexity: 5.2 is 4% above the decoder's 5 (the encoder's 1.5 is a pseudo-perplexity and is not counted).
  const text = v['held-out text, per-char perplexity']!;
  t.same(text.best, ['decoder']);
  t.equal(text.matches, true);
  t.match(text.measured, '4.0% higher; the band is 5%');
  const md = compareMarkdown(r, { date: 'd', command: 'c', machine: 'm' });
  t.match(md, '| encoder | (1.50) | pseudo; not a likelihood, not comparable |');
  t.match(md, '| decoder | **5.00** | h |');
  t.match(md, `GLM matches the best family in ${glmVerdicts(r).filter((x) => x.matches).length} of 10 columns`);
});

t.test('GLM best, tied, or 6% worse in perplexity', async (t) => {
  const r = result([
    family('decoder', 0.7, one(0.9), ppl(5)), family('encoder', 0.9, na, { kind: 'pseudo', perplexity: 1.5, how: 'pseudo' }),
    family('encoder-decoder', 0.5, one(0.9), ppl(6)), family('glm', 0.9, one(0.5), ppl(5.3)),
  ]);
  const v = Object.fromEntries(glmVerdicts(r).map((x) => [x.column, x]));
  t.match(v['sentiment accuracy, few-shot']!.measured, 'GLM 0.900 is the best (tied with encoder)');
  t.equal(v['sentiment accuracy, few-shot']!.matches, true);
  t.same(v['cipher char F1, fine-tuned']!.best, ['decoder', 'encoder-decoder']);
  t.equal(v['cipher char F1, fine-tuned']!.matches, false, 'gap 0.4 far outside the band');
  t.equal(v['held-out text, per-char perplexity']!.matches, false, '5.3 is 6% above 5');
});
