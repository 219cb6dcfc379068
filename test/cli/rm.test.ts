// `lmkit rm`: the spawned command trains what trainRewardModel() trains from
// the same SFT checkpoint (head drawn from the seed), writes a reward model
// checkpoint, and prints the held-out pair accuracy evaluateRewardModel()
// gives on it; without --val it says so; bad rankings and checkpoint kinds
// are one-line errors naming file:line or the flag.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { runRm } from '../../lib/cli/rm.js';
import { writePreferenceJsonl } from '../../lib/data/records_jsonl.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { RewardModel, rewardModelFromCheckpoint } from '../../lib/models/reward_model.js';
import { renderPrompt } from '../../lib/stages/instruction_format.js';
import { evaluateRewardModel, trainRewardModel } from '../../lib/stages/reward.js';
import { rewardConfig } from '../../lib/stages/stage_config.js';
import { Random } from '../../lib/tensor/random.js';
import { captured, spawnLmkit } from '../helpers/cli_run.js';
import { expectBitwise } from '../helpers/compare.js';
import { saveTinyDecoder, saveTinyRewardModel } from '../helpers/stage_checkpoints.js';

const dir = t.testdir();
const base = path.join(dir, 'sft'), data = path.join(dir, 'prefs.jsonl'), valData = path.join(dir, 'val.jsonl');
saveTinyDecoder(base);
const prompt = (instruction: string, input: string) => renderPrompt({ instruction, input });
const prefs = [
  { prompt: prompt('Reverse', 'abc'), responses: ['cba', 'abc', 'bca'], ranking: [0, 2, 1] },
  { prompt: prompt('Add', '2 3'), responses: ['5', '6', 'five'], ranking: [0, 2, 1] },
  { prompt: prompt('Copy', 'xyz'), responses: ['xyz', 'zyx'], ranking: [0, 1] },
  { prompt: prompt('Greet', ''), responses: ['hello', 'go'], ranking: [0, 1] },
];
const val = [{ prompt: prompt('Reverse', 'dog'), responses: ['god', 'dog', 'odg'], ranking: [0, 2, 1] }];
writePreferenceJsonl(data, prefs);
writePreferenceJsonl(valData, val);
const keys = { batch_size: 2, learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: 1, eval_interval: 2, log_interval: 1 };
const setFlags = Object.entries(keys).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
const run = (argv: string[]) => captured(() => runRm(argv));

t.test('the spawned command trains as trainRewardModel() does and prints the held-out pair accuracy', async (t) => {
  const out = path.join(dir, 'out');
  const r = await spawnLmkit(['rm', '--ckpt', base, '--data', data, '--val', valData, '--out', out, '--max-iters', '4', ...setFlags]).done;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /training the reward model: 0\.\d\dM parameters, 4 prompts \/ 8 pairs to train on, 1 \/ 3 held out, 4 iterations/);
  t.match(r.stderr, /iter 2: val loss \d\.\d{4}, pair accuracy \d\.\d{4}/);
  t.match(r.stderr, /iter 4: checkpoint written to/);

  const ckpt = readCheckpoint(path.join(out, 'checkpoint'));
  t.equal(ckpt.trainerState!['stage'], 'reward');
  const trained = rewardModelFromCheckpoint(ckpt);
  const reference = RewardModel.fromDecoder(decoderFromCheckpoint(readCheckpoint(base)), new Random(1337));
  trainRewardModel({ config: rewardConfig({ ...keys, max_iters: 4 }), model: reference, tokenizer: ckpt.tokenizer, train: prefs, val });
  const want = reference.namedParameters();
  trained.namedParameters().forEach(([name, p], i) => expectBitwise(t, name, p.f32(), want[i]![1].f32()));
  const e = evaluateRewardModel(trained, ckpt.tokenizer, val);
  t.equal(e.pairs, 3);
  t.equal(r.stdout, `held-out pair accuracy ${e.accuracy.toFixed(4)} over 3 pairs (loss ${e.loss.toFixed(4)})\n`);
});

t.test('without --val: the training pair accuracy, labelled as such', async (t) => {
  const r = await run(['--ckpt', base, '--data', data, '--out', path.join(dir, 'noval'), '--max-iters', '1']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^train pair accuracy \d\.\d{4} over 8 pairs \(loss \d\.\d{4}\); no --val given, so no held-out accuracy\n$/);
});

t.test('errors: rankings that are not permutations, K < 2, wrong checkpoint kind, missing flags', async (t) => {
  const file = (name: string, line: string) => {
    const f = path.join(dir, name);
    writeFileSync(f, `${JSON.stringify(prefs[0])}\n${line}\n`);
    return f;
  };
  const rmDir = path.join(dir, 'rm');
  saveTinyRewardModel(rmDir);
  const out = (name: string) => ['--out', path.join(dir, name)];
  const cases: [string, string[], RegExp][] = [
    ['ranking repeats', ['--ckpt', base, '--data', file('rep.jsonl', '{"prompt":"p","responses":["a","b"],"ranking":[1,1]}'), ...out('e1')], /rep\.jsonl:2: field "ranking" lists 1 twice .* \[DATA_BAD_LINE\]/],
    ['K = 1', ['--ckpt', base, '--data', file('k1.jsonl', '{"prompt":"p","responses":["a"],"ranking":[0]}'), ...out('e2')], /k1\.jsonl:2: field "responses" has 1 response\(s\); a ranking needs K >= 2/],
    ['bad val file', ['--ckpt', base, '--data', data, '--val', file('v.jsonl', 'not json'), ...out('e3')], /v\.jsonl:2: not valid JSON/],
    ['reward checkpoint as --ckpt', ['--ckpt', rmDir, '--data', data, ...out('e4')], /--ckpt .*rm: .*describes a reward model checkpoint, not a decoder language model; the reward model starts from the SFT model \(lmkit sft --out <dir>\) \[CHECKPOINT_WRONG_KIND\]/],
    ['no --data', ['--ckpt', base, ...out('e5')], /--data is required/],
  ];
  for (const [name, argv, message] of cases) {
    const r = await run(argv);
    t.equal(r.code, 1, `${name}: exit 1`);
    t.match(r.stderr, message, name);
  }
});
