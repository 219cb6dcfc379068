// `lmkit train`: pre-trains a model of any family (--arch) on a text file
// from a JSON config or a preset, with a progress bar, metrics.jsonl and
// resumable checkpoints.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ConfigError } from '../errors.js';
import { ARCHS, parseArch } from '../models/arch.js';
import { packageRoot } from '../package_info.js';
import { pretrain } from '../stages/pretrain.js';
import { parseOverride, pretrainConfig, type PretrainConfig } from '../stages/pretrain_config.js';
import { PRESETS, SHAKESPEARE_PRESETS, presetConfig } from '../stages/presets.js';
import { formatDuration, progressRenderer } from './progress.js';
import { commandExit, commandLabel, commandWorld, rankZeroLog, rankZeroSink } from './distributed.js';
import { cliError, usageError } from './errors.js';
import type { World } from '../distributed/world.js';

export const TRAIN_HELP = `Usage: lmkit train --config <file.json|preset> [--data <file>] [options]

Pre-trains a language model on a UTF-8 text file (nanoGPT's train.py), with
its family's objective: decoder (causal LM), encoder (BERT masked LM),
encoder-decoder (T5 span corruption), glm (GLM blank infilling).

Options:
  --config <c>        a JSON config (training keys + model keys) or a preset: ${Object.keys(PRESETS).join(', ')}
  --arch <a>          the model family, overriding the config's arch: ${ARCHS.join(', ')}
  --data <file>       the text to train on (default for the shakespeare presets: the shipped data/tinyshakespeare.txt)
  --out <dir>         run folder for checkpoint/ and metrics.jsonl (default: out-<config name>)
  --resume            continue the run in --out from its checkpoint
  --max-iters <n>     override max_iters
  --seed <n>          override seed
  --set key=value     override any config key (repeatable), e.g. --set learning_rate=3e-4
  --skip-nonfinite    skip updates with a NaN/Inf loss instead of stopping
  --matmul-precision <p>
                      fp32 (default) or bf16: mixed precision, the Linear layers' GEMMs
                      on bfloat16 inputs with fp32 sums (weights and AdamW stay fp32)
  -h, --help          this text

Writes <out>/checkpoint/ (model.safetensors, config.json, tokenizer.json,
optimizer.safetensors, trainer_state.json) and <out>/metrics.jsonl. Evals
report the val loss next to the objective's unigram baseline (the loss of
predicting the targets from their train-split frequencies alone).

Data parallel on several processes or machines with Open MPI:
  mpirun -np 4 lmkit train --config ... (batch_size is per rank; rank 0 writes --out)`;

function loadConfig(spec: string): { config: PretrainConfig; name: string; preset: boolean } {
  const isFile = spec.endsWith('.json') || existsSync(spec);
  if (!isFile) return { config: presetConfig(spec), name: spec, preset: true };
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(spec, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError('CONFIG_UNREADABLE', `${spec}: cannot read the config (${why})`, { cause: err });
  }
  return { config: pretrainConfig(raw, spec), name: path.basename(spec, '.json'), preset: false };
}

function integerArg(flag: string, text: string, min = 0): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) throw new ConfigError('CONFIG_INVALID', `--${flag}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return n;
}

export function runTrain(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' }, arch: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
        'max-iters': { type: 'string' }, seed: { type: 'string' }, set: { type: 'string', multiple: true },
        'skip-nonfinite': { type: 'boolean' }, 'matmul-precision': { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    return usageError('train', err);
  }
  if (values.help) {
    console.log(TRAIN_HELP);
    return 0;
  }
  let world: World | null = null;
  try {
    world = commandWorld();
    if (!values.config) throw new ConfigError('CONFIG_MISSING', `--config is required: a .json config file or a preset (${Object.keys(PRESETS).join(', ')})`);
    const loaded = loadConfig(values.config);
    // --arch first, on its own, so a clash names the config it clashes with.
    const base = values.arch === undefined ? loaded.config
      : pretrainConfig({ arch: parseArch(values.arch, '--arch') }, `--arch ${values.arch} with --config ${values.config}`, loaded.config);
    const overrides: Record<string, unknown> = Object.fromEntries((values.set ?? []).map(parseOverride));
    if (values['max-iters'] !== undefined) overrides['max_iters'] = integerArg('max-iters', values['max-iters']);
    if (values.seed !== undefined) overrides['seed'] = integerArg('seed', values.seed);
    if (values['skip-nonfinite']) overrides['skip_nonfinite'] = true;
    if (values['matmul-precision'] !== undefined) overrides['matmul_precision'] = values['matmul-precision'];
    const config = pretrainConfig(overrides, '--set/--max-iters/--seed/--matmul-precision', base);

    let dataFile = values.data;
    if (!dataFile) {
      if (!(loaded.preset && SHAKESPEARE_PRESETS.has(loaded.name)))
        throw new ConfigError('CONFIG_MISSING', `--data is required with --config ${values.config}: pass the UTF-8 text file to train on`);
      dataFile = path.join(packageRoot, 'data', 'tinyshakespeare.txt');
    }
    const outDir = values.out ?? `out-${loaded.name}`;
    const progress = progressRenderer(rankZeroSink(world, process.stderr));
    const started = performance.now();
    let result;
    try {
      result = pretrain({ config, dataFile, outDir, resume: values.resume ?? false, onProgress: progress.onProgress, world });
    } finally {
      progress.end();
    }
    const baseline = result.unigramValLoss === null ? '' : ` (unigram baseline ${result.unigramValLoss.toFixed(4)})`;
    const val = result.valLoss === null ? '' : `, val loss ${result.valLoss.toFixed(4)}${baseline}`;
    rankZeroLog(world, `done: ${result.arch}${world.worldSize > 1 ? ` on ${world.worldSize} ranks` : ''}, ${result.iter} iterations in ${formatDuration((performance.now() - started) / 1000)}${val}; checkpoint: ${result.checkpointDir}, metrics: ${path.join(outDir, 'metrics.jsonl')}`);
    return 0;
  } catch (err) {
    return commandExit(world, cliError(commandLabel('train', world), err));
  }
}
