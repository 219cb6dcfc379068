// `lmkit ppo`: the spawned command runs what ppo() runs on the same SFT and
// reward-model checkpoints (policy and reference from SFT, value model from
// the RM): the per-iteration lines print the stats metrics.jsonl holds, and
// the policy is bitwise ppo()'s; --resume continues bitwise; wrong checkpoint
// kinds, bad prompt files and PPO-ptx without data are one-line errors.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runPpo } from '../../lib/cli/ppo.js';
import { writePromptJsonl } from '../../lib/data/records_jsonl.js';
import { readCheckpoint, saveCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { RewardModel, rewardModelCheckpointConfig, rewardModelFromCheckpoint, scoreSequences } from '../../lib/models/reward_model.js';
import { exportWeights } from '../../lib/models/weights.js';
import { renderPrompt, responseEndId } from '../../lib/stages/instruction_format.js';
import { ppo } from '../../lib/stages/ppo.js';
import { Random } from '../../lib/tensor/random.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { captured, spawnLmkit } from '../helpers/cli_run.js';
import { expectBitwise } from '../helpers/compare.js';
import { STAGE_ALPHABET, saveTinyDecoder, saveTinyRewardModel, tinyDecoder } from '../helpers/stage_checkpoints.js';

const dir = t.testdir();
const sftDir = path.join(dir, 'sft'), rmDir = path.join(dir, 'rm'), promptsFile = path.join(dir, 'prompts.jsonl');
saveTinyDecoder(sftDir);
saveTinyRewardModel(rmDir, 9);
const records = ['Reverse abc', 'Add 2 3', 'Copy xyz', 'Greet', 'Count aaa'].map((instruction) => ({ prompt: renderPrompt({ instruction, input: '' }) }));
writePromptJsonl(promptsFile, records);
const keys = { batch_size: 4, mini_batch_size: 2, ppo_epochs: 1, max_new_tokens: 6, checkpoint_interval: 2, learning_rate: 1e-3, value_learning_rate: 1e-3 };
const setFlags = Object.entries(keys).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
const run = (argv: string[]) => captured(() => runPpo(argv));

t.test('the spawned command runs what ppo() runs and prints reward and KL per iteration', async (t) => {
  const out = path.join(dir, 'out');
  const r = await spawnLmkit(['ppo', '--policy', sftDir, '--rm', rmDir, '--prompts', promptsFile, '--out', out, '--iterations', '3', ...setFlags]).done;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /PPO: policy 0\.\d\dM and value model 0\.\d\dM parameters, 5 prompts, 4 per rollout, 3 iterations/);
  const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  t.equal(metrics.length, 3, 'one metrics line per iteration');
  for (const m of metrics)
    t.match(r.stderr, `iter ${m['iter']}/3: reward ${m['score']!.toFixed(4)}, KL ${m['kl']!.toFixed(4)}, β ${m['kl_coef']!.toFixed(4)}, policy loss ${m['policy_loss']!.toFixed(4)}`, `iteration ${m['iter']}'s line shows its logged stats`);
  t.match(r.stderr, /iter 2: checkpoint written to .*checkpoint\n/);
  t.equal(metrics[0]!['kl'], 0, 'iteration 1: the policy is the reference');

  // The same run in-process.
  const sft = readCheckpoint(sftDir), rmCkpt = readCheckpoint(rmDir);
  const tok = sft.tokenizer;
  const policy = decoderFromCheckpoint(sft), rewardModel = rewardModelFromCheckpoint(rmCkpt);
  const result = ppo({
    config: { ...keys, iterations: 3 }, policy, reference: decoderFromCheckpoint(sft), valueModel: rewardModelFromCheckpoint(rmCkpt),
    rewardFn: (s) => scoreSequences(rewardModel, s), prompts: records.map((p) => tok.encode(p.prompt)), endTokenId: responseEndId(tok),
  });
  t.same(metrics.map((m) => m['score']), result.history.map((s) => s.score), 'the logged rewards are ppo()\'s');
  const want = policy.namedParameters();
  decoderFromCheckpoint(readCheckpoint(path.join(out, 'checkpoint'))).namedParameters().forEach(([name, p], i) => expectBitwise(t, name, p.f32(), want[i]![1].f32()));
  const last = result.history[2]!;
  t.equal(r.stdout, `mean reward ${result.history[0]!.score.toFixed(4)} (iteration 1) → ${last.score.toFixed(4)} (iteration 3); KL ${last.kl.toFixed(4)} (target 6), β ${result.klCoef.toFixed(4)}\n`);

  // --resume: 2 iterations, then on to 3, ends bitwise where the spawned run did.
  const split = path.join(dir, 'split');
  const common = ['--policy', sftDir, '--rm', rmDir, '--prompts', promptsFile, '--out', split, ...setFlags];
  t.equal((await run([...common, '--iterations', '2'])).code, 0);
  const resumed = await run([...common, '--iterations', '3', '--resume']);
  t.equal(resumed.code, 0, resumed.stderr);
  decoderFromCheckpoint(readCheckpoint(path.join(split, 'checkpoint'))).namedParameters().forEach(([name, p], i) => expectBitwise(t, `resumed ${name}`, p.f32(), want[i]![1].f32()));
});

