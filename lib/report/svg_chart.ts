// Line charts as inline SVG strings, for the self-contained HTML report.
//
// Why our own ~250 lines instead of a bundled chart library (Chart.js, uPlot,
// Vega): those draw with JavaScript at view time, adding 50-250 kB of minified
// code to every report and making what a reader sees depend on a script
// running; this module needs no JS at all, so the report renders even with
// scripts blocked, prints, and is byte-for-byte the same for the same data
// (reports can be diffed and tested as text). Line charts with ticks and a
// legend are all the demo needs.
//
// Layout (viewBox units = CSS px at 100 %): a title on top, the plot box, tick
// labels and axis titles around it, the legend in rows beneath.
import type { ChartSeries, LineChart } from './model.js';
import { escapeHtml, formatTick } from './format.js';
import { linearScale, logScale, type AxisScale } from './ticks.js';

export const CHART_WIDTH = 640;
const PLOT_TOP = 36;
const PLOT_LEFT = 68;
const PLOT_RIGHT = 20;
const PLOT_HEIGHT = 240;
const BELOW_PLOT = 46; // x tick labels and the x axis title
const LEGEND_ROW = 18;
// Marks drawn only for short series: on a 2000-step loss curve they would be a smear.
const MARKER_LIMIT = 40;

/**
 * Okabe & Ito's colour-blind-safe palette (yellow dropped: too pale on white),
 * then dash patterns, so series 8+ still differ from series 1-7.
 */
export const SERIES_COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'] as const;
const SERIES_DASHES = ['', '7 4', '2 3', '10 3 2 3'] as const;

/** The colour and dash pattern of the i-th series. */
export function seriesStyle(i: number): { colour: string; dash: string } {
  return {
    colour: SERIES_COLOURS[i % SERIES_COLOURS.length]!,
    dash: SERIES_DASHES[Math.floor(i / SERIES_COLOURS.length) % SERIES_DASHES.length]!,
  };
}

/** Points of one series that could not be drawn. */
export interface SkippedPoints {
  series: string;
  /** x or y was NaN or ±Infinity. */
  nonFinite: number;
  /** y <= 0 on a log axis. */
  nonPositive: number;
}

export interface ChartRender {
  svg: string;
  /** Series with skipped points (in series order); empty when every point was drawn. */
  skipped: SkippedPoints[];
  /** Names of series with nothing to draw (no points, or all skipped). */
  empty: string[];
}

/** The plot box in SVG coordinates: data maps into it, axes frame it. */
export interface PlotBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const PLOT_BOX: PlotBox = { x: PLOT_LEFT, y: PLOT_TOP, width: CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT, height: PLOT_HEIGHT };

