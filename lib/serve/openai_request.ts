// OpenAI request bodies (/v1/completions, /v1/chat/completions) → what the
// engine runs: prompts as token ids, n, streaming, and generation options.
// Each field is checked in one voice, naming it as OpenAI does ("max_tokens
// must be an integer ≥ 1, got -5"); fields OpenAI has but lmkit cannot honour
// are accepted only at their "off" value; anything else is refused by name.
// Extensions: top_k, repetition_penalty, min_tokens, no_repeat_ngram_size,
// and beam search (num_beams, length_penalty, early_stopping).
import { chatPrompt, DEFAULT_CHAT_TEMPLATE, renderMessage, type ChatMessage, type ChatRole } from '../generate/chat.js';
import { TokenizerError } from '../tokenizer/errors.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { EngineBeamOptions, EngineGenerateOptions } from './engine.js';
import { RequestError } from './errors.js';

export interface RequestLimits {
  /** Most tokens one choice may generate. */
  maxTokens: number;
  /** Most prompt tokens. */
  maxPromptTokens: number;
  /** Most choices (n × prompts) one request may ask for. */
  maxChoices: number;
}

export interface ModelContext {
  /** The name requests must use in `model`. */
  name: string;
  tokenizer: Tokenizer;
  /** Prompt + generated tokens fit in this many positions. */
  nPositions: number;
}

export interface ParsedRequest {
  prompts: number[][];
  n: number;
  stream: boolean;
  includeUsage: boolean;
  options: Omit<EngineGenerateOptions, 'signal' | 'sequenceIndex' | 'timeoutMs'>;
  /** Set for beam search (num_beams > 1): the options beamSearch() takes. */
  beams: Omit<EngineBeamOptions, 'signal' | 'timeoutMs'> | null;
}

type Body = Record<string, unknown>;

const invalid = (param: string, message: string): RequestError => new RequestError('REQUEST_INVALID', message, { param });
const shown = (v: unknown): string => (typeof v === 'string' ? JSON.stringify(v) : v === undefined ? 'nothing' : JSON.stringify(v) ?? String(v));

const COMMON = ['model', 'max_tokens', 'temperature', 'top_p', 'n', 'stream', 'stream_options', 'stop', 'seed', 'user',
  'presence_penalty', 'frequency_penalty', 'logit_bias', 'logprobs',
  'top_k', 'repetition_penalty', 'min_tokens', 'no_repeat_ngram_size', 'num_beams', 'length_penalty', 'early_stopping'];
const COMPLETION_FIELDS = new Set([...COMMON, 'prompt', 'echo', 'suffix', 'best_of']);
const CHAT_FIELDS = new Set([...COMMON, 'messages', 'max_completion_tokens', 'top_logprobs', 'response_format', 'tools', 'tool_choice', 'parallel_tool_calls', 'functions', 'function_call']);

/** Fields lmkit cannot honour, accepted only when absent or at this "off" test. */
const OFF: Record<string, (v: unknown) => boolean> = {
  presence_penalty: (v) => v === 0, frequency_penalty: (v) => v === 0,
  logit_bias: (v) => typeof v === 'object' && v !== null && Object.keys(v).length === 0,
  logprobs: (v) => v === false || v === 0, echo: (v) => v === false, suffix: (v) => v === '', best_of: (v) => v === 1,
  top_logprobs: (v) => v === 0, response_format: (v) => typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'text',
  tools: (v) => Array.isArray(v) && v.length === 0, tool_choice: (v) => v === 'none', functions: (v) => Array.isArray(v) && v.length === 0,
  function_call: (v) => v === 'none', parallel_tool_calls: () => true,
};

function checkFields(body: Body, allowed: Set<string>): void {
  for (const key of Object.keys(body)) {
    if (!allowed.has(key)) throw invalid(key, `Unrecognized request argument supplied: ${key}`);
    const off = OFF[key];
    if (off && body[key] !== null && !off(body[key])) throw invalid(key, `${key} is not supported by this server (got ${shown(body[key])}); leave it out`);
  }
}

