// The official `openai` npm client (a client we did not write) against the
// server: completions, chat, streaming chat and completions with usage, n
// choices, the beam-search extension, and its error classes for the server's
// 4xx/429/5xx answers. Outputs are compared with generate() / stream() called
// directly on the same checkpoint.
import t from 'tap';
import path from 'node:path';
import OpenAI from 'openai';
import { chatPrompt } from '../../lib/generate/chat.js';
import { generate, stream, type GenerateOptions } from '../../lib/generate/generate.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { createEngine, type Engine } from '../../lib/serve/engine.js';
import { createApiServer, type ApiServer } from '../../lib/serve/server.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';

const dir = t.testdir();
const ckptDir = path.join(dir, 'tiny');
saveTinyCheckpoint(ckptDir);
const ckpt = readCheckpoint(ckptDir);
const model = decoderFromCheckpoint(ckpt).eval();
const tok = ckpt.tokenizer;
const CHAT_STOPS = ['<|end|>', '<|user|>'];

let engine: Engine;
let api: ApiServer;
let client: OpenAI;
let baseURL: string;
t.before(async () => {
  engine = await createEngine({ model: ckptDir, maxBatch: 2, maxQueue: 2 });
  api = createApiServer(engine, { modelName: 'tiny' });
  const { port } = await api.listen(0);
  baseURL = `http://127.0.0.1:${port}/v1`;
  client = new OpenAI({ baseURL, apiKey: 'not-needed', maxRetries: 0, timeout: 30_000 });
});
t.teardown(async () => {
  await api?.drain(1000);
  await engine?.close();
});

async function streamed(prompt: string | number[], options: GenerateOptions): Promise<string> {
  let text = '';
  for await (const p of stream(model, tok, prompt, options)) text += p.text;
  return text;
}

t.test('models.list() names the served model', async (t) => {
  const list = await client.models.list();
  t.same(list.data.map((m) => m.id), ['tiny']);
  t.equal((await client.models.retrieve('tiny')).id, 'tiny');
});

t.test('completions.create: greedy text and usage equal generate()', async (t) => {
  const r = await client.completions.create({ model: 'tiny', prompt: 'hello there', max_tokens: 12, temperature: 0 });
  const [want] = generate(model, tok, 'hello there', { maxNewTokens: 12 })[0]!;
  t.equal(r.object, 'text_completion');
  t.equal(r.choices.length, 1);
  t.equal(r.choices[0]!.text, want!.text);
  t.equal(r.choices[0]!.finish_reason, 'length');
  t.same(r.usage, { prompt_tokens: tok.encode('hello there').length, completion_tokens: 12, total_tokens: tok.encode('hello there').length + 12 });
});

t.test('completions.create with n and a seed: the choices are generate()\'s numReturnSequences draws', async (t) => {
  const r = await client.completions.create({ model: 'tiny', prompt: ['abc', 'Good day'], n: 2, max_tokens: 8, temperature: 0.9, top_p: 0.95, seed: 11 });
  const want = (p: string) => generate(model, tok, p, { maxNewTokens: 8, temperature: 0.9, topP: 0.95, seed: 11, numReturnSequences: 2 })[0]!;
  t.same(r.choices.map((c) => c.index), [0, 1, 2, 3]);
  t.same(r.choices.map((c) => c.text), [...want('abc'), ...want('Good day')].map((s) => s.text));
});

t.test('completions.create with the num_beams extension equals generate() beam search', async (t) => {
  const body = { model: 'tiny', prompt: 'Good day', max_tokens: 8, n: 2, num_beams: 3 } as OpenAI.CompletionCreateParamsNonStreaming;
  const r = await client.completions.create(body);
  const want = generate(model, tok, 'Good day', { maxNewTokens: 8, numBeams: 3, numReturnSequences: 2 })[0]!;
  t.same(r.choices.map((c) => c.text), want.map((s) => s.text));
});

t.test('chat.completions.create: the reply is the template prompt continued, stopped at the end tag', async (t) => {
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi.' }] as const;
  const r = await client.chat.completions.create({ model: 'tiny', messages: [...messages], max_tokens: 20, temperature: 0 });
  const prompt = chatPrompt([...messages], { tokenizer: tok, maxTokens: model.config.n_positions - 20 });
  t.equal(r.object, 'chat.completion');
  t.equal(r.choices[0]!.message.role, 'assistant');
  t.equal(r.choices[0]!.message.content, await streamed(prompt.ids, { maxNewTokens: 20, stopStrings: CHAT_STOPS }));
  t.ok(r.choices[0]!.message.content!.length > 0, 'a non-empty reply');
  t.equal(r.usage!.prompt_tokens, prompt.ids.length);
});

