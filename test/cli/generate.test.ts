// `lmkit generate`: what it prints equals generate() / stream() called
// directly on the same checkpoint (greedy, batched, beams, sampling, JSON,
// streaming); Ctrl-C during --stream exits 130; bad flags are one-line errors.
import t from 'tap';
import path from 'node:path';
import { runGenerate } from '../../lib/cli/generate.js';
import { generate } from '../../lib/generate/generate.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { captured, spawnLmkit } from '../helpers/cli_run.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';

const dir = t.testdir();
const ckptDir = path.join(dir, 'ckpt');
saveTinyCheckpoint(ckptDir);
const ckpt = readCheckpoint(ckptDir);
const model = decoderFromCheckpoint(ckpt).eval();
const tok = ckpt.tokenizer;
const run = (argv: string[]) => captured(() => runGenerate(argv));
const jsonLines = (s: string) => s.trim().split('\n').map((l) => JSON.parse(l) as { prompt: number; sequence: number; ids: number[]; text: string; finishReason: string; score?: number });

t.test('the spawned command prints prompt + greedy continuation, as generate() gives it', async (t) => {
  const r = await spawnLmkit(['generate', '--ckpt', ckptDir, '--prompt', 'hello', '--max-new-tokens', '20']).done;
  t.equal(r.code, 0, r.stderr);
  const [seq] = generate(model, tok, 'hello', { maxNewTokens: 20 })[0]!;
  t.equal(seq!.ids.length, 20);
  t.equal(r.stdout, 'hello' + seq!.text + '\n');
});

t.test('several prompts: numbered results; JSON lines equal the batched and the one-at-a-time generate()', async (t) => {
  const prompts = ['hello', 'Good day, sir', 'a'];
  const argv = ['--ckpt', ckptDir, ...prompts.flatMap((p) => ['--prompt', p]), '--max-new-tokens', '12', '--repetition-penalty', '1.3'];
  const text = await run(argv);
  t.equal(text.code, 0, text.stderr);
  const batched = generate(model, tok, prompts, { maxNewTokens: 12, repetitionPenalty: 1.3 });
  t.equal(text.stdout, prompts.map((p, i) => `[${i + 1}] (length)\n${p}${batched[i]![0]!.text}\n`).join(''));
  const json = await run([...argv, '--json']);
  const lines = jsonLines(json.stdout);
  t.equal(lines.length, 3);
  lines.forEach((l, i) => {
    const alone = generate(model, tok, prompts[i]!, { maxNewTokens: 12, repetitionPenalty: 1.3 })[0]![0]!;
    t.same(l, { prompt: i, sequence: 0, ids: alone.ids, text: alone.text, finishReason: 'length' }, `prompt ${i}`);
  });
});

t.test('--beams / --num-return give N scored results, best first, as beam search does', async (t) => {
  const argv = ['--ckpt', ckptDir, '--prompt', 'To be', '--prompt', 'or', '--max-new-tokens', '8', '--beams', '4', '--num-return', '3', '--length-penalty', '0.5', '--early-stopping', 'true', '--json'];
  const r = await run(argv);
  t.equal(r.code, 0, r.stderr);
  const lines = jsonLines(r.stdout);
  t.equal(lines.length, 6);
  const ref = generate(model, tok, ['To be', 'or'], { maxNewTokens: 8, numBeams: 4, numReturnSequences: 3, lengthPenalty: 0.5, earlyStopping: true });
  lines.forEach((l) => {
    const s = ref[l.prompt]![l.sequence]!;
    t.same(l, { prompt: l.prompt, sequence: l.sequence, ids: s.ids, text: s.text, finishReason: s.finishReason, score: s.score });
  });
  for (let p = 0; p < 2; p++) {
    const scores = lines.filter((l) => l.prompt === p).map((l) => l.score!);
    t.same(scores, [...scores].sort((a, b) => b - a), `prompt ${p}: best first`);
  }
  const text = await run(argv.slice(0, -1));
  t.match(text.stdout, /^\[1\.1\] \(length, score -?\d+\.\d{4}\)\nTo be/);
  t.equal(text.stdout.split('\n').filter((l) => /^\[\d\.\d\]/.test(l)).length, 6);
});

t.test('--stream prints what the non-streamed command prints (greedy, seeded sampling, a stop string)', async (t) => {
  const sampled = ['--max-new-tokens', '30', '--temperature', '1.5', '--seed', '11'];
  // A stop string taken from the middle of the unstopped sample, so it certainly occurs.
  const free = generate(model, tok, 'Wherefore', { maxNewTokens: 30, temperature: 1.5, seed: 11 })[0]![0]!.text;
  const stop = free.slice(12, 14);
  const variants = [['--max-new-tokens', '30'], ['--max-new-tokens', '30', '--temperature', '1.2', '--top-p', '0.95', '--seed', '3'], [...sampled, '--stop', stop]];
  for (const v of variants) {
    const argv = ['--ckpt', ckptDir, '--prompt', 'Wherefore', ...v];
    const plain = await run(argv), streamed = await run([...argv, '--stream']);
    t.equal(streamed.code, 0, streamed.stderr);
    t.equal(streamed.stdout, plain.stdout, v.join(' '));
  }
  const [line] = jsonLines((await run(['--ckpt', ckptDir, '--prompt', 'Wherefore', ...sampled, '--stop', stop, '--json'])).stdout);
  t.equal(line!.finishReason, 'stop', `stopped at ${JSON.stringify(stop)}`);
  t.equal(line!.text, free.slice(0, free.indexOf(stop)));
});

