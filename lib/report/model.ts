// The report model: what `lmkit demo` (or any run) hands to renderReport. Plain
// data, so a stage can build its section without knowing HTML, and checked once
// here (checkReport) so a malformed chart fails with the path of the bad field
// instead of drawing something misleading.
import { ConfigError } from '../errors.js';

/** One report: a title, how the run was made, and its sections in order. */
export interface Report {
  title: string;
  /** Optional one-line summary under the title. */
  subtitle?: string;
  run?: RunInfo;
  sections: readonly ReportSection[];
}

/** Where and how the numbers were produced, so a reader can reproduce them. */
export interface RunInfo {
  /** When the run started; ISO 8601 (`new Date().toISOString()`) reads best. */
  date: string;
  /** The command line that produced the report. */
  command: string;
  /** A description of the machine (CPU, cores, backend, Node version). */
  machine: string;
  /** Wall time of each stage, in run order. */
  stages: readonly StageTiming[];
}

export interface StageTiming {
  name: string;
  seconds: number;
}

/**
 * A section: its parts are shown in this order — paragraphs, charts, tables,
 * samples — which is how a stage's story reads (what, curves, numbers, examples).
 */
export interface ReportSection {
  title: string;
  paragraphs?: readonly string[];
  charts?: readonly LineChart[];
  tables?: readonly ReportTable[];
  samples?: readonly SampleGeneration[];
}

/** A line chart: one line per series, drawn as inline SVG by svg_chart.ts. */
export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly ChartSeries[];
  /** Log-scale y axis (loss curves spanning decades); points with y <= 0 are skipped. */
  logY?: boolean;
}

export interface ChartSeries {
  name: string;
  /** [x, y] pairs, drawn in the given order; NaN/Infinity points are skipped and counted. */
  points: readonly (readonly [number, number])[];
}

/** A cell: text as given, numbers formatted by the renderer, null as a dash. */
export type TableCell = string | number | null;

export interface ReportTable {
  columns: readonly string[];
  rows: readonly (readonly TableCell[])[];
  caption?: string;
}

/** One generation shown verbatim: what the model saw and what it wrote. */
export interface SampleGeneration {
  prompt: string;
  output: string;
  /** Who produced it or under which setting ("SFT, zero-shot"). */
  label?: string;
  /** A verdict or comment ("correct", "reward 0.82"). */
  note?: string;
}

const invalid = (where: string, what: string) =>
  new ConfigError('REPORT_INVALID', `${where}: ${what}; fix the report object passed to renderReport`);

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function expectString(value: unknown, where: string, optional = false): void {
  if (optional && value === undefined) return;
  if (typeof value !== 'string') throw invalid(where, `expected a string but received ${describe(value)}`);
}

function expectArray(value: unknown, where: string, optional = false): readonly unknown[] {
  if (optional && value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(where, `expected an array but received ${describe(value)}`);
  return value;
}

function expectObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(where, `expected an object but received ${describe(value)}`);
  return value as Record<string, unknown>;
}

function checkRun(value: unknown, where: string): void {
  const run = expectObject(value, where);
  expectString(run['date'], `${where}.date`);
  expectString(run['command'], `${where}.command`);
  expectString(run['machine'], `${where}.machine`);
  expectArray(run['stages'], `${where}.stages`).forEach((s, i) => {
    const stage = expectObject(s, `${where}.stages[${i}]`);
    expectString(stage['name'], `${where}.stages[${i}].name`);
    const seconds = stage['seconds'];
    // A stage time is measured, so it is a finite non-negative number or a bug upstream.
    if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) {
      throw invalid(`${where}.stages[${i}].seconds`, `expected a finite number >= 0 but received ${describe(seconds)}`);
    }
  });
}

function checkChart(value: unknown, where: string): void {
  const chart = expectObject(value, where);
  expectString(chart['title'], `${where}.title`);
  expectString(chart['xLabel'], `${where}.xLabel`);
  expectString(chart['yLabel'], `${where}.yLabel`);
  if (chart['logY'] !== undefined && typeof chart['logY'] !== 'boolean') throw invalid(`${where}.logY`, `expected a boolean but received ${describe(chart['logY'])}`);
  expectArray(chart['series'], `${where}.series`).forEach((s, i) => {
    const series = expectObject(s, `${where}.series[${i}]`);
    expectString(series['name'], `${where}.series[${i}].name`);
    expectArray(series['points'], `${where}.series[${i}].points`).forEach((p, j) => {
      // NaN and Infinity are numbers and allowed (skipped when drawn); anything else is a bug.
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== 'number' || typeof p[1] !== 'number') {
        throw invalid(`${where}.series[${i}].points[${j}]`, `expected an [x, y] pair of numbers but received ${describe(p)}`);
      }
    });
  });
}

function checkTable(value: unknown, where: string): void {
  const table = expectObject(value, where);
  const columns = expectArray(table['columns'], `${where}.columns`);
  if (columns.length === 0) throw invalid(`${where}.columns`, 'expected at least one column');
  columns.forEach((c, i) => expectString(c, `${where}.columns[${i}]`));
  expectString(table['caption'], `${where}.caption`, true);
  expectArray(table['rows'], `${where}.rows`).forEach((r, i) => {
    const row = expectArray(r, `${where}.rows[${i}]`);
    if (row.length !== columns.length) throw invalid(`${where}.rows[${i}]`, `has ${row.length} cells but the table has ${columns.length} columns`);
    row.forEach((cell, j) => {
      if (cell !== null && typeof cell !== 'string' && typeof cell !== 'number') {
        throw invalid(`${where}.rows[${i}][${j}]`, `expected a string, number or null but received ${describe(cell)}`);
      }
    });
  });
}

function checkSample(value: unknown, where: string): void {
  const sample = expectObject(value, where);
  expectString(sample['prompt'], `${where}.prompt`);
  expectString(sample['output'], `${where}.output`);
  expectString(sample['label'], `${where}.label`, true);
  expectString(sample['note'], `${where}.note`, true);
}

/**
 * Checks what the types cannot (and what a JavaScript caller may get wrong):
 * field types, table rows as wide as their columns, points as [x, y] pairs.
 * Throws ConfigError REPORT_INVALID naming the field, e.g.
 * `report.sections[2].tables[0].rows[3]: has 2 cells but the table has 3 columns`.
 */
export function checkReport(value: unknown): asserts value is Report {
  const report = expectObject(value, 'report');
  expectString(report['title'], 'report.title');
  expectString(report['subtitle'], 'report.subtitle', true);
  if (report['run'] !== undefined) checkRun(report['run'], 'report.run');
  expectArray(report['sections'], 'report.sections').forEach((s, i) => {
    const where = `report.sections[${i}]`;
    const section = expectObject(s, where);
    expectString(section['title'], `${where}.title`);
    expectArray(section['paragraphs'], `${where}.paragraphs`, true).forEach((p, j) => expectString(p, `${where}.paragraphs[${j}]`));
    expectArray(section['charts'], `${where}.charts`, true).forEach((c, j) => checkChart(c, `${where}.charts[${j}]`));
    expectArray(section['tables'], `${where}.tables`, true).forEach((t, j) => checkTable(t, `${where}.tables[${j}]`));
    expectArray(section['samples'], `${where}.samples`, true).forEach((g, j) => checkSample(g, `${where}.samples[${j}]`));
  });
}
