// KV-cached decoding for an EncoderDecoderLM (T5 style): the prompts are the
// encoder inputs. Each distinct source is encoded once, every decoder layer's
// cross-attention keys/values are projected once, and the decoder then steps
// one token per row from the decoder start token over its self-attention cache.
import { ShapeError } from '../errors.js';
import type { LayerKvCache } from '../nn/attention.js';
import type { MemoryKv } from '../nn/cross_attention.js';
import type { EncoderDecoderLM } from '../models/encoder_decoder.js';
import { noGrad } from '../tensor/autograd.js';
import { Tensor } from '../tensor/tensor.js';
import { reorderCache, type DecodeSession, type SessionFactory } from './kv_cache.js';

/** Per-layer cross k/v of every row [rows, NH, S, HS], owned by the session so beams can reorder them. */
interface RowMemory {
  k: Float32Array[];
  v: Float32Array[];
  /** Real source tokens of each row; keys at or after it are padding. */
  lengths: Int32Array;
  /** [NH, S, HS]: one row's slice shape. */
  rowShape: [number, number, number];
}

function checkPrompts(model: EncoderDecoderLM, prompts: readonly (readonly number[])[]): void {
  const { max_position_embeddings: P, vocab_size: V } = model.config;
  if (prompts.length === 0) throw new ShapeError('SHAPE_INVALID', 'encoderDecoderSession: no prompts; pass at least one source sequence');
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new ShapeError('SHAPE_INVALID', `encoderDecoderSession: prompt ${i} is empty; the encoder needs at least one source token`);
    if (p.length > P)
      throw new ShapeError('SHAPE_INVALID', `encoderDecoderSession: prompt ${i} has ${p.length} tokens but the encoder reads at most max_position_embeddings ${P}; shorten it`);
    for (const id of p)
      if (!Number.isInteger(id) || id < 0 || id >= V) throw new ShapeError('SHAPE_INVALID', `encoderDecoderSession: prompt ${i} has token id ${id}, outside the vocabulary [0, ${V})`);
  });
}

/**
 * Encodes the distinct sources in one right-padded batch (srcLengths hide the
 * padding), projects each decoder layer's cross k/v once, and copies them to
 * the rows that read each source (beam search repeats every prompt).
 */
function encodeSources(model: EncoderDecoderLM, prompts: readonly (readonly number[])[]): RowMemory {
  const unique = new Map<string, number>();
  const sourceOf = prompts.map((p) => {
    const key = p.join(',');
    if (!unique.has(key)) unique.set(key, unique.size);
    return unique.get(key)!;
  });
  const sources = [...unique.keys()].map((_, u) => prompts[sourceOf.indexOf(u)]!);
  const U = sources.length;
  const S = Math.max(...sources.map((s) => s.length));
  const src = new Int32Array(U * S).fill(model.config.pad_token_id); // (U, S), right-padded
  sources.forEach((s, u) => src.set(s, u * S));
  const srcLengths = Int32Array.from(sources, (s) => s.length);
  const projected: MemoryKv[] = noGrad(() => model.projectMemory(model.encode(new Tensor(src, [U, S]), srcLengths)));
  const [, NH, , HS] = projected[0]!.k.shape as [number, number, number, number];
  const rowSize = NH * S * HS;
  const expand = (t: Tensor): Float32Array => {
    const d = t.f32(); // (U, NH, S, HS)
    const out = new Float32Array(prompts.length * rowSize); // (rows, NH, S, HS)
    sourceOf.forEach((u, r) => out.set(d.subarray(u * rowSize, (u + 1) * rowSize), r * rowSize));
    return out;
  };
  return {
    k: projected.map((m) => expand(m.k)),
    v: projected.map((m) => expand(m.v)),
    lengths: Int32Array.from(sourceOf, (u) => srcLengths[u]!),
    rowShape: [NH, S, HS],
  };
}

/** Row i of the memory becomes what row src[i] was (beams that survive continue their parent's source). */
function reorderMemory(m: RowMemory, src: Int32Array): void {
  if (src.every((s, i) => s === i)) return;
  const rowSize = m.rowShape[0] * m.rowShape[1] * m.rowShape[2];
  for (const buf of [...m.k, ...m.v]) {
    const old = buf.slice();
    src.forEach((s, i) => buf.set(old.subarray(s * rowSize, (s + 1) * rowSize), i * rowSize));
  }
  const lengths = m.lengths.slice();
  src.forEach((s, i) => (m.lengths[i] = lengths[s]!));
}

/**
 * An EncoderDecoderLM session: prompts are source sequences (of any lengths);
 * decoding starts from config.decoder_start_token_id. `capacity` is the
 * decoder tokens each row may hold (the start token included), at most
 * max_position_embeddings; maxNewTokens new tokens need capacity ≥ maxNewTokens
 * (the last generated token is never fed back).
 */
export function encoderDecoderSession(model: EncoderDecoderLM, capacity: number): SessionFactory {
  const P = model.config.max_position_embeddings;
  if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > P)
    throw new ShapeError('SHAPE_INVALID', `encoderDecoderSession: capacity must be an integer in [1, ${P}] (max_position_embeddings), got ${capacity}`);
  return (prompts) => {
    checkPrompts(model, prompts);
    model.eval();
    const rows = prompts.length;
    const V = model.config.vocab_size;
    const memory = encodeSources(model, prompts);
    let cache: LayerKvCache[] | null = model.createDecoderCache(rows, capacity);
    const cross = (): MemoryKv[] => {
      const shape = [rows, ...memory.rowShape];
      return memory.k.map((k, i) => ({ k: new Tensor(k, shape), v: new Tensor(memory.v[i]!, shape) }));
    };
    const live = (): LayerKvCache[] => {
      if (!cache) throw new ShapeError('SHAPE_INVALID', 'encoderDecoderSession: the session is closed');
      return cache;
    };
    const feed = (tokens: Int32Array): Float32Array => {
      const c = live();
      const held = c[0]!.lengths.reduce((a, n) => Math.max(a, n), 0);
      if (held >= capacity)
        throw new ShapeError('SHAPE_INVALID', `encoderDecoderSession: the decoder cache is full (capacity ${capacity} tokens, start token included); open the session with capacity ≥ maxNewTokens`);
      return noGrad(() => model.decode(new Tensor(tokens, [rows, 1]), cross(), memory.lengths, { cache: c })).f32(); // (rows, 1, V)
    };
    const start = model.config.decoder_start_token_id;
    const logits = feed(new Int32Array(rows).fill(start));
    const session: DecodeSession = {
      vocabSize: V,
      rows,
      step: feed,
      reorder(src) {
        reorderCache(live(), src);
        reorderMemory(memory, src);
      },
      close() {
        cache = null;
      },
    };
    return { session, logits, history: prompts.map(() => [start]) };
  };
}
