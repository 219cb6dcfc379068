// parse-prometheus-text-format (a parser we did not write, ported from the
// Prometheus Python client) with the types of what it returns.
import { createRequire } from 'node:module';

export interface PromSample {
  value?: string;
  labels?: Record<string, string>;
  buckets?: Record<string, string>;
  count?: string;
  sum?: string;
}

export interface PromFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  metrics: PromSample[];
}

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[];

/** Parsed families by name. */
export function parsePrometheus(text: string): Map<string, PromFamily> {
  return new Map(parse(text).map((f) => [f.name, f]));
}
