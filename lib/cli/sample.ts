// `lmkit sample`: text from a checkpoint (nanoGPT's sample.py): greedy
// (temperature 0) or temperature / top-k sampling with a seed, decoded with
// the KV cache and streamed to stdout as tokens arrive.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ConfigError } from '../errors.js';
import { CHECKPOINT_FILES, readCheckpoint } from '../io/checkpoint.js';
import type { DecoderLM } from '../models/decoder.js';
import { decoderFromCheckpoint } from '../models/decoder_checkpoint.js';
import { noGrad } from '../tensor/autograd.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { createStreamDecoder } from '../tokenizer/stream.js';
import { cliError, usageError } from './errors.js';

export const SAMPLE_HELP = `Usage: lmkit sample --ckpt <dir> [--prompt <text>] [options]

Generates text from a checkpoint written by lmkit train.

Options:
  --ckpt <dir>            the checkpoint folder (<out>/checkpoint), or the run folder <out>
  --prompt <text>         text to continue (default: a newline, as nanoGPT's sample.py)
  --max-new-tokens <n>    tokens to generate (default 200)
  --temperature <t>       0 = greedy; higher is more random (default 0.8)
  --top-k <k>             sample among the k most likely tokens (default 200; 0 = all)
  --seed <n>              seeds the sampler (default 1337)
  -h, --help              this text`;

export interface DecodeOptions {
  maxNewTokens: number;
  /** 0 picks the most likely token (greedy). */
  temperature: number;
  /** Keep only the k most likely tokens before sampling; 0 or ≥ vocab keeps all. */
  topK: number;
  rng: Random;
}

/** Index of the largest value; the first one on ties (as torch.argmax). */
function argmax(row: Float32Array): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** nanoGPT's sampling step: logits / T, top-k cut, softmax, one draw. */
export function pickToken(logits: Float32Array, o: Omit<DecodeOptions, 'maxNewTokens'>): number {
  if (o.temperature === 0) return argmax(logits);
  const scaled = logits.map((v) => v / o.temperature);
  if (o.topK > 0 && o.topK < scaled.length) {
    const kth = Float32Array.from(scaled).sort().reverse()[o.topK - 1]!;
    for (let i = 0; i < scaled.length; i++) if (scaled[i]! < kth) scaled[i] = -Infinity;
  }
  const max = scaled.reduce((a, b) => Math.max(a, b), -Infinity);
  let sum = 0;
  const p = scaled.map((v) => Math.exp(v - max));
  for (const v of p) sum += v;
  let r = o.rng.uniform() * sum;
  for (let i = 0; i < p.length; i++) {
    r -= p[i]!;
    if (r < 0) return i;
  }
  return argmax(p); // rounding left r ≥ 0: take the likeliest
}

/**
 * Yields new token ids continuing `prompt`. The context is the last
 * n_positions tokens (nanoGPT crops to block_size); while it fits, each step
 * feeds one token through the KV cache, and once full the cache is refilled
 * with the cropped context.
 */
export function* decodeTokens(model: DecoderLM, prompt: readonly number[], o: DecodeOptions): Generator<number> {
  if (prompt.length === 0) throw new ConfigError('CONFIG_INVALID', 'sample: the prompt encodes to no tokens; give at least one character');
  model.eval();
  const capacity = model.config.n_positions;
  const caches = model.createCache(1, capacity);
  const seq = [...prompt];
  const run = (ids: number[]): Float32Array => {
    const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(ids), [1, ids.length]), { cache: caches })).f32();
    const V = model.config.vocab_size;
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

function resolveCheckpointDir(dir: string): string {
  const nested = path.join(dir, 'checkpoint');
  return !existsSync(path.join(dir, CHECKPOINT_FILES.config)) && existsSync(nested) ? nested : dir;
}

function numberArg(flag: string, text: string | undefined, fallback: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (integer && !Number.isSafeInteger(n)))
    throw new ConfigError('CONFIG_INVALID', `--${flag}: expected ${integer ? 'an integer' : 'a number'} ≥ 0, got ${JSON.stringify(text)}`);
  return n;
}

export function runSample(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ckpt: { type: 'string' }, prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' },
        temperature: { type: 'string' }, 'top-k': { type: 'string' }, seed: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    return usageError('sample', err);
  }
  if (values.help) {
    console.log(SAMPLE_HELP);
    return 0;
  }
  try {
    if (!values.ckpt) throw new ConfigError('CONFIG_MISSING', '--ckpt is required: the checkpoint folder lmkit train wrote (<out>/checkpoint)');
    const options: DecodeOptions = {
      maxNewTokens: numberArg('max-new-tokens', values['max-new-tokens'], 200, true),
      temperature: numberArg('temperature', values.temperature, 0.8, false),
      topK: numberArg('top-k', values['top-k'], 200, true),
      rng: new Random(numberArg('seed', values.seed, 1337, true)),
    };
    const ckpt = readCheckpoint(resolveCheckpointDir(values.ckpt));
    const model = decoderFromCheckpoint(ckpt);
    const prompt = values.prompt ?? '\n';
    const ids = ckpt.tokenizer.encode(prompt);
    const stream = createStreamDecoder(ckpt.tokenizer);
    process.stdout.write(prompt);
    for (const id of decodeTokens(model, ids, options)) process.stdout.write(stream.push(id));
    process.stdout.write(stream.flush() + '\n');
    return 0;
  } catch (err) {
    return cliError('sample', err);
  }
}
