// The engine in worker threads: streamed pieces and results equal stream() /
// generate() on the same checkpoint, for requests running alone or many at
// once across two workers (more than their rows, so some queue); beam search;
// abort, early break and timeout free their rows; a full queue refuses at
// once; close() fails what is left; a checkpoint that cannot be served is a
// clear error.
import t from 'tap';
import path from 'node:path';
import { generate, stream, type GenerateOptions } from '../../lib/generate/generate.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { createEngine, type Engine, type GenerationStream } from '../../lib/serve/engine.js';
import { EngineError, RequestError } from '../../lib/serve/errors.js';
import { saveTinyGlm } from '../helpers/stage_checkpoints.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';

const dir = t.testdir();
const ckptDir = path.join(dir, 'ckpt');
saveTinyCheckpoint(ckptDir);
const ckpt = readCheckpoint(ckptDir);
const model = decoderFromCheckpoint(ckpt).eval();
const tok = ckpt.tokenizer;

let engine: Engine;
t.before(async () => {
  engine = await createEngine({ model: ckptDir, workers: 2, maxBatch: 3, maxQueue: 20 });
});
t.teardown(() => engine?.close());

async function collect(s: GenerationStream): Promise<{ pieces: { token: number; text: string }[]; text: string }> {
  const pieces = [];
  for await (const p of s) pieces.push(p);
  return { pieces, text: pieces.map((p) => p.text).join('') };
}

async function streamAlone(prompt: string, options: GenerateOptions) {
  const pieces = [];
  for await (const p of stream(model, tok, prompt, options)) pieces.push(p);
  return pieces;
}

t.test('the model info and tokenizer come from the checkpoint', async (t) => {
  t.equal(engine.info.nPositions, model.config.n_positions);
  t.equal(engine.info.vocabSize, model.config.vocab_size);
  t.equal(engine.info.parameters, model.numParameters());
  t.equal(engine.tokenizer.vocabSize, tok.vocabSize);
  t.same(engine.stats(), { queued: 0, running: 0, workers: 2, maxBatch: 3, maxQueue: 20, accepting: true, cancelled: 0 });
  const memory = await engine.workerMemory();
  t.equal(memory.length, 2, 'one report per worker');
  for (const m of memory) t.ok(m.heapUsed > 0 && m.heapTotal >= m.heapUsed && m.external >= 0 && m.collected === false);
});

t.test('14 concurrent requests over 2 workers × 3 rows: each streams what stream() gives it alone', async (t) => {
  const prompts = ['hello', 'Good day, sir', 'a', 'What light', 'xy', 'The quick brown fox', 'no'];
  const requests = prompts.flatMap((prompt, i) => [
    { prompt, options: { maxNewTokens: 8 + i } },
    { prompt, options: { maxNewTokens: 10, temperature: 1.1, topK: 12, topP: 0.95, seed: 40 + i } },
  ]);
  const streams = requests.map((r) => engine.generate(r.prompt, r.options));
  t.ok(engine.stats().queued > 0, 'more requests than rows: some were queued');
  const got = await Promise.all(streams.map(collect));
  for (const [i, r] of requests.entries()) {
    const want = await streamAlone(r.prompt, r.options);
    t.same(got[i]!.pieces, want, `request ${i} (${JSON.stringify(r.prompt)}, temperature ${r.options.temperature ?? 0}): same pieces`);
    const result = await streams[i]!.result;
    const [seq] = generate(model, tok, r.prompt, r.options)[0]!;
    t.same(result.ids, seq!.ids, `request ${i}: result ids equal generate()`);
    t.equal(result.text, got[i]!.text);
    t.equal(result.finishReason, seq!.finishReason);
    t.equal(result.promptTokens, tok.encode(r.prompt).length);
  }
  await engine.whenIdle();
  t.equal(engine.stats().running, 0);
});

t.test('sequenceIndex j samples what generate() returns as its j-th sequence', async (t) => {
  const options = { maxNewTokens: 9, temperature: 1, seed: 3 };
  const want = generate(model, tok, 'hello', { ...options, numReturnSequences: 3 })[0]!;
  const got = await Promise.all([0, 1, 2].map((j) => engine.generate('hello', { ...options, sequenceIndex: j }).result));
  t.same(got.map((r) => r.ids), want.map((s) => s.ids));
  t.same(got.map((r) => r.text), want.map((s) => s.text));
});

t.test('beam search equals generate() with the same beams', async (t) => {
  const options = { maxNewTokens: 8, numBeams: 3, numReturnSequences: 2, lengthPenalty: 0.7 };
  t.same(await engine.beamSearch('Good day', options), generate(model, tok, 'Good day', options)[0]);
});

t.test('abort mid-stream ends the iterator; result says cancelled; the row is freed', async (t) => {
  const controller = new AbortController();
  const s = engine.generate('hello', { maxNewTokens: 80, signal: controller.signal });
  let n = 0;
  for await (const _ of s) if (++n === 3) controller.abort();
  t.equal(n, 3, 'no piece after the abort');
  const r = await s.result;
  t.equal(r.finishReason, 'cancelled');
  t.equal(r.ids.length, 3);
  await engine.whenIdle();
  t.equal(engine.stats().running, 0, 'the worker freed the row');
  const after = await engine.generate('hello', { maxNewTokens: 5 }).result;
  t.equal(after.ids.length, 5, 'and keeps serving');
});

