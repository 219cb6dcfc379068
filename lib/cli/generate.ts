// `lmkit generate`: the generation engine (lib/generate) on the command line.
// One or several prompts (several decode as one batch), greedy, sampling or
// beam search, stop strings; plain text, JSON lines, or a token stream that
// Ctrl-C cancels cleanly through an AbortSignal (exit 130, as shells expect).
import { parseArgs } from 'node:util';

import { ConfigError } from '../errors.js';
import { generate, stream, type GenerateOptions } from '../generate/generate.js';
import { resolveOptions } from '../generate/options.js';
import type { EarlyStopping } from '../generate/beam_search.js';
import { readCheckpoint } from '../io/checkpoint.js';
import type { GeneratingModel } from '../generate/families.js';
import { EncoderLM } from '../models/encoder.js';
import { modelFromCheckpoint } from '../models/model_checkpoint.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { cliError, usageError } from './errors.js';
import { asFlagError, intFlag, numberFlag, resolveCheckpointDir } from './flags.js';

export const GENERATE_HELP = `Usage: lmkit generate --ckpt <dir> --prompt <text> [--prompt <text> ...] [options]

Continues each prompt with a checkpoint's model. Several --prompt flags decode
together as one batch. Prints each prompt and its continuation (numbered when
there are several results), or JSON lines with --json.

Options:
  --ckpt <dir>                the checkpoint folder (<out>/checkpoint), or the run folder <out>
  --prompt <text>             text to continue; repeat for a batch
  --max-new-tokens <n>        tokens to add (default 32)
  --min-new-tokens <n>        end-of-sequence is blocked until this many (default 0)
  --temperature <t>           0 = greedy (default); > 0 samples
  --top-k <k>                 sample among the k most likely tokens (default 0 = all)
  --top-p <p>                 nucleus sampling, in (0, 1] (default 1 = off)
  --repetition-penalty <r>    > 1 discourages repeats (default 1 = off)
  --no-repeat-ngram <n>       never repeat an n-gram of this size (default 0 = off)
  --beams <n>                 beam search with n beams (default 1 = off)
  --num-return <n>            sequences per prompt: ≤ --beams, or sampled draws (default 1)
  --length-penalty <a>        beam score = Σ log p / length^a (default 1)
  --early-stopping <v>        beam search: true, false (default) or never
  --stop <text>               stop before this text; repeatable
  --seed <n>                  seeds sampling (default 0)
  --stream                    print tokens as they come (one prompt, no beams); Ctrl-C stops
  --json                      one JSON object per line: prompt, sequence, ids, text, finishReason, score
  -h, --help                  this text`;

const FLAGS = {
  ckpt: { type: 'string' }, prompt: { type: 'string', multiple: true }, 'max-new-tokens': { type: 'string' },
  'min-new-tokens': { type: 'string' }, temperature: { type: 'string' }, 'top-k': { type: 'string' }, 'top-p': { type: 'string' },
  'repetition-penalty': { type: 'string' }, 'no-repeat-ngram': { type: 'string' }, beams: { type: 'string' },
  'num-return': { type: 'string' }, 'length-penalty': { type: 'string' }, 'early-stopping': { type: 'string' },
  stop: { type: 'string', multiple: true }, seed: { type: 'string' }, stream: { type: 'boolean' }, json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];

function earlyStopping(text: string | undefined): EarlyStopping | undefined {
  if (text === undefined) return undefined;
  if (text === 'true' || text === 'false') return text === 'true';
  if (text === 'never') return 'never';
  throw new ConfigError('CONFIG_INVALID', `--early-stopping: expected true, false or never, got ${JSON.stringify(text)}`);
}

/** Flags → GenerateOptions; absent flags stay undefined so the library's defaults apply. */
function optionsFrom(v: Values): GenerateOptions {
  const o: GenerateOptions = {
    maxNewTokens: intFlag('max-new-tokens', v['max-new-tokens'], 1),
    minNewTokens: intFlag('min-new-tokens', v['min-new-tokens']),
    temperature: numberFlag('temperature', v.temperature),
    topK: intFlag('top-k', v['top-k']),
    topP: numberFlag('top-p', v['top-p']),
    repetitionPenalty: numberFlag('repetition-penalty', v['repetition-penalty']),
    noRepeatNgramSize: intFlag('no-repeat-ngram', v['no-repeat-ngram']),
    numBeams: intFlag('beams', v.beams, 1),
    numReturnSequences: intFlag('num-return', v['num-return'], 1),
    lengthPenalty: numberFlag('length-penalty', v['length-penalty']),
    earlyStopping: earlyStopping(v['early-stopping']),
    stopStrings: v.stop,
    seed: intFlag('seed', v.seed),
  };
  // resolveOptions rejects keys it does not know, and undefined-valued keys are still keys.
  for (const key of Object.keys(o) as (keyof GenerateOptions)[]) if (o[key] === undefined) delete o[key];
  return o;
}

