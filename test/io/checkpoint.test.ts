// Checkpoint directories: round trip, recovery from every crash point of the
// swap protocol, and CheckpointErrors naming the file for missing, truncated,
// hostile or mismatched contents.
import t from 'tap';
import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { locateCheckpoint, readCheckpoint, recoverCheckpoint, saveCheckpoint, type CheckpointContents } from '../../lib/io/checkpoint.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderCheckpointConfig, decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { exportWeights } from '../../lib/models/weights.js';

const tokenizer = CharTokenizer.fromCorpus('abcdefgh \n');
const modelConfig = { vocab_size: tokenizer.vocabSize, n_positions: 8, n_embd: 8, n_layer: 1, n_head: 2 };

function contents(seed: number, iter = 1): CheckpointContents {
  const model = new DecoderLM(modelConfig, seed);
  const m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
  for (const [name, p] of model.namedParameters()) (m[name] = new Float32Array(p.size).fill(seed), v[name] = new Float32Array(p.size).fill(iter));
  return { weights: exportWeights(model), config: decoderCheckpointConfig(model.config), tokenizer: tokenizer.toJSON(), optimizer: { step: iter, m, v }, trainerState: { iter } };
}

const weightsOf = (dir: string) => decoderFromCheckpoint(readCheckpoint(dir)).namedParameters().map(([, p]) => [...p.f32()]);

t.test('save then read gives back the model, tokenizer, optimizer moments and state', async (t) => {
  const dir = path.join(t.testdir(), 'ckpt');
  saveCheckpoint(dir, contents(1, 7), '9.9.9');
  const ckpt = readCheckpoint(dir, { training: true });
  t.same(weightsOf(dir), new DecoderLM(modelConfig, 1).namedParameters().map(([, p]) => [...p.f32()]));
  t.equal(ckpt.tokenizer.decode(ckpt.tokenizer.encode('bad cafe')), 'bad cafe');
  t.equal(ckpt.optimizer!.step, 7);
  t.equal(ckpt.optimizer!.m['transformer.wte.weight']![0], 1);
  t.same(ckpt.trainerState, { iter: 7 });
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  t.equal(config['lmkit_version'], '9.9.9');
  t.equal(config['model_type'], 'gpt2');
  t.equal(config['n_embd'], 8);
});

t.test('a crash at any point of the swap leaves a loadable checkpoint, old or new', async (t) => {
  const root = t.testdir();
  const dir = path.join(root, 'ckpt');
  saveCheckpoint(dir, contents(1), 'x');
  const oldWeights = weightsOf(dir);

  // Crash during step 1: a half-written temp folder beside the checkpoint.
  mkdirSync(`${dir}.tmp-99999`);
  writeFileSync(path.join(`${dir}.tmp-99999`, 'model.safetensors'), 'partial');
  t.same(weightsOf(dir), oldWeights, 'step 1: the old checkpoint loads');
  // Crash between steps 2 and 3: only <dir>.old exists.
  renameSync(dir, `${dir}.old`);
  t.equal(locateCheckpoint(dir), `${dir}.old`);
  t.same(weightsOf(dir), oldWeights, 'steps 2–3: readers fall back to <dir>.old');
  t.ok(recoverCheckpoint(dir), 'a writer renames it back');
  t.ok(existsSync(dir) && !existsSync(`${dir}.old`) && !existsSync(`${dir}.tmp-99999`), 'and removes the leftovers');
  // Crash between steps 3 and 4: new checkpoint in place, stale .old beside it.
  saveCheckpoint(dir, contents(2), 'x');
  const newWeights = weightsOf(dir);
  t.not(JSON.stringify(newWeights), JSON.stringify(oldWeights));
  cpSync(dir, `${dir}.old`, { recursive: true });
  t.same(weightsOf(dir), newWeights, 'steps 3–4: the new checkpoint loads');
  saveCheckpoint(dir, contents(3), 'x');
  t.notOk(existsSync(`${dir}.old`), 'the next save clears the stale .old');
});

