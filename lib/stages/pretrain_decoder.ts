// Pre-training a DecoderLM: the causal LM objective on block_size windows,
// each token predicting the next (nanoGPT's train.py). No special tokens.
import { DecoderLM } from '../models/decoder.js';
import { decoderConfig } from '../models/decoder_config.js';
import type { ArchAdapter } from './pretrain_task.js';

export const decoderPretraining: ArchAdapter = {
  arch: 'decoder',
  specialTokens: () => [],
  createTask({ tokenizer, blockSize, model: keys, seed }) {
    const model = new DecoderLM(decoderConfig({ ...keys, vocab_size: tokenizer.vocabSize, n_positions: blockSize }), seed);
    return {
      arch: 'decoder',
      model,
      // loss = −mean log p(x_{t+1} | x_≤t); the window's targets are y.
      makeBatch: ({ x, y }) => ({ targets: y.i32(), loss: () => model.loss(x, y) }),
    };
  },
};
