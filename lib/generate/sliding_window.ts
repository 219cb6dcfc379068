// Open-ended decoding past the model's context, as nanoGPT's sample.py: the
// context is the last n_positions tokens. While it fits, each step feeds one
// token through the KV cache; once full, the cache is refilled with the
// cropped context. (generate() instead refuses to run past the context.)
import { ConfigError } from '../errors.js';
import type { DecoderLM } from '../models/decoder.js';
import { noGrad } from '../tensor/autograd.js';
import type { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { pickToken } from './sampling.js';

export interface DecodeOptions {
  maxNewTokens: number;
  /** 0 picks the most likely token (greedy). */
  temperature: number;
  /** Keep only the k most likely tokens before sampling; 0 or ≥ vocab keeps all. */
  topK: number;
  rng: Random;
}

/** Yields new token ids continuing `prompt`, cropping the context to n_positions. */
export function* decodeTokens(model: DecoderLM, prompt: readonly number[], o: DecodeOptions): Generator<number> {
  if (prompt.length === 0) throw new ConfigError('CONFIG_INVALID', 'sample: the prompt encodes to no tokens; give at least one character');
  model.eval();
  const capacity = model.config.n_positions;
  const caches = model.createCache(1, capacity);
  const seq = [...prompt];
  const V = model.config.vocab_size;
  const run = (ids: number[]): Float32Array => {
    const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(ids), [1, ids.length]), { cache: caches })).f32();
    return logits.subarray(logits.length - V); // the last position's row
  };
  const refill = (): Float32Array => {
    for (const c of caches) c.length = 0;
    return run(seq.slice(-capacity));
  };
  let logits = refill();
  for (let n = 0; n < o.maxNewTokens; n++) {
    const id = pickToken(logits, o);
    yield id;
    seq.push(id);
    if (n + 1 === o.maxNewTokens) break;
    logits = caches[0]!.length < capacity ? run([id]) : refill();
  }
}
