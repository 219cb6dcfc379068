// The report as one self-contained HTML file: inline CSS, charts as inline
// SVG, no scripts, no fonts or images to fetch, no external URL anywhere, so
// it opens offline, from a mail attachment, or on a machine with no network.
// Every string from the report passes through escapeHtml.
//
//   const html = renderReport({
//     title: 'lmkit demo',
//     run: { date: new Date().toISOString(), command: 'lmkit demo --quick', machine: 'x64, 2 cores', stages },
//     sections: [{ title: 'Pre-training', charts: [{ title: 'Loss', xLabel: 'step', yLabel: 'loss',
//       series: [{ name: 'train', points: [[0, 4.2], [100, 2.1]] }] }] }],
//   });
import { checkReport, type LineChart, type Report, type ReportSection, type ReportTable, type RunInfo, type SampleGeneration, type TableCell } from './model.js';
import { escapeHtml, formatNumber } from './format.js';
import { renderLineChart } from './svg_chart.js';

const CSS = `
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1d1d1f; background: #fafafa; margin: 0; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 48px; }
h1 { font-size: 1.8em; margin: 0 0 4px; }
h2 { font-size: 1.3em; margin: 40px 0 8px; padding-top: 8px; border-top: 1px solid #ddd; }
.subtitle { color: #555; margin: 0 0 16px; }
nav ol { columns: 2; padding-left: 1.4em; }
a { color: #0b5cad; }
dl.run { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 16px 0; }
dl.run dt { color: #555; }
dl.run dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.9em; word-break: break-word; }
figure.chart { width: fit-content; max-width: 100%; box-sizing: border-box; margin: 16px 0; background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 8px; overflow-x: auto; }
figure.chart svg { display: block; max-width: 100%; height: auto; }
figure.chart figcaption { color: #8a4b00; font-size: 0.85em; margin: 4px 8px; }
table { border-collapse: collapse; margin: 16px 0; background: #fff; font-size: 0.92em; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.bar { width: 200px; }
td.bar span { display: block; height: 10px; background: #0072B2; border-radius: 2px; }
.samples { display: grid; gap: 12px; margin: 16px 0; }
.sample { background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 8px 12px; }
.sample-label { font-weight: 600; font-size: 0.9em; color: #333; }
.sample pre { white-space: pre-wrap; word-break: break-word; margin: 4px 0; padding: 6px 8px; border-radius: 4px; font-size: 0.88em; }
.sample pre.prompt { background: #f3f3f3; }
.sample pre.output { background: #eaf3fb; }
.sample .tag { font-size: 0.75em; text-transform: uppercase; letter-spacing: 0.05em; color: #666; }
.sample-note { margin: 4px 0 0; font-size: 0.9em; color: #444; }
footer { margin-top: 48px; color: #777; font-size: 0.85em; }
`;

function formatCell(cell: TableCell): { text: string; numeric: boolean } {
  if (cell === null) return { text: '—', numeric: false };
  if (typeof cell === 'number') return { text: formatNumber(cell), numeric: true };
  return { text: cell, numeric: false };
}

function renderTable(table: ReportTable): string {
  const head = table.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('');
  const body = table.rows.map((row) => {
    const cells = row.map((cell) => {
      const { text, numeric } = formatCell(cell);
      return `<td${numeric ? ' class="num"' : ''}>${escapeHtml(text)}</td>`;
    });
    return `<tr>${cells.join('')}</tr>`;
  });
  const caption = table.caption === undefined ? '' : `<caption>${escapeHtml(table.caption)}</caption>`;
  return `<table>${caption}<thead><tr>${head}</tr></thead><tbody>${body.join('\n')}</tbody></table>`;
}

