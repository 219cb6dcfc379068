// Blank filling with GLM (Du et al. 2022; the GLM repo's generate_samples):
// Part A, a text with [MASK] blanks and/or a final [gMASK], is encoded once;
// the blanks are then decoded left to right, one at a time, each as a Part B
// span ([S] … until [E]) that sees Part A and the spans filled before it.
import { ShapeError } from '../errors.js';
import type { GLM } from '../models/glm.js';
import type { GlmSpecialTokens } from '../objectives/blank_infilling.js';
import { glmSpecialTokens } from '../objectives/glm_specials.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { beamSearch } from './beam_search.js';
import { decodeRows, rowRandom, type DecodeRow } from './decode_loop.js';
import { GlmRows } from './glm_session.js';
import type { DecodeSession, SessionFactory } from './kv_cache.js';
import { resolveOptions, type GenerateOptions, type ResolvedOptions } from './options.js';

export interface FilledBlank {
  /** Index of the blank's [MASK] or [gMASK] in Part A. */
  position: number;
  /** The span's generated ids, ending with the stop token ([E]) when it ended there. */
  ids: number[];
  /** The span as text (special tokens skipped). */
  text: string;
  finishReason: 'eos' | 'length';
}

export interface FillResult {
  /** Part A with each blank replaced by its span (stop token dropped). */
  ids: number[];
  text: string;
  /** One per blank, left to right. */
  blanks: FilledBlank[];
}

/** fillBlankIds' result: FillResult without the text. */
export interface FilledIds {
  ids: number[];
  blanks: Omit<FilledBlank, 'text'>[];
}

/** Indices of every [MASK] and [gMASK] in Part A. */
function blankPositions(partA: readonly number[], specials: GlmSpecialTokens): number[] {
  return partA.flatMap((id, i) => (id === specials.mask || id === specials.gmask ? [i] : []));
}

/** A view of the shared rows for one blank: closing it leaves the cache to the next blank. */
function spanSession(rows: GlmRows): DecodeSession {
  return { vocabSize: rows.vocabSize, rows: rows.rows, step: (t) => rows.step(t), reorder: (s) => rows.reorder(s), close() {} };
}

/**
 * Fills every blank of `partA` (token ids); `o` as resolveOptions returns it
 * (greedy, sampling or beam search; numReturnSequences 1). The sequence fed
 * so far (Part A, earlier spans, [S]) is what repetition penalty and n-gram
 * blocking see.
 */
export function fillBlankIds(model: GLM, partA: readonly number[], specials: GlmSpecialTokens, o: ResolvedOptions): FilledIds {
  if (partA.length === 0) throw new ShapeError('SHAPE_INVALID', 'glmFillBlanks: the text is empty; give a text with [MASK] blanks or ending in [gMASK]');
  const positions = blankPositions(partA, specials);
  if (positions.length === 0)
    throw new ShapeError('SHAPE_INVALID', `glmFillBlanks: the text has no [MASK] (id ${specials.mask}) or [gMASK] (id ${specials.gmask}); mark each blank with [MASK], or end the text with [gMASK] to continue it`);
  if (o.numReturnSequences !== 1) throw new RangeError(`glmFillBlanks: fills each blank once; numReturnSequences must be 1, got ${o.numReturnSequences}`);
  if (o.stopStrings.length > 0) throw new RangeError('glmFillBlanks: stopStrings are not supported (a span ends at [E] or a stop token); use stopTokens');
  const P = model.config.n_positions;
  // Each blank but the last keeps [S] and its whole span; the last one's final token is never fed.
  const capacity = partA.length + positions.length * (1 + o.maxNewTokens) - 1;
  if (capacity > P)
    throw new RangeError(`glmFillBlanks: Part A (${partA.length} tokens) + ${positions.length} blank(s) × ([S] + maxNewTokens ${o.maxNewTokens}) need ${capacity} positions, over n_positions ${P}; lower maxNewTokens or use fewer blanks`);
  const eos = new Set(o.eosTokenIds);
  const rows = new GlmRows(model, Array.from({ length: o.numBeams }, () => partA), capacity);
  try {
    const fed = [...partA];
    const blanks: Omit<FilledBlank, 'text'>[] = [];
    positions.forEach((position, k) => {
      const length = fed.length;
      const history = [...fed, specials.start];
      const open: SessionFactory = () => ({
        session: spanSession(rows),
        logits: rows.startSpan(new Int32Array(rows.rows).fill(position), specials.start),
        history: Array.from({ length: rows.rows }, () => history),
      });
      let ids: number[];
      if (o.numBeams > 1) {
        ids = beamSearch(open, [history], { ...o, numReturnSequences: 1 })[0]![0]!.tokens;
      } else {
        const row: DecodeRow = { prompt: history, generated: [], finished: false, rng: rowRandom(o.seed, k) };
        for (const _ of decodeRows(open, [row], o)) o.signal?.throwIfAborted();
        ids = row.generated;
      }
      const ended = ids.length > 0 && eos.has(ids[ids.length - 1]!);
      const span = ended ? ids.slice(0, -1) : ids;
      blanks.push({ position, ids, finishReason: ended ? 'eos' : 'length' });
      if (k + 1 < positions.length) {
        rows.commitSpan(length, position, specials.start, span);
        fed.push(specials.start, ...span);
      }
    });
    const filled: number[] = [];
    partA.forEach((id, i) => {
      const b = positions.indexOf(i);
      if (b < 0) filled.push(id);
      else filled.push(...(blanks[b]!.finishReason === 'eos' ? blanks[b]!.ids.slice(0, -1) : blanks[b]!.ids));
    });
    return { ids: filled, blanks };
  } finally {
    rows.close();
  }
}

/**
 * Fills the [MASK] blanks of a text, left to right, and continues it at a
 * final [gMASK]. The GLM special tokens are read from the tokenizer
 * ([MASK], [gMASK], [S], [E]) unless given. Options as generate()'s, with
 * maxNewTokens per blank and [E] as the default stop token.
 */
export function glmFillBlanks(model: GLM, tokenizer: Tokenizer, input: string | readonly number[], options: GenerateOptions = {},
  specials: GlmSpecialTokens = glmSpecialTokens(tokenizer)): FillResult {
  const partA = typeof input === 'string' ? tokenizer.encode(input) : [...input];
  const o = resolveOptions(options, tokenizer, Infinity, 0);
  if (options.stopTokens === undefined) o.eosTokenIds = [specials.end];
  o.signal?.throwIfAborted();
  const { ids, blanks } = fillBlankIds(model, partA, specials, o);
  return {
    ids,
    text: tokenizer.decode(ids),
    blanks: blanks.map((b) => ({ ...b, text: tokenizer.decode(b.finishReason === 'eos' ? b.ids.slice(0, -1) : b.ids, { skipSpecial: true }) })),
  };
}