function int(body: Body, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw invalid(name, `${name} must be an integer, got ${shown(v)}`);
  if (v < min || v > max) throw invalid(name, `${name} must be an integer ${max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `in [${min}, ${max}]`}, got ${v}`);
  return v;
}

function num(body: Body, name: string, ok: (n: number) => boolean, range: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(name, `${name} must be a number, got ${shown(v)}`);
  if (!ok(v)) throw invalid(name, `${name} must be ${range}, got ${v}`);
  return v;
}

function bool(body: Body, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(name, `${name} must be true or false, got ${shown(v)}`);
  return v;
}

function stops(body: Body): string[] {
  const v = body['stop'];
  if (v === undefined || v === null) return [];
  const list = typeof v === 'string' ? [v] : v;
  if (!Array.isArray(list) || list.length > 4 || !list.every((s) => typeof s === 'string' && s !== ''))
    throw invalid('stop', `stop must be a non-empty string or an array of at most 4 non-empty strings, got ${shown(v)}`);
  return list as string[];
}

function model(body: Body, ctx: ModelContext): void {
  const v = body['model'];
  if (typeof v !== 'string' || v === '') throw invalid('model', `model is required: the name of the served model (${JSON.stringify(ctx.name)}), got ${shown(v)}`);
  if (v !== ctx.name) throw new RequestError('REQUEST_UNKNOWN_MODEL', `The model \`${v}\` does not exist; this server serves ${JSON.stringify(ctx.name)} (GET /v1/models)`, { param: 'model' });
}

/** The fields both endpoints share, with max_tokens already decided. */
function generation(body: Body, ctx: ModelContext, limits: RequestLimits, prompts: number[][], maxTokens: number, extraStops: { strings: string[]; tokens?: number[] }): ParsedRequest {
  const n = int(body, 'n', 1, limits.maxChoices) ?? 1;
  if (n * prompts.length > limits.maxChoices)
    throw invalid('n', `n × prompts is ${n * prompts.length} choices; this server returns at most ${limits.maxChoices} per request`);
  const stream = bool(body, 'stream') ?? false;
  const streamOptions = body['stream_options'];
  let includeUsage = false;
  if (streamOptions !== undefined && streamOptions !== null) {
    if (typeof streamOptions !== 'object' || Array.isArray(streamOptions)) throw invalid('stream_options', `stream_options must be an object, got ${shown(streamOptions)}`);
    if (!stream) throw invalid('stream_options', 'stream_options is only allowed with stream: true');
    includeUsage = bool(streamOptions as Body, 'include_usage') ?? false;
  }
  const numBeams = int(body, 'num_beams', 1, 64) ?? 1;
  const temperature = num(body, 'temperature', (x) => x >= 0 && x <= 2, 'in [0, 2]') ?? (numBeams > 1 ? 0 : 1);
  const seed = int(body, 'seed', Number.MIN_SAFE_INTEGER);
  const options: ParsedRequest['options'] = {
    maxNewTokens: maxTokens,
    temperature,
    topP: num(body, 'top_p', (x) => x > 0 && x <= 1, 'in (0, 1]') ?? 1,
    topK: int(body, 'top_k', 0) ?? 0,
    repetitionPenalty: num(body, 'repetition_penalty', (x) => x > 0, '> 0 (1 = off)') ?? 1,
    minNewTokens: int(body, 'min_tokens', 0, maxTokens) ?? 0,
    noRepeatNgramSize: int(body, 'no_repeat_ngram_size', 0) ?? 0,
    stopStrings: [...extraStops.strings, ...stops(body)],
    // OpenAI seeds are any integer; lmkit's random streams take 32 bits.
    seed: seed === undefined ? 0 : Number(BigInt.asUintN(32, BigInt(seed))),
    ...(extraStops.tokens ? { stopTokens: extraStops.tokens } : {}),
  };
  let beams: ParsedRequest['beams'] = null;
  if (numBeams > 1) {
    if (stream) throw invalid('stream', 'stream: true is not supported with beam search (num_beams > 1); the best beams are known only at the end');
    if (temperature !== 0) throw invalid('temperature', `beam search (num_beams ${numBeams}) does not sample; set temperature to 0 or leave it out`);
    if (n > numBeams) throw invalid('n', `n ${n} exceeds num_beams ${numBeams}; beam search returns at most num_beams sequences`);
    const early = body['early_stopping'];
    if (early !== undefined && early !== null && early !== true && early !== false && early !== 'never')
      throw invalid('early_stopping', `early_stopping must be true, false or "never", got ${shown(early)}`);
    const { temperature: _t, topP: _p, topK: _k, seed: _s, ...rest } = options;
    beams = {
      ...rest, numBeams, numReturnSequences: n,
      lengthPenalty: num(body, 'length_penalty', () => true, 'a number') ?? 1,
      ...(early !== undefined && early !== null ? { earlyStopping: early as boolean | 'never' } : {}),
    };
  } else {
    for (const name of ['length_penalty', 'early_stopping'])
      if (body[name] !== undefined && body[name] !== null) throw invalid(name, `${name} applies to beam search only; set num_beams > 1 or leave it out`);
  }
  for (const ids of prompts) {
    if (ids.length > limits.maxPromptTokens)
      throw new RequestError('REQUEST_TOO_LONG', `the prompt has ${ids.length} tokens; this server takes at most ${limits.maxPromptTokens} (--max-prompt-tokens)`, { param: body['messages'] ? 'messages' : 'prompt' });
    if (ids.length + maxTokens > ctx.nPositions)
      throw new RequestError('REQUEST_TOO_LONG',
        `This model's maximum context length is ${ctx.nPositions} tokens, however you requested ${ids.length + maxTokens} tokens (${ids.length} in your prompt; ${maxTokens} for the completion). Please reduce your prompt or max_tokens.`,
        { param: 'max_tokens' });
  }
  return { prompts, n, stream, includeUsage, options, beams };
}

