// The compare result as a reader gets it: for every column, whether GLM
// matches the best family (computed from the numbers, never written by
// hand), then the markdown document `lmkit compare` writes and the section
// the demo's HTML report can include.
//
// "Matches" for a score in [0, 1] measured on n examples: the best family's
// mean minus GLM's is at most two standard errors of that difference,
// 2·√((p(1−p) + q(1−q)) / n); a [0, 1] variable with mean μ has variance at
// most μ(1−μ), so this band is never too narrow for char F1 either. For
// perplexity: GLM within 5% of the best. A rough guide to the noise, not a test.
import type { Arch } from '../models/arch.js';
import type { ReportSection, ReportTable, SampleGeneration } from '../report/model.js';
import { isUnsupported } from './family.js';
import type { Cell, CompareResult, FamilyResult } from './pipeline.js';
import type { SavedCompare } from './result_file.js';
import { bestOf, compareTables, HTML_BEST, toMarkdown, unsupportedNotes } from './table.js';

export interface GlmVerdict {
  column: string;
  /** The best families (ties included); empty when every family ties. */
  best: Arch[];
  bestValue: number | null;
  glmValue: number | null;
  /** GLM is among the best, or within the noise band of the module comment. */
  matches: boolean;
  /** The numbers behind it, in words. */
  measured: string;
}

const SETTING_NAMES = { zeroShot: 'zero-shot', fewShot: 'few-shot', fineTuned: 'fine-tuned' } as const;

function verdictOf(column: string, families: readonly FamilyResult[], cells: readonly Cell[], n: number | null): GlmVerdict {
  const glmIndex = families.findIndex((f) => f.arch === 'glm');
  const glm = cells[glmIndex];
  const lowerIsBetter = n === null;
  const best = [...bestOf(cells, lowerIsBetter)];
  const measuredCells = cells.filter((c) => !isUnsupported(c));
  const bestMean = best.length > 0 ? (cells[best[0]!] as { mean: number }).mean : measuredCells.length > 0 ? (measuredCells[0] as { mean: number }).mean : null;
  if (!glm || isUnsupported(glm) || bestMean === null)
    return { column, best: best.map((i) => families[i]!.arch), bestValue: bestMean, glmValue: null, matches: false, measured: 'GLM not measured' };
  const g = glm.mean;
  const who = best.length === 0 ? 'all families tie' : best.map((i) => families[i]!.arch).join(', ');
  let matches: boolean, measured: string;
  if (best.length === 0 || best.includes(glmIndex)) {
    matches = true;
    const others = best.filter((i) => i !== glmIndex).map((i) => families[i]!.arch);
    measured = best.length === 0 ? `all families ${g.toFixed(3)}` : `GLM ${g.toFixed(3)} is the best${others.length > 0 ? ` (tied with ${others.join(', ')})` : ''}`;
  } else if (lowerIsBetter) {
    matches = g <= bestMean * 1.05;
    measured = `GLM ${g.toFixed(2)} vs ${who} ${bestMean.toFixed(2)} (${(100 * (g / bestMean - 1)).toFixed(1)}% higher; the band is 5%)`;
  } else {
    const band = 2 * Math.sqrt((bestMean * (1 - bestMean) + g * (1 - g)) / n!);
    matches = bestMean - g <= band;
    measured = `GLM ${g.toFixed(3)} vs ${who} ${bestMean.toFixed(3)} (gap ${(bestMean - g).toFixed(3)}, noise band ±${band.toFixed(3)} at n = ${n})`;
  }
  return { column, best: best.map((i) => families[i]!.arch), bestValue: bestMean, glmValue: g, matches, measured };
}

/** One verdict per column of the result tables. */
export function glmVerdicts(r: CompareResult): GlmVerdict[] {
  const fs = r.families;
  const out: GlmVerdict[] = [];
  for (const task of r.config.nlu.tasks)
    for (const [key, name] of Object.entries(SETTING_NAMES) as [keyof typeof SETTING_NAMES, string][])
      out.push(verdictOf(`${task} accuracy, ${name}`, fs, fs.map((f) => f.nlu.find((x) => x.task === task)![key]), r.evalSizes.nlu[task]!));
  for (const metric of ['exact', 'charF1'] as const)
    for (const [key, name] of Object.entries(SETTING_NAMES) as [keyof typeof SETTING_NAMES, string][])
      out.push(verdictOf(`cipher ${metric === 'exact' ? 'exact match' : 'char F1'}, ${name}`, fs, fs.map((f) => f.seq2seq[metric][key]), r.evalSizes.seq2seq));
  const text = fs.map((f): Cell => (f.text.kind === 'likelihood' ? { mean: f.text.perplexity, min: f.text.perplexity, max: f.text.perplexity, values: [f.text.perplexity] } : { unsupported: 'no likelihood' }));
  out.push(verdictOf('held-out text, per-char perplexity', fs, text, null));
  return out;
}

