// The HTTP server under bad input and misbehaving clients: malformed JSON,
// wrong types, unknown fields, huge bodies, impossible max_tokens, unknown
// model, route or method each get the right 4xx in OpenAI's error shape; a
// client that disconnects mid-stream (or before a whole answer) cancels its
// decoding; the server keeps serving after each. /metrics is Prometheus
// text an independent parser reads; drain() finishes or cancels what runs.
import t, { type Test } from 'tap';
import path from 'node:path';
import { createEngine, type Engine } from '../../lib/serve/engine.js';
import { createApiServer, type ApiServer } from '../../lib/serve/server.js';
import { openStream, postJson, rawRequest, sseEvents, type RawResponse } from '../helpers/http_client.js';
import { parsePrometheus } from '../helpers/prometheus.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';

const dir = t.testdir();
const ckptDir = path.join(dir, 'long');
// A long context, so a 2000-token request is still decoding when its client leaves.
saveTinyCheckpoint(ckptDir, { nPositions: 2048 });

let engine: Engine;
let api: ApiServer;
let port: number;
t.before(async () => {
  engine = await createEngine({ model: ckptDir, maxBatch: 4, maxQueue: 8 });
  api = createApiServer(engine, { modelName: 'long', limits: { maxTokens: 2000, maxBodyBytes: 64 * 1024 }, log: () => {} });
  ({ port } = await api.listen(0));
});
t.teardown(async () => {
  await api?.drain(100);
  await engine?.close();
});

const completion = (extra: Record<string, unknown>) => postJson(port, '/v1/completions', { model: 'long', prompt: 'hello', max_tokens: 3, ...extra });

function expectError(t: Test, r: RawResponse, status: number, param: string | null, message: RegExp): void {
  t.equal(r.status, status, `status ${status}: ${r.text.slice(0, 200)}`);
  t.match(r.headers['content-type'], /application\/json/);
  const body = JSON.parse(r.text) as { error: { message: string; type: string; param: string | null; code: string | null } };
  t.same(Object.keys(body.error).sort(), ['code', 'message', 'param', 'type'], "OpenAI's error fields");
  t.equal(body.error.param, param);
  t.match(body.error.message, message);
  t.equal(typeof body.error.type, 'string');
}

