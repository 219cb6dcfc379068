// writeReport: creates the directory, writes index.html and metrics.json
// (non-finite metrics as strings), writes nothing for a malformed report.
import t from 'tap';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { metricsJson, writeReport } from '../../lib/report/write_report.js';
import { renderReport } from '../../lib/report/render_html.js';
import type { Report } from '../../lib/report/model.js';
import { sampleReport } from '../helpers/sample_report.js';

const root = mkdtempSync(path.join(tmpdir(), 'lmkit-report-'));

t.test('creates the directory and writes both files', async (t) => {
  const dir = path.join(root, 'nested', 'report');
  const metrics = { pretrain: { final_val_loss: 1.62, steps: 600 }, ift: { heldout_accuracy: [0.125, 0.64] }, ok: true, note: null };
  const written = writeReport(dir, sampleReport(), metrics);
  t.same(written, { html: path.join(dir, 'index.html'), metrics: path.join(dir, 'metrics.json') });
  t.same(readdirSync(dir).sort(), ['index.html', 'metrics.json'], 'no temp files left behind');
  t.equal(readFileSync(written.html, 'utf8'), renderReport(sampleReport()));
  t.same(JSON.parse(readFileSync(written.metrics, 'utf8')), metrics, 'metrics read back as written');

  // Rewriting replaces both files.
  writeReport(dir, { title: 'second', sections: [] }, { run: 2 });
  t.match(readFileSync(written.html, 'utf8'), '<title>second</title>');
  t.same(JSON.parse(readFileSync(written.metrics, 'utf8')), { run: 2 });
});

t.test('non-finite metrics are written as strings, not as null', async (t) => {
  const parsed = JSON.parse(metricsJson({ loss: NaN, ratio: Infinity, worst: -Infinity, list: [1, NaN] })) as unknown;
  t.same(parsed, { loss: 'NaN', ratio: 'Infinity', worst: '-Infinity', list: [1, 'NaN'] });
  t.throws(() => metricsJson({ missing: undefined }), { name: 'ConfigError', message: /metrics key "missing": undefined cannot be written to JSON/ });
  t.throws(() => metricsJson({ big: 1n }), { message: /metrics key "big": bigint/ });
});

t.test('a malformed report writes nothing', async (t) => {
  const dir = path.join(root, 'bad');
  const report = { title: 'x', sections: [{ title: 's', tables: [{ columns: ['a'], rows: [[1, 2]] }] }] } as unknown as Report;
  t.throws(() => writeReport(dir, report, {}), { code: 'REPORT_INVALID' });
  t.throws(() => readdirSync(dir), { code: 'ENOENT' }, 'the directory was not even created');
});

t.test('a path that is a file is a ConfigError naming it', async (t) => {
  const file = path.join(root, 'taken');
  writeFileSync(file, 'x');
  t.throws(() => writeReport(file, { title: 'x', sections: [] }, {}), { name: 'ConfigError', code: 'REPORT_DIR', message: new RegExp(`^${file}: `) });
});
