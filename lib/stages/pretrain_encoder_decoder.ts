// Pre-training an EncoderDecoderLM with T5's span corruption
// (lib/objectives/span_corruption.ts): noise_density of each window's tokens,
// in spans of mean length mean_noise_span_length, leave the encoder input for
// sentinels; the decoder spells them out after their sentinels, then </s>.
//   loss = −mean over target positions j of log p(tgt_j | src, tgt_<j)
import { EncoderDecoderLM } from '../models/encoder_decoder.js';
import { encoderDecoderConfig } from '../models/encoder_decoder_config.js';
import { padBatch } from '../objectives/pad_batch.js';
import { noiseSpanCounts, spanCorrupt, type SpanCorruptionConfig } from '../objectives/span_corruption.js';
import { t5SpecialTokens, t5TokenIds } from '../objectives/special_tokens.js';
import { Tensor } from '../tensor/tensor.js';
import type { ArchAdapter } from './pretrain_task.js';

const IGNORE_INDEX = -100;

export const encoderDecoderPretraining: ArchAdapter = {
  arch: 'encoder-decoder',
  // A window of block_size tokens always has the same number of spans, so it needs exactly that many sentinels.
  specialTokens: (blockSize, objective) => t5SpecialTokens(noiseSpanCounts(blockSize, objective.noise_density, objective.mean_noise_span_length).numSpans),
  createTask({ tokenizer, blockSize, model: keys, objective, seed }) {
    const ids = t5TokenIds(tokenizer);
    const model = new EncoderDecoderLM(encoderDecoderConfig({
      vocab_size: tokenizer.vocabSize,
      d_model: keys.n_embd, num_layers: keys.n_layer, num_heads: keys.n_head, d_ff: keys.n_inner,
      feed_forward_proj: keys.activation_function, layer_norm_epsilon: keys.layer_norm_epsilon, dropout_rate: keys.dropout,
      initializer_factor: keys.initializer_range,
      // The source (kept tokens + a sentinel per span + </s>) and the target (spans + sentinels + </s>) are each ≤ block_size + 1.
      max_position_embeddings: blockSize + 1,
      pad_token_id: ids.pad, eos_token_id: ids.eos, decoder_start_token_id: ids.pad, // T5 starts decoding from <pad>
    }), seed);
    const corruption: SpanCorruptionConfig = {
      noiseDensity: objective.noise_density!, meanSpanLength: objective.mean_noise_span_length!, sentinelIds: ids.sentinels, eosId: ids.eos,
    };
    return {
      arch: 'encoder-decoder',
      model,
      makeBatch: ({ x }, rng) => {
        const [B, T] = x.shape as [number, number];
        const windows = x.i32();
        const examples = Array.from({ length: B }, (_, b) => spanCorrupt(windows.subarray(b * T, (b + 1) * T), corruption, rng));
        const src = padBatch(examples.map((e) => e.input), ids.pad);
        // Teacher forcing: the decoder reads the target shifted right behind the start token.
        const tgtIn = padBatch(examples.map((e) => [ids.pad, ...e.target.subarray(0, -1)]), ids.pad);
        const width = tgtIn.ids.shape[1]!;
        const tgtOut = new Int32Array(B * width).fill(IGNORE_INDEX);
        examples.forEach((e, b) => tgtOut.set(e.target, b * width));
        const targets = new Tensor(tgtOut, [B, width]);
        return { targets: tgtOut, loss: () => model.loss(src.ids, src.lengths, tgtIn.ids, targets) };
      },
    };
  },
};