function maxTokensField(body: Body, name: string, limits: RequestLimits): number | undefined {
  const n = int(body, name, 1);
  if (n !== undefined && n > limits.maxTokens)
    throw new RequestError('REQUEST_TOO_LONG', `${name} ${n} exceeds this server's limit of ${limits.maxTokens} tokens per choice (--max-tokens)`, { param: name });
  return n;
}

function encodePrompt(ctx: ModelContext, p: unknown, where: string): number[] {
  if (typeof p === 'string') {
    const ids = ctx.tokenizer.encode(p);
    if (ids.length === 0) throw invalid('prompt', `${where} is empty; give text to continue`);
    return ids;
  }
  if (Array.isArray(p) && p.length > 0 && p.every((id) => Number.isSafeInteger(id))) {
    for (const id of p as number[])
      if (id < 0 || id >= ctx.tokenizer.vocabSize) throw invalid('prompt', `${where} has token id ${id}, outside the vocabulary [0, ${ctx.tokenizer.vocabSize})`);
    return [...(p as number[])];
  }
  throw invalid('prompt', `${where} must be a non-empty string or a non-empty array of token ids, got ${shown(p)}`);
}

/** Text the vocabulary cannot express (a char tokenizer without unk) is the request's fault. */
function encodable<T>(param: string, run: () => T): T {
  try {
    return run();
  } catch (err) {
    if (!(err instanceof TokenizerError)) throw err;
    throw new RequestError('REQUEST_INVALID', `${param}: ${err.message.replace(/^encode: /, '')}`, { param, cause: err });
  }
}

/** POST /v1/completions. */
export function parseCompletionRequest(body: Body, ctx: ModelContext, limits: RequestLimits): ParsedRequest {
  return encodable('prompt', () => completionRequest(body, ctx, limits));
}

/** POST /v1/chat/completions: the history rendered with lmkit's chat template, oldest turns dropped to fit. */
export function parseChatRequest(body: Body, ctx: ModelContext, limits: RequestLimits): ParsedRequest & { droppedTurns: number } {
  return encodable('messages', () => chatRequest(body, ctx, limits));
}

