// How each model family generates, for generate() and stream(): which KV-cached
// session it decodes with, how long its prompts and outputs may be, and the
// token that ends a sequence by default.
//   DecoderLM         the prompt is continued; prompt + maxNewTokens ≤ n_positions; eos: the tokenizer's
//   EncoderDecoderLM  the prompt is the source; decoding starts from decoder_start_token_id;
//                     maxNewTokens ≤ max_position_embeddings; eos: config.eos_token_id
//   GLM               the prompt is Part A; its first [MASK]/[gMASK] is filled ([gMASK] is appended when
//                     it has neither, to continue the text); |Part A| + maxNewTokens ≤ n_positions; eos: [E]
import { ConfigError, ShapeError } from '../errors.js';
import { DecoderLM } from '../models/decoder.js';
import { EncoderDecoderLM } from '../models/encoder_decoder.js';
import { GLM } from '../models/glm.js';
import { glmSpecialTokens } from '../objectives/glm_specials.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { encoderDecoderSession } from './encoder_decoder_session.js';
import { firstBlank, glmSession } from './glm_session.js';
import { decoderSession, type SessionFactory } from './kv_cache.js';
import { resolveOptions, type GenerateOptions, type ResolvedOptions } from './options.js';

/** A model generate() and stream() can decode with. */
export type GeneratingModel = DecoderLM | EncoderDecoderLM | GLM;

export interface GenerationPlan {
  /** The prompts as the session reads them (GLM: with [gMASK] appended where they had no blank). */
  prompts: number[][];
  options: ResolvedOptions;
  /** A session factory sized for these prompts and maxNewTokens. */
  open: SessionFactory;
}

/** Options resolved with no context limit (each family checks its own), and the family's eos when no stopTokens were given. */
function resolveFor(options: GenerateOptions, tokenizer: Tokenizer, eos: number): ResolvedOptions {
  const o = resolveOptions(options, tokenizer, Infinity, 0);
  if (options.stopTokens === undefined) o.eosTokenIds = [eos];
  return o;
}

/** Validates the options against the model family and builds its session factory. */
export function planGeneration(model: GeneratingModel, tokenizer: Tokenizer, prompts: number[][], options: GenerateOptions): GenerationPlan {
  if (tokenizer.vocabSize > model.config.vocab_size)
    throw new ConfigError('CONFIG_INVALID', `generate: the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${model.config.vocab_size}; use the tokenizer the model was trained with`);
  const longest = (ps: number[][]): number => Math.max(...ps.map((p) => p.length));

  if (model instanceof DecoderLM) {
    const o = resolveOptions(options, tokenizer, model.config.n_positions, longest(prompts));
    return { prompts, options: o, open: decoderSession(model, longest(prompts) + o.maxNewTokens) };
  }

  if (model instanceof EncoderDecoderLM) {
    const P = model.config.max_position_embeddings;
    const o = resolveFor(options, tokenizer, model.config.eos_token_id);
    prompts.forEach((p, i) => {
      if (p.length > P) throw new RangeError(`generate: prompt ${i} has ${p.length} tokens but the encoder reads at most ${P} (max_position_embeddings); shorten it`);
    });
    // The decoder is fed the start token and all but the last new token.
    if (o.maxNewTokens > P)
      throw new RangeError(`generate: maxNewTokens ${o.maxNewTokens} exceeds the decoder's ${P} positions (max_position_embeddings); lower maxNewTokens to ≤ ${P}`);
    return { prompts, options: o, open: encoderDecoderSession(model, o.maxNewTokens) };
  }

  if (model instanceof GLM) {
    const specials = glmSpecialTokens(tokenizer);
    const o = resolveFor(options, tokenizer, specials.end);
    const partAs = prompts.map((p) => (firstBlank(p, specials) >= 0 ? p : [...p, specials.gmask]));
    const A = longest(partAs);
    // Fed: Part A, [S], and all but the last new token.
    const P = model.config.n_positions;
    if (A + o.maxNewTokens > P)
      throw new RangeError(`generate: maxNewTokens ${o.maxNewTokens} + the longest Part A's ${A} tokens exceed the model's ${P} positions (n_positions); lower maxNewTokens to ≤ ${P - A} or shorten the prompt`);
    return { prompts: partAs, options: o, open: glmSession(model, A + o.maxNewTokens, specials) };
  }

  throw new ShapeError('SHAPE_INVALID', `generate: expected a DecoderLM, EncoderDecoderLM or GLM, got ${(model as object)?.constructor?.name ?? typeof model}`);
}
