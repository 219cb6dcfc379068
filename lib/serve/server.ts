// An OpenAI-compatible HTTP server over the engine (node:http, SSE by hand):
// /v1/completions and /v1/chat/completions (streaming as OpenAI's chunks and
// `[DONE]`), /v1/models, /health, /metrics. Limits on body size, prompt
// tokens, max_tokens, choices, queue (429 + Retry-After) and time; a client
// that disconnects cancels its decoding; drain() finishes what is running and
// refuses the rest, for SIGTERM.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { Engine, EngineFinish, EngineResult, GenerationStream } from './engine.js';
import { EngineError } from './errors.js';
import { apiError, HttpError } from './http_errors.js';
import { readJsonBody, sendJson, sendText, SseWriter } from './http_io.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';
import { parseChatRequest, parseCompletionRequest, type RequestLimits } from './openai_request.js';
import { ServerMetrics } from './server_metrics.js';

export interface ServerLimits extends RequestLimits {
  /** Largest request body in bytes (413 above). */
  maxBodyBytes: number;
  /** A generation request is cancelled after this long, queueing included (504). */
  timeoutMs: number;
  /** Retry-After of a 429 (queue full) or 503 (shutting down). */
  retryAfterSeconds: number;
}

export interface ApiServerOptions {
  /** The name clients put in `model` (and /v1/models lists). */
  modelName: string;
  limits?: Partial<ServerLimits>;
  /** Where unexpected errors are reported (default: console.error). */
  log?: (line: string) => void;
}

type Kind = 'completion' | 'chat';
const ROUTES: Record<string, { methods: string[]; kind?: Kind }> = {
  '/v1/completions': { methods: ['POST'], kind: 'completion' },
  '/v1/chat/completions': { methods: ['POST'], kind: 'chat' },
  '/v1/models': { methods: ['GET'] },
  '/health': { methods: ['GET'] },
  '/metrics': { methods: ['GET'] },
};

const OPENAI_FINISH: Record<Exclude<EngineFinish, 'cancelled'>, 'stop' | 'length'> = { eos: 'stop', stop: 'stop', length: 'length' };

export function defaultLimits(nPositions: number): ServerLimits {
  return { maxBodyBytes: 1 << 20, maxPromptTokens: nPositions - 1, maxTokens: Math.min(512, nPositions - 1), maxChoices: 16, timeoutMs: 120_000, retryAfterSeconds: 1 };
}

export class ApiServer {
  readonly http: Server;
  readonly metrics: ServerMetrics;
  readonly limits: ServerLimits;
  readonly modelName: string;
  private readonly created = Math.floor(Date.now() / 1000);
  private readonly log: (line: string) => void;
  private readonly inFlight = new Set<ServerResponse>();
  private readonly generations = new Set<AbortController>();
  private draining = false;
  private idle: (() => void) | null = null;

  constructor(readonly engine: Engine, options: ApiServerOptions) {
    this.modelName = options.modelName;
    this.limits = { ...defaultLimits(engine.info.nPositions), ...options.limits };
    this.log = options.log ?? ((line) => console.error(line));
    this.metrics = new ServerMetrics(engine, () => this.inFlight.size);
    this.http = createServer((req, res) => void this.handle(req, res));
  }

