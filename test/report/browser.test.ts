// The rendered report in a real browser (Debian chromium driven by
// playwright-core): it loads with no console or page errors, fetches nothing
// but itself, runs no script, and every chart drew one visible path per
// series inside its plot box.
import t from 'tap';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeReport } from '../../lib/report/write_report.js';
import { HOSTILE, sampleReport } from '../helpers/sample_report.js';

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} not found; install it with: apt-get install chromium`;

interface ChartInPage {
  title: string;
  paths: { hasD: boolean; x: number; y: number; width: number; height: number }[];
  plot: { x: number; y: number; width: number; height: number };
}

t.test('the report renders in headless Chromium', { skip }, async (t) => {
  const report = sampleReport();
  const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-report-browser-'));
  const { html } = writeReport(dir, report, { sample: true });
  const url = pathToFileURL(html).href;

  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  const consoleErrors: string[] = [];
  const pageErrors: string[] = [];
  const requests: string[] = [];
  page.on('console', (msg) => { if (msg.type() === 'error' || msg.type() === 'warning') consoleErrors.push(msg.text()); });
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('request', (req) => requests.push(req.url()));
  await page.goto(url, { waitUntil: 'load' });

  const charts = await page.evaluate((): ChartInPage[] =>
    [...document.querySelectorAll('svg.chart')].map((svg) => {
      const plot = (svg.querySelector('rect.plot-area') as SVGRectElement).getBBox();
      return {
        title: svg.querySelector('title')?.textContent ?? '',
        plot: { x: plot.x, y: plot.y, width: plot.width, height: plot.height },
        paths: [...svg.querySelectorAll('path.series')].map((p) => {
          const b = (p as SVGPathElement).getBBox();
          return { hasD: p.hasAttribute('d'), x: b.x, y: b.y, width: b.width, height: b.height };
        }),
      };
    }));
  const page_ = await page.evaluate(() => ({
    scripts: document.scripts.length,
    images: document.images.length,
    pwned: (window as unknown as { __pwned?: string }).__pwned ?? null,
    outputs: [...document.querySelectorAll('pre.output')].map((e) => e.textContent),
    prompts: [...document.querySelectorAll('pre.prompt')].map((e) => e.textContent),
    title: document.title,
  }));

  t.same(consoleErrors, [], 'no console errors or warnings');
  t.same(pageErrors, [], 'no page errors');
  t.same(requests, [url], 'fetched nothing but the file itself');
  t.same({ scripts: page_.scripts, images: page_.images, pwned: page_.pwned }, { scripts: 0, images: 0, pwned: null }, 'no injected element ran');
  t.equal(page_.outputs[1], HOSTILE.script, 'a <script> sample shows as its own text');
  t.equal(page_.prompts[1], HOSTILE.img);
  t.equal(page_.title, report.title);

  const expected = report.sections.flatMap((s) => s.charts ?? []);
  t.equal(charts.length, expected.length, 'one <svg> per chart');
  charts.forEach((chart, i) => {
    const want = expected[i]!;
    t.equal(chart.title, want.title, `chart ${i} is "${want.title}"`);
    t.equal(chart.paths.length, want.series.length, `"${want.title}": one path per series`);
    t.ok(chart.paths.some((p) => p.width > 0 && p.height > 0), `"${want.title}": a data path with a non-empty box`);
    chart.paths.forEach((p, j) => {
      const points = want.series[j]!.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
      t.equal(p.hasD, points.length > 0, `"${want.title}" / ${want.series[j]!.name}: drawn iff it has finite points`);
      if (points.length < 2) return;
      t.ok(p.width > 0, `"${want.title}" / ${want.series[j]!.name}: spans x (${p.width} px)`);
      // getBBox is the geometry without stroke, so it must sit inside the plot box.
      const inside = p.x >= chart.plot.x - 0.01 && p.y >= chart.plot.y - 0.01
        && p.x + p.width <= chart.plot.x + chart.plot.width + 0.01 && p.y + p.height <= chart.plot.y + chart.plot.height + 0.01;
      t.ok(inside, `"${want.title}" / ${want.series[j]!.name}: inside the plot box`);
    });
  });
});
