// Line charts as SVG text: data lands where an independent mapping puts it,
// non-finite and non-positive (log) points are skipped and counted, each
// series is one path with its own style, text is escaped.
import t from 'tap';
import { renderLineChart, seriesStyle, SERIES_COLOURS } from '../../lib/report/svg_chart.js';
import type { LineChart } from '../../lib/report/model.js';

interface ParsedPath {
  index: number;
  subpaths: [number, number][][];
  stroke: string;
  dash: string;
}

/** The series paths of an SVG string, their `d` split into subpaths of [x, y]. */
function seriesPaths(svg: string): ParsedPath[] {
  const out: ParsedPath[] = [];
  for (const m of svg.matchAll(/<path class="series" ([^>]*)>/g)) {
    const attrs = Object.fromEntries([...m[1]!.matchAll(/([\w-]+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    const subpaths: [number, number][][] = [];
    for (const cmd of (attrs['d'] ?? '').matchAll(/([ML])(-?[\d.]+) (-?[\d.]+)/g)) {
      if (cmd[1] === 'M') subpaths.push([]);
      subpaths[subpaths.length - 1]!.push([Number(cmd[2]), Number(cmd[3])]);
    }
    out.push({ index: Number(attrs['data-series']), subpaths, stroke: attrs['stroke']!, dash: attrs['stroke-dasharray'] ?? '' });
  }
  return out;
}

function plotBox(svg: string): { x: number; y: number; width: number; height: number } {
  const m = /<rect class="plot-area" x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/.exec(svg);
  if (!m) throw new Error('no plot-area rect');
  return { x: Number(m[1]), y: Number(m[2]), width: Number(m[3]), height: Number(m[4]) };
}

const chart = (series: LineChart['series'], logY = false): LineChart => ({ title: 'T', xLabel: 'step', yLabel: 'loss', series, logY });

t.test('path coordinates map data linearly onto the plot box', async (t) => {
  // x spans 0..100 and y 0..1, so the nice domains are exactly [0, 100] and [0, 1].
  const points: [number, number][] = [[0, 0], [10, 0.5], [37.5, 0.25], [80, 0.9], [100, 1]];
  const { svg, skipped } = renderLineChart(chart([{ name: 'a', points }]));
  const box = plotBox(svg);
  const [path] = seriesPaths(svg);
  t.equal(path!.subpaths.length, 1);
  const drawn = path!.subpaths[0]!;
  t.equal(drawn.length, points.length);
  points.forEach(([x, y], i) => {
    const ex = box.x + (x / 100) * box.width;
    const ey = box.y + box.height - y * box.height; // SVG y grows downwards
    t.ok(Math.abs(drawn[i]![0] - ex) <= 0.005 && Math.abs(drawn[i]![1] - ey) <= 0.005, `point ${i}: (${drawn[i]}) vs (${ex}, ${ey})`);
  });
  t.same(drawn[0], [box.x, box.y + box.height], 'the minimum is the bottom-left corner');
  t.same(drawn[4], [box.x + box.width, box.y], 'the maximum is the top-right corner');
  t.same(skipped, []);
  for (const label of ['0', '20', '40', '60', '80', '100', '0.2', '0.8', '1.0']) t.match(svg, `>${label}</text>`, `tick label ${label}`);
});

t.test('log y: decades are equal distances', async (t) => {
  const { svg } = renderLineChart(chart([{ name: 'loss', points: [[0, 1], [50, 10], [100, 100]] }], true));
  const box = plotBox(svg);
  const drawn = seriesPaths(svg)[0]!.subpaths[0]!;
  t.same(drawn.map((p) => p[1]), [box.y + box.height, box.y + box.height / 2, box.y], '1, 10, 100 at bottom, middle, top');
  t.match(svg, 'loss (log scale)');
});

t.test('NaN and Infinity points are skipped, counted, and break the line', async (t) => {
  const points: [number, number][] = [[0, 1], [1, 2], [2, NaN], [3, 3], [Infinity, 4], [5, 5], [6, 4]];
  const { svg, skipped, empty } = renderLineChart(chart([{ name: 'train', points }, { name: 'clean', points: [[0, 1], [6, 2]] }]));
  t.same(skipped, [{ series: 'train', nonFinite: 2, nonPositive: 0 }]);
  t.same(empty, []);
  const train = seriesPaths(svg)[0]!;
  t.same(train.subpaths.map((s) => s.length), [2, 1, 2], 'runs of 2, a lone point, 2');
  t.notMatch(svg, /NaN|Infinity/, 'no non-finite number reaches the SVG');
});

t.test('log y skips points with y <= 0 and counts them apart from NaN', async (t) => {
  const { svg, skipped } = renderLineChart(chart([{ name: 'kl', points: [[0, 0], [1, 0.1], [2, -1], [3, 1], [4, NaN], [5, 2]] }], true));
  t.same(skipped, [{ series: 'kl', nonFinite: 1, nonPositive: 2 }]);
  const drawn = seriesPaths(svg)[0]!.subpaths.flat();
  t.equal(drawn.length, 3);
  const box = plotBox(svg);
  for (const [x, y] of drawn) t.ok(x >= box.x && x <= box.x + box.width && y >= box.y && y <= box.y + box.height, `(${x}, ${y}) inside the plot box`);
});

t.test('empty series keep their path (without d) and legend entry', async (t) => {
  const one = renderLineChart(chart([{ name: 'ran', points: [[0, 1], [1, 2]] }, { name: 'skipped stage', points: [] }, { name: 'all NaN', points: [[0, NaN]] }]));
  const paths = seriesPaths(one.svg);
  t.equal(paths.length, 3, 'one path per series');
  t.same(paths.map((p) => p.subpaths.length), [1, 0, 0]);
  t.notMatch(one.svg, /data-series="1" d=/, 'no empty d attribute');
  t.same(one.empty, ['skipped stage', 'all NaN']);
  t.match(one.svg, 'skipped stage (no data)');
  t.notMatch(one.svg, 'class="no-data"', 'the chart itself has data');

  const none = renderLineChart(chart([]));
  t.equal(seriesPaths(none.svg).length, 0);
  t.match(none.svg, /class="no-data"[^>]*>no data</);
  t.match(none.svg, /<rect class="plot-area"/, 'axes still drawn');
  t.match(none.svg, /^<svg[^>]*>.*<\/svg>$/s);
});

t.test('each series has its own colour, then its own dash pattern', async (t) => {
  const series = Array.from({ length: 16 }, (_, i) => ({ name: `s${i}`, points: [[0, i], [1, i + 1]] as [number, number][] }));
  const paths = seriesPaths(renderLineChart(chart(series)).svg);
  t.equal(paths.length, 16);
  t.same(paths.map((p) => p.index), [...Array(16).keys()], 'in series order');
  t.equal(new Set(paths.slice(0, SERIES_COLOURS.length).map((p) => p.stroke)).size, SERIES_COLOURS.length, 'first 7: distinct colours');
  t.equal(new Set(paths.map((p) => `${p.stroke}|${p.dash}`)).size, 16, 'all 16: distinct colour + dash');
  paths.forEach((p, i) => t.same({ colour: p.stroke, dash: p.dash }, seriesStyle(i)));
});

t.test('short series get point markers, long ones do not, lone points always', async (t) => {
  const short = renderLineChart(chart([{ name: 'acc', points: [[0, 0.1], [1, 0.4], [2, 0.6]] }])).svg;
  t.equal((short.match(/<circle /g) ?? []).length, 3);
  const long = Array.from({ length: 200 }, (_, i) => [i, Math.sin(i / 10)] as [number, number]);
  long[100] = [100, NaN];
  long[102] = [102, NaN];
  t.equal((renderLineChart(chart([{ name: 'loss', points: long }])).svg.match(/<circle /g) ?? []).length, 1, 'only the isolated point 101');
});

t.test('text is escaped and output is deterministic', async (t) => {
  const c: LineChart = { title: '<b>T</b> & "q"', xLabel: '<x>', yLabel: "y'", series: [{ name: '<script>s</script>', points: [[0, 1], [1, 2]] }] };
  const { svg } = renderLineChart(c);
  t.notMatch(svg, /<b>|<x>|<script>/);
  t.match(svg, '&lt;b&gt;T&lt;/b&gt; &amp; &quot;q&quot;');
  t.match(svg, '&lt;script&gt;s&lt;/script&gt;');
  t.match(svg, 'y&#39;');
  t.equal(renderLineChart(c).svg, svg, 'same chart, same bytes');
  t.notMatch(svg, /https?:|xmlns/, 'no URL, not even the namespace (the HTML parser supplies it)');
});
