import type { BenchRow, BenchSide } from './table.mjs';

export interface Timing { medianMs: number; minMs: number; reps: number; inner: number }
export interface Bar { text: string; min: number; strict?: boolean; threads?: number }

export function okSide(timing: Timing, work: { flops?: number; bytes?: number; tokens?: number }, extra?: Partial<BenchSide>): BenchSide;
export function emptySide(status: string, note?: string, extra?: Partial<BenchSide>): BenchSide;
export interface LimitBar { text: string; min: number }
export function evaluateBar(bar: Bar | null, speedup: number | null, threads: number): BenchRow['bar'];
export function evaluateLimitBar(limitBar: LimitBar | null, fraction: number | null): BenchRow['limitBar'];
export function makeRow(parts: {
  kernel: string;
  shape: string;
  work: { flops?: number; bytes?: number; tokens?: number };
  ours: BenchSide;
  peer: BenchSide | null;
  bar?: Bar | null;
  limitBar?: LimitBar | null;
  limit?: { name: string; value: number; unit: string } | null;
  threads: number;
  extra?: Partial<BenchRow>;
}): BenchRow;
