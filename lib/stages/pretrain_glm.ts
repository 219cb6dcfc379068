// Pre-training a GLM with autoregressive blank infilling
// (lib/objectives/blank_infilling.ts): spans of Poisson(poisson_lambda)
// lengths covering mask_ratio of each window become [MASK] in Part A and are
// generated, shuffled, in Part B ([S] span → span [E]). With
// gmask_probability > 0 that share of the windows trains GLM's document-level
// objective instead (one [gMASK] span over the last 50–100% of the window).
//   loss = −mean over Part B positions of log p(s_j | Part A, earlier Part B)
import { GLM } from '../models/glm.js';
import { blankInfillingExample, collateGlm, documentExample, type BlankInfillingConfig } from '../objectives/blank_infilling.js';
import { glmAddedTokens, glmTokenIds } from '../objectives/special_tokens.js';
import type { ArchAdapter } from './pretrain_task.js';

export const glmPretraining: ArchAdapter = {
  arch: 'glm',
  specialTokens: () => glmAddedTokens(),
  createTask({ tokenizer, blockSize, model: keys, objective, seed }) {
    const ids = glmTokenIds(tokenizer);
    const infilling: BlankInfillingConfig = { maskRatio: objective.mask_ratio!, poissonLambda: objective.poisson_lambda! };
    const documentShare = objective.gmask_probability ?? 0;
    // Part A + Part B = n − m + k tokens + (m + k) = n + 2k for m blanked tokens in k spans, and k ≤ m = round(ratio·n);
    // a [gMASK] example is n + 2 tokens, within that.
    const maxBlanked = Math.max(1, Math.round(infilling.maskRatio * blockSize));
    const model = new GLM({
      vocab_size: tokenizer.vocabSize, n_positions: blockSize + 2 * maxBlanked,
      n_embd: keys.n_embd, n_layer: keys.n_layer, n_head: keys.n_head, n_inner: keys.n_inner,
      activation_function: keys.activation_function, layer_norm_epsilon: keys.layer_norm_epsilon, dropout: keys.dropout,
      initializer_range: keys.initializer_range,
    }, seed);
    return {
      arch: 'glm',
      model,
      makeBatch: ({ x }, rng) => {
        const [B, T] = x.shape as [number, number];
        const windows = x.i32();
        const examples = Array.from({ length: B }, (_, b) => {
          const window = windows.subarray(b * T, (b + 1) * T);
          // No draw at all when the share is 0, so such runs see the batches they always saw.
          if (documentShare > 0 && rng.uniform() < documentShare) return documentExample(window, rng, ids);
          return blankInfillingExample(window, rng, ids, infilling);
        });
        // Rows differ in length (the number of spans varies): right-padded, kvLen hides the padding.
        const batch = collateGlm(examples, ids.pad);
        return {
          targets: batch.target.i32(),
          loss: () => model.loss(batch.input, batch.positions, batch.blockPositions, batch.prefixLen, batch.target, batch.kvLen),
        };
      },
    };
  },
};
