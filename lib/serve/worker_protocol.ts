// Messages between the engine (main thread) and its model workers. Plain
// structured-clone data only: ids, token arrays, resolved options, strings.
import type { GeneratedSequence } from '../generate/generate.js';
import type { BatchEvent } from './batcher.js';
import type { SequenceOptions } from './sequence.js';

/** What a worker is started with (workerData). */
export interface WorkerInit {
  /** The checkpoint folder. */
  dir: string;
  /** Rows its KV slot pool decodes at once. */
  maxBatch: number;
}

/** What the loaded model is, reported once by each worker. */
export interface ModelInfo {
  /** The checkpoint folder actually read (a half-swapped checkpoint resolves to dir.old). */
  dir: string;
  arch: 'decoder';
  /** The context length: prompt + generated tokens fit in it. */
  nPositions: number;
  vocabSize: number;
  /** Parameters of the model. */
  parameters: number;
}

/** One worker's heap (its own V8 isolate) and the memory its ArrayBuffers hold outside it, in bytes. */
export interface WorkerMemory {
  heapUsed: number;
  heapTotal: number;
  /** Memory of objects bound to JS objects but allocated outside the heap (typed-array data among it). */
  external: number;
  arrayBuffers: number;
  /** Whether a full GC ran first. */
  collected: boolean;
}

/** An error carried across the thread boundary, rebuilt on the main thread. */
export interface WireError {
  name: string;
  code: string | null;
  message: string;
}

export type ToWorker =
  | { type: 'sequence'; id: number; prompt: number[]; options: SequenceOptions; index: number }
  | { type: 'beam'; id: number; prompt: number[]; options: SequenceOptions }
  | { type: 'cancel'; id: number }
  /** Report memory, after a full GC of the worker's heap when `gc` and the process runs with --expose-gc. */
  | { type: 'memory'; id: number; gc: boolean }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'load-failed'; error: WireError }
  /** One decoding step's events, in row order. */
  | { type: 'events'; events: BatchEvent[] }
  | { type: 'beam-done'; id: number; sequences: GeneratedSequence[] }
  | { type: 'beam-failed'; id: number; error: WireError }
  | { type: 'memory'; id: number; usage: WorkerMemory }
  /** The decoding loop hit an unexpected error; the worker exits after sending this. */
  | { type: 'fatal'; error: WireError };

export function toWire(err: unknown): WireError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { name: err.name, code: typeof code === 'string' ? code : null, message: err.message };
  }
  return { name: 'Error', code: null, message: String(err) };
}