t.test('breaking out of the loop cancels the request', async (t) => {
  const s = engine.generate('hello', { maxNewTokens: 80 });
  for await (const _ of s) break;
  t.equal((await s.result).finishReason, 'cancelled');
  await engine.whenIdle();
  t.equal(engine.stats().running, 0);
});

t.test('a request past its timeout fails with ENGINE_TIMEOUT (here while queued behind long ones)', async (t) => {
  const blockers = Array.from({ length: 6 }, () => new AbortController());
  const long = blockers.map((c) => engine.generate('a', { maxNewTokens: 90, signal: c.signal }));
  const late = engine.generate('hello', { maxNewTokens: 90, timeoutMs: 1 });
  await t.rejects(late.result, { code: 'ENGINE_TIMEOUT' });
  await t.rejects(collect(late), { code: 'ENGINE_TIMEOUT' }, 'the iterator throws it too');
  blockers.forEach((c) => c.abort());
  await Promise.all(long.map((s) => s.result));
  await engine.whenIdle();
  t.equal(engine.stats().running + engine.stats().queued, 0);
});

t.test('bad requests are RequestErrors before anything runs', async (t) => {
  t.throws(() => engine.generate('', {}), RequestError, 'empty prompt');
  t.throws(() => engine.generate([999], {}), { code: 'REQUEST_INVALID', message: /outside the vocabulary/ });
  t.throws(() => engine.generate('a'.repeat(200), {}), { code: 'REQUEST_TOO_LONG' });
  t.throws(() => engine.generate('hello', { maxNewTokens: 1000 }), { code: 'REQUEST_TOO_LONG', message: /lower maxNewTokens/ });
  t.throws(() => engine.generate('hello', { topP: 2 }), { code: 'REQUEST_INVALID', message: /topP/ });
  t.throws(() => engine.generate('hello', { timeoutMs: -1 }), { code: 'REQUEST_INVALID' });
  t.equal(engine.stats().queued + engine.stats().running, 0);
});

t.test('a full queue refuses at once with ENGINE_QUEUE_FULL', async (t) => {
  // 2 workers × 3 rows + 20 queue places
  const controllers = Array.from({ length: 26 }, () => new AbortController());
  const held = controllers.map((c) => engine.generate('a', { maxNewTokens: 90, signal: c.signal }));
  t.notOk(engine.hasRoomFor(1));
  t.throws(() => engine.generate('hello'), { code: 'ENGINE_QUEUE_FULL', message: /retry later/ });
  controllers.forEach((c) => c.abort());
  await Promise.all(held.map((s) => s.result));
  await engine.whenIdle();
  t.ok(engine.hasRoomFor(26));
  t.equal((await engine.generate('hello', { maxNewTokens: 2 }).result).ids.length, 2);
});

t.test('a worker that dies fails its own requests; the other worker keeps serving', async (t) => {
  // Two long requests per worker, so each keeps a free row that the bad sequence takes at once.
  const streams = Array.from({ length: 4 }, () => engine.generate('a', { maxNewTokens: 90 }));
  // The engine's workers are private; a test reaches one and feeds it a sequence its decoding loop
  // cannot take (an empty prompt, which the engine itself never sends): the loop fails and the worker exits.
  const slots = (engine as unknown as { slots: { worker: { postMessage(m: unknown): void }; requests: Map<number, unknown> }[] }).slots;
  const victim = slots[0]!;
  const lost = victim.requests.size;
  victim.worker.postMessage({ type: 'sequence', id: -1, prompt: [], options: {}, index: 0 });
  const results = await Promise.allSettled(streams.map((s) => s.result));
  const failed = results.filter((r) => r.status === 'rejected');
  t.equal(failed.length, lost, `the ${lost} requests of the dead worker failed`);
  for (const f of failed) t.match((f as PromiseRejectedResult).reason, { code: 'ENGINE_WORKER_FAILED' });
  t.equal(engine.stats().workers, 1);
  t.equal((await engine.generate('hello', { maxNewTokens: 4 }).result).ids.length, 4, 'still serving');
});

t.test('close() fails what is running or queued; nothing new is taken', async (t) => {
  const streams = Array.from({ length: 5 }, () => engine.generate('a', { maxNewTokens: 90 }));
  await engine.close();
  for (const s of streams) await t.rejects(s.result, { code: 'ENGINE_CLOSED' });
  t.throws(() => engine.generate('hello'), EngineError);
  t.equal(engine.healthy, false);
});

t.test('checkpoints that cannot be served are clear errors, before any worker starts', async (t) => {
  await t.rejects(createEngine({ model: path.join(dir, 'nowhere') }), { code: 'CHECKPOINT_MISSING', message: /does not exist/ });
  const glmDir = path.join(dir, 'glm');
  saveTinyGlm(glmDir);
  await t.rejects(createEngine({ model: glmDir }), { code: 'CHECKPOINT_WRONG_ARCH', message: /glm checkpoint; the engine serves decoder/ });
  await t.rejects(createEngine({ model: ckptDir, maxBatch: 0 }), { code: 'CONFIG_INVALID' });
});
