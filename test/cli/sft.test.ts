// `lmkit sft`: the spawned command trains what sft() trains on the same
// checkpoint, data and config (bitwise), logs progress, eval and checkpoint
// lines, and prints the val loss evaluateSft() gives; --resume continues
// bitwise; bad flags, files, lines and checkpoint kinds are one-line errors.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runSft } from '../../lib/cli/sft.js';
import { writeInstructionJsonl } from '../../lib/data/records_jsonl.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { evaluateSft, sft } from '../../lib/stages/sft.js';
import { sftConfig } from '../../lib/stages/stage_config.js';
import { captured, spawnLmkit } from '../helpers/cli_run.js';
import { expectBitwise } from '../helpers/compare.js';
import { saveTinyGlm, saveTinyDecoder, saveTinyRewardModel } from '../helpers/stage_checkpoints.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';

const dir = t.testdir();
const base = path.join(dir, 'base'), data = path.join(dir, 'train.jsonl'), valData = path.join(dir, 'val.jsonl');
saveTinyDecoder(base);
const train = [
  { instruction: 'Reverse', input: 'abc', output: 'cba' }, { instruction: 'Greet', input: '', output: 'hello' },
  { instruction: 'Add', input: '2 3', output: '5' }, { instruction: 'Copy', input: 'xyz', output: 'xyz' },
];
writeInstructionJsonl(data, train);
writeInstructionJsonl(valData, train.slice(0, 2));
// lr_decay_iters fixed: it would otherwise follow --max-iters, and the 3-iteration leg of a resume would decay faster.
const keys = { batch_size: 2, lr_decay_iters: 6, log_interval: 2, eval_interval: 3, checkpoint_interval: 3, learning_rate: 1e-2, min_lr: 1e-3, warmup_iters: 1 };
const setFlags = Object.entries(keys).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
const run = (argv: string[]) => captured(() => runSft(argv));

t.test('the spawned command trains as sft() does and prints the val loss', async (t) => {
  const out = path.join(dir, 'out');
  const r = await spawnLmkit(['sft', '--ckpt', base, '--data', data, '--val', valData, '--out', out, '--max-iters', '6', ...setFlags]).done;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /fine-tuning: 0\.\d\dM parameters, 4 train \/ 2 val examples, \d+ output tokens, 6 iterations/);
  t.match(r.stderr, /iter 2\/6: loss \d+\.\d{4}, lr .*tok\/s, grad norm .*ETA/);
  t.match(r.stderr, /iter 3: checkpoint written to .*checkpoint/);
  t.match(r.stderr, /iter 6: val loss \d+\.\d{4}/);
  t.match(r.stderr, /done: 6 iterations in .*metrics: .*metrics\.jsonl/);

  const ckpt = readCheckpoint(path.join(out, 'checkpoint'));
  const reference = decoderFromCheckpoint(readCheckpoint(base));
  sft({ config: sftConfig({ ...keys, max_iters: 6 }), model: reference, tokenizer: ckpt.tokenizer, train, val: train.slice(0, 2) });
  const trained = decoderFromCheckpoint(ckpt);
  const want = reference.namedParameters();
  trained.namedParameters().forEach(([name, p], i) => expectBitwise(t, name, p.f32(), want[i]![1].f32()));
  const loss = evaluateSft(trained, ckpt.tokenizer, train.slice(0, 2)).loss;
  t.equal(r.stdout, `val loss per output token ${loss.toFixed(4)}\n`);
  const metrics = readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event: string; iter: number });
  t.same(metrics.filter((m) => m.event === 'train').map((m) => m.iter), [2, 4, 6]);
  t.same(metrics.filter((m) => m.event === 'eval').map((m) => m.iter), [0, 3, 6]);

  // In-process: 3 iterations, then --resume to 6, ends bitwise where the spawned run did.
  const split = path.join(dir, 'split');
  const common = ['--ckpt', base, '--data', data, '--val', valData, '--out', split, ...setFlags];
  t.equal((await run([...common, '--max-iters', '3'])).code, 0);
  const resumed = await run([...common, '--max-iters', '6', '--resume']);
  t.equal(resumed.code, 0, resumed.stderr);
  const after = decoderFromCheckpoint(readCheckpoint(path.join(split, 'checkpoint'))).namedParameters();
  after.forEach(([name, p], i) => expectBitwise(t, `resumed ${name}`, p.f32(), want[i]![1].f32()));
});