/** Waits, one event-loop turn at a time, for a state the engine has no event for; gives up after 200k turns. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200_000; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function stillServes(t: Test): Promise<void> {
  const r = await completion({ temperature: 0 });
  t.equal(r.status, 200, 'the server still serves');
  t.equal((JSON.parse(r.text) as { usage: { completion_tokens: number } }).usage.completion_tokens, 3);
}

t.test('malformed or non-object JSON bodies are 400 invalid_json', async (t) => {
  for (const body of ['{"model": "long", "prompt": ', '{bad json}', '', '[1, 2]', 'null', '"text"'])
    expectError(t, await rawRequest(port, 'POST', '/v1/completions', body), 400, null, /JSON|empty/);
  await stillServes(t);
});

t.test('wrong types and values name the field', async (t) => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ prompt: 5 }, 'prompt', /prompt must be a non-empty string/],
    [{ prompt: [] }, 'prompt', /empty array/],
    [{ prompt: [1, 'a'] }, 'prompt', /must be a non-empty string or/],
    [{ prompt: [100000] }, 'prompt', /outside the vocabulary/],
    [{ max_tokens: '10' }, 'max_tokens', /must be an integer, got "10"/],
    [{ max_tokens: 2.5 }, 'max_tokens', /must be an integer/],
    [{ temperature: 'hot' }, 'temperature', /must be a number/],
    [{ temperature: 3 }, 'temperature', /in \[0, 2\]/],
    [{ top_p: 0 }, 'top_p', /in \(0, 1\]/],
    [{ n: 0 }, 'n', /n must be an integer in \[1, 16\]/],
    [{ n: 17 }, 'n', /n must be an integer in \[1, 16\]/],
    [{ stream: 'yes' }, 'stream', /true or false/],
    [{ stop: [1] }, 'stop', /stop must be/],
    [{ stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', /at most 4/],
    [{ seed: 'x' }, 'seed', /integer/],
    [{ foo: 1 }, 'foo', /Unrecognized request argument supplied: foo/],
    [{ logit_bias: { '5': 10 } }, 'logit_bias', /not supported/],
    [{ echo: true }, 'echo', /not supported/],
    [{ stream_options: { include_usage: true } }, 'stream_options', /only allowed with stream: true/],
    [{ num_beams: 2, stream: true }, 'stream', /not supported with beam search/],
    [{ num_beams: 2, temperature: 0.5 }, 'temperature', /does not sample/],
    [{ length_penalty: 2 }, 'length_penalty', /beam search only/],
    [{ model: 7 }, 'model', /model is required/],
  ];
  for (const [extra, param, message] of cases) expectError(t, await completion(extra), 400, param, message);
  const chat = (extra: Record<string, unknown>) => postJson(port, '/v1/chat/completions', { model: 'long', max_tokens: 3, ...extra });
  expectError(t, await chat({ messages: 'hi' }), 400, 'messages', /non-empty array/);
  expectError(t, await chat({ messages: [{ role: 'user', content: 5 }] }), 400, 'messages[0].content', /must be a string/);
  expectError(t, await chat({ messages: [{ role: 'tool', content: 'x' }] }), 400, 'messages[0].role', /tools are not supported/);
  expectError(t, await chat({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }] }), 400, 'messages[0].content', /text/);
  expectError(t, await chat({ messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function' }] }), 400, 'tools', /not supported/);
  await stillServes(t);
});

t.test('negative, zero and huge max_tokens are 400; prompt + max_tokens past the context too', async (t) => {
  expectError(t, await completion({ max_tokens: -5 }), 400, 'max_tokens', /≥ 1, got -5/);
  expectError(t, await completion({ max_tokens: 0 }), 400, 'max_tokens', /≥ 1, got 0/);
  expectError(t, await completion({ max_tokens: 1e9 }), 400, 'max_tokens', /exceeds this server's limit of 2000/);
  expectError(t, await completion({ max_tokens: 2000, prompt: 'a'.repeat(100) }), 400, 'max_tokens', /maximum context length is 2048 tokens, however you requested 2100/);
  await stillServes(t);
});

t.test('huge bodies are 413, declared or streamed; the server keeps serving', async (t) => {
  const big = Buffer.alloc(2 << 20, 'a'); // 2 MiB of a body limited to 64 KiB
  expectError(t, await rawRequest(port, 'POST', '/v1/completions', big, { 'content-length': big.length }), 413, null, /at most 65536/);
  expectError(t, await rawRequest(port, 'POST', '/v1/completions', big, { 'transfer-encoding': 'chunked' }), 413, null, /at most 65536/);
  const prompt = 'a'.repeat(70 * 1024); // valid JSON, just too big
  expectError(t, await completion({ prompt }), 413, null, /request body/);
  await stillServes(t);
});

t.test('unknown model, route and method', async (t) => {
  const r = await completion({ model: 'gpt-4o' });
  expectError(t, r, 404, 'model', /The model `gpt-4o` does not exist/);
  t.equal((JSON.parse(r.text) as { error: { code: string } }).error.code, 'model_not_found');
  expectError(t, await rawRequest(port, 'GET', '/v1/models/gpt-4o'), 404, 'model', /does not exist/);
  expectError(t, await rawRequest(port, 'GET', '/v1/engines'), 404, null, /no route GET \/v1\/engines/);
  const wrong = await rawRequest(port, 'GET', '/v1/completions');
  expectError(t, wrong, 405, null, /takes POST/);
  t.equal(wrong.headers['allow'], 'POST');
  await stillServes(t);
});

t.test('a client that disconnects mid-stream cancels its decoding', async (t) => {
  const before = engine.stats().cancelled;
  const { req, text } = await openStream(port, '/v1/chat/completions', { model: 'long', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2000, stream: true },
    (s) => sseEvents(s).events.some((e) => (e as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content));
  t.ok(sseEvents(text).events.length >= 2, 'the role chunk and some content arrived');
  req.destroy();
  await engine.whenIdle();
  t.equal(engine.stats().cancelled, before + 1, 'the worker confirmed the sequence was cancelled before its end');
  await stillServes(t);
});

t.test('a client that leaves before a whole (non-streamed) answer cancels it too', async (t) => {
  const before = engine.stats().cancelled;
  const controllers = [0, 1, 2, 3].map(() => new AbortController()); // keep the rows busy so the request queues
  const held = controllers.map((c) => engine.generate('a', { maxNewTokens: 2000, signal: c.signal }));
  const http = await import('node:http');
  const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/completions', headers: { 'content-type': 'application/json' }, agent: false });
  req.on('error', () => {});
  req.end(JSON.stringify({ model: 'long', prompt: 'hello', max_tokens: 2000 }));
  await until(() => engine.stats().queued === 1, 'the request to be queued');
  req.destroy();
  await until(() => engine.stats().queued === 0, 'the queued request to be cancelled');
  controllers.forEach((c) => c.abort());
  await Promise.all(held.map((s) => s.result));
  await engine.whenIdle();
  t.equal(engine.stats().cancelled, before + 5, 'the queued request and the four held ones');
  await stillServes(t);
});

t.test('/metrics: Prometheus text with requests, tokens, queue depth and latency histograms', async (t) => {
  const controllers = [0, 1, 2, 3, 4, 5].map(() => new AbortController());
  const held = controllers.map((c) => engine.generate('a', { maxNewTokens: 2000, signal: c.signal }));
  const r = await rawRequest(port, 'GET', '/metrics');
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  const m = parsePrometheus(r.text);
  const value = (name: string, labels?: Record<string, string>) =>
    Number(m.get(name)!.metrics.find((s) => !labels || Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))?.value);
  t.equal(value('lmkit_queue_depth'), 2, '6 held on 4 rows: 2 queued');
  t.equal(value('lmkit_running_sequences'), 4);
  t.equal(value('lmkit_workers'), 1);
  t.ok(value('lmkit_http_requests_total', { route: '/v1/completions', status: '400' }) >= 23, 'the 400s above were counted');
  t.ok(value('lmkit_http_requests_total', { route: '/v1/completions', status: '413' }) >= 3);
  t.ok(value('lmkit_http_requests_total', { route: 'other', status: '404' }) >= 1, 'unknown routes share one label');
  t.ok(value('lmkit_http_requests_total', { route: '/v1/chat/completions', status: '499' }) >= 1, 'the disconnected stream');
  t.ok(value('lmkit_completion_tokens_total') >= 18, 'tokens of the answered requests');
  t.ok(value('lmkit_prompt_tokens_total') > 0);
  t.ok(value('lmkit_cancelled_sequences_total') >= 6);
  for (const name of ['lmkit_request_duration_seconds', 'lmkit_time_to_first_token_seconds']) t.equal(m.get(name)?.type, 'HISTOGRAM', name);
  t.equal(m.get('lmkit_event_loop_delay_seconds')?.type, 'GAUGE');
  controllers.forEach((c) => c.abort());
  await Promise.all(held.map((s) => s.result));
  const health = await rawRequest(port, 'GET', '/health');
  t.equal(health.status, 200);
  t.match(JSON.parse(health.text), { status: 'ok', model: 'long', workers: 1 });
});

t.test('after 300 mixed requests (streams, whole answers, bad ones, disconnects) nothing per request is left behind', async (t) => {
  const kinds = [
    () => completion({ temperature: 1, seed: 3 }),
    () => postJson(port, '/v1/chat/completions', { model: 'long', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true }),
    () => completion({ max_tokens: -1 }),
    () => rawRequest(port, 'POST', '/v1/completions', '{oops'),
    async () => {
      const { req } = await openStream(port, '/v1/completions', { model: 'long', prompt: 'hi', max_tokens: 2000, stream: true }, (s) => s.includes('"text"'));
      req.destroy();
    },
  ];
  for (let round = 0; round < 30; round++) await Promise.all(Array.from({ length: 10 }, (_, i) => kinds[i % kinds.length]!()));
  await engine.whenIdle();
  await until(() => (api as unknown as { inFlight: Set<unknown> }).inFlight.size === 0, 'the last responses to close');
  const internals = api as unknown as { inFlight: Set<unknown>; generations: Set<unknown> };
  t.equal(internals.inFlight.size, 0, 'no response is still tracked');
  t.equal(internals.generations.size, 0, 'no abort controller is still held');
  const slots = (engine as unknown as { slots: { requests: Map<number, unknown>; load: number }[]; queue: unknown[] }).slots;
  t.same(slots.map((s) => [s.requests.size, s.load]), [[0, 0]], 'the worker slot holds no request');
  t.equal((engine as unknown as { queue: unknown[] }).queue.length, 0);
  const series = api.metrics.registry.render().split('\n').filter((l) => l.startsWith('lmkit_http_requests_total{')).length;
  t.ok(series < 20, `request counters stay a handful of series (${series}), not one per request`);
});

t.test('drain(): a running stream finishes with [DONE]; new connections are refused; past the grace time the rest is cancelled', async (t) => {
  // Servers of their own over the same engine (drain() closes the HTTP side only).
  const ownEngine = engine;
  const own = createApiServer(ownEngine, { modelName: 'long', limits: { maxTokens: 2000 } });
  const ownPort = (await own.listen(0)).port;
  const short = await openStream(ownPort, '/v1/completions', { model: 'long', prompt: 'hi', max_tokens: 40, stream: true }, (s) => s.includes('data: '));
  const long = await openStream(ownPort, '/v1/completions', { model: 'long', prompt: 'hi', max_tokens: 300, stream: true }, (s) => s.includes('data: '));
  const drained = own.drain(60_000);
  await t.rejects(rawRequest(ownPort, 'GET', '/health'), { code: 'ECONNREFUSED' }, 'no new connections once draining');
  const finished = sseEvents(await short.rest);
  t.ok(finished.done, 'the short stream ended with [DONE]');
  t.equal((finished.events.at(-1) as { choices: { finish_reason: string }[] }).choices[0]!.finish_reason, 'length');
  const longEvents = sseEvents(await long.rest);
  t.ok(longEvents.done, 'the long one also finished within the grace time');
  t.same(await drained, { cancelled: 0 });

  const cut = createApiServer(ownEngine, { modelName: 'long', limits: { maxTokens: 2000 } });
  const cutPort = (await cut.listen(0)).port;
  const stream = await openStream(cutPort, '/v1/completions', { model: 'long', prompt: 'hi', max_tokens: 2000, stream: true }, (s) => s.includes('data: '));
  t.same(await cut.drain(1), { cancelled: 1 }, 'a 1 ms grace time cancels the running stream');
  t.notOk(sseEvents(await stream.rest).done, 'which ends without [DONE]');
});
