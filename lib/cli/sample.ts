// `lmkit sample`: text from a checkpoint (nanoGPT's sample.py): greedy
// (temperature 0) or temperature / top-k sampling with a seed, decoded with
// the KV cache and streamed to stdout as tokens arrive.
import { parseArgs } from 'node:util';

import { ConfigError } from '../errors.js';
import { readCheckpoint } from '../io/checkpoint.js';
import { decoderFromCheckpoint } from '../models/decoder_checkpoint.js';
import { Random } from '../tensor/random.js';
import { createStreamDecoder } from '../tokenizer/stream.js';
import { decodeTokens, type DecodeOptions } from '../generate/sliding_window.js';
import { cliError, usageError } from './errors.js';
import { resolveCheckpointDir } from './flags.js';

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