t.test('errors: flags, files, JSONL lines, checkpoint kinds, config keys', async (t) => {
  const bad = path.join(dir, 'bad.jsonl');
  writeFileSync(bad, `${JSON.stringify(train[0])}\n{"instruction": "x", "output": }\n`);
  const empty = path.join(dir, 'empty-output.jsonl');
  writeFileSync(empty, '{"instruction":"x","input":"","output":""}\n');
  const glm = path.join(dir, 'glm'), rm = path.join(dir, 'rm'), plain = path.join(dir, 'plain');
  saveTinyGlm(glm);
  saveTinyRewardModel(rm);
  saveTinyCheckpoint(plain);
  const out = (name: string) => ['--out', path.join(dir, name)];
  const cases: [string, string[], number, RegExp][] = [
    ['no --ckpt', ['--data', data, ...out('e1')], 1, /^lmkit sft: --ckpt is required: the pre-trained decoder checkpoint .* \[CONFIG_MISSING\]\n$/],
    ['no --out', ['--ckpt', base, '--data', data], 1, /--out is required/],
    ['unknown flag', ['--ckpt', base, '--fast'], 2, /^lmkit sft: Unknown option '--fast'.*Run: lmkit sft --help\n$/],
    ['missing data file', ['--ckpt', base, '--data', path.join(dir, 'nope.jsonl'), ...out('e2')], 1, /nope\.jsonl: no such file \[DATA_MISSING\]/],
    ['malformed line', ['--ckpt', base, '--data', bad, ...out('e3')], 1, /bad\.jsonl:2: not valid JSON .* \[DATA_BAD_LINE\]/],
    ['empty output', ['--ckpt', base, '--data', empty, ...out('e4')], 1, /empty-output\.jsonl:1: field "output" is empty/],
    ['GLM checkpoint', ['--ckpt', glm, '--data', data, ...out('e5')], 1, /--ckpt .*glm: .*config\.json describes a GLM checkpoint, not a decoder language model; pass a pre-trained decoder .* \[CHECKPOINT_WRONG_KIND\]/],
    ['reward checkpoint', ['--ckpt', rm, '--data', data, ...out('e6')], 1, /describes a reward model checkpoint, not a decoder language model/],
    ['no checkpoint', ['--ckpt', path.join(dir, 'none'), '--data', data, ...out('e7')], 1, /none: not a checkpoint .* \[CHECKPOINT_MISSING\]/],
    ['tokenizer without <|end|>', ['--ckpt', plain, '--data', data, ...out('e8')], 1, /the tokenizer has no "<\|end\|>" token/],
    ['unknown config key', ['--ckpt', base, '--data', data, ...out('e9'), '--set', 'lr=1'], 1, /--set\/--max-iters\/--seed: unknown key "lr"/],
    ['missing --config file', ['--ckpt', base, '--data', data, ...out('e10'), '--config', path.join(dir, 'c.json')], 1, /--config .*c\.json: cannot read the config \(no such file\) \[CONFIG_UNREADABLE\]/],
    ['bad --max-iters', ['--ckpt', base, '--data', data, ...out('e11'), '--max-iters', '3x'], 1, /--max-iters: expected a number, got "3x" \[CONFIG_INVALID\]/],
    ['existing run without --resume', ['--ckpt', base, '--data', data, '--out', path.join(dir, 'out')], 1, /already holds a checkpoint; pass resume/],
    ['--resume with nothing to resume', ['--ckpt', base, '--data', data, ...out('e12'), '--resume'], 1, /nothing to resume/],
  ];
  for (const [name, argv, code, message] of cases) {
    const r = await run(argv);
    t.equal(r.code, code, `${name}: exit ${code}`);
    t.match(r.stderr, message, name);
  }
  const help = await run(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: lmkit sft --ckpt <pretrained dir> --data <instructions\.jsonl> --out <dir>/);
});
