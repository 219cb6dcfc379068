// A tiny random-init decoder saved as an lmkit checkpoint, with a character
// tokenizer whose alphabet covers the chat template's tags: enough for the
// generate / chat commands to run in milliseconds. Seeded, so reproducible.
import { saveCheckpoint } from '../../lib/io/checkpoint.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderCheckpointConfig } from '../../lib/models/decoder_checkpoint.js';
import { exportWeights } from '../../lib/models/weights.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';

export const TINY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,:;!?\'\n<|>';

export function saveTinyCheckpoint(dir: string, options: { nPositions?: number; seed?: number } = {}): void {
  const tokenizer = CharTokenizer.fromCorpus(TINY_ALPHABET);
  const model = new DecoderLM({ vocab_size: tokenizer.vocabSize, n_positions: options.nPositions ?? 96, n_embd: 32, n_layer: 2, n_head: 2 }, options.seed ?? 7);
  saveCheckpoint(dir, { weights: exportWeights(model), config: decoderCheckpointConfig(model.config), tokenizer: tokenizer.toJSON() }, 'test');
}