t.test('streaming chat: role first, deltas joined equal the whole reply, finish_reason last, usage chunk', async (t) => {
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Tell me more.' }];
  const whole = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 16, temperature: 1, seed: 4 });
  const chunks: OpenAI.ChatCompletionChunk[] = [];
  for await (const c of await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 16, temperature: 1, seed: 4, stream: true, stream_options: { include_usage: true } }))
    chunks.push(c);
  t.equal(chunks[0]!.choices[0]!.delta.role, 'assistant');
  t.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id), 'one id for the whole stream');
  const content = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  t.equal(content, whole.choices[0]!.message.content, 'same seed: streamed = whole');
  t.ok(content.length > 0);
  const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
  t.equal(finishes.length, 1);
  t.equal(finishes[0]!.choices[0]!.finish_reason, whole.choices[0]!.finish_reason);
  const last = chunks[chunks.length - 1]!;
  t.same(last.choices, []);
  t.same(last.usage, whole.usage);
});

t.test('streaming completions: text chunks join to the greedy continuation', async (t) => {
  let text = '';
  let finish: string | null = null;
  for await (const c of await client.completions.create({ model: 'tiny', prompt: 'xyz', max_tokens: 10, temperature: 0, stream: true })) {
    text += c.choices[0]!.text;
    finish = c.choices[0]!.finish_reason ?? finish;
  }
  t.equal(text, await streamed('xyz', { maxNewTokens: 10 }));
  t.equal(finish, 'length');
});

t.test('errors arrive as the client\'s own classes, with OpenAI\'s error fields', async (t) => {
  await t.rejects(client.completions.create({ model: 'gpt-4', prompt: 'hi' }), { constructor: OpenAI.NotFoundError, status: 404, code: 'model_not_found', param: 'model' });
  await t.rejects(client.completions.create({ model: 'tiny', prompt: 'hi', max_tokens: -3 }), { constructor: OpenAI.BadRequestError, status: 400, param: 'max_tokens', message: /max_tokens must be an integer ≥ 1, got -3/ });
  await t.rejects(client.completions.create({ model: 'tiny', prompt: 'hi', max_tokens: 100000 }), { constructor: OpenAI.BadRequestError, code: 'context_length_exceeded', message: /exceeds this server's limit/ });
  await t.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], logprobs: true }), { constructor: OpenAI.BadRequestError, status: 400, param: 'logprobs', message: /logprobs is not supported/ });
  await t.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'assistant', content: 'hi' }] }), { constructor: OpenAI.BadRequestError, param: 'messages', message: /must end with the user message/ });
  await t.rejects(client.completions.create({ model: 'tiny', prompt: 'a'.repeat(120) }), { constructor: OpenAI.BadRequestError, code: 'context_length_exceeded' });
  await t.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'a'.repeat(80) }], max_tokens: 10 }),
    { constructor: OpenAI.BadRequestError, code: 'context_length_exceeded', param: 'messages', message: /lower max_tokens/ });
  await t.rejects(client.completions.create({ model: 'tiny', prompt: '€' }), { constructor: OpenAI.BadRequestError, param: 'prompt', message: /unknown character/ });
});

t.test('a full queue is a RateLimitError with Retry-After; the server serves again once it drains', async (t) => {
  const controllers = [0, 1, 2, 3].map(() => new AbortController()); // 2 rows + 2 queue places
  const held = controllers.map((c) => engine.generate('a', { maxNewTokens: 90, signal: c.signal }));
  const err = await client.completions.create({ model: 'tiny', prompt: 'hi', max_tokens: 3 }).then(() => null, (e: unknown) => e);
  t.type(err, OpenAI.RateLimitError);
  t.equal((err as InstanceType<typeof OpenAI.RateLimitError>).headers.get('retry-after'), '1');
  controllers.forEach((c) => c.abort());
  await Promise.all(held.map((s) => s.result));
  const ok = await client.completions.create({ model: 'tiny', prompt: 'hi', max_tokens: 3, temperature: 0 });
  t.equal(ok.usage!.completion_tokens, 3);
});

t.test('a timeout: 504 for a whole response, an error event the client raises for a stream', async (t) => {
  // A second server on the same engine with a 1 ms limit; the request waits behind held ones, so it always times out.
  const strict = createApiServer(engine, { modelName: 'tiny', limits: { timeoutMs: 1 } });
  const { port } = await strict.listen(0);
  t.teardown(() => strict.drain(1000));
  const strictClient = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: 'x', maxRetries: 0 });
  const controllers = [0, 1].map(() => new AbortController());
  const held = controllers.map((c) => engine.generate('a', { maxNewTokens: 90, signal: c.signal }));
  await t.rejects(strictClient.completions.create({ model: 'tiny', prompt: 'hi', max_tokens: 5 }), { status: 504, code: 'timeout' });
  const s = await strictClient.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, stream: true });
  await t.rejects((async () => { for await (const _ of s); })(), { constructor: OpenAI.APIError, message: /timeout/ });
  controllers.forEach((c) => c.abort());
  await Promise.all(held.map((h) => h.result));
});
