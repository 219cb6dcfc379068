// The embeddable engine: models run in worker_threads, so the caller's event
// loop only moves messages. Each worker decodes up to maxBatch sequences
// together with continuous batching (batcher.ts); requests beyond the free
// rows wait in one queue of at most maxQueue, and beyond that are refused
// (ENGINE_QUEUE_FULL) so a server can answer 429 at once instead of queueing
// without bound.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { CheckpointError, ConfigError } from '../errors.js';
import type { GenerateOptions, GeneratedSequence, StreamPiece } from '../generate/generate.js';
import { resolveOptions } from '../generate/options.js';
import { CHECKPOINT_FILES, locateCheckpoint } from '../io/checkpoint.js';
import { checkpointArch } from '../models/arch.js';
import { loadTokenizer } from '../tokenizer/load.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { BatchEvent } from './batcher.js';
import { EngineError, RequestError } from './errors.js';
import { PieceChannel } from './piece_channel.js';
import type { SequenceOptions } from './sequence.js';
import type { FromWorker, ModelInfo, ToWorker, WireError, WorkerInit, WorkerMemory } from './worker_protocol.js';

export interface EngineOptions {
  /** The checkpoint folder (what lmkit train wrote as <out>/checkpoint). */
  model: string;
  /** Worker threads, each with its own copy of the model (default 1). */
  workers?: number;
  /** Sequences one worker decodes together (default 16). */
  maxBatch?: number;
  /** Sequences that may wait for a free row; more are refused with ENGINE_QUEUE_FULL (default 256). */
  maxQueue?: number;
}

/** Options of one streamed sequence: generate()'s, without beam search. */
export interface EngineGenerateOptions extends Omit<GenerateOptions, 'numBeams' | 'numReturnSequences' | 'lengthPenalty' | 'earlyStopping'> {
  /** Which of a request's sequences this is: it samples from stream (seed, sequenceIndex), as generate()'s numReturnSequences do (default 0). */
  sequenceIndex?: number;
  /** Ends the request with ENGINE_TIMEOUT after this many milliseconds, queueing included. */
  timeoutMs?: number;
}

export interface EngineBeamOptions extends Omit<GenerateOptions, 'temperature' | 'topK' | 'topP' | 'seed'> {
  timeoutMs?: number;
}

export type EngineFinish = 'eos' | 'stop' | 'length' | 'cancelled';

export interface EngineResult {
  /** Generated ids (an eos or stop token included). */
  ids: number[];
  /** The streamed pieces joined. */
  text: string;
  finishReason: EngineFinish;
  promptTokens: number;
}

/** An async iterator of pieces (as stream() gives them), and the whole result when it ends. */
export interface GenerationStream extends AsyncIterable<StreamPiece> {
  readonly promptTokens: number;
  /** Resolves at the end (also on cancel); rejects on timeout or a worker failure. */
  readonly result: Promise<EngineResult>;
}

export interface EngineStats {
  /** Sequences waiting for a row. */
  queued: number;
  /** Sequences holding a row (or a beam search) in a worker. */
  running: number;
  workers: number;
  maxBatch: number;
  maxQueue: number;
  accepting: boolean;
  /** Sequences cancelled before their end (abort, break, timeout), since the engine started: confirmed by the worker for running ones. */
  cancelled: number;
}

interface WorkerSlot {
  worker: Worker;
  load: number;
  requests: Map<number, Job>;
}

interface Job {
  id: number;
  message: ToWorker;
  slot: WorkerSlot | null;
  /** The caller has its answer (end, cancel, timeout); the job waits only for the worker's last word. */
  answered: boolean;
  onEvent(e: BatchEvent): void;
  onBeam(sequences: GeneratedSequence[]): void;
  fail(err: Error): void;
  cleanup: (() => void)[];
}

const DEFAULTS = { workers: 1, maxBatch: 16, maxQueue: 256 };

function positiveInt(name: string, v: number | undefined, fallback: number, min: number): number {
  const n = v ?? fallback;
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError('CONFIG_INVALID', `createEngine: ${name} must be an integer ≥ ${min}, got ${v}`);
  return n;
}

function fromWire(e: WireError, dir: string): Error {
  if (e.name === 'CheckpointError') return new CheckpointError(e.code ?? 'CHECKPOINT_INVALID', e.message);
  return new EngineError('ENGINE_WORKER_FAILED', `model worker for ${dir}: ${e.message}`);
}

