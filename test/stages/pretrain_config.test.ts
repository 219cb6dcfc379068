// The pre-training config: presets equal nanoGPT's numbers, unknown keys and
// wrong types are ConfigErrors naming the key, and resume checks identity keys.
import t from 'tap';
import { checkResumable, flattenConfig, parseOverride, pretrainConfig } from '../../lib/stages/pretrain_config.js';
import { presetConfig } from '../../lib/stages/presets.js';

t.test('shakespeare-char is nanoGPT train_shakespeare_char.py with the README CPU overrides', async (t) => {
  const c = presetConfig('shakespeare-char');
  t.match(flattenConfig(c), {
    batch_size: 12, block_size: 64, n_layer: 4, n_head: 4, n_embd: 128, dropout: 0, bias: false, activation_function: 'gelu',
    max_iters: 2000, lr_decay_iters: 2000, learning_rate: 1e-3, min_lr: 1e-4, beta1: 0.9, beta2: 0.99, warmup_iters: 100,
    weight_decay: 0.1, grad_clip: 1.0, gradient_accumulation_steps: 1, eval_interval: 250, eval_iters: 20, log_interval: 1,
    tokenizer: 'char', decay_lr: true, seed: 1337,
  });
  t.throws(() => presetConfig('gpt-9'), { name: 'ConfigError', code: 'CONFIG_UNKNOWN_PRESET', message: /"gpt-9".*shakespeare-char/ });
});

t.test('unknown keys, wrong types and derived keys are ConfigErrors naming the key', async (t) => {
  t.throws(() => pretrainConfig({ batch_sise: 4 }, 'run.json'), { name: 'ConfigError', code: 'CONFIG_UNKNOWN_KEY', message: /run\.json: unknown key "batch_sise"/ });
  t.throws(() => pretrainConfig({ batch_size: 0 }), { code: 'CONFIG_INVALID', message: /batch_size must be a positive integer, got 0/ });
  t.throws(() => pretrainConfig({ learning_rate: 'fast' }), { message: /learning_rate must be a finite number/ });
  t.throws(() => pretrainConfig({ decay_lr: 1 }), { message: /decay_lr must be true or false/ });
  t.throws(() => pretrainConfig({ n_layer: 1.5 }), { message: /n_layer must be a positive integer/ });
  t.throws(() => pretrainConfig({ n_embd: 30, n_head: 4 }), { message: /n_embd 30 must be divisible by n_head 4/ });
  t.throws(() => pretrainConfig({ activation_function: 'relu' }), { message: /activation_function must be one of/ });
  t.throws(() => pretrainConfig({ vocab_size: 50 }), { message: /vocab_size is set by the tokenizer/ });
  t.throws(() => pretrainConfig({ min_lr: 1, learning_rate: 0.1 }), { message: /min_lr 1 exceeds learning_rate/ });
  t.throws(() => pretrainConfig([]), { message: /expected a JSON object/ });
  const c = pretrainConfig({ n_layer: 2, learning_rate: 3e-4 });
  t.equal(c.model.n_layer, 2);
  t.equal(c.learning_rate, 3e-4);
});

t.test('--set parses JSON values and keeps other text as strings', async (t) => {
  t.same(parseOverride('learning_rate=3e-4'), ['learning_rate', 3e-4]);
  t.same(parseOverride('bias=false'), ['bias', false]);
  t.same(parseOverride('tokenizer=bpe'), ['tokenizer', 'bpe']);
  t.throws(() => parseOverride('=3'), { message: /expected key=value/ });
});

t.test('resume accepts a longer run but not another model or data shape', async (t) => {
  const saved = flattenConfig(presetConfig('tiny'));
  t.doesNotThrow(() => checkResumable(saved, pretrainConfig({ max_iters: 500, learning_rate: 1e-3 }, 'x', presetConfig('tiny')), 'resume'));
  t.throws(() => checkResumable(saved, pretrainConfig({ n_layer: 3 }, 'x', presetConfig('tiny')), 'resume'), { code: 'CONFIG_RESUME_MISMATCH', message: /n_layer = 2 .* 3/ });
  t.throws(() => checkResumable(saved, pretrainConfig({ block_size: 32 }, 'x', presetConfig('tiny')), 'resume'), { message: /block_size/ });
});

t.test('arch: decoder by default; an unknown arch names the four', async (t) => {
  t.equal(pretrainConfig({}).arch, 'decoder');
  t.equal(flattenConfig(pretrainConfig({ arch: 'glm' }))['arch'], 'glm');
  t.throws(() => pretrainConfig({ arch: 'bert' }, 'run.json'), { name: 'ConfigError', code: 'CONFIG_UNKNOWN_ARCH', message: /run\.json: arch: unknown architecture "bert" \(architectures: decoder, encoder, encoder-decoder, glm\)/ });
  t.throws(() => pretrainConfig({ arch: 3 }), { code: 'CONFIG_UNKNOWN_ARCH' });
});

