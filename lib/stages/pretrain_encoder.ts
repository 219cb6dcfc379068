// Pre-training an EncoderLM with BERT's masked LM (lib/objectives/mlm.ts):
// each window becomes [CLS] text [SEP], mlm_probability of its text tokens
// are chosen (80% [MASK], 10% random, 10% kept) and predicted.
//   loss = −mean over chosen i of log p(x_i | corrupted x)
import { EncoderLM } from '../models/encoder.js';
import { encoderConfig } from '../models/encoder_config.js';
import { mlmBatch, type MlmConfig } from '../objectives/mlm.js';
import { mlmSpecialTokens, mlmTokenIds } from '../objectives/special_tokens.js';
import type { ArchAdapter } from './pretrain_task.js';

export const encoderPretraining: ArchAdapter = {
  arch: 'encoder',
  specialTokens: () => mlmSpecialTokens(),
  createTask({ tokenizer, blockSize, model: keys, objective, seed }) {
    const ids = mlmTokenIds(tokenizer);
    const model = new EncoderLM(encoderConfig({
      vocab_size: tokenizer.vocabSize,
      hidden_size: keys.n_embd, num_hidden_layers: keys.n_layer, num_attention_heads: keys.n_head, intermediate_size: keys.n_inner,
      hidden_act: keys.activation_function, layer_norm_eps: keys.layer_norm_epsilon, hidden_dropout_prob: keys.dropout,
      initializer_range: keys.initializer_range,
      max_position_embeddings: blockSize + 2, // [CLS] + block_size tokens + [SEP]
      pad_token_id: ids.pad,
    }), seed);
    const mlm: MlmConfig = {
      vocabSize: tokenizer.vocabSize, maskId: ids.mask, padId: ids.pad,
      specialIds: tokenizer.addedTokens.map((t) => t.id), maskProb: objective.mlm_probability!,
    };
    return {
      arch: 'encoder',
      model,
      makeBatch: ({ x }, rng) => {
        const [B, T] = x.shape as [number, number];
        const windows = x.i32();
        const rows = Array.from({ length: B }, (_, b) => [ids.cls, ...windows.subarray(b * T, (b + 1) * T), ids.sep]);
        // Every row has the same length, so there is no padding to mask.
        const batch = mlmBatch(rows, mlm, rng);
        return { targets: batch.labels.i32(), loss: () => model.mlmLoss(batch.ids, batch.labels) };
      },
    };
  },
};
