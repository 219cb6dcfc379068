// Checkpoints of every family: a model saved with modelCheckpointConfig and
// loaded with modelFromCheckpoint gives bitwise the same logits; config.json
// records the family; loaders refuse a checkpoint of the wrong family, and
// config.json files that contradict themselves.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { saveCheckpoint } from '../../lib/io/checkpoint.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { ARCHS, archOf, type Arch, type LanguageModel } from '../../lib/models/arch.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderCheckpointConfig, decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { EncoderDecoderLM } from '../../lib/models/encoder_decoder.js';
import { EncoderLM } from '../../lib/models/encoder.js';
import { GLM } from '../../lib/models/glm.js';
import { modelCheckpointConfig, modelFromCheckpoint } from '../../lib/models/model_checkpoint.js';
import { exportWeights } from '../../lib/models/weights.js';
import { gMaskExample, collateGlm } from '../../lib/objectives/blank_infilling.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';

const tokenizer = CharTokenizer.fromCorpus('abcdefghijklmnop', { specialTokens: ['[PAD]', '[MASK]', '[gMASK]', '[S]', '[E]'] });
const V = tokenizer.vocabSize;

const make: Record<Arch, (seed: number) => LanguageModel> = {
  decoder: (seed) => new DecoderLM({ vocab_size: V, n_positions: 12, n_embd: 16, n_layer: 2, n_head: 2, bias: false }, seed),
  encoder: (seed) => new EncoderLM({ vocab_size: V, hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2, max_position_embeddings: 12, hidden_dropout_prob: 0 }, seed),
  'encoder-decoder': (seed) => new EncoderDecoderLM({ vocab_size: V, d_model: 16, num_layers: 2, num_heads: 2, max_position_embeddings: 12, dropout_rate: 0, pad_token_id: 16, eos_token_id: 17 }, seed),
  glm: (seed) => new GLM({ vocab_size: V, n_positions: 12, n_embd: 16, n_layer: 2, n_head: 2 }, seed),
};

const ids = new Tensor(Int32Array.from([1, 4, 2, 8, 5, 7, 3, 9, 0, 6, 11, 12, 13, 2]), [2, 7]);
const glmBatch = collateGlm([gMaskExample([1, 4, 2, 8, 5], 3, { mask: 17, gmask: 18, start: 19, end: 20 })], 16);

/** Each family's logits on a fixed input. */
function logits(model: LanguageModel): Float32Array {
  return noGrad(() => {
    if (model instanceof EncoderLM) return model.mlmLogits(ids).f32();
    if (model instanceof EncoderDecoderLM) return model.forward(ids, undefined, ids).f32();
    if (model instanceof GLM) return model.forward(glmBatch.input, glmBatch.positions, glmBatch.blockPositions, glmBatch.prefixLen).f32();
    return model.forward(ids).f32();
  }).slice();
}

function save(dir: string, model: LanguageModel): void {
  saveCheckpoint(dir, { weights: exportWeights(model), config: modelCheckpointConfig(model), tokenizer: tokenizer.toJSON() }, 'test');
}

const bitwise = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer).equals(Buffer.from(b.buffer));

for (const arch of ARCHS) {
  t.test(`${arch}: save, then modelFromCheckpoint gives the same family and bitwise the same logits`, async (t) => {
    const dir = path.join(t.testdir(), 'ckpt');
    const model = make[arch](5);
    save(dir, model);
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    t.equal(config['lmkit_arch'], arch, 'config.json records the arch');
    const loaded = modelFromCheckpoint(dir);
    t.equal(archOf(loaded), arch);
    t.equal(loaded.constructor, model.constructor);
    t.same(loaded.config, model.config, 'the same config');
    const want = logits(model);
    t.ok(bitwise(logits(loaded), want), `${want.length} logits bitwise equal`);
    t.notOk(bitwise(logits(make[arch](6)), want), 'another seed gives other logits (the comparison can fail)');
    t.same(loaded.namedParameters().map(([n]) => n), Object.keys(exportWeights(model)), 'parameter names as saved');
    // The typed loader returns the class for the arch asked for.
    t.equal(modelFromCheckpoint(readCheckpoint(dir), arch).constructor, model.constructor);
  });
}

