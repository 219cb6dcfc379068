// A compare result as tables: the families' budget (parameters, tokens,
// time), then one table per task type with zero-shot / few-shot /
// fine-tuned columns, the best family of each column in bold, and the
// spread over fine-tuning seeds as (min–max). The same tables feed the
// markdown (toMarkdown) and the HTML report (report.ts).
import type { ReportTable } from '../report/model.js';
import { isUnsupported } from './family.js';
import type { Cell, CompareResult, FamilyResult, SettingCells } from './pipeline.js';
import { FAMILIES } from './sizing.js';

const SETTINGS = ['zeroShot', 'fewShot', 'fineTuned'] as const;

export function formatSeconds(s: number): string {
  if (s < 60) return `${s.toFixed(0)} s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

const thousands = (n: number): string => n.toLocaleString('en-US');
const fixed = (x: number): string => x.toFixed(3);

/** How the best value of a column is marked: bold in markdown, a star in HTML (whose cells are plain text). */
export type Mark = (text: string) => string;
export const MARKDOWN_BEST: Mark = (t) => `**${t}**`;
export const HTML_BEST: Mark = (t) => `${t} ★`;

/** "0.735 (0.700–0.760)" over several seeds, "0.735" for one, "n/a" when unsupported. */
export function formatCell(cell: Cell, mark?: Mark): string {
  if (isUnsupported(cell)) return 'n/a';
  const v = mark ? mark(fixed(cell.mean)) : fixed(cell.mean);
  return cell.values.length > 1 ? `${v} (${fixed(cell.min)}–${fixed(cell.max)})` : v;
}

/**
 * The families holding a column's best mean (ties included); none when every
 * measured family ties, since then there is no best to point at.
 */
export function bestOf(cells: readonly Cell[], lowerIsBetter = false): Set<number> {
  const measured = cells.flatMap((c, i) => (isUnsupported(c) ? [] : [[i, c.mean] as const]));
  if (measured.length === 0) return new Set();
  const target = lowerIsBetter ? Math.min(...measured.map(([, m]) => m)) : Math.max(...measured.map(([, m]) => m));
  const best = measured.filter(([, m]) => m === target).map(([i]) => i);
  return new Set(best.length === measured.length && measured.length > 1 ? [] : best);
}

/** Rows of one family per setting column, the best of each column marked. */
function settingRows(families: readonly FamilyResult[], cells: (f: FamilyResult) => SettingCells, mark: Mark): string[][] {
  const columns = SETTINGS.map((s) => families.map((f) => cells(f)[s]));
  const best = columns.map((col) => bestOf(col));
  return families.map((f, i) => [f.arch, ...SETTINGS.map((_, k) => formatCell(columns[k]![i]!, best[k]!.has(i) ? mark : undefined))]);
}

/** Why a family has no number somewhere: one line per (family, reason). */
export function unsupportedNotes(r: CompareResult): string[] {
  const notes = new Set<string>();
  for (const f of r.families) {
    for (const c of [...f.nlu.flatMap((n) => SETTINGS.map((s) => n[s])), ...SETTINGS.map((s) => f.seq2seq.exact[s])])
      if (isUnsupported(c)) notes.add(`${f.arch}: ${c.unsupported}.`);
    if (f.text.kind === 'none') notes.add(`${f.arch}: ${f.text.unsupported}.`);
  }
  return [...notes];
}

export function compareTables(r: CompareResult, mark: Mark = MARKDOWN_BEST): ReportTable[] {
  const c = r.config;
  const glm = r.families.find((f) => f.arch === 'glm');
  const families = FAMILIES.map((a) => r.families.find((f) => f.arch === a)).filter((f): f is FamilyResult => f !== undefined);
  const budget: ReportTable = {
    caption: `The four families: parameters (GLM's count ±10% is the rule), the same corpus budget, and wall time (pre-training seed ${c.seed}; fine-tuning seeds ${c.finetuneSeeds.join(', ')})`,
    columns: ['family', 'shape', 'parameters', 'vs GLM', 'corpus tokens', 'predicted per token', 'pre-train val loss (unigram)', 'pre-train time', 'fine-tune + eval time'],
    rows: families.map((f) => [
      f.arch, f.shape, thousands(f.parameters),
      glm ? `${f.parameters >= glm.parameters ? '+' : '−'}${(100 * Math.abs(f.parameters / glm.parameters - 1)).toFixed(1)}%` : '—',
      thousands(f.pretrain.corpusTokens), f.pretrain.targetShare.toFixed(2),
      f.pretrain.valLoss === null ? '—' : `${f.pretrain.valLoss.toFixed(3)} (${f.pretrain.unigramValLoss?.toFixed(3) ?? '—'})`,
      formatSeconds(f.pretrain.seconds), formatSeconds(f.evalSeconds),
    ]),
  };
  const settingColumns = ['zero-shot', `${c.shots}-shot`, 'fine-tuned'];
  const nlu: ReportTable[] = c.nlu.tasks.map((task) => ({
    caption: `NLU: ${task} accuracy on ${r.evalSizes.nlu[task]} held-out examples (chance 0.5)`,
    columns: ['family', ...settingColumns],
    rows: settingRows(families, (f) => f.nlu.find((n) => n.task === task)!, mark),
  }));
  const cipher = (metric: 'exact' | 'charF1', name: string): ReportTable => ({
    caption: `Conditional generation: cipher translation, ${name} on ${r.evalSizes.seq2seq} held-out words`,
    columns: ['family', ...settingColumns],
    rows: settingRows(families, (f) => f.seq2seq[metric], mark),
  });
  const textCells = families.map((f): Cell => (f.text.kind === 'likelihood' ? { mean: f.text.perplexity, min: f.text.perplexity, max: f.text.perplexity, values: [f.text.perplexity] } : { unsupported: 'no likelihood' }));
  const bestText = bestOf(textCells, true);
  const text: ReportTable = {
    caption: `Unconditional generation: per-character perplexity of ${r.evalSizes.textChars} held-out corpus characters (${c.perplexity.segments} segments of ${c.perplexity.length}, each after one given character; lower is better)`,
    columns: ['family', 'per-char perplexity', 'how'],
    rows: families.map((f, i) => {
      if (f.text.kind === 'none') return [f.arch, 'n/a', f.text.unsupported];
      const v = f.text.perplexity.toFixed(2);
      if (f.text.kind === 'pseudo') return [f.arch, `(${v})`, `${f.text.how}; not a likelihood, not comparable`];
      return [f.arch, bestText.has(i) ? mark(v) : v, f.text.how];
    }),
  };
  return [budget, ...nlu, cipher('exact', 'exact match'), cipher('charF1', 'character F1'), text];
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** GitHub-flavoured markdown, one table after another, each under its caption. */
export function toMarkdown(tables: readonly ReportTable[]): string {
  return tables.map((t) => {
    const head = `| ${t.columns.map((x) => escapeCell(x)).join(' | ')} |`;
    const rule = `|${t.columns.map(() => '---').join('|')}|`;
    const rows = t.rows.map((row) => `| ${row.map((x) => escapeCell(x === null ? '—' : String(x))).join(' | ')} |`);
    return [`**${escapeCell(t.caption ?? '')}**`, '', head, rule, ...rows].join('\n');
  }).join('\n\n') + '\n';
}
