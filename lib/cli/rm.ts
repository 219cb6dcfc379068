// `lmkit rm`: reward-model training (InstructGPT step 2) from an SFT checkpoint
// on ranked-preference JSONL (lib/stages/reward.ts); prints the held-out pair
// accuracy. The checkpoint is a reward model (`lmkit ppo --rm` reads it).
import path from 'node:path';
import { parseArgs } from 'node:util';

import { loadPreferenceJsonl } from '../data/records_jsonl.js';
import { decoderFromCheckpoint } from '../models/decoder_checkpoint.js';
import { RewardModel } from '../models/reward_model.js';
import { evaluateRewardModel, trainRewardModel } from '../stages/reward.js';
import { rewardConfig } from '../stages/stage_config.js';
import { Random } from '../tensor/random.js';
import type { World } from '../distributed/world.js';
import { commandExit, commandLabel, commandWorld, rankZeroLog, rankZeroSink } from './distributed.js';
import { cliError, usageError } from './errors.js';
import { formatDuration, loopEvent, readCheckpointOf, required, stageConfigFrom, stageProgress, STAGE_FLAGS, STAGE_FLAGS_HELP } from './stage_common.js';

export const RM_HELP = `Usage: lmkit rm --ckpt <sft dir> --data <prefs.jsonl> --out <dir> [options]

Trains a reward model (InstructGPT step 2): the SFT model's trunk under a
scalar head, on every pair of each prompt's ranked responses, with loss
−mean log σ(r_win − r_lose). Prints the held-out pair accuracy (with --val).

Options:
  --ckpt <dir>        the SFT checkpoint (lmkit sft --out <dir>)
  --data <file>       rankings, one {"prompt", "responses": [...K], "ranking": [...]} per line (best first)
  --val <file>        held-out rankings for loss and pair accuracy
  --max-iters <n>     override max_iters
${STAGE_FLAGS_HELP}

Config keys: as lmkit sft's (batch_size counts prompts, each with all C(K,2) pairs), without packing.
Writes <out>/checkpoint/ (a reward model) and <out>/metrics.jsonl.`;

export async function runRm(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, allowPositionals: false, strict: true,
      options: { ...STAGE_FLAGS, ckpt: { type: 'string' }, data: { type: 'string' }, val: { type: 'string' }, 'max-iters': { type: 'string' } },
    }));
  } catch (err) {
    return usageError('rm', err);
  }
  if (values.help) {
    console.log(RM_HELP);
    return 0;
  }
  let world: World | null = null;
  try {
    world = commandWorld();
    const ckptDir = required('ckpt', values.ckpt, 'the SFT checkpoint the reward model starts from (lmkit sft --out <dir>)');
    const dataFile = required('data', values.data, 'the preference JSONL to train on, one {"prompt", "responses", "ranking"} per line');
    const outDir = required('out', values.out, 'the run folder for checkpoint/ and metrics.jsonl');
    const config = stageConfigFrom(values, { flag: 'max-iters', text: values['max-iters'], key: 'max_iters' }, rewardConfig);
    const ckpt = readCheckpointOf('ckpt', ckptDir, 'decoder', 'the reward model starts from the SFT model (lmkit sft --out <dir>)');
    // The scalar head is drawn from the seed; the trunk is the SFT model's.
    const model = RewardModel.fromDecoder(decoderFromCheckpoint(ckpt), new Random(config.seed));
    const train = await loadPreferenceJsonl(dataFile);
    const val = values.val ? await loadPreferenceJsonl(values.val) : [];

    const progress = stageProgress(rankZeroSink(world, process.stderr));
    const started = performance.now();
    let result;
    try {
      result = trainRewardModel({
        config, model, tokenizer: ckpt.tokenizer, train, val, outDir, resume: values.resume ?? false, world,
        onProgress: (e) => {
          if (loopEvent(progress, e)) return;
          if (e.type === 'start')
            progress.line(`${e.resumed ? `resuming at iteration ${e.iter}` : 'training the reward model'}: ${(e.parameters / 1e6).toFixed(2)}M parameters, ${e.trainPrompts} prompts / ${e.trainPairs} pairs to train on, ${e.valPrompts} / ${e.valPairs} held out, ${e.maxIters} iterations`);
          else if (e.type === 'eval') progress.line(`iter ${e.iter}: val loss ${e.valLoss.toFixed(4)}, pair accuracy ${e.valAccuracy.toFixed(4)}`);
        },
      });
    } finally {
      progress.end();
    }
    rankZeroLog(world, `done: ${result.iter} iterations in ${formatDuration((performance.now() - started) / 1000)}; checkpoint: ${result.checkpointDir}, metrics: ${path.join(outDir, 'metrics.jsonl')}`);
    if (world.rank !== 0) return 0; // rank 0 reports the results
    if (val.length > 0) {
      const r = evaluateRewardModel(model, ckpt.tokenizer, val);
      console.log(`held-out pair accuracy ${r.accuracy.toFixed(4)} over ${r.pairs} pairs (loss ${r.loss.toFixed(4)})`);
    } else {
      const r = evaluateRewardModel(model, ckpt.tokenizer, train);
      console.log(`train pair accuracy ${r.accuracy.toFixed(4)} over ${r.pairs} pairs (loss ${r.loss.toFixed(4)}); no --val given, so no held-out accuracy`);
    }
    return 0;
  } catch (err) {
    return commandExit(world, cliError(commandLabel('rm', world), err));
  }
}
