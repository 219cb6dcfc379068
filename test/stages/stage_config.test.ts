// Fine-tuning stage configs: defaults, typed keys, errors that name the key.
import t from 'tap';
import { DEFAULT_REWARD, DEFAULT_SFT, rewardConfig, sftConfig } from '../../lib/stages/stage_config.js';

t.test('defaults, overrides, and lr_decay_iters following max_iters unless given', async (t) => {
  t.same(sftConfig({}), DEFAULT_SFT);
  t.same(rewardConfig({}), DEFAULT_REWARD);
  const c = sftConfig({ max_iters: 80, packing: true, learning_rate: 1e-3 });
  t.match(c, { max_iters: 80, lr_decay_iters: 80, packing: true, learning_rate: 1e-3, batch_size: DEFAULT_SFT.batch_size });
  t.equal(sftConfig({ max_iters: 80, lr_decay_iters: 50 }).lr_decay_iters, 50);
});

t.test('unknown keys, wrong types and bad values are ConfigErrors naming the key', async (t) => {
  t.throws(() => sftConfig({ batchsize: 4 }, 'sft.json'), { name: 'ConfigError', code: 'CONFIG_UNKNOWN_KEY', message: /sft\.json: unknown key "batchsize" \(known keys: .*batch_size/ });
  t.throws(() => rewardConfig({ packing: true }), { code: 'CONFIG_UNKNOWN_KEY', message: /"packing"/ });
  t.throws(() => sftConfig({ batch_size: 0 }), { code: 'CONFIG_INVALID', message: /batch_size must be a positive integer, got 0/ });
  t.throws(() => sftConfig({ max_iters: 2.5 }), { message: /max_iters must be a non-negative integer/ });
  t.throws(() => sftConfig({ learning_rate: '1e-3' }), { message: /learning_rate must be a finite number ≥ 0, got "1e-3"/ });
  t.throws(() => sftConfig({ packing: 'yes' }), { message: /packing must be true or false/ });
  t.throws(() => sftConfig({ min_lr: 1, learning_rate: 0.1 }), { message: /min_lr 1 exceeds learning_rate 0.1/ });
  t.throws(() => rewardConfig({ beta2: 1 }), { message: /beta1 and beta2 must be in \[0, 1\)/ });
  t.throws(() => sftConfig([]), { message: /expected a JSON object/ });
});

t.test('matmul_precision: fp32 by default, bf16 accepted, anything else a ConfigError', async (t) => {
  t.equal(sftConfig({}).matmul_precision, 'fp32');
  t.equal(rewardConfig({ matmul_precision: 'bf16' }).matmul_precision, 'bf16');
  t.throws(() => sftConfig({ matmul_precision: 'half' }, 'sft.json'), { name: 'ConfigError', code: 'CONFIG_INVALID', message: 'sft.json: matmul_precision must be "fp32" or "bf16", got "half"' });
});