function completionRequest(body: Body, ctx: ModelContext, limits: RequestLimits): ParsedRequest {
  checkFields(body, COMPLETION_FIELDS);
  model(body, ctx);
  const prompt = body['prompt'];
  if (prompt === undefined || prompt === null) throw invalid('prompt', 'prompt is required: a string, an array of strings, an array of token ids, or an array of those');
  const list: unknown[] = typeof prompt === 'string' || (Array.isArray(prompt) && prompt.every((x) => typeof x === 'number')) ? [prompt] : Array.isArray(prompt) ? prompt : [prompt];
  if (list.length === 0) throw invalid('prompt', 'prompt is an empty array; give at least one prompt');
  const prompts = list.map((p, i) => encodePrompt(ctx, p, list.length > 1 ? `prompt[${i}]` : 'prompt'));
  const maxTokens = maxTokensField(body, 'max_tokens', limits) ?? Math.min(16, limits.maxTokens); // OpenAI's default for completions
  return generation(body, ctx, limits, prompts, maxTokens, { strings: [] });
}

const CHAT_ROLES: Record<string, ChatRole> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant' };

function chatMessages(body: Body): ChatMessage[] {
  const v = body['messages'];
  if (!Array.isArray(v) || v.length === 0) throw invalid('messages', `messages is required: a non-empty array of {role, content}, got ${shown(v)}`);
  return v.map((m, i): ChatMessage => {
    const where = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw invalid(where, `${where} must be an object {role, content}, got ${shown(m)}`);
    const { role, content } = m as Body;
    const mapped = typeof role === 'string' ? CHAT_ROLES[role] : undefined;
    if (!mapped) throw invalid(`${where}.role`, `${where}.role must be one of system, developer, user, assistant, got ${shown(role)}${role === 'tool' || role === 'function' ? ' (tools are not supported)' : ''}`);
    if (typeof content === 'string') return { role: mapped, content };
    // Content parts: text only (this model reads no images or audio).
    if (Array.isArray(content) && content.every((p) => typeof p === 'object' && p !== null && (p as Body)['type'] === 'text' && typeof (p as Body)['text'] === 'string'))
      return { role: mapped, content: content.map((p) => (p as { text: string }).text).join('') };
    throw invalid(`${where}.content`, `${where}.content must be a string or an array of {type: "text", text} parts, got ${shown(content)}`);
  });
}

/** The template's end tag and the next user tag end a reply, as text and (when the vocabulary has them) as tokens. */
function chatStops(tokenizer: Tokenizer): { strings: string[]; tokens: number[] } {
  const endTag = DEFAULT_CHAT_TEMPLATE.turnEnd.trim();
  const userTag = DEFAULT_CHAT_TEMPLATE.tags.user.trim();
  const ids = [tokenizer.eos, tokenizer.tokenToId(endTag), tokenizer.tokenToId(userTag)].filter((id): id is number => id !== undefined);
  return { strings: [endTag, userTag], tokens: [...new Set(ids)] };
}

function chatRequest(body: Body, ctx: ModelContext, limits: RequestLimits): ParsedRequest & { droppedTurns: number } {
  checkFields(body, CHAT_FIELDS);
  model(body, ctx);
  const messages = chatMessages(body);
  const given = maxTokensField(body, 'max_completion_tokens', limits) ?? maxTokensField(body, 'max_tokens', limits);
  // Without a limit, a reply may use what the whole history leaves free (at least 16 tokens, older turns dropped for them).
  const whole = messages.reduce((n, m) => n + ctx.tokenizer.encode(renderMessage(m)).length, 0) + ctx.tokenizer.encode(DEFAULT_CHAT_TEMPLATE.tags.assistant).length;
  const maxTokens = given ?? Math.min(limits.maxTokens, Math.max(16, ctx.nPositions - whole), ctx.nPositions - 1);
  const budget = Math.min(limits.maxPromptTokens, ctx.nPositions - maxTokens);
  if (budget < 1)
    throw new RequestError('REQUEST_TOO_LONG', `max_tokens ${maxTokens} leaves no room for the prompt in the model's ${ctx.nPositions} positions`, { param: 'max_tokens' });
  const prompt = chatPrompt(messages, { tokenizer: ctx.tokenizer, maxTokens: budget });
  const stop = chatStops(ctx.tokenizer);
  return { ...generation(body, ctx, limits, [prompt.ids], maxTokens, stop.tokens.length > 0 ? stop : { strings: stop.strings }), droppedTurns: prompt.droppedTurns };
}
