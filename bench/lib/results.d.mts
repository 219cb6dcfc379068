import type { BenchReport } from './table.mjs';

export const RESULTS_SCHEMA: string;
export function machineInfo(ctx: { root: string; backend: unknown }): BenchReport['machine'];
export function localDate(d?: Date): string;
export function resultsPath(root: string, suite: string, opts?: { date?: string; quick?: boolean }): string;
export function writeResults(file: string, report: BenchReport): string;
