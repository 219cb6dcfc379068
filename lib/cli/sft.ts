// `lmkit sft`: instruction fine-tuning of a pre-trained decoder checkpoint on
// {instruction, input, output} JSONL (lib/stages/sft.ts), with a progress bar,
// metrics.jsonl and a resumable checkpoint that sample/generate/chat load.
import path from 'node:path';
import { parseArgs } from 'node:util';

import { loadInstructionJsonl } from '../data/records_jsonl.js';
import { decoderFromCheckpoint } from '../models/decoder_checkpoint.js';
import { sft } from '../stages/sft.js';
import { sftConfig } from '../stages/stage_config.js';
import type { World } from '../distributed/world.js';
import { commandExit, commandLabel, commandWorld, rankZeroLog, rankZeroSink } from './distributed.js';
import { cliError, usageError } from './errors.js';
import { formatDuration, loopEvent, readCheckpointOf, required, stageConfigFrom, stageProgress, STAGE_FLAGS, STAGE_FLAGS_HELP } from './stage_common.js';

export const SFT_HELP = `Usage: lmkit sft --ckpt <pretrained dir> --data <instructions.jsonl> --out <dir> [options]

Instruction fine-tuning (FLAN / InstructGPT step 1): the model learns to answer
"Instruction: ...\\nInput: ...\\nResponse: " with the output and <|end|>; the
loss is on output tokens only. The tokenizer must have the <|end|> token.

Options:
  --ckpt <dir>        the pre-trained decoder checkpoint (<out>/checkpoint, or its run folder)
  --data <file>       training examples, one {"instruction", "input", "output"} per line
  --val <file>        held-out examples for the eval loss
  --max-iters <n>     override max_iters
${STAGE_FLAGS_HELP}

Config keys: max_iters, batch_size, learning_rate, min_lr, warmup_iters, lr_decay_iters,
decay_lr, gradient_accumulation_steps, weight_decay, beta1, beta2, grad_clip, packing,
eval_interval, log_interval, checkpoint_interval, skip_nonfinite, seed.
Writes <out>/checkpoint/ (a decoder checkpoint) and <out>/metrics.jsonl.`;

export async function runSft(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, allowPositionals: false, strict: true,
      options: { ...STAGE_FLAGS, ckpt: { type: 'string' }, data: { type: 'string' }, val: { type: 'string' }, 'max-iters': { type: 'string' } },
    }));
  } catch (err) {
    return usageError('sft', err);
  }
  if (values.help) {
    console.log(SFT_HELP);
    return 0;
  }
  let world: World | null = null;
  try {
    world = commandWorld();
    const ckptDir = required('ckpt', values.ckpt, 'the pre-trained decoder checkpoint to fine-tune (lmkit train --out <dir>)');
    const dataFile = required('data', values.data, 'the instruction JSONL to train on, one {"instruction", "input", "output"} per line');
    const outDir = required('out', values.out, 'the run folder for checkpoint/ and metrics.jsonl');
    const config = stageConfigFrom(values, { flag: 'max-iters', text: values['max-iters'], key: 'max_iters' }, sftConfig);
    const ckpt = readCheckpointOf('ckpt', ckptDir, 'decoder', 'pass a pre-trained decoder (lmkit train --out <dir>)');
    const model = decoderFromCheckpoint(ckpt);
    const train = await loadInstructionJsonl(dataFile);
    const val = values.val ? await loadInstructionJsonl(values.val) : [];

    const progress = stageProgress(rankZeroSink(world, process.stderr));
    const started = performance.now();
    let result;
    try {
      result = sft({
        config, model, tokenizer: ckpt.tokenizer, train, val, outDir, resume: values.resume ?? false, world,
        onProgress: (e) => {
          if (loopEvent(progress, e)) return;
          if (e.type === 'start')
            progress.line(`${e.resumed ? `resuming at iteration ${e.iter}` : 'fine-tuning'}: ${(e.parameters / 1e6).toFixed(2)}M parameters, ${e.trainExamples} train / ${e.valExamples} val examples, ${e.trainTargets} output tokens, ${e.maxIters} iterations`);
          else if (e.type === 'eval') progress.line(`iter ${e.iter}: val loss ${e.valLoss.toFixed(4)} (best ${e.bestValLoss.toFixed(4)})`);
        },
      });
    } finally {
      progress.end();
    }
    const val_ = result.valLoss === null ? '' : `, val loss ${result.valLoss.toFixed(4)}`;
    rankZeroLog(world, `done: ${result.iter} iterations in ${formatDuration((performance.now() - started) / 1000)}${val_}; checkpoint: ${result.checkpointDir}, metrics: ${path.join(outDir, 'metrics.jsonl')}`);
    if (world.rank !== 0) return 0; // rank 0 reports the results
    if (result.valLoss !== null) console.log(`val loss per output token ${result.valLoss.toFixed(4)}`);
    return 0;
  } catch (err) {
    return commandExit(world, cliError(commandLabel('sft', world), err));
  }
}