t.test('SIGINT during --stream aborts between tokens and exits 130', async (t) => {
  const longDir = path.join(dir, 'long');
  saveTinyCheckpoint(longDir, { nPositions: 4096 });
  const { child, done } = spawnLmkit(['generate', '--ckpt', longDir, '--prompt', 'hi', '--max-new-tokens', '4000', '--temperature', '1', '--stream']);
  let seen = '';
  await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((seen += d), seen.length > 10 && resolve())));
  child.kill('SIGINT');
  const r = await done;
  t.equal(r.code, 130, r.stderr);
  t.match(r.stderr, /lmkit generate: interrupted/);
  t.ok(r.stdout.length < 2 + 4000, `stopped early (${r.stdout.length - 2} characters of 4000)`);
});

t.test('bad flags and values: one-line errors, non-zero exit, nothing generated', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['--ckpt', ckptDir, '--prompt', 'a', '--beam', '2'], 2, /Unknown option '--beam'.*lmkit generate --help/],
    [['--prompt', 'a'], 1, /--ckpt is required/],
    [['--ckpt', ckptDir], 1, /--prompt is required/],
    [['--ckpt', ckptDir, '--prompt', ''], 1, /--prompt 1 is empty/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--prompt', ''], 1, /--prompt 2 is empty/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--beams', '2', '--num-return', '3'], 1, /--num-return 3 exceeds --beams 2/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--prompt', 'b', '--stream'], 1, /--stream .* takes one --prompt.*got 2 prompt/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--beams', '3', '--stream'], 1, /--stream .*--beams 3/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--max-new-tokens', '500'], 1, /--max-new-tokens 500 .* exceed the model's context of 96/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--top-k', '1.5'], 1, /--top-k: expected an integer ≥ 0, got "1.5"/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--top-p', '0'], 1, /--top-p must be in \(0, 1\]/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--temperature', 'hot'], 1, /--temperature: expected a number, got "hot"/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--early-stopping', 'yes'], 1, /--early-stopping: expected true, false or never/],
    [['--ckpt', ckptDir, '--prompt', 'a', '--num-return', '2'], 1, /--num-return 2 with greedy decoding/],
    [['--ckpt', ckptDir, '--prompt', 'a€'], 1, /unknown character "€"/],
    [['--ckpt', path.join(dir, 'nope'), '--prompt', 'a'], 1, /nope: not a checkpoint/],
  ];
  for (const [argv, code, message] of cases) {
    const r = await run(argv);
    t.equal(r.code, code, `${argv.join(' ')} → exit ${code}`);
    t.match(r.stderr, message, r.stderr.trim());
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.equal(r.stdout, '', 'nothing printed');
  }
});

t.test('a GLM checkpoint fills the prompt\'s [MASK] as generate() does; an encoder checkpoint is refused', async (t) => {
  const { GLM } = await import('../../lib/models/glm.js');
  const { EncoderLM } = await import('../../lib/models/encoder.js');
  const { modelCheckpointConfig } = await import('../../lib/models/model_checkpoint.js');
  const { saveCheckpoint } = await import('../../lib/io/checkpoint.js');
  const { exportWeights } = await import('../../lib/models/weights.js');
  const { CharTokenizer } = await import('../../lib/tokenizer/char.js');
  const glmTok = CharTokenizer.fromCorpus('abc de', { specialTokens: ['[PAD]', '[MASK]', '[gMASK]', '[S]', '[E]'] });
  const glm = new GLM({ vocab_size: glmTok.vocabSize, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2 }, 3).eval();
  const glmDir = path.join(dir, 'glm');
  saveCheckpoint(glmDir, { weights: exportWeights(glm), config: modelCheckpointConfig(glm), tokenizer: glmTok.toJSON() }, 'test');
  const r = await run(['--ckpt', glmDir, '--prompt', 'ab [MASK] de', '--max-new-tokens', '6', '--json']);
  t.equal(r.code, 0, r.stderr);
  const [want] = generate(glm, glmTok, 'ab [MASK] de', { maxNewTokens: 6 })[0]!;
  t.same(jsonLines(r.stdout)[0]!.ids, want!.ids, 'same tokens as generate() on the GLM');

  const encoder = new EncoderLM({ vocab_size: glmTok.vocabSize, max_position_embeddings: 32, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32 }, 3);
  const encDir = path.join(dir, 'encoder');
  saveCheckpoint(encDir, { weights: exportWeights(encoder), config: modelCheckpointConfig(encoder), tokenizer: glmTok.toJSON() }, 'test');
  const refused = await run(['--ckpt', encDir, '--prompt', 'ab']);
  t.equal(refused.code, 1);
  t.match(refused.stderr, /encoder \(BERT\) checkpoint, which predicts masked tokens but does not generate text/);
});
