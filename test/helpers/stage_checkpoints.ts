// Tiny checkpoints the fine-tuning commands start from: a decoder whose
// character tokenizer has the <|end|> token (an "SFT" or pre-trained model),
// a reward model on its trunk, and a GLM with GLM's four specials. Seeded.
import { saveCheckpoint } from '../../lib/io/checkpoint.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderCheckpointConfig } from '../../lib/models/decoder_checkpoint.js';
import { GLM } from '../../lib/models/glm.js';
import { glmCheckpointConfig } from '../../lib/models/glm_checkpoint.js';
import { RewardModel, rewardModelCheckpointConfig } from '../../lib/models/reward_model.js';
import { exportWeights } from '../../lib/models/weights.js';
import { RESPONSE_END } from '../../lib/stages/instruction_format.js';
import { Random } from '../../lib/tensor/random.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';

export const STAGE_ALPHABET = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:.,\n';

export const stageTokenizer = (): CharTokenizer => CharTokenizer.fromCorpus(STAGE_ALPHABET, { specialTokens: [RESPONSE_END] });

export function tinyDecoder(seed = 7): DecoderLM {
  return new DecoderLM({ vocab_size: stageTokenizer().vocabSize, n_positions: 64, n_embd: 16, n_layer: 1, n_head: 2 }, seed);
}

/** A decoder checkpoint whose tokenizer has <|end|>. */
export function saveTinyDecoder(dir: string, seed = 7): void {
  const model = tinyDecoder(seed);
  saveCheckpoint(dir, { weights: exportWeights(model), config: decoderCheckpointConfig(model.config), tokenizer: stageTokenizer().toJSON() }, 'test');
}

/** A reward model checkpoint on the trunk of tinyDecoder(seed). */
export function saveTinyRewardModel(dir: string, seed = 7): void {
  const rm = RewardModel.fromDecoder(tinyDecoder(seed), new Random(seed + 1));
  saveCheckpoint(dir, { weights: exportWeights(rm), config: rewardModelCheckpointConfig(rm), tokenizer: stageTokenizer().toJSON() }, 'test');
}

export const glmTokenizer = (): CharTokenizer => CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz .', { specialTokens: ['[MASK]', '[gMASK]', '[S]', '[E]'] });

/** A GLM checkpoint in the generic loader's layout (model_type and lmkit_arch "glm"). */
export function saveTinyGlm(dir: string, seed = 3): void {
  const model = new GLM({ vocab_size: glmTokenizer().vocabSize, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 2 }, seed);
  saveCheckpoint(dir, { weights: exportWeights(model), config: glmCheckpointConfig(model.config), tokenizer: glmTokenizer().toJSON() }, 'test');
}