function verdictTable(r: CompareResult): ReportTable {
  return {
    caption: 'Does GLM match the best family? (computed: within two standard errors for scores, within 5% for perplexity)',
    columns: ['column', 'best', 'GLM matches', 'measured'],
    rows: glmVerdicts(r).map((v) => [v.column, v.best.join(', ') || '(tie)', v.matches ? 'yes' : 'no', v.measured]),
  };
}

function introduction(r: CompareResult): string[] {
  const c = r.config;
  return [
    'The seed article: decoder-only models generate but understand less well, encoders understand but cannot generate, encoder-decoders suit conditional generation, and no one architecture is best at all three; GLM\'s autoregressive blank infilling (one shared transformer, 2D positions) aims to be good at all three. Here the claim is measured, not repeated.',
    `Each family was pre-trained on the same ${(c.pretrain.iters * c.pretrain.batch_size * c.pretrain.block_size).toLocaleString('en-US')} characters of the corpus (${c.pretrain.iters} steps × ${c.pretrain.batch_size} windows × ${c.pretrain.block_size}) with its own objective: causal LM, BERT's MLM, T5's span corruption, GLM's blank infilling (${Math.round(100 * c.pretrain.glmDocumentShare)}% of the windows with its document-level [gMASK] objective). Parameter counts are GLM's ±10%; the MLP widths are solved to get there. One shared character tokenizer (${r.vocabSize} tokens).`,
    `NLU: classification (${c.nlu.tasks.join(', ')}; the sentiment lexicon is invented, so nothing is known before fine-tuning). Conditional generation: "translation" of a random word into a made-up letter cipher. Unconditional generation: per-character perplexity of held-out corpus text. Fine-tuning: the same ${c.nlu.iters} (NLU) / ${c.seq2seq.iters} (cipher) steps, batch size and learning rate for every family, once per seed (${c.finetuneSeeds.join(', ')}); cells show the mean and (min–max) over seeds.`,
  ];
}

const methodLines = (r: CompareResult): string[] => r.families.map((f) =>
  `${f.arch}: NLU prompted by ${f.methods.nlu.prompted}, fine-tuned by ${f.methods.nlu.fineTuned}; cipher ${f.methods.seq2seq ? `prompted by ${f.methods.seq2seq.prompted}, fine-tuned by ${f.methods.seq2seq.fineTuned}` : 'not possible'}; text: ${f.text.kind === 'none' ? f.text.unsupported : f.text.how}.`);

/** The section for the demo's HTML report. */
export function compareSection(r: CompareResult): ReportSection {
  const verdicts = glmVerdicts(r);
  const held = verdicts.filter((v) => v.matches).length;
  const samples: SampleGeneration[] = r.families.flatMap((f) => f.samples.slice(0, 2).map(([source, target, prediction]) => ({
    prompt: `${source} = `, output: prediction, label: `${f.arch}, fine-tuned`, note: prediction === target ? 'correct' : `expected ${target}`,
  })));
  return {
    title: 'The four architectures side by side: NLU, conditional and unconditional generation',
    paragraphs: [...introduction(r), ...methodLines(r), ...unsupportedNotes(r), `GLM matches the best family in ${held} of ${verdicts.length} columns at this scale.`],
    tables: [...compareTables(r, HTML_BEST), verdictTable(r)],
    samples,
  };
}

/**
 * The section for a report of another run (`lmkit demo --compare`): the same
 * section, opened by where its numbers come from, since that run did not make them.
 */
export function savedCompareSection(saved: SavedCompare): ReportSection {
  const section = compareSection(saved.result);
  const provenance = `These numbers were not measured by this run: they are read from ${saved.file}, written by \`${saved.run.command}\` on ${saved.run.date} (${saved.run.machine}; ${(saved.result.seconds / 60).toFixed(1)} min in all).`;
  return { ...section, paragraphs: [provenance, ...(section.paragraphs ?? [])] };
}

/** The markdown document: what was run, the tables, the verdicts. */
export function compareMarkdown(r: CompareResult, run: { date: string; command: string; machine: string }): string {
  const verdicts = glmVerdicts(r);
  return [
    `# lmkit compare: the four architectures side by side (${r.config.name} run)`,
    '',
    `${run.date} · \`${run.command}\` · ${run.machine} · total ${(r.seconds / 60).toFixed(1)} min`,
    '',
    ...introduction(r).flatMap((p) => [p, '']),
    ...methodLines(r).map((l) => `- ${l}`),
    ...unsupportedNotes(r).map((l) => `- n/a: ${l}`),
    '',
    toMarkdown([...compareTables(r), verdictTable(r)]).trimEnd(),
    '',
    `GLM matches the best family in ${verdicts.filter((v) => v.matches).length} of ${verdicts.length} columns at this scale.`,
    '',
  ].join('\n');
}