t.test('errors: checkpoint kinds, tokenizers, prompt files, PPO-ptx, flags', async (t) => {
  const otherTok = CharTokenizer.fromCorpus(STAGE_ALPHABET.replace(',', '!'), { specialTokens: ['<|end|>'] }); // same size, other characters
  const otherRm = path.join(dir, 'other-rm');
  const rm = RewardModel.fromDecoder(tinyDecoder(), new Random(1));
  saveCheckpoint(otherRm, { weights: exportWeights(rm), config: rewardModelCheckpointConfig(rm), tokenizer: otherTok.toJSON() }, 'test');
  const badPrompts = path.join(dir, 'bad.jsonl');
  writeFileSync(badPrompts, `${JSON.stringify(records[0])}\n{"prompt": ""}\n`);
  const longPrompts = path.join(dir, 'long.jsonl');
  writePromptJsonl(longPrompts, [{ prompt: 'a'.repeat(60) }]);
  const args = (over: Record<string, string>, extra: string[] = []) =>
    Object.entries({ policy: sftDir, rm: rmDir, prompts: promptsFile, out: path.join(dir, `e${Math.random()}`), ...over }).flatMap(([k, v]) => (v === '' ? [] : [`--${k}`, v])).concat(extra);
  const cases: [string, string[], RegExp][] = [
    ['--rm is a decoder', args({ rm: sftDir }), /--rm .*sft: .*describes a decoder language model checkpoint, not a reward model; pass the reward model run folder \(lmkit rm --out <dir>\) \[CHECKPOINT_WRONG_KIND\]/],
    ['--policy is a reward model', args({ policy: rmDir }), /--policy .*rm: .*describes a reward model checkpoint, not a decoder language model/],
    ['tokenizers differ', args({ rm: otherRm }), /--rm .*other-rm: the reward model's tokenizer differs from the policy's/],
    ['empty prompt line', args({ prompts: badPrompts }), /bad\.jsonl:2: field "prompt" is empty.* \[DATA_BAD_LINE\]/],
    ['missing prompt file', args({ prompts: path.join(dir, 'none.jsonl') }), /none\.jsonl: no such file/],
    ['prompt too long', args({ prompts: longPrompts }), /prompt 0 \(60 tokens\) \+ max_new_tokens 16 exceed the policy's context of 64 positions/],
    ['PPO-ptx', args({}, ['--set', 'ptx_coef=0.5']), /ptx_coef is 0\.5, but lmkit ppo takes no pre-training data/],
    ['bad config value', args({}, ['--set', 'init_kl_coef=-1']), /init_kl_coef must be a finite number ≥ 0, got -1/],
    ['no --rm', args({ rm: '' }), /--rm is required/],
  ];
  for (const [name, argv, message] of cases) {
    const r = await run(argv);
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.stderr, message, name);
  }
  t.equal((await run(['--policy', sftDir, '--bogus'])).code, 2, 'an unknown flag is a usage error');
});
