// Continuous batching: every sequence's tokens and text equal generate()
// run on its prompt alone (greedy, seeded sampling with its own seed and
// sequence index, stop strings, stop tokens), whether it ran alone, joined a
// running batch mid-way, waited for a free row, or shared the batch with a
// sequence that was cancelled; rows that leave free their place.
import t, { type Test } from 'tap';
import path from 'node:path';
import { generate, stream, type GenerateOptions } from '../../lib/generate/generate.js';
import { resolveOptions } from '../../lib/generate/options.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { ContinuousBatcher, type BatchEvent } from '../../lib/serve/batcher.js';
import type { SequenceOptions } from '../../lib/serve/sequence.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';

const dir = t.testdir();
saveTinyCheckpoint(path.join(dir, 'ckpt'));
const ckpt = readCheckpoint(path.join(dir, 'ckpt'));
const model = decoderFromCheckpoint(ckpt).eval();
const tok = ckpt.tokenizer;
const context = model.config.n_positions;

interface Job { prompt: string; options: GenerateOptions; index?: number; joinAt?: number; cancelAt?: number }

function seqOptions(prompt: number[], o: GenerateOptions): SequenceOptions {
  const { signal: _signal, ...rest } = resolveOptions(o, tok, context, prompt.length);
  return rest;
}

/** Runs jobs through one batcher; each joins at step `joinAt` (default 0). Returns, per job, its events. */
function runBatched(jobs: Job[], maxBatch: number): BatchEvent[][] {
  const b = new ContinuousBatcher(model, tok, maxBatch);
  const events: BatchEvent[][] = jobs.map(() => []);
  const pending = jobs.map((j, id) => ({ ...j, id, ids: tok.encode(j.prompt) }));
  for (let step = 0; step < 200; step++) {
    for (const j of pending) if ((j.joinAt ?? 0) === step) b.add({ id: j.id, prompt: j.ids, options: seqOptions(j.ids, j.options), index: j.index ?? 0 });
    for (const j of pending)
      if (j.cancelAt === step) {
        const e = b.cancel(j.id);
        if (e) events[j.id]!.push(e);
      }
    if (b.idle && pending.every((j) => (j.joinAt ?? 0) <= step)) return events;
    for (const e of b.pick()) events[e.id]!.push(e);
    b.advance();
  }
  throw new Error('batcher did not finish in 200 steps');
}

/**
 * What the prompt gives alone: generate()'s index-th of numReturnSequences
 * sequences for ids and finish reason; for text, stream()'s pieces when it
 * can stream it (index 0), since a stop token's own text is left out there as
 * in the engine (generate() keeps a non-special stop token's text).
 */
async function alone(job: Job) {
  const index = job.index ?? 0;
  const many = (job.options.temperature ?? 0) > 0 ? { numReturnSequences: index + 1 } : {};
  const seq = generate(model, tok, job.prompt, { ...job.options, ...many })[0]![index]!;
  if (index > 0) return seq;
  let text = '';
  for await (const piece of stream(model, tok, job.prompt, job.options)) text += piece.text;
  return { ...seq, text };
}

async function check(t: Test, jobs: Job[], events: BatchEvent[][]): Promise<void> {
  for (const [i, job] of jobs.entries()) {
    const want = await alone(job);
    const evs = events[i]!;
    const last = evs[evs.length - 1]!;
    t.same(last.ids, want.ids, `job ${i} (${JSON.stringify(job.prompt)}): ids equal generate() alone`);
    t.equal(evs.map((e) => e.text).join(''), want.text, `job ${i}: text pieces join to generate()'s text`);
    t.equal(last.finish, want.finishReason, `job ${i}: finish reason ${want.finishReason}`);
    t.equal(evs.filter((e) => e.finish).length, 1, `job ${i}: exactly one closing event`);
  }
}

const prompts = ['hello', 'Good day, sir', 'a', 'What light through yonder window', 'xy'];

t.test('greedy: batched sequences that join at different steps equal each alone', async (t) => {
  const jobs: Job[] = prompts.map((prompt, i) => ({ prompt, options: { maxNewTokens: 6 + 3 * i }, joinAt: [0, 0, 2, 5, 9][i]! }));
  await check(t, jobs, runBatched(jobs, 8));
});

