// generate() and stream(): text in, text out for any generating model
// (DecoderLM, EncoderDecoderLM, GLM; see families.ts for what a prompt means
// to each). Prompts of different lengths decode together in one KV-cached
// batch (each row at its own length); greedy, seeded sampling or beam search;
// stop tokens and stop strings; streaming with UTF-8-correct text pieces and AbortSignal.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { ConfigError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { beamSearch } from './beam_search.js';
import { decodeRows, rowRandom, type DecodeRow } from './decode_loop.js';
import { planGeneration, type GeneratingModel, type GenerationPlan } from './families.js';
import type { GenerateOptions } from './options.js';
import { createTextStream, StopStringBuffer } from './stop_strings.js';

export type { GenerateOptions } from './options.js';
export type { GeneratingModel } from './families.js';

export type FinishReason = 'eos' | 'stop' | 'length';

export interface GeneratedSequence {
  /** Generated token ids (the prompt excluded), ending with the eos or stop-completing token when there was one. */
  ids: number[];
  /** Decoded generated text (special tokens skipped), cut before the first stop string. */
  text: string;
  finishReason: FinishReason;
  /** Beam search only: Σ log p / len^lengthPenalty. */
  score?: number;
}

export type PromptInput = string | readonly string[] | readonly (readonly number[])[];

export interface StreamPiece {
  /** The generated token; −1 for a last piece that only releases held text (after eos). */
  token: number;
  /** Text this token completes: '' while a multi-byte character or a possible stop string is unfinished. */
  text: string;
}

function encodePrompts(tokenizer: Tokenizer, input: PromptInput): number[][] {
  const list: readonly (string | readonly number[])[] = typeof input === 'string' ? [input] : input;
  if (list.length === 0) throw new ConfigError('CONFIG_INVALID', 'generate: no prompts given; pass a string, an array of strings or an array of token-id arrays');
  return list.map((p, i) => {
    const ids = typeof p === 'string' ? tokenizer.encode(p) : [...p];
    if (ids.length === 0) throw new RangeError(`generate: prompt ${i} is empty${typeof p === 'string' ? ` (${JSON.stringify(p)} encodes to no tokens)` : ''}; give at least one token`);
    for (const id of ids)
      if (!Number.isInteger(id) || id < 0 || id >= tokenizer.vocabSize) throw new RangeError(`generate: prompt ${i} has token id ${id}, outside the vocabulary [0, ${tokenizer.vocabSize})`);
    return ids;
  });
}

function plan(model: GeneratingModel, tokenizer: Tokenizer, prompts: number[][], options: GenerateOptions): GenerationPlan {
  const p = planGeneration(model, tokenizer, prompts, options);
  p.options.signal?.throwIfAborted();
  return p;
}

/** Text of generated ids with the stop strings applied: [text, stopped]. */
function finishText(tokenizer: Tokenizer, ids: readonly number[], stops: readonly string[]): [string, boolean] {
  const buf = new StopStringBuffer(stops);
  const text = buf.push(tokenizer.decode(ids, { skipSpecial: true }));
  return [text + buf.flush(), buf.stopped];
}

/**
 * Continues each prompt; returns, per prompt, numReturnSequences sequences
 * (best first for beam search). Throws an AbortError if the signal fires.
 */
export function generate(model: GeneratingModel, tokenizer: Tokenizer, input: PromptInput, options: GenerateOptions = {}): GeneratedSequence[][] {
  const { prompts, options: o, open } = plan(model, tokenizer, encodePrompts(tokenizer, input), options);
  const eos = new Set(o.eosTokenIds);
  if (o.numBeams > 1) {
    return beamSearch(open, prompts, o).map((hyps) => hyps.map((h) => {
      const [text, stopped] = finishText(tokenizer, h.tokens, o.stopStrings);
      const reason: FinishReason = stopped ? 'stop' : eos.has(h.tokens[h.tokens.length - 1]!) ? 'eos' : 'length';
      return { ids: h.tokens, text, finishReason: reason, score: h.score };
    }));
  }
  const n = o.numReturnSequences;
  const rows: DecodeRow[] = prompts.flatMap((prompt) => Array.from({ length: n }, (_, j) => ({ prompt, generated: [], finished: false, rng: rowRandom(o.seed, j) })));
  const streams = rows.map(() => ({ pieces: createTextStream(tokenizer, o.stopStrings), text: '' }));
  const reasons = rows.map((): FinishReason => 'length');
  for (const step of decodeRows(open, rows, o)) {
    o.signal?.throwIfAborted();
    step.forEach((row, r) => {
      const s = streams[r]!;
      if (reasons[r] !== 'length' || row.generated.length === 0) return;
      const id = row.generated[row.generated.length - 1]!;
      s.text += s.pieces.push(id);
      if (s.pieces.stopped) (reasons[r] = 'stop'), (row.finished = true);
      else if (eos.has(id)) reasons[r] = 'eos';
    });
  }
  const out = rows.map((row, r): GeneratedSequence => {
    const s = streams[r]!;
    if (reasons[r] !== 'stop') {
      s.text += s.pieces.flush();
      if (s.pieces.stopped) reasons[r] = 'stop';
    }
    return { ids: row.generated, text: s.text, finishReason: reasons[r]! };
  });
  return prompts.map((_, i) => out.slice(i * n, (i + 1) * n));
}

/**
 * Streams one prompt's continuation (greedy or sampling): one piece per
 * generated token; the eos token ends the stream without a piece. Text is
 * cut before a stop string. An aborted signal ends the iterator at the next
 * step and frees the cache.
 */
export async function* stream(model: GeneratingModel, tokenizer: Tokenizer, prompt: string | readonly number[], options: GenerateOptions = {}): AsyncGenerator<StreamPiece> {
  const { prompts, options: o, open } = plan(model, tokenizer, encodePrompts(tokenizer, typeof prompt === 'string' ? prompt : [prompt]), options);
  if (o.numBeams > 1 || o.numReturnSequences > 1)
    throw new RangeError('stream: streams one sequence; numBeams and numReturnSequences must be 1 (use generate() for beam search)');
  const eos = new Set(o.eosTokenIds);
  const pieces = createTextStream(tokenizer, o.stopStrings);
  const row: DecodeRow = { prompt: prompts[0]!, generated: [], finished: false, rng: rowRandom(o.seed, 0) };
  const steps = decodeRows(open, [row], o);
  try {
    for (const _ of steps) {
      const id = row.generated[row.generated.length - 1]!;
      if (eos.has(id)) break;
      const text = pieces.push(id);
      if (pieces.stopped) {
        if (text) yield { token: id, text };
        return;
      }
      const last = row.generated.length === o.maxNewTokens;
      yield { token: id, text: last ? text + pieces.flush() : text };
      if (last) return;
      await nextTurn(); // lets timers and I/O (an abort) run between steps
      if (o.signal?.aborted) return;
    }
    const rest = pieces.flush();
    if (rest) yield { token: -1, text: rest };
  } finally {
    steps.return(undefined); // closes the session
  }
}