/** A chart in a figure; points that could not be drawn are said out loud under it, never dropped silently. */
function renderChart(chart: LineChart): string {
  const { svg, skipped, empty } = renderLineChart(chart);
  const notes: string[] = [];
  for (const s of skipped) {
    const parts: string[] = [];
    if (s.nonFinite > 0) parts.push(`${s.nonFinite} NaN/Infinity point${s.nonFinite === 1 ? '' : 's'}`);
    if (s.nonPositive > 0) parts.push(`${s.nonPositive} point${s.nonPositive === 1 ? '' : 's'} with y ≤ 0 (log scale)`);
    notes.push(`“${s.series}”: ${parts.join(' and ')} not drawn.`);
  }
  if (empty.length > 0) notes.push(`No data to draw for: ${empty.map((n) => `“${n}”`).join(', ')}.`);
  if (chart.series.length === 0) notes.push('This chart has no series.');
  const caption = notes.length > 0 ? `<figcaption class="chart-note">${escapeHtml(notes.join(' '))}</figcaption>` : '';
  return `<figure class="chart">${svg}${caption}</figure>`;
}

function renderSample(sample: SampleGeneration): string {
  const label = sample.label === undefined ? '' : `<div class="sample-label">${escapeHtml(sample.label)}</div>`;
  const note = sample.note === undefined ? '' : `<p class="sample-note">${escapeHtml(sample.note)}</p>`;
  return `<article class="sample">${label}<span class="tag">prompt</span><pre class="prompt">${escapeHtml(sample.prompt)}</pre>`
    + `<span class="tag">output</span><pre class="output">${escapeHtml(sample.output)}</pre>${note}</article>`;
}

function renderSection(section: ReportSection, index: number): string {
  const parts = [`<section id="section-${index + 1}"><h2>${escapeHtml(section.title)}</h2>`];
  for (const p of section.paragraphs ?? []) parts.push(`<p>${escapeHtml(p)}</p>`);
  for (const c of section.charts ?? []) parts.push(renderChart(c));
  for (const t of section.tables ?? []) parts.push(renderTable(t));
  if (section.samples && section.samples.length > 0) parts.push(`<div class="samples">${section.samples.map(renderSample).join('\n')}</div>`);
  parts.push('</section>');
  return parts.join('\n');
}

/** Run facts as a definition list, then stage times with bars proportional to the longest stage. */
function renderRun(run: RunInfo): string {
  const facts = [['Date', run.date], ['Command', run.command], ['Machine', run.machine]] as const;
  const dl = `<dl class="run">${facts.map(([k, v]) => `<dt>${k}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`;
  if (run.stages.length === 0) return dl;
  const longest = Math.max(...run.stages.map((s) => s.seconds));
  const total = run.stages.reduce((sum, s) => sum + s.seconds, 0);
  const rows = run.stages.map((s) => {
    const width = longest > 0 ? Math.round((s.seconds / longest) * 1000) / 10 : 0;
    return `<tr><td>${escapeHtml(s.name)}</td><td class="num">${s.seconds.toFixed(1)}</td><td class="bar"><span style="width:${width}%"></span></td></tr>`;
  });
  rows.push(`<tr><th scope="row">total</th><td class="num">${total.toFixed(1)}</td><td></td></tr>`);
  return `${dl}<table class="stages"><caption>Time per stage</caption><thead><tr><th scope="col">Stage</th><th scope="col">Seconds</th><th scope="col"></th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

/**
 * Renders `report` as a complete HTML document (a string to write to
 * index.html). Throws ConfigError REPORT_INVALID naming the bad field when
 * the report is malformed (see checkReport). Same report, same bytes.
 */
export function renderReport(report: Report): string {
  checkReport(report);
  const toc = report.sections.length > 1
    ? `<nav><ol>${report.sections.map((s, i) => `<li><a href="#section-${i + 1}">${escapeHtml(s.title)}</a></li>`).join('')}</ol></nav>`
    : '';
  const subtitle = report.subtitle === undefined ? '' : `<p class="subtitle">${escapeHtml(report.subtitle)}</p>`;
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(report.title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body><main>',
    `<header><h1>${escapeHtml(report.title)}</h1>${subtitle}${report.run ? renderRun(report.run) : ''}</header>`,
    toc,
    ...report.sections.map(renderSection),
    '<footer>Written by lmkit. This file is self-contained: no scripts, nothing loaded from the network.</footer>',
    '</main></body>',
    '</html>',
    '',
  ].join('\n');
}