/**
 * Where the checkpoint is, checked on this thread before any worker starts:
 * it exists and is of the decoder family (the one with a batching session).
 */
function servableCheckpoint(requested: string): string {
  const dir = locateCheckpoint(requested);
  if (!dir) {
    const why = existsSync(requested) ? `has no ${CHECKPOINT_FILES.config}` : 'does not exist';
    throw new CheckpointError('CHECKPOINT_MISSING', `${requested}: not a checkpoint (the directory ${why}); pass the folder lmkit train wrote (<out>/checkpoint)`);
  }
  const file = path.join(dir, CHECKPOINT_FILES.config);
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError('CHECKPOINT_INVALID', `${file}: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new CheckpointError('CHECKPOINT_INVALID', `${file}: expected a JSON object`);
  const arch = checkpointArch(config as Record<string, unknown>, file);
  if (arch !== 'decoder')
    throw new CheckpointError('CHECKPOINT_WRONG_ARCH',
      `${dir}: this is a ${arch} checkpoint; the engine serves decoder (GPT / LLaMA) checkpoints, the family with a continuous-batching session; use lmkit generate for ${arch} models`);
  return dir;
}

/**
 * A decoding step allocates many short-lived tensors. Left to itself V8 grows
 * the young generation (semi-spaces) with the allocation rate, and the
 * process's RSS with it, for the first few thousand requests; a fixed small
 * young generation keeps a worker's memory flat from the start, at no
 * measurable cost in speed (scavenges of dead tensors are cheap).
 */
const WORKER_YOUNG_GENERATION_MB = 8;

// Under a TypeScript loader (tests) this module is engine.ts and so is its worker.
const WORKER_URL = new URL(import.meta.url.endsWith('.ts') ? './engine_worker.ts' : './engine_worker.js', import.meta.url);

/** Starts the workers and resolves once each has loaded the model. */
export async function createEngine(options: EngineOptions): Promise<Engine> {
  if (typeof options?.model !== 'string' || options.model === '') throw new ConfigError('CONFIG_MISSING', 'createEngine: model must be the checkpoint folder to serve');
  const workers = positiveInt('workers', options.workers, DEFAULTS.workers, 1);
  const maxBatch = positiveInt('maxBatch', options.maxBatch, DEFAULTS.maxBatch, 1);
  const maxQueue = positiveInt('maxQueue', options.maxQueue, DEFAULTS.maxQueue, 0);
  const init: WorkerInit = { dir: servableCheckpoint(path.resolve(options.model)), maxBatch };
  const started = Array.from({ length: workers }, () => startWorker(init));
  const results = await Promise.allSettled(started);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(results.map((r) => (r.status === 'fulfilled' ? stopWorker(r.value.worker) : undefined)));
    throw failed.reason;
  }
  const ready = results.map((r) => (r as PromiseFulfilledResult<{ worker: Worker; info: ModelInfo }>).value);
  const info = ready[0]!.info;
  const tokenizer = loadTokenizer(path.join(info.dir, CHECKPOINT_FILES.tokenizer));
  return new Engine(ready.map((r) => r.worker), info, tokenizer, { maxBatch, maxQueue });
}

function startWorker(init: WorkerInit): Promise<{ worker: Worker; info: ModelInfo }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_URL, { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB } });
    const onError = (err: Error): void => reject(new EngineError('ENGINE_WORKER_FAILED', `model worker for ${init.dir} failed while loading: ${err.message}`, { cause: err }));
    const onExit = (code: number): void => reject(new EngineError('ENGINE_WORKER_FAILED', `model worker for ${init.dir} exited with code ${code} while loading`));
    const onMessage = (m: FromWorker): void => {
      worker.off('error', onError).off('exit', onExit).off('message', onMessage);
      if (m.type === 'ready') resolve({ worker, info: m.info });
      else {
        reject(m.type === 'load-failed' ? fromWire(m.error, init.dir) : new EngineError('ENGINE_WORKER_FAILED', `model worker for ${init.dir}: unexpected first message ${m.type}`));
        void worker.terminate();
      }
    };
    worker.on('error', onError).on('exit', onExit).on('message', onMessage);
  });
}

/**
 * Asks a worker to stop between two decoding steps and waits for its thread
 * to end. worker.terminate() is only the fallback (a worker stuck for
 * WORKER_STOP_MS, e.g. in a long beam search); it is safe inside a native
 * kernel call (the addon swallows the N-API errors of a terminating thread,
 * test/runtime.test.ts), but a clean stop lets the worker free its model.
 */
const WORKER_STOP_MS = 10_000;

function stopWorker(worker: Worker): Promise<void> {
  return new Promise((resolve) => {
    worker.removeAllListeners('exit');
    const timer = setTimeout(() => void worker.terminate(), WORKER_STOP_MS);
    worker.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    worker.postMessage({ type: 'close' } satisfies ToWorker);
  });
}

export class Engine {
  readonly maxBatch: number;
  readonly maxQueue: number;
  private readonly slots: WorkerSlot[];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private accepting = true;
  private failure: Error | null = null;
  private idleWaiters: (() => void)[] = [];
  private cancelled = 0;

  /** Use createEngine(). */
  constructor(workers: Worker[], readonly info: ModelInfo, readonly tokenizer: Tokenizer, limits: { maxBatch: number; maxQueue: number }) {
    this.maxBatch = limits.maxBatch;
    this.maxQueue = limits.maxQueue;
    this.slots = workers.map((worker) => {
      const slot: WorkerSlot = { worker, load: 0, requests: new Map() };
      worker.on('message', (m: FromWorker) => this.onMessage(slot, m));
      worker.on('error', (err) => this.onWorkerDeath(slot, err.message));
      worker.on('exit', (code) => this.onWorkerDeath(slot, `exited with code ${code}`));
      return slot;
    });
  }

  /** False once a worker has died or the engine is closed. */
  get healthy(): boolean {
    return this.failure === null && this.accepting && this.slots.length > 0;
  }

  stats(): EngineStats {
    return {
      queued: this.queue.length, running: this.slots.reduce((n, s) => n + s.load, 0), workers: this.slots.length,
      maxBatch: this.maxBatch, maxQueue: this.maxQueue, accepting: this.accepting && this.failure === null, cancelled: this.cancelled,
    };
  }

  /** Whether `count` more sequences would be taken now (free rows, then queue places). */
  hasRoomFor(count: number): boolean {
    const free = this.slots.reduce((n, s) => n + Math.max(0, this.maxBatch - s.load), 0);
    return free + this.maxQueue - this.queue.length >= count;
  }

  /** Prompt text → ids, checked against the vocabulary and the context. */
  encodePrompt(prompt: string | readonly number[]): number[] {
    const ids = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : [...prompt];
    if (ids.length === 0) throw new RequestError('REQUEST_INVALID', `the prompt is empty${typeof prompt === 'string' ? ` (${JSON.stringify(prompt)} encodes to no tokens)` : ''}; give at least one token`, { param: 'prompt' });
    for (const id of ids)
      if (!Number.isInteger(id) || id < 0 || id >= this.tokenizer.vocabSize)
        throw new RequestError('REQUEST_INVALID', `the prompt has token id ${id}, outside the vocabulary [0, ${this.tokenizer.vocabSize})`, { param: 'prompt' });
    if (ids.length >= this.info.nPositions)
      throw new RequestError('REQUEST_TOO_LONG', `the prompt has ${ids.length} tokens; the model's context is ${this.info.nPositions}, which must also hold at least one new token`, { param: 'prompt' });
    return ids;
  }

  /**
   * Streams one continuation. Throws at once (RequestError, EngineError) if
   * the request is invalid, the engine is closed, or the queue is full.
   * An aborted signal ends the stream; `result` then says 'cancelled'.
   */
  generate(prompt: string | readonly number[], options: EngineGenerateOptions = {}): GenerationStream {
    const { sequenceIndex, timeoutMs, ...genOptions } = options;
    const ids = this.encodePrompt(prompt);
    const index = sequenceIndex ?? 0;
    if (!Number.isSafeInteger(index) || index < 0) throw new RequestError('REQUEST_INVALID', `sequenceIndex must be an integer ≥ 0, got ${sequenceIndex}`);
    const resolved = this.resolve(genOptions, ids.length);
    this.checkOpen(1);
    const id = this.nextId++;
    const generated: number[] = [];
    let text = '';
    let settle!: (r: EngineResult) => void, reject!: (e: Error) => void;
    const result = new Promise<EngineResult>((res, rej) => ((settle = res), (reject = rej)));
    result.catch(() => {}); // a caller may read only the stream; the stream rethrows
    const channel = new PieceChannel(() => this.cancel(job, 'cancelled', () => finish('cancelled')));
    const finish = (reason: EngineFinish, all?: number[]): void => {
      channel.end();
      settle({ ids: all ?? generated, text, finishReason: reason, promptTokens: ids.length });
    };
    const job: Job = {
      id, slot: null, answered: false, cleanup: [],
      message: { type: 'sequence', id, prompt: ids, options: resolved, index },
      onEvent: (e) => {
        if (e.token >= 0) generated.push(e.token);
        text += e.text;
        if (e.token >= 0 || e.text !== '') channel.push({ token: e.token, text: e.text });
        if (e.finish) finish(e.finish, e.ids);
      },
      onBeam: () => {},
      fail: (err) => {
        channel.end(err);
        reject(err);
      },
    };
    this.watch(job, genOptions.signal, timeoutMs, () => finish('cancelled'));
    this.submit(job);
    return { promptTokens: ids.length, result, [Symbol.asyncIterator]: () => channel.read() };
  }

  /**
   * Beam search (generate()'s semantics), run whole in a worker between two
   * decoding steps of its batch. An aborted signal rejects with an AbortError
   * at once; the search itself runs to its end in the worker.
   */
  beamSearch(prompt: string | readonly number[], options: EngineBeamOptions = {}): Promise<GeneratedSequence[]> {
    const { timeoutMs, ...genOptions } = options;
    const ids = this.encodePrompt(prompt);
    const resolved = this.resolve(genOptions, ids.length);
    this.checkOpen(1);
    const id = this.nextId++;
    return new Promise<GeneratedSequence[]>((resolve, reject) => {
      const job: Job = {
        id, slot: null, answered: false, cleanup: [],
        message: { type: 'beam', id, prompt: ids, options: resolved },
        onEvent: () => {},
        onBeam: resolve,
        fail: reject,
      };
      this.watch(job, genOptions.signal, timeoutMs, () => reject(genOptions.signal?.reason ?? new DOMException('This operation was aborted', 'AbortError')));
      this.submit(job);
    });
  }

  /**
   * Each worker's heap and external memory (typed-array data of its tensors
   * lives there). With `gc` and node run with --expose-gc, each worker runs a
   * full GC first, so the figures are what it retains.
   */
  workerMemory(options: { gc?: boolean } = {}): Promise<WorkerMemory[]> {
    return Promise.all(this.slots.map((slot) => new Promise<WorkerMemory>((resolve, reject) => {
      const id = this.nextId++;
      const onMessage = (m: FromWorker): void => {
        if (m.type !== 'memory' || m.id !== id) return;
        slot.worker.off('message', onMessage).off('exit', onExit);
        resolve(m.usage);
      };
      const onExit = (): void => reject(new EngineError('ENGINE_WORKER_FAILED', 'a model worker exited before reporting its memory'));
      slot.worker.on('message', onMessage).once('exit', onExit);
      slot.worker.postMessage({ type: 'memory', id, gc: options.gc === true } satisfies ToWorker);
    })));
  }

  /** Resolves when nothing is queued or running (every cancelled row confirmed free by its worker). */
  whenIdle(): Promise<void> {
    if (this.queue.length === 0 && this.slots.every((s) => s.load === 0)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking requests; resolves when every queued and running one has finished. */
  drain(): Promise<void> {
    this.accepting = false;
    return this.whenIdle();
  }

  /** Fails whatever is still queued or running with ENGINE_CLOSED and stops the workers. */
  async close(): Promise<void> {
    this.accepting = false;
    const closed = new EngineError('ENGINE_CLOSED', 'the engine was closed before the request finished');
    for (const job of [...this.queue, ...this.slots.flatMap((s) => [...s.requests.values()])]) this.answer(job, () => job.fail(closed));
    this.queue.length = 0;
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => stopWorker(s.worker)));
    this.notifyIdle();
  }

  private resolve(options: GenerateOptions, promptLength: number): SequenceOptions {
    try {
      const { signal: _signal, ...resolved } = resolveOptions(options, this.tokenizer, this.info.nPositions, promptLength);
      return resolved;
    } catch (err) {
      if (!(err instanceof RangeError || err instanceof ConfigError)) throw err;
      const message = err.message.replace(/^generate: /, '');
      throw new RequestError(/exceed the model's context/.test(message) ? 'REQUEST_TOO_LONG' : 'REQUEST_INVALID', message, { cause: err });
    }
  }

  private checkOpen(count: number): void {
    if (this.failure) throw new EngineError('ENGINE_WORKER_FAILED', `the engine cannot serve: ${this.failure.message}`);
    if (!this.accepting) throw new EngineError('ENGINE_CLOSED', 'the engine is shutting down and takes no new requests');
    if (!this.hasRoomFor(count))
      throw new EngineError('ENGINE_QUEUE_FULL', `all ${this.slots.length * this.maxBatch} rows are busy and ${this.queue.length} requests are queued (maxQueue ${this.maxQueue}); retry later`);
  }

  /** Abort signal and timeout of a job; `onCancel` answers the caller when the signal fires. */
  private watch(job: Job, signal: AbortSignal | undefined, timeoutMs: number | undefined, onCancel: () => void): void {
    if (signal) {
      if (signal.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
      const onAbort = (): void => this.cancel(job, 'cancelled', onCancel);
      signal.addEventListener('abort', onAbort, { once: true });
      job.cleanup.push(() => signal.removeEventListener('abort', onAbort));
    }
    if (timeoutMs !== undefined) {
      if (!(typeof timeoutMs === 'number' && timeoutMs > 0)) throw new RequestError('REQUEST_INVALID', `timeoutMs must be a number > 0, got ${timeoutMs}`);
      const timer = setTimeout(() => this.cancel(job, 'timeout'), timeoutMs);
      job.cleanup.push(() => clearTimeout(timer));
    }
  }

  private submit(job: Job): void {
    this.queue.push(job);
    this.dispatch();
  }

  /** Gives queued jobs to the least loaded workers with a free row. */
  private dispatch(): void {
    while (this.queue.length > 0) {
      let best: WorkerSlot | null = null;
      for (const s of this.slots) if (s.load < this.maxBatch && (!best || s.load < best.load)) best = s;
      if (!best) return;
      const job = this.queue.shift()!;
      job.slot = best;
      best.load++;
      best.requests.set(job.id, job);
      best.worker.postMessage(job.message);
    }
  }

  /** Answers the caller once: runs `reply` and releases the job's signal and timer. */
  private answer(job: Job, reply: () => void): void {
    if (job.answered) return;
    job.answered = true;
    for (const c of job.cleanup) c();
    reply();
  }

  /** Cancel or timeout: the caller is answered now; a running job's row is freed when its worker confirms. */
  private cancel(job: Job, why: 'cancelled' | 'timeout', onCancel?: () => void): void {
    if (job.answered) return;
    this.answer(job, () => {
      if (why === 'timeout') job.fail(new EngineError('ENGINE_TIMEOUT', 'the request ran past its timeout and was cancelled'));
      else onCancel?.();
    });
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.cancelled++;
      this.notifyIdle();
    } else if (job.slot && job.message.type === 'sequence') job.slot.worker.postMessage({ type: 'cancel', id: job.id } satisfies ToWorker);
  }

  private onMessage(slot: WorkerSlot, m: FromWorker): void {
    switch (m.type) {
      case 'events':
        for (const e of m.events) {
          const job = slot.requests.get(e.id);
          if (!job) continue;
          if (!job.answered) {
            if (e.finish) this.answer(job, () => job.onEvent(e));
            else job.onEvent(e);
          }
          if (e.finish === 'cancelled') this.cancelled++;
          if (e.finish) this.release(slot, job);
        }
        return;
      case 'beam-done':
      case 'beam-failed': {
        const job = slot.requests.get(m.id);
        if (!job) return;
        this.answer(job, () => (m.type === 'beam-done' ? job.onBeam(m.sequences) : job.fail(new EngineError('ENGINE_WORKER_FAILED', `beam search failed in the worker: ${m.error.message}`))));
        this.release(slot, job);
        return;
      }
      case 'fatal':
        this.onWorkerDeath(slot, m.error.message);
        return;
      default:
        return;
    }
  }

  private release(slot: WorkerSlot, job: Job): void {
    slot.requests.delete(job.id);
    slot.load--;
    this.dispatch();
    this.notifyIdle();
  }

  /** A worker died: its jobs fail; with no worker left, so does everything queued. */
  private onWorkerDeath(slot: WorkerSlot, why: string): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    const err = new EngineError('ENGINE_WORKER_FAILED', `a model worker ${why}; its requests were lost`);
    for (const job of slot.requests.values()) this.answer(job, () => job.fail(err));
    slot.requests.clear();
    void stopWorker(slot.worker); // a 'fatal' worker exits by itself; this only makes sure
    if (this.slots.length === 0) {
      this.failure = err;
      for (const job of this.queue.splice(0)) this.answer(job, () => job.fail(err));
    }
    this.dispatch();
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.queue.length > 0 || this.slots.some((s) => s.load > 0)) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