t.test('config.json uses each family\'s key names and model_type', async (t) => {
  t.match(modelCheckpointConfig(make.encoder(1)), { model_type: 'lmkit-bert', lmkit_arch: 'encoder', hidden_size: 16, num_hidden_layers: 2, num_attention_heads: 2 });
  t.match(modelCheckpointConfig(make['encoder-decoder'](1)), { model_type: 'lmkit-t5', lmkit_arch: 'encoder-decoder', d_model: 16, num_layers: 2, eos_token_id: 17 });
  t.match(modelCheckpointConfig(make.glm(1)), { model_type: 'glm', lmkit_arch: 'glm', n_embd: 16, n_positions: 12 });
  t.match(modelCheckpointConfig(make.decoder(1)), { model_type: 'lmkit-decoder', lmkit_arch: 'decoder', n_embd: 16 });
  const names = Object.keys(exportWeights(make.encoder(1)));
  t.ok(names.includes('bert.embeddings.word_embeddings.weight') && names.includes('cls.predictions.bias'), 'BERT parameter names');
  t.ok(Object.keys(exportWeights(make['encoder-decoder'](1))).includes('shared.weight'), 'T5 parameter names');
});

t.test('a checkpoint of another family is refused, naming both', async (t) => {
  const root = t.testdir();
  const glmDir = path.join(root, 'glm');
  save(glmDir, make.glm(1));
  t.throws(() => modelFromCheckpoint(glmDir, 'encoder'), { name: 'CheckpointError', code: 'CHECKPOINT_WRONG_ARCH', message: /glm checkpoint, not the encoder one/ });
  t.throws(() => decoderFromCheckpoint(readCheckpoint(glmDir)), { code: 'CHECKPOINT_WRONG_ARCH', message: /glm checkpoint, but a decoder.*modelFromCheckpoint\(\) loads any family/ });
});

t.test('checkpoints written before lmkit_arch load by model_type; contradictions are errors', async (t) => {
  const root = t.testdir();
  const legacy = path.join(root, 'legacy');
  const decoder = new DecoderLM({ vocab_size: V, n_positions: 12, n_embd: 16, n_layer: 1, n_head: 2 }, 3);
  const { lmkit_arch: _arch, ...old } = decoderCheckpointConfig(decoder.config);
  saveCheckpoint(legacy, { weights: exportWeights(decoder), config: old, tokenizer: tokenizer.toJSON() }, 'old');
  t.equal(archOf(modelFromCheckpoint(legacy)), 'decoder', 'model_type gpt2 → decoder');
  t.ok(bitwise(logits(decoderFromCheckpoint(readCheckpoint(legacy))), logits(decoder)));

  const glmDir = path.join(root, 'glm');
  save(glmDir, make.glm(1));
  const file = path.join(glmDir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  writeFileSync(file, JSON.stringify({ ...config, lmkit_arch: undefined }));
  t.equal(archOf(modelFromCheckpoint(glmDir)), 'glm', 'model_type glm → glm');
  writeFileSync(file, JSON.stringify({ ...config, lmkit_arch: 'encoder' }));
  t.throws(() => modelFromCheckpoint(glmDir), { code: 'CHECKPOINT_INVALID', message: /lmkit_arch "encoder" does not match model_type "glm"/ });
  writeFileSync(file, JSON.stringify({ ...config, lmkit_arch: 'bert' }));
  t.throws(() => modelFromCheckpoint(glmDir), { code: 'CHECKPOINT_INVALID', message: /lmkit_arch is "bert".*decoder, encoder, encoder-decoder, glm/ });
  writeFileSync(file, JSON.stringify({ ...config, n_head: 3 }));
  t.throws(() => modelFromCheckpoint(glmDir), { code: 'CHECKPOINT_INVALID', message: /config\.json: n_embd 16 must be divisible by n_head 3/ });
});