/** Every check that can fail, done before any token is generated (and printed). */
function checkRequest(model: GeneratingModel, tokenizer: Tokenizer, prompts: readonly string[], options: GenerateOptions, streaming: boolean): void {
  const lengths = prompts.map((p, i) => {
    const n = tokenizer.encode(p).length;
    if (n === 0) throw new ConfigError('CONFIG_INVALID', `--prompt ${i + 1} is empty (${JSON.stringify(p)} encodes to no tokens); give text to continue`);
    return n;
  });
  try {
    const context = 'n_positions' in model.config ? model.config.n_positions : model.config.max_position_embeddings;
    resolveOptions(options, tokenizer, context, Math.max(...lengths));
  } catch (err) {
    throw asFlagError(err);
  }
  if (streaming && (prompts.length > 1 || (options.numBeams ?? 1) > 1 || (options.numReturnSequences ?? 1) > 1))
    throw new ConfigError('CONFIG_INVALID',
      `--stream prints one sequence as it is generated, so it takes one --prompt and no --beams or --num-return (got ${prompts.length} prompt(s), ` +
        `--beams ${options.numBeams ?? 1}, --num-return ${options.numReturnSequences ?? 1}); drop --stream to get them all at once`);
}

/** Streams one continuation; Ctrl-C (SIGINT) aborts between tokens and the command exits 130. */
async function streamOne(model: GeneratingModel, tokenizer: Tokenizer, prompt: string, options: GenerateOptions, json: boolean): Promise<number> {
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    if (!json) process.stdout.write(prompt);
    for await (const piece of stream(model, tokenizer, prompt, { ...options, signal: controller.signal }))
      process.stdout.write(json ? JSON.stringify(piece) + '\n' : piece.text);
    if (!json) process.stdout.write('\n');
    if (controller.signal.aborted) {
      console.error('lmkit generate: interrupted');
      return 130;
    }
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

function printResults(prompts: readonly string[], results: ReturnType<typeof generate>, json: boolean): void {
  const several = results.length > 1 || results[0]!.length > 1;
  results.forEach((seqs, i) =>
    seqs.forEach((s, j) => {
      if (json) {
        process.stdout.write(JSON.stringify({ prompt: i, sequence: j, ids: s.ids, text: s.text, finishReason: s.finishReason, ...(s.score !== undefined ? { score: s.score } : {}) }) + '\n');
        return;
      }
      if (several) {
        const label = seqs.length > 1 ? `${i + 1}.${j + 1}` : `${i + 1}`;
        const score = s.score !== undefined ? `, score ${s.score.toFixed(4)}` : '';
        process.stdout.write(`[${label}] (${s.finishReason}${score})\n`);
      }
      process.stdout.write(prompts[i]! + s.text + '\n');
    }));
}

export async function runGenerate(argv: string[]): Promise<number> {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, allowPositionals: false, strict: true }));
  } catch (err) {
    return usageError('generate', err);
  }
  if (values.help) {
    console.log(GENERATE_HELP);
    return 0;
  }
  try {
    if (!values.ckpt) throw new ConfigError('CONFIG_MISSING', '--ckpt is required: the checkpoint folder lmkit train wrote (<out>/checkpoint)');
    const prompts = values.prompt ?? [];
    if (prompts.length === 0) throw new ConfigError('CONFIG_MISSING', '--prompt is required: the text to continue (repeat it for a batch)');
    const options = optionsFrom(values);
    const ckpt = readCheckpoint(resolveCheckpointDir(values.ckpt));
    // Decoders continue the prompt, encoder-decoders answer it, GLMs fill its [MASK] (or continue after [gMASK]).
    const loaded = modelFromCheckpoint(ckpt);
    if (loaded instanceof EncoderLM)
      throw new ConfigError('CONFIG_INVALID', `${ckpt.dir} is an encoder (BERT) checkpoint, which predicts masked tokens but does not generate text; use a decoder, encoder-decoder or GLM checkpoint`);
    const model = loaded.eval();
    checkRequest(model, ckpt.tokenizer, prompts, options, values.stream === true);
    if (values.stream) return await streamOne(model, ckpt.tokenizer, prompts[0]!, options, values.json === true);
    printResults(prompts, generate(model, ckpt.tokenizer, prompts, options), values.json === true);
    return 0;
  } catch (err) {
    return cliError('generate', err);
  }
}
