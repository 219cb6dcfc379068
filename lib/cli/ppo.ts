// `lmkit ppo`: RLHF with PPO (InstructGPT step 3, lib/stages/ppo.ts). The
// policy and a frozen reference both start from the SFT checkpoint; the
// value model starts as a copy of the reward model, which scores each
// rollout. Prints reward and KL per iteration; metrics.jsonl, checkpoints
// (policy + value model) and --resume through the stage's run folder.
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ConfigError } from '../errors.js';
import { loadPromptJsonl } from '../data/records_jsonl.js';
import { decoderFromCheckpoint } from '../models/decoder_checkpoint.js';
import { rewardModelFromCheckpoint, scoreSequences } from '../models/reward_model.js';
import { responseEndId } from '../stages/instruction_format.js';
import { ppo, type PpoStepStats } from '../stages/ppo.js';
import { ppoConfig } from '../stages/ppo_config.js';
import type { World } from '../distributed/world.js';
import { commandExit, commandLabel, commandWorld, rankZeroLog, rankZeroSink } from './distributed.js';
import { cliError, usageError } from './errors.js';
import { formatDuration, readCheckpointOf, required, stageConfigFrom, stageProgress, STAGE_FLAGS, STAGE_FLAGS_HELP } from './stage_common.js';

export const PPO_HELP = `Usage: lmkit ppo --policy <sft dir> --rm <rm dir> --prompts <prompts.jsonl> --out <dir> [options]

RLHF with PPO (InstructGPT step 3): samples a response per prompt from the
policy, scores it with the reward model minus β·KL to the frozen SFT model,
and updates the policy and a value model (initialised from the reward model)
with the clipped PPO objective; β adapts toward kl_target.

Options:
  --policy <dir>      the SFT checkpoint: the policy's start and the frozen reference
  --rm <dir>          the reward model checkpoint (lmkit rm --out <dir>)
  --prompts <file>    prompts, one {"prompt"} per line: the text the policy continues
                      (for instruction data, "Instruction: ...\\nResponse: ")
  --iterations <n>    override iterations (rollout batches)
${STAGE_FLAGS_HELP}

Config keys (TRL's names): iterations, batch_size, mini_batch_size, ppo_epochs, learning_rate,
value_learning_rate, weight_decay, beta1, beta2, max_grad_norm, cliprange, cliprange_value, vf_coef,
gamma, lam, init_kl_coef, adap_kl_ctrl, kl_target, horizon, max_new_tokens, temperature, top_k, seed,
checkpoint_interval (ptx_coef needs pre-training batches, which this command does not take).
Writes <out>/checkpoint/ (the policy, a decoder checkpoint; value/ inside it) and <out>/metrics.jsonl.`;

export async function runPpo(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv, allowPositionals: false, strict: true,
      options: { ...STAGE_FLAGS, policy: { type: 'string' }, rm: { type: 'string' }, prompts: { type: 'string' }, iterations: { type: 'string' } },
    }));
  } catch (err) {
    return usageError('ppo', err);
  }
  if (values.help) {
    console.log(PPO_HELP);
    return 0;
  }
  let world: World | null = null;
  try {
    world = commandWorld();
    const policyDir = required('policy', values.policy, 'the SFT checkpoint the policy starts from (lmkit sft --out <dir>)');
    const rmDir = required('rm', values.rm, 'the reward model checkpoint (lmkit rm --out <dir>)');
    const promptsFile = required('prompts', values.prompts, 'the prompt JSONL, one {"prompt"} per line');
    const outDir = required('out', values.out, 'the run folder for checkpoint/ and metrics.jsonl');
    const config = stageConfigFrom(values, { flag: 'iterations', text: values.iterations, key: 'iterations' }, ppoConfig);
    if (config.ptx_coef > 0)
      throw new ConfigError('CONFIG_INVALID', `ptx_coef is ${config.ptx_coef}, but lmkit ppo takes no pre-training data for PPO-ptx; set ptx_coef to 0 (or call ppo() with ptxBatch from code)`);

    const sftCkpt = readCheckpointOf('policy', policyDir, 'decoder', 'pass the SFT run folder (lmkit sft --out <dir>)');
    const rmCkpt = readCheckpointOf('rm', rmDir, 'reward', 'pass the reward model run folder (lmkit rm --out <dir>)');
    const tokenizer = sftCkpt.tokenizer;
    if (JSON.stringify(rmCkpt.tokenizer.toJSON()) !== JSON.stringify(tokenizer.toJSON()))
      throw new ConfigError('CONFIG_INVALID', `--rm ${rmDir}: the reward model's tokenizer differs from the policy's; train the reward model from this SFT checkpoint (lmkit rm --ckpt ${policyDir})`);
    const policy = decoderFromCheckpoint(sftCkpt);
    const reference = decoderFromCheckpoint(sftCkpt);
    const valueModel = rewardModelFromCheckpoint(rmCkpt);
    const rewardModel = rewardModelFromCheckpoint(rmCkpt);
    const records = await loadPromptJsonl(promptsFile);
    const prompts = records.map((r) => tokenizer.encode(r.prompt));

    const progress = stageProgress(rankZeroSink(world, process.stderr));
    const started = performance.now();
    const line = (s: PpoStepStats, iterations: number): string =>
      `iter ${s.iter}/${iterations}: reward ${s.score.toFixed(4)}, KL ${s.kl.toFixed(4)}, β ${s.klCoef.toFixed(4)}, policy loss ${s.policyLoss.toFixed(4)}, value loss ${s.valueLoss.toFixed(4)}, clip frac ${s.clipFrac.toFixed(3)}, entropy ${s.entropy.toFixed(3)}`;
    let result;
    try {
      result = ppo({
        config, policy, reference, valueModel, tokenizer, prompts, endTokenId: responseEndId(tokenizer), outDir, resume: values.resume ?? false, world,
        rewardFn: (sequences) => scoreSequences(rewardModel, sequences),
        onProgress: (e) => {
          if (e.type === 'start')
            progress.line(`${e.resumed ? `resuming at iteration ${e.iter}` : 'PPO'}: policy ${(e.policyParameters / 1e6).toFixed(2)}M and value model ${(e.valueParameters / 1e6).toFixed(2)}M parameters, ${e.prompts} prompts, ${e.batchSize} per rollout, ${e.iterations} iterations`);
          else if (e.type === 'checkpoint') progress.line(`iter ${e.iter}: checkpoint written to ${e.dir}`);
          else progress.step({
            iter: e.stats.iter, maxIters: e.iterations, etaSec: e.etaSec, plain: line(e.stats, e.iterations),
            stats: `reward ${e.stats.score.toFixed(3)} | KL ${e.stats.kl.toFixed(3)} | β ${e.stats.klCoef.toFixed(3)}`,
          });
        },
      });
    } finally {
      progress.end();
    }
    rankZeroLog(world, `done: ${result.iter} iterations in ${formatDuration((performance.now() - started) / 1000)}; checkpoint: ${result.checkpointDir}, metrics: ${path.join(outDir, 'metrics.jsonl')}`);
    if (world.rank !== 0) return 0; // rank 0 reports the results
    const h = result.history;
    if (h.length > 0) {
      const first = h[0]!, last = h[h.length - 1]!;
      console.log(`mean reward ${first.score.toFixed(4)} (iteration ${first.iter}) → ${last.score.toFixed(4)} (iteration ${last.iter}); KL ${last.kl.toFixed(4)} (target ${config.kl_target}), β ${result.klCoef.toFixed(4)}`);
    }
    return 0;
  } catch (err) {
    return commandExit(world, cliError(commandLabel('ppo', world), err));
  }
}