t.test('seeded sampling (temperature, top-k, top-p, repetition penalty): batched equals alone, per seed and sequence index', async (t) => {
  const jobs: Job[] = prompts.map((prompt, i) => ({
    prompt, index: i % 3, joinAt: i,
    options: { maxNewTokens: 12, temperature: 1.2, topK: 20, topP: 0.9, repetitionPenalty: 1.2, seed: 100 + i },
  }));
  // the same prompt and seed twice, as sequences 0 and 1 of one request
  jobs.push({ prompt: 'hello', index: 0, options: { maxNewTokens: 10, temperature: 1, seed: 5 } });
  jobs.push({ prompt: 'hello', index: 1, options: { maxNewTokens: 10, temperature: 1, seed: 5 } });
  const events = runBatched(jobs, 8);
  await check(t, jobs, events);
  t.notSame(events[5]!.at(-1)!.ids, events[6]!.at(-1)!.ids, 'sequences 0 and 1 of one seed draw different tokens');
});

t.test('more sequences than rows: the rest wait for a free row and still equal alone', async (t) => {
  const jobs: Job[] = [...prompts, ...prompts].map((prompt, i) => ({ prompt, options: { maxNewTokens: 3 + (i % 4) * 4, temperature: i % 2 ? 0.8 : 0, seed: i } }));
  await check(t, jobs, runBatched(jobs, 3));
});

t.test('stop strings and stop tokens end a sequence mid-batch; the rows left are unaffected', async (t) => {
  const greedy = generate(model, tok, 'hello', { maxNewTokens: 12 })[0]![0]!;
  const stopText = greedy.text.slice(3, 5); // occurs in the greedy continuation, so the stop is hit
  const stopToken = greedy.text[6]!;
  const jobs: Job[] = [
    { prompt: 'hello', options: { maxNewTokens: 12, stopStrings: [stopText] } },
    { prompt: 'hello', options: { maxNewTokens: 12, stopTokens: [stopToken] } },
    { prompt: 'Good day, sir', options: { maxNewTokens: 20 } },
  ];
  const events = runBatched(jobs, 4);
  await check(t, jobs, events);
  t.equal(events[0]!.at(-1)!.finish, 'stop');
  t.equal(events[1]!.at(-1)!.finish, 'eos');
});

t.test('a cancelled sequence leaves its row at once; the others equal alone', async (t) => {
  const jobs: Job[] = prompts.map((prompt) => ({ prompt, options: { maxNewTokens: 15 } }));
  const cancelled: Job = { prompt: 'zzz', options: { maxNewTokens: 15 }, cancelAt: 4 };
  const events = runBatched([cancelled, ...jobs], 6);
  const c = events[0]!;
  t.equal(c.at(-1)!.finish, 'cancelled');
  t.equal(c.at(-1)!.ids!.length, 4, 'four tokens were picked before the cancel');
  await check(t, jobs, events.slice(1));
});

t.test('a batcher empties: idle after all finish, cancel of an unknown id is null', async (t) => {
  const b = new ContinuousBatcher(model, tok, 2);
  const ids = tok.encode('hello');
  b.add({ id: 1, prompt: ids, options: seqOptions(ids, { maxNewTokens: 2 }) });
  t.equal(b.queued, 1);
  b.pick();
  t.equal(b.active, 1);
  b.advance();
  const last = b.pick();
  t.equal(last[0]!.finish, 'length');
  t.ok(b.idle);
  t.equal(b.cancel(1), null);
});

t.test('a wide batch (16 rows: the GEMM leaves its small-m decode path) still equals each alone', async (t) => {
  const jobs: Job[] = Array.from({ length: 16 }, (_, i) => ({
    prompt: prompts[i % prompts.length]! + 'abcdefgh'.slice(0, i % 7),
    options: i % 2 ? { maxNewTokens: 10 } : { maxNewTokens: 10, temperature: 1, seed: i },
  }));
  await check(t, jobs, runBatched(jobs, 16));
});
