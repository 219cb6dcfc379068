// The HTML report as text: self-contained (no URL, no script), every
// user-provided string escaped, every chart/table/sample present, bad reports
// rejected with the path of the bad field.
import t from 'tap';
import { renderReport } from '../../lib/report/render_html.js';
import type { Report } from '../../lib/report/model.js';
import { HOSTILE, sampleReport } from '../helpers/sample_report.js';

const html = renderReport(sampleReport());
const count = (re: RegExp) => (html.match(re) ?? []).length;

t.test('a complete, self-contained document', async (t) => {
  t.match(html, /^<!doctype html>\n<html lang="en">/);
  t.match(html, '<meta charset="utf-8">');
  t.match(html, /<\/html>\n$/);
  t.equal(count(/<style>/g), 1, 'CSS inline');
  t.notMatch(html, /https?:/i, 'no http(s) URL anywhere');
  t.notMatch(html, /\/\/[\w.-]+\.[a-z]{2,}/i, 'no protocol-relative URL');
  // Attributes that fetch; an escaped sample may contain the text src=&quot; but never src=".
  t.notMatch(html, /\b(src|srcset|action|poster|data|xlink:href)="|url\(|@import|<link|<iframe|<object|<embed|<img/i, 'nothing to fetch');
  t.notMatch(html, /<script/i, 'no script element, ours or injected');
  const hrefs = [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]!);
  t.same(hrefs, ['#section-1', '#section-2', '#section-3'], 'only in-page links (the table of contents)');
  for (const id of hrefs) t.match(html, `<section id="${id.slice(1)}">`);
  t.equal(renderReport(sampleReport()), html, 'same report, same bytes');
});

t.test('user text is escaped: hostile samples stay text', async (t) => {
  // Hand-escaped expectations (not produced by escapeHtml).
  t.match(html, '<pre class="output">&lt;script&gt;window.__pwned = &quot;script&quot;&lt;/script&gt;</pre>');
  t.match(html, '<pre class="prompt">&lt;img src=&quot;x&quot; onerror=&quot;window.__pwned = &#39;img&#39;&quot;&gt;</pre>');
  t.match(html, '<p class="sample-note">&quot; onmouseover=&quot;window.__pwned = &#39;attr&#39;</p>');
  t.match(html, '<td>&lt;script&gt;window.__pwned = &quot;script&quot;&lt;/script&gt;</td>', 'table cells too');
  t.match(html, '<title>lmkit demo report Q&amp;A &lt;b&gt;bold&lt;/b&gt; &amp; more</title>');
  t.match(html, '<dd>lmkit demo --quick --note &quot; onmouseover=&quot;window.__pwned = &#39;attr&#39;</dd>');
  t.notMatch(html, /<img|<b>|onerror="|onmouseover="/, 'no injected element or attribute');
});

t.test('every section, chart, series, table and sample is rendered', async (t) => {
  const report = sampleReport();
  t.equal(count(/<section id=/g), report.sections.length);
  for (const s of report.sections) t.match(html, `<h2>${s.title}</h2>`);
  const charts = report.sections.flatMap((s) => s.charts ?? []);
  t.equal(count(/<svg class="chart"/g), charts.length);
  t.equal(count(/<path class="series"/g), charts.reduce((n, c) => n + c.series.length, 0), 'one path per series');
  t.equal(count(/<article class="sample">/g), 4 - 2, 'two samples');
  t.match(html, '<caption>Zero-shot accuracy on the held-out task</caption>');
  t.match(html, '<tr><td>pre-trained only</td><td class="num">0.125</td><td class="num">64</td><td>—</td></tr>');
  t.match(html, '<td class="num">0.6406</td>', '0.640625 to 4 significant digits');
});

t.test('skipped points and empty series are noted under their chart', async (t) => {
  t.equal(count(/“train”: 2 NaN\/Infinity points not drawn\./g), 2, 'linear and log loss charts');
  t.match(html, 'No data to draw for: “not run”.');
  t.equal(count(/<figcaption/g), 3, 'charts with nothing skipped get no note');
});

t.test('run info: facts and stage times with total and bars', async (t) => {
  t.match(html, '<dt>Date</dt><dd>2025-01-02T03:04:05.000Z</dd>');
  t.match(html, '<dt>Machine</dt><dd>x64, 2 cores, AVX2, Node v20</dd>');
  // 41.25 + 12.5 + 20 + 0 = 73.75 s; bars relative to the longest (41.25 s)
  t.match(html, '<tr><th scope="row">total</th><td class="num">73.8</td>');
  t.match(html, '<tr><td>pre-train</td><td class="num">41.3</td><td class="bar"><span style="width:100%">');
  t.match(html, '<tr><td>IFT</td><td class="num">12.5</td><td class="bar"><span style="width:30.3%">');
  t.match(html, '<tr><td>PPO</td><td class="num">20.0</td><td class="bar"><span style="width:48.5%">');
  t.match(html, '<tr><td>GLM cloze</td><td class="num">0.0</td><td class="bar"><span style="width:0%">');
});

t.test('a minimal report: no run info, one section, no table of contents', async (t) => {
  const minimal = renderReport({ title: 'x', sections: [{ title: 'only' }] });
  t.notMatch(minimal, /<nav|<dl|<svg|<table/);
  t.match(minimal, '<section id="section-1"><h2>only</h2>');
});

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

t.test('malformed reports fail with the path of the bad field', async (t) => {
  const bad = (mutate: (r: Mutable<Report>) => void) => {
    const r: Mutable<Report> = sampleReport();
    mutate(r);
    return () => renderReport(r);
  };
  const sections = (r: Report) => r.sections as Mutable<Report['sections']>;
  t.throws(bad((r) => { sections(r)[1] = { ...r.sections[1]!, tables: [{ columns: ['a', 'b', 'c'], rows: [['x', 1]] }] }; }), {
    name: 'ConfigError', code: 'REPORT_INVALID', message: /^report\.sections\[1\]\.tables\[0\]\.rows\[0\]: has 2 cells but the table has 3 columns/ });
  t.throws(bad((r) => { sections(r)[0] = { title: 'c', charts: [{ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [[1, 2], [3] as unknown as [number, number]] }] }] }; }), {
    message: /report\.sections\[0\]\.charts\[0\]\.series\[0\]\.points\[1\]: expected an \[x, y\] pair of numbers but received an array of 1/ });
  t.throws(bad((r) => { sections(r)[2] = { title: 'c', charts: [{ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 's', points: [['1', 2] as unknown as [number, number]] }] }] }; }), {
    message: /points\[0\]: expected an \[x, y\] pair of numbers/ });
  t.throws(bad((r) => { (r as Record<string, unknown>)['title'] = undefined; }), { message: /^report\.title: expected a string but received nothing/ });
  t.throws(bad((r) => { sections(r)[1] = { title: 's', samples: [{ prompt: 'p', output: 7 as unknown as string }] }; }), {
    message: /report\.sections\[1\]\.samples\[0\]\.output: expected a string but received number 7/ });
  t.throws(bad((r) => { r.run = { ...r.run!, stages: [{ name: 'x', seconds: -1 }] }; }), {
    message: /report\.run\.stages\[0\]\.seconds: expected a finite number >= 0 but received number -1/ });
  t.throws(bad((r) => { sections(r)[0] = { title: 't', tables: [{ columns: [], rows: [] }] }; }), { message: /columns: expected at least one column/ });
  t.throws(() => renderReport(null as unknown as Report), { message: /^report: expected an object but received null/ });
});
