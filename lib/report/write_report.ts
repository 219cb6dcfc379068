// Writes a run's report directory: index.html (for people) and metrics.json
// (for scripts and tests), each atomically, so an interrupted run leaves the
// previous file or the new one, never half of one.
//
// JSON has no NaN or Infinity; JSON.stringify would write them as null and a
// failed metric would read as "missing". They are written as the strings
// "NaN", "Infinity", "-Infinity" instead, so a reader comparing numbers fails
// loudly rather than silently.
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic_write.js';
import type { Report } from './model.js';
import { renderReport } from './render_html.js';

export interface WrittenReport {
  html: string;
  metrics: string;
}

export const REPORT_FILES = { html: 'index.html', metrics: 'metrics.json' } as const;

/**
 * metrics as pretty JSON, non-finite numbers spelled as strings (see the
 * header). Values JSON cannot hold (undefined, functions, bigint, symbols)
 * are a ConfigError naming the key rather than silently dropped.
 */
export function metricsJson(metrics: object): string {
  return `${JSON.stringify(metrics, (key, value: unknown) => {
    if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
    if (value === undefined || typeof value === 'function' || typeof value === 'bigint' || typeof value === 'symbol') {
      throw new ConfigError('REPORT_INVALID', `metrics${key === '' ? '' : ` key "${key}"`}: ${typeof value} cannot be written to JSON; use a number, string, boolean, null, array or object`);
    }
    return value;
  }, 2)}\n`;
}

function ensureDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new ConfigError('REPORT_DIR', `${dir}: cannot create the report directory (${(err as Error).message}); pass a writable path as dir`, { cause: err });
  }
  if (!statSync(dir).isDirectory()) throw new ConfigError('REPORT_DIR', `${dir}: exists and is not a directory; pass a directory path as dir`);
}

/**
 * Renders `report` and writes `<dir>/index.html` and `<dir>/metrics.json`,
 * creating `dir` (and its parents) if needed. The report is rendered and the
 * metrics serialised before anything is written, so a malformed report
 * (ConfigError REPORT_INVALID) leaves the directory as it was.
 */
export function writeReport(dir: string, report: Report, metrics: object): WrittenReport {
  const html = renderReport(report);
  const json = metricsJson(metrics);
  ensureDirectory(dir);
  const written = { html: path.join(dir, REPORT_FILES.html), metrics: path.join(dir, REPORT_FILES.metrics) };
  const encoder = new TextEncoder();
  writeFileAtomic(written.metrics, [encoder.encode(json)]);
  writeFileAtomic(written.html, [encoder.encode(html)]);
  return written;
}
