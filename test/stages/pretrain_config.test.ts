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
