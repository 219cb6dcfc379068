// GLM checkpoints: a saved GLM loads back bitwise under its config; a
// decoder or reward-model checkpoint is refused as the wrong kind.
import t from 'tap';
import path from 'node:path';
import { readCheckpoint, saveCheckpoint } from '../../lib/io/checkpoint.js';
import { GLM } from '../../lib/models/glm.js';
import { glmCheckpointConfig, glmFromCheckpoint } from '../../lib/models/glm_checkpoint.js';
import { exportWeights } from '../../lib/models/weights.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';
import { expectBitwise } from '../helpers/compare.js';

t.test('round trip, and a decoder checkpoint refused', async (t) => {
  const dir = t.testdir();
  const tok = CharTokenizer.fromCorpus('abc ', { specialTokens: ['[MASK]', '[gMASK]', '[S]', '[E]'] });
  const model = new GLM({ vocab_size: tok.vocabSize, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2, activation_function: 'gelu_new' }, 4);
  saveCheckpoint(path.join(dir, 'glm'), { weights: exportWeights(model), config: glmCheckpointConfig(model.config), tokenizer: tok.toJSON() }, 'test');
  const ckpt = readCheckpoint(path.join(dir, 'glm'));
  t.match(ckpt.config, { model_type: 'glm', lmkit_arch: 'glm', activation_function: 'gelu_new' });
  const loaded = glmFromCheckpoint(ckpt);
  t.same(loaded.config, model.config);
  const want = model.namedParameters();
  loaded.namedParameters().forEach(([name, p], i) => expectBitwise(t, name, p.f32(), want[i]![1].f32()));

  saveTinyCheckpoint(path.join(dir, 'decoder'));
  t.throws(() => glmFromCheckpoint(readCheckpoint(path.join(dir, 'decoder'))), { name: 'CheckpointError', code: 'CHECKPOINT_WRONG_ARCH', message: /config\.json: model_type is "gpt2" \(lmkit_arch "decoder"\), not a GLM checkpoint; pre-train one with lmkit train --arch glm/ });
});