t.test('objective keys belong to one arch, default to the paper\'s rates and are range-checked', async (t) => {
  t.match(flattenConfig(pretrainConfig({ arch: 'encoder' })), { mlm_probability: 0.15 });
  t.match(flattenConfig(pretrainConfig({ arch: 'encoder-decoder', noise_density: 0.3 })), { noise_density: 0.3, mean_noise_span_length: 3 });
  const glm = flattenConfig(pretrainConfig({ arch: 'glm' }));
  t.match(glm, { mask_ratio: 0.15, poisson_lambda: 3 });
  t.notOk('mlm_probability' in glm || 'noise_density' in glm, 'no other arch\'s keys');
  t.notOk('mask_ratio' in flattenConfig(pretrainConfig({})), 'a decoder config has no objective keys');
  t.throws(() => pretrainConfig({ arch: 'encoder', noise_density: 0.2 }), { code: 'CONFIG_WRONG_ARCH', message: /noise_density belongs to arch encoder-decoder, but arch is encoder/ });
  t.throws(() => pretrainConfig({ mask_ratio: 0.2 }), { code: 'CONFIG_WRONG_ARCH', message: /mask_ratio belongs to arch glm, but arch is decoder/ });
  t.throws(() => pretrainConfig({ arch: 'glm', mask_ratio: 0.7 }), { code: 'CONFIG_INVALID', message: /mask_ratio must be a number in \(0, 0\.5\], got 0\.7/ });
  t.throws(() => pretrainConfig({ arch: 'encoder', mlm_probability: '15%' }), { message: /mlm_probability must be a number in \(0, 1\]/ });
  t.throws(() => pretrainConfig({ arch: 'encoder-decoder', mean_noise_span_length: 0.5 }), { message: /mean_noise_span_length must be a number ≥ 1/ });
});

t.test('decoder-only model keys are refused for the other archs, also when a preset set them', async (t) => {
  t.throws(() => pretrainConfig({ arch: 'glm', rope_theta: 500000 }), { code: 'CONFIG_WRONG_ARCH', message: /rope_theta is a decoder-only model key, but arch is glm/ });
  // shakespeare-char sets bias: false; switching it to another arch (what --arch does) names the key and the preset to use.
  t.throws(() => pretrainConfig({ arch: 'encoder' }, '--arch', presetConfig('shakespeare-char')), { code: 'CONFIG_WRONG_ARCH', message: /--arch: bias is a decoder-only model key.*shakespeare-char-encoder/ });
  t.throws(() => pretrainConfig({ arch: 'encoder', activation_function: 'swiglu' }), { message: /activation_function must be one of gelu, gelu_new for arch encoder/ });
  t.throws(() => pretrainConfig({ arch: 'glm', n_embd: 30, n_head: 4 }), { message: /n_embd 30 must be divisible by n_head 4/ });
  t.throws(() => pretrainConfig({ arch: 'encoder-decoder', dropout: 1 }), { message: /dropout must be in \[0, 1\)/ });
  t.throws(() => pretrainConfig({ arch: 'encoder-decoder', block_size: 1 }), { message: /span corruption needs block_size ≥ 2/ });
  // A preset of another family switches cleanly: it sets no family-specific keys.
  t.equal(pretrainConfig({ arch: 'glm' }, '--arch', presetConfig('tiny-encoder')).arch, 'glm');
});

t.test('the shakespeare presets of every family share shakespeare-char\'s model and batch', async (t) => {
  for (const arch of ['encoder', 'encoder-decoder', 'glm']) {
    const c = flattenConfig(presetConfig(`shakespeare-char-${arch}`));
    t.match(c, { arch, tokenizer: 'char', n_layer: 4, n_head: 4, n_embd: 128, block_size: 64, batch_size: 12, dropout: 0, learning_rate: 1e-3 }, arch);
    t.notOk('bias' in c, `${arch}: no decoder-only keys`);
    t.equal(presetConfig(`tiny-${arch}`).arch, arch);
  }
});

t.test('resume: the arch is an identity key; checkpoints from before it count as decoder runs', async (t) => {
  const saved = flattenConfig(presetConfig('tiny'));
  delete saved['arch'];
  t.doesNotThrow(() => checkResumable(saved, presetConfig('tiny'), 'resume'));
  const glm = flattenConfig(presetConfig('tiny-glm'));
  t.throws(() => checkResumable(glm, pretrainConfig({ arch: 'encoder' }, 'x', presetConfig('tiny-glm')), 'resume'), { code: 'CONFIG_RESUME_MISMATCH', message: /arch = "glm" but the config now says "encoder"/ });
  t.throws(() => checkResumable(glm, pretrainConfig({ mask_ratio: 0.3 }, 'x', presetConfig('tiny-glm')), 'resume'), { message: /mask_ratio = 0\.15 .* 0\.3/ });
});

t.test('gmask_probability: GLM\'s document-level share, 0 by default; an older GLM checkpoint without it resumes', async (t) => {
  t.match(flattenConfig(pretrainConfig({ arch: 'glm' })), { gmask_probability: 0 });
  t.match(flattenConfig(pretrainConfig({ arch: 'glm', gmask_probability: 0.5 })), { gmask_probability: 0.5 });
  t.throws(() => pretrainConfig({ arch: 'glm', gmask_probability: 1.5 }), { code: 'CONFIG_INVALID', message: /gmask_probability must be a number in \[0, 1\], got 1\.5/ });
  t.throws(() => pretrainConfig({ arch: 'encoder', gmask_probability: 0.5 }), { code: 'CONFIG_WRONG_ARCH', message: /gmask_probability belongs to arch glm/ });
  const old = flattenConfig(presetConfig('tiny-glm'));
  delete old['gmask_probability'];
  t.doesNotThrow(() => checkResumable(old, presetConfig('tiny-glm'), 'resume'), 'a missing key had the default');
  t.throws(() => checkResumable(old, pretrainConfig({ gmask_probability: 0.5 }, 'x', presetConfig('tiny-glm')), 'resume'), { message: /gmask_probability = 0 but the config now says 0\.5/ });
});
