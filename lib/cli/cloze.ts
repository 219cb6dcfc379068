// `lmkit cloze`: GLM cloze fine-tuning (lib/stages/cloze.ts) on {text, label}
// JSONL whose texts hold one [MASK]; each label is verbalized by a word that
// fills it. Prints held-out accuracy before and after. The GLM checkpoint is
// read with glmFromCheckpoint (model_type "glm", GLM's weight names), the
// layout lmkit train --arch glm writes.
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ConfigError } from '../errors.js';
import { loadClozeJsonl } from '../data/cloze_jsonl.js';
import { glmFromCheckpoint } from '../models/glm_checkpoint.js';
import { clozeAccuracy, clozeFineTune } from '../stages/cloze.js';
import { clozeConfig } from '../stages/stage_config.js';
import type { World } from '../distributed/world.js';
import { commandExit, commandLabel, commandWorld, rankZeroLog, rankZeroSink } from './distributed.js';
import { cliError, usageError } from './errors.js';
import { formatDuration, loopEvent, readCheckpointOf, required, stageConfigFrom, stageProgress, STAGE_FLAGS, STAGE_FLAGS_HELP } from './stage_common.js';

export const CLOZE_HELP = `Usage: lmkit cloze --ckpt <glm dir> --data <cloze.jsonl> --labels <label=word,...> --out <dir> [options]

GLM cloze fine-tuning: each example's text holds one [MASK]; each label's
word (its verbalizer) is scored as the blank's filling, and the loss is the
cross-entropy over the labels. The same weights keep filling blanks.

Options:
  --ckpt <dir>        a GLM checkpoint (lmkit train --arch glm --out <dir>)
  --data <file>       training examples, one {"text": "... [MASK] ...", "label": "..."} per line
  --val <file>        held-out examples: accuracy before and after, and eval lines
  --labels <list>     label=verbalizer pairs, comma-separated, e.g. good=great,bad=awful
                      (a bare label is its own verbalizer: --labels good,bad)
  --max-iters <n>     override max_iters
${STAGE_FLAGS_HELP}

Config keys: as lmkit sft's (batch_size counts examples), without packing.
Writes <out>/checkpoint/ (a GLM checkpoint with the label set) and <out>/metrics.jsonl.`;

/** "good=great,bad=awful" → { good: 'great', bad: 'awful' }. */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    const label = (eq < 0 ? part : part.slice(0, eq)).trim();
    const word = eq < 0 ? label : part.slice(eq + 1);
    if (label === '') throw new ConfigError('CONFIG_INVALID', `--labels ${JSON.stringify(text)}: an entry has no label; write label=verbalizer pairs separated by commas, e.g. good=great,bad=awful`);
    if (label in out) throw new ConfigError('CONFIG_INVALID', `--labels: label "${label}" is given twice`);
    out[label] = word;
  }
  if (Object.keys(out).length < 2)
    throw new ConfigError('CONFIG_INVALID', `--labels ${JSON.stringify(text)}: classification needs at least two labels, e.g. --labels good=great,bad=awful`);
  return out;
}

export async function runCloze(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, allowPositionals: false, strict: true,
      options: { ...STAGE_FLAGS, ckpt: { type: 'string' }, data: { type: 'string' }, val: { type: 'string' }, labels: { type: 'string' }, 'max-iters': { type: 'string' } },
    }));
  } catch (err) {
    return usageError('cloze', err);
  }
  if (values.help) {
    console.log(CLOZE_HELP);
    return 0;
  }
  let world: World | null = null;
  try {
    world = commandWorld();
    const ckptDir = required('ckpt', values.ckpt, 'the GLM checkpoint to fine-tune (lmkit train --arch glm --out <dir>)');
    const dataFile = required('data', values.data, 'the cloze JSONL, one {"text": "... [MASK] ...", "label"} per line');
    const verbalizers = parseLabels(required('labels', values.labels, 'the labels and their verbalizers, e.g. --labels good=great,bad=awful'));
    const outDir = required('out', values.out, 'the run folder for checkpoint/ and metrics.jsonl');
    const config = stageConfigFrom(values, { flag: 'max-iters', text: values['max-iters'], key: 'max_iters' }, clozeConfig);
    const ckpt = readCheckpointOf('ckpt', ckptDir, 'glm', 'cloze fine-tuning needs a GLM (lmkit train --arch glm --out <dir>)');
    const model = glmFromCheckpoint(ckpt);
    const labels = Object.keys(verbalizers);
    const train = await loadClozeJsonl(dataFile, labels);
    const val = values.val ? await loadClozeJsonl(values.val, labels) : [];
    const before = val.length > 0 ? clozeAccuracy(model, ckpt.tokenizer, val, verbalizers) : null;

    const progress = stageProgress(rankZeroSink(world, process.stderr));
    const started = performance.now();
    let result;
    try {
      result = clozeFineTune({
        config, model, tokenizer: ckpt.tokenizer, train, val, verbalizers, outDir, resume: values.resume ?? false, world,
        onProgress: (e) => {
          if (loopEvent(progress, e)) return;
          if (e.type === 'start')
            progress.line(`${e.resumed ? `resuming at iteration ${e.iter}` : 'cloze fine-tuning'}: ${(e.parameters / 1e6).toFixed(2)}M parameters, labels ${e.labels.join(', ')}, ${e.trainExamples} train / ${e.valExamples} val examples, ${e.maxIters} iterations`);
          else if (e.type === 'eval') progress.line(`iter ${e.iter}: val loss ${e.valLoss.toFixed(4)}, accuracy ${e.valAccuracy.toFixed(4)}`);
        },
      });
    } finally {
      progress.end();
    }
    rankZeroLog(world, `done: ${result.iter} iterations in ${formatDuration((performance.now() - started) / 1000)}; checkpoint: ${result.checkpointDir}, metrics: ${path.join(outDir, 'metrics.jsonl')}`);
    if (world.rank !== 0) return 0; // rank 0 reports the results
    if (before) {
      const after = clozeAccuracy(model, ckpt.tokenizer, val, verbalizers);
      console.log(`held-out accuracy ${before.accuracy.toFixed(4)} → ${after.accuracy.toFixed(4)} over ${val.length} examples (chance ${(1 / labels.length).toFixed(4)}); mean p(gold) ${before.meanGoldProb.toFixed(4)} → ${after.meanGoldProb.toFixed(4)}`);
    } else {
      const r = clozeAccuracy(model, ckpt.tokenizer, train, verbalizers);
      console.log(`train accuracy ${r.accuracy.toFixed(4)} over ${train.length} examples; no --val given, so no held-out accuracy`);
    }
    return 0;
  } catch (err) {
    return commandExit(world, cliError(commandLabel('cloze', world), err));
  }
}