  /** Listens on host:port (port 0: any free port); resolves with the address. */
  listen(port: number, host = '127.0.0.1'): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(port, host, () => {
        this.http.off('error', reject);
        resolve(this.http.address() as AddressInfo);
      });
    });
  }

  /**
   * Graceful shutdown: stops accepting connections, answers new requests on
   * open ones with 503, lets running requests finish for up to `graceMs`,
   * then cancels what is left and closes every connection. Resolves with
   * how many requests had to be cancelled.
   */
  async drain(graceMs = 30_000): Promise<{ cancelled: number }> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    let cancelled = 0;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.idle = resolve)),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs))),
      ]);
      clearTimeout(timer);
      cancelled = this.generations.size;
      for (const c of this.generations) c.abort();
    }
    this.http.closeAllConnections();
    await closed;
    this.metrics.stop();
    return { cancelled };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.startsWith('/v1/models/') ? '/v1/models/{id}' : url.pathname;
    const route = ROUTES[path] ?? (path === '/v1/models/{id}' ? { methods: ['GET'] } : undefined);
    const label = route ? path : 'other'; // unknown paths share one label, so clients cannot grow the metrics
    this.inFlight.add(res);
    res.once('close', () => {
      this.inFlight.delete(res);
      const status = res.writableFinished ? res.statusCode : 499;
      this.metrics.requests.inc({ route: label, status: String(status) });
      this.metrics.duration.observe((performance.now() - started) / 1e3, { route: label });
      if (this.inFlight.size === 0) this.idle?.();
    });
    try {
      if (!route) throw new HttpError(404, 'not_found', `no route ${req.method} ${url.pathname}; this server has POST /v1/completions, POST /v1/chat/completions, GET /v1/models, /health, /metrics`);
      if (!route.methods.includes(req.method ?? ''))
        throw new HttpError(405, 'method_not_allowed', `${url.pathname} takes ${route.methods.join(', ')}, not ${req.method}`, null, { allow: route.methods.join(', ') });
      if (this.draining && path !== '/health' && path !== '/metrics')
        throw new EngineError('ENGINE_CLOSED', 'the server is shutting down and takes no new requests');
      if (route.kind) return await this.generate(route.kind, req, res, started);
      if (path === '/health') return this.health(res);
      if (path === '/metrics') return sendText(res, 200, this.metrics.registry.render(), PROMETHEUS_CONTENT_TYPE);
      if (path === '/v1/models') return sendJson(res, 200, { object: 'list', data: [this.modelCard()] });
      const id = decodeURIComponent(url.pathname.slice('/v1/models/'.length));
      if (id !== this.modelName) throw new HttpError(404, 'model_not_found', `The model \`${id}\` does not exist; this server serves ${JSON.stringify(this.modelName)}`, 'model');
      return sendJson(res, 200, this.modelCard());
    } catch (err) {
      this.fail(res, err);
    }
  }

  private fail(res: ServerResponse, err: unknown): void {
    const e = apiError(err, this.limits.retryAfterSeconds);
    if (e.status >= 500 && e.body.error.code === 'internal_error') this.log(`lmkit serve: ${(err as Error)?.stack ?? String(err)}`);
    if (res.headersSent || res.destroyed) {
      if (!res.writableEnded) res.end();
      return;
    }
    sendJson(res, e.status, e.body, { ...e.headers, ...(this.draining ? { connection: 'close' } : {}) });
  }

  private modelCard() {
    return { id: this.modelName, object: 'model', created: this.created, owned_by: 'lmkit', context_length: this.engine.info.nPositions };
  }

  private health(res: ServerResponse): void {
    const s = this.engine.stats();
    const ok = this.engine.healthy && !this.draining;
    sendJson(res, ok ? 200 : 503, { status: ok ? 'ok' : this.draining ? 'draining' : 'unavailable', model: this.modelName, workers: s.workers, queued: s.queued, running: s.running });
  }

  private async generate(kind: Kind, req: IncomingMessage, res: ServerResponse, started: number): Promise<void> {
    const body = await readJsonBody(req, this.limits.maxBodyBytes);
    const ctx = { name: this.modelName, tokenizer: this.engine.tokenizer, nPositions: this.engine.info.nPositions };
    const parsed = kind === 'chat' ? parseChatRequest(body, ctx, this.limits) : parseCompletionRequest(body, ctx, this.limits);
    const sequences = parsed.beams ? parsed.prompts.length : parsed.prompts.length * parsed.n;
    if (!this.engine.hasRoomFor(sequences))
      throw new EngineError('ENGINE_QUEUE_FULL', `the server is at capacity (${this.engine.stats().running} running, ${this.engine.stats().queued} queued, queue limit ${this.engine.maxQueue}); retry after ${this.limits.retryAfterSeconds} s`);
    const controller = new AbortController();
    this.generations.add(controller);
    res.once('close', () => {
      this.generations.delete(controller);
      if (!res.writableFinished) controller.abort(); // the client went away: stop decoding for it
    });
    const common = { signal: controller.signal, timeoutMs: this.limits.timeoutMs };
    const reply = { id: `${kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`, created: Math.floor(Date.now() / 1000), model: this.modelName };
    const promptTokens = parsed.prompts.reduce((n, p) => n + p.length, 0);
    this.metrics.promptTokens.inc({}, promptTokens);

    if (parsed.beams) {
      const beams = parsed.beams;
      const results = await Promise.all(parsed.prompts.map((p) => this.engine.beamSearch(p, { ...beams, ...common })));
      const choices = results.flatMap((seqs) => seqs.map((s) => ({ text: s.text, finish: OPENAI_FINISH[s.finishReason], tokens: s.ids.length })));
      this.metrics.firstToken.observe((performance.now() - started) / 1e3);
      this.metrics.completionTokens.inc({}, choices.reduce((n, c) => n + c.tokens, 0));
      return this.sendWhole(kind, res, reply, choices, promptTokens);
    }

    let streams: GenerationStream[];
    try {
      streams = parsed.prompts.flatMap((p) => Array.from({ length: parsed.n }, (_, j) => this.engine.generate(p, { ...parsed.options, ...common, sequenceIndex: j })));
    } catch (err) {
      controller.abort(); // choices already started are cancelled with the request
      throw err;
    }
    let firstToken = false;
    const sse = parsed.stream ? new SseWriter(res) : null;
    const onPiece = (index: number, text: string): void => {
      if (!firstToken) {
        firstToken = true;
        this.metrics.firstToken.observe((performance.now() - started) / 1e3);
      }
      if (sse && text !== '') sse.send(this.chunk(kind, reply, index, text, null));
    };
    if (sse && kind === 'chat') streams.forEach((_, i) => sse.send(this.chunk(kind, reply, i, '', null, true)));
    let results: EngineResult[];
    try {
      results = await Promise.all(streams.map((s, i) => this.consume(s, i, onPiece)));
    } catch (err) {
      controller.abort(); // one choice failed: stop the others
      if (!sse) throw err;
      sse.send(apiError(err, this.limits.retryAfterSeconds).body); // OpenAI clients raise an APIError on an error event
      sse.end(false);
      return;
    }
    if (controller.signal.aborted) return; // the client is gone
    const completionTokens = results.reduce((n, r) => n + r.ids.length, 0);
    this.metrics.completionTokens.inc({}, completionTokens);
    const finishes = results.map((r) => OPENAI_FINISH[r.finishReason as Exclude<EngineFinish, 'cancelled'>]);
    if (!sse) return this.sendWhole(kind, res, reply, results.map((r, i) => ({ text: r.text, finish: finishes[i]!, tokens: r.ids.length })), promptTokens);
    finishes.forEach((f, i) => sse.send(this.chunk(kind, reply, i, '', f)));
    if (parsed.includeUsage) sse.send({ ...this.envelope(kind, reply, true), choices: [], usage: usage(promptTokens, completionTokens) });
    sse.end();
  }

  private async consume(s: GenerationStream, index: number, onPiece: (index: number, text: string) => void): Promise<EngineResult> {
    for await (const piece of s) onPiece(index, piece.text);
    return s.result;
  }

  private envelope(kind: Kind, reply: { id: string; created: number; model: string }, chunk: boolean) {
    const object = kind === 'chat' ? (chunk ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
    return { id: reply.id, object, created: reply.created, model: reply.model, system_fingerprint: null };
  }

  /** One streamed chunk: chat deltas (the first carries the role) or completion text. */
  private chunk(kind: Kind, reply: { id: string; created: number; model: string }, index: number, text: string, finish: string | null, first = false) {
    const choice = kind === 'chat'
      ? { index, delta: finish ? {} : first ? { role: 'assistant', content: '' } : { content: text }, logprobs: null, finish_reason: finish }
      : { index, text, logprobs: null, finish_reason: finish };
    return { ...this.envelope(kind, reply, true), choices: [choice] };
  }

  private sendWhole(kind: Kind, res: ServerResponse, reply: { id: string; created: number; model: string }, choices: { text: string; finish: string; tokens: number }[], promptTokens: number): void {
    if (res.destroyed) return;
    const completionTokens = choices.reduce((n, c) => n + c.tokens, 0);
    sendJson(res, 200, {
      ...this.envelope(kind, reply, false),
      choices: choices.map((c, index) => kind === 'chat'
        ? { index, message: { role: 'assistant', content: c.text, refusal: null }, logprobs: null, finish_reason: c.finish }
        : { index, text: c.text, logprobs: null, finish_reason: c.finish }),
      usage: usage(promptTokens, completionTokens),
    });
  }
}

function usage(prompt: number, completion: number) {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function createApiServer(engine: Engine, options: ApiServerOptions): ApiServer {
  return new ApiServer(engine, options);
}