t.test('missing, truncated, hostile and mismatched files are CheckpointErrors naming the file', async (t) => {
  const root = t.testdir();
  const fresh = (name: string): string => {
    const dir = path.join(root, name);
    saveCheckpoint(dir, contents(1), 'x');
    return dir;
  };
  t.throws(() => readCheckpoint(path.join(root, 'nothing')), { name: 'CheckpointError', code: 'CHECKPOINT_MISSING', message: /nothing: not a checkpoint/ });

  let dir = fresh('no-weights');
  rmSync(path.join(dir, 'model.safetensors'));
  t.throws(() => readCheckpoint(dir), { code: 'CHECKPOINT_MISSING', message: /no-weights\/model\.safetensors: missing/ });

  dir = fresh('no-optimizer');
  rmSync(path.join(dir, 'optimizer.safetensors'));
  t.ok(readCheckpoint(dir), 'sampling needs no optimizer state');
  t.throws(() => readCheckpoint(dir, { training: true }), { code: 'CHECKPOINT_MISSING', message: /optimizer\.safetensors: missing/ });

  dir = fresh('truncated');
  const weights = path.join(dir, 'model.safetensors');
  const bytes = readFileSync(weights);
  writeFileSync(weights, bytes.subarray(0, bytes.length - 10));
  t.throws(() => readCheckpoint(dir), { name: 'CheckpointError', code: 'CHECKPOINT_INVALID', message: /truncated\/model\.safetensors: .*(truncated|outside|cover)/ });

  dir = fresh('hostile');
  const hostile = Buffer.from(readFileSync(path.join(dir, 'model.safetensors')));
  hostile.writeBigUInt64LE(1n << 60n, 0); // header length far past the file
  writeFileSync(path.join(dir, 'model.safetensors'), hostile);
  t.throws(() => readCheckpoint(dir), { code: 'CHECKPOINT_INVALID', message: /hostile\/model\.safetensors: header length/ });

  dir = fresh('bad-json');
  writeFileSync(path.join(dir, 'config.json'), '{"n_embd": 8,');
  t.throws(() => readCheckpoint(dir), { code: 'CHECKPOINT_INVALID', message: /bad-json\/config\.json: not valid JSON/ });

  dir = fresh('mismatch');
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, n_embd: 16 }));
  t.throws(() => decoderFromCheckpoint(readCheckpoint(dir)), { name: 'CheckpointError', code: 'CHECKPOINT_MISMATCH', message: /mismatch\/model\.safetensors: .*shape/ });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, n_layr: 2 }));
  t.throws(() => decoderFromCheckpoint(readCheckpoint(dir)), { name: 'CheckpointError', message: /mismatch\/config\.json: unknown key "n_layr"/ });
  writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, vocab_size: 3 }));
  t.throws(() => readCheckpoint(dir), { code: 'CHECKPOINT_MISMATCH', message: /tokenizer\.json: the tokenizer has 10 tokens but config\.json says vocab_size 3/ });

  dir = fresh('bad-tokenizer');
  writeFileSync(path.join(dir, 'tokenizer.json'), '{"type": "lmkit-char", "version": 1, "chars": [1]}');
  t.throws(() => readCheckpoint(dir), { name: 'CheckpointError', message: /bad-tokenizer\/tokenizer\.json: .*chars/ });

  dir = fresh('bad-step');
  const opt = path.join(dir, 'optimizer.safetensors');
  writeFileSync(opt, readFileSync(opt).toString('latin1').replace('"step":"1"', '"step":"x"'), 'latin1');
  t.throws(() => readCheckpoint(dir, { training: true }), { code: 'CHECKPOINT_INVALID', message: /optimizer\.safetensors: metadata "step"/ });
});

t.test('attachments: saved in subfolders and swapped in with the checkpoint as one', async (t) => {
  const dir = path.join(t.testdir(), 'ckpt');
  saveCheckpoint(dir, { ...contents(1, 1), attachments: { value: contents(2, 1) } }, 'test');
  t.same(weightsOf(path.join(dir, 'value')), new DecoderLM(modelConfig, 2).namedParameters().map(([, p]) => [...p.f32()]), 'the attachment holds its own model');
  t.equal(readCheckpoint(path.join(dir, 'value'), { training: true }).optimizer!.m['transformer.wte.weight']![0], 2);
  t.same(weightsOf(dir), new DecoderLM(modelConfig, 1).namedParameters().map(([, p]) => [...p.f32()]), 'the main checkpoint still reads as itself');

  // A crash between the two renames: <dir>.old holds the previous pair, whole.
  saveCheckpoint(dir, { ...contents(3, 2), attachments: { value: contents(4, 2) } }, 'test');
  renameSync(dir, `${dir}.old`);
  t.same(readCheckpoint(path.join(locateCheckpoint(dir)!, 'value')).trainerState, { iter: 2 }, 'the located folder has the attachment of its own iteration');
  t.ok(recoverCheckpoint(dir));
  t.same(weightsOf(path.join(dir, 'value')), new DecoderLM(modelConfig, 4).namedParameters().map(([, p]) => [...p.f32()]));
  t.throws(() => saveCheckpoint(dir, { ...contents(1), attachments: { '../x': contents(2) } }, 'test'), { name: 'CheckpointError', code: 'CHECKPOINT_WRITE', message: /attachment name "\.\.\/x" must be a plain folder name\); the previous checkpoint is intact/ });
  t.same(weightsOf(dir), new DecoderLM(modelConfig, 3).namedParameters().map(([, p]) => [...p.f32()]), 'the failed save left the previous one');
});