/** Two decimals: sub-pixel exact, and the same text for the same data on every run. */
function px(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** The position of `v` along `scale`, from 0 (domain start) to 1 (domain end). */
function fraction(v: number, scale: AxisScale): number {
  const [a, b] = scale.domain;
  if (scale.log) return (Math.log10(v) - Math.log10(a)) / (Math.log10(b) - Math.log10(a));
  return (v - a) / (b - a);
}

/** Splits a series into runs of drawable points (a skipped point breaks the line) and counts the rest. */
function drawablePoints(series: ChartSeries, logY: boolean): { kept: [number, number][][]; skipped: SkippedPoints } {
  const skipped: SkippedPoints = { series: series.name, nonFinite: 0, nonPositive: 0 };
  const runs: [number, number][][] = [[]];
  for (const [x, y] of series.points) {
    if (!Number.isFinite(x) || !Number.isFinite(y)) skipped.nonFinite++;
    else if (logY && y <= 0) skipped.nonPositive++;
    else {
      runs[runs.length - 1]!.push([x, y]);
      continue;
    }
    if (runs[runs.length - 1]!.length > 0) runs.push([]);
  }
  return { kept: runs.filter((r) => r.length > 0), skipped };
}

function scales(kept: [number, number][][][], logY: boolean): { x: AxisScale; y: AxisScale } {
  let xMin = Infinity, xMax = -Infinity, yMin = Infinity, yMax = -Infinity;
  for (const runs of kept) for (const run of runs) for (const [x, y] of run) {
    xMin = Math.min(xMin, x); xMax = Math.max(xMax, x);
    yMin = Math.min(yMin, y); yMax = Math.max(yMax, y);
  }
  // Nothing to draw: still show framed, labelled axes over a unit range.
  if (xMin > xMax) [xMin, xMax, yMin, yMax] = [0, 1, logY ? 1 : 0, logY ? 10 : 1];
  return { x: linearScale(xMin, xMax), y: logY ? logScale(yMin, yMax) : linearScale(yMin, yMax) };
}

/** Lays legend entries into rows that fit the plot width; widths are estimated (no text metrics without a browser). */
const legendWidth = (label: string) => 28 + 7 * label.length + 18;

function legendRows(labels: readonly string[]): number[][] {
  const rows: number[][] = [[]];
  let used = 0;
  labels.forEach((label, i) => {
    const width = legendWidth(label);
    if (used > 0 && used + width > PLOT_BOX.width) {
      rows.push([]);
      used = 0;
    }
    rows[rows.length - 1]!.push(i);
    used += width;
  });
  return rows;
}

function axes(x: AxisScale, y: AxisScale, box: PlotBox, chart: LineChart): string[] {
  const out: string[] = [];
  const bottom = box.y + box.height;
  for (const t of x.ticks) {
    const cx = px(box.x + fraction(t, x) * box.width);
    out.push(`<line class="grid" x1="${cx}" y1="${box.y}" x2="${cx}" y2="${bottom}" stroke="#e4e4e4"/>`);
    out.push(`<text class="tick" x="${cx}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(formatTick(t, x.step))}</text>`);
  }
  for (const t of y.ticks) {
    const cy = px(bottom - fraction(t, y) * box.height);
    out.push(`<line class="grid" x1="${box.x}" y1="${cy}" x2="${box.x + box.width}" y2="${cy}" stroke="#e4e4e4"/>`);
    out.push(`<text class="tick" x="${box.x - 6}" y="${cy}" text-anchor="end" dominant-baseline="middle">${escapeHtml(formatTick(t, y.step))}</text>`);
  }
  out.push(`<rect class="plot-area" x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" fill="none" stroke="#888"/>`);
  out.push(`<text class="axis-title" x="${px(box.x + box.width / 2)}" y="${bottom + 36}" text-anchor="middle">${escapeHtml(chart.xLabel)}</text>`);
  const yTitle = `${chart.yLabel}${chart.logY ? ' (log scale)' : ''}`;
  out.push(`<text class="axis-title" transform="translate(16 ${px(box.y + box.height / 2)}) rotate(-90)" text-anchor="middle">${escapeHtml(yTitle)}</text>`);
  return out;
}

/**
 * Draws `chart` as an <svg> element for inline use in HTML (hence no xmlns:
 * the HTML parser puts it in the SVG namespace). Each series is exactly one
 * `<path class="series">` (without `d` when it has nothing to draw), so a
 * checker can count series; points that cannot be drawn are skipped, break
 * the line there, and are reported in `skipped`.
 */
export function renderLineChart(chart: LineChart): ChartRender {
  const logY = chart.logY === true;
  const drawn = chart.series.map((s) => drawablePoints(s, logY));
  const { x, y } = scales(drawn.map((d) => d.kept), logY);
  const box = PLOT_BOX;
  const labels = chart.series.map((s, i) => (drawn[i]!.kept.length === 0 ? `${s.name} (no data)` : s.name));
  const rows = legendRows(labels);
  const height = box.y + box.height + BELOW_PLOT + rows.length * LEGEND_ROW + 6;
  const toSvg = ([dx, dy]: [number, number]): [string, string] =>
    [px(box.x + fraction(dx, x) * box.width), px(box.y + box.height - fraction(dy, y) * box.height)];

  const out: string[] = [];
  out.push(`<svg class="chart" viewBox="0 0 ${CHART_WIDTH} ${height}" width="${CHART_WIDTH}" height="${height}" role="img" aria-label="${escapeHtml(chart.title)}" font-family="system-ui, sans-serif" font-size="12">`);
  out.push(`<title>${escapeHtml(chart.title)}</title>`);
  out.push(`<text class="chart-title" x="${box.x}" y="22" font-size="14" font-weight="600">${escapeHtml(chart.title)}</text>`);
  out.push(...axes(x, y, box, chart));

  drawn.forEach(({ kept }, i) => {
    const { colour, dash } = seriesStyle(i);
    const d = kept.map((run) => run.map((p, j) => `${j === 0 ? 'M' : 'L'}${toSvg(p).join(' ')}`).join('')).join('');
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    const dAttr = d ? ` d="${d}"` : '';
    out.push(`<path class="series" data-series="${i}"${dAttr} fill="none" stroke="${colour}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round"${dashAttr}><title>${escapeHtml(chart.series[i]!.name)}</title></path>`);
    const count = kept.reduce((n, run) => n + run.length, 0);
    // Short series get marks; a lone point between gaps always does, or it would be invisible.
    const marked = kept.flatMap((run) => (count <= MARKER_LIMIT || run.length === 1 ? run : []));
    if (marked.length > 0) {
      out.push(`<g class="markers" fill="${colour}">`);
      for (const p of marked) {
        const [cx, cy] = toSvg(p);
        out.push(`<circle cx="${cx}" cy="${cy}" r="2.5"/>`);
      }
      out.push('</g>');
    }
  });

  const legendTop = box.y + box.height + BELOW_PLOT;
  rows.forEach((row, r) => {
    let at = box.x;
    const cy = legendTop + r * LEGEND_ROW + 9;
    for (const i of row) {
      const { colour, dash } = seriesStyle(i);
      const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
      out.push(`<line class="legend-swatch" x1="${at}" y1="${cy}" x2="${at + 22}" y2="${cy}" stroke="${colour}" stroke-width="2"${dashAttr}/>`);
      out.push(`<text class="legend-label" x="${at + 28}" y="${cy}" dominant-baseline="middle">${escapeHtml(labels[i]!)}</text>`);
      at += legendWidth(labels[i]!);
    }
  });
  if (chart.series.length === 0 || drawn.every((d) => d.kept.length === 0)) {
    out.push(`<text class="no-data" x="${px(box.x + box.width / 2)}" y="${px(box.y + box.height / 2)}" text-anchor="middle" fill="#888">no data</text>`);
  }
  out.push('</svg>');

  return {
    svg: out.join(''),
    skipped: drawn.map((d) => d.skipped).filter((s) => s.nonFinite + s.nonPositive > 0),
    empty: chart.series.filter((_, i) => drawn[i]!.kept.length === 0).map((s) => s.name),
  };
}
