// The Prometheus text format the registry writes, read back by an independent
// parser (parse-prometheus-text-format): HELP/TYPE, labels with escapes,
// counters, scraped gauges and counters, cumulative histogram buckets.
import t from 'tap';
import { MetricsRegistry } from '../../lib/serve/metrics.js';
import { parsePrometheus } from '../helpers/prometheus.js';

t.test('counters, gauges and histograms parse back with their values', async (t) => {
  const r = new MetricsRegistry();
  const requests = r.counter('x_requests_total', 'Requests.');
  requests.inc({ route: '/a', status: '200' });
  requests.inc({ route: '/a', status: '200' }, 2);
  requests.inc({ route: 'we"ird\\\npath', status: '404' });
  let depth = 7;
  r.gauge('x_queue_depth', 'Queue.', () => [[{}, depth]]);
  r.scrapedCounter('x_cancelled_total', 'Cancelled.', () => [[{}, 4]]);
  const h = r.histogram('x_seconds', 'Latency.', [0.1, 1, 10]);
  for (const v of [0.05, 0.1, 0.5, 3, 50]) h.observe(v);
  const byRoute = r.histogram('x_route_seconds', 'Latency by route.', [1]);
  byRoute.observe(0.5, { route: '/a' });
  byRoute.observe(2, { route: '/b' });
  depth = 9; // read at scrape time

  const families = parsePrometheus(r.render());
  const req = families.get('x_requests_total')!;
  t.equal(req.type, 'COUNTER');
  t.equal(req.help, 'Requests.');
  t.same(req.metrics.map((m) => [m.labels, Number(m.value)]), [
    [{ route: '/a', status: '200' }, 3],
    [{ route: 'we"ird\\\npath', status: '404' }, 1],
  ], 'escaped label values come back as written');
  t.same(families.get('x_queue_depth')!.metrics.map((m) => Number(m.value)), [9]);
  t.equal(families.get('x_queue_depth')!.type, 'GAUGE');
  t.equal(families.get('x_cancelled_total')!.type, 'COUNTER');
  const hist = families.get('x_seconds')!;
  t.equal(hist.type, 'HISTOGRAM');
  const [series] = hist.metrics;
  // cumulative: ≤0.1 holds 0.05 and 0.1; ≤1 adds 0.5; ≤10 adds 3; +Inf adds 50
  t.same(Object.fromEntries(Object.entries(series!.buckets!).map(([k, v]) => [k, Number(v)])), { '0.1': 2, '1': 3, '10': 4, '+Inf': 5 });
  t.equal(Number(series!.count), 5);
  t.equal(Number(series!.sum), 0.05 + 0.1 + 0.5 + 3 + 50);
  // The parser folds labelled histograms into one series, so the label sets are checked on the lines themselves.
  t.equal(families.get('x_route_seconds')!.type, 'HISTOGRAM');
  const lines = r.render().split('\n').filter((l) => l.startsWith('x_route_seconds'));
  t.same(lines, [
    'x_route_seconds_bucket{route="/a",le="1"} 1', 'x_route_seconds_bucket{route="/a",le="+Inf"} 1', 'x_route_seconds_sum{route="/a"} 0.5', 'x_route_seconds_count{route="/a"} 1',
    'x_route_seconds_bucket{route="/b",le="1"} 0', 'x_route_seconds_bucket{route="/b",le="+Inf"} 1', 'x_route_seconds_sum{route="/b"} 2', 'x_route_seconds_count{route="/b"} 1',
  ]);
});

t.test('bad metrics are refused', async (t) => {
  const r = new MetricsRegistry();
  t.throws(() => r.counter('c_total', 'c').inc({}, -1), RangeError);
  t.throws(() => r.histogram('h', 'h', [1, 1]), RangeError);
  t.throws(() => r.histogram('h', 'h', []), RangeError);
});
