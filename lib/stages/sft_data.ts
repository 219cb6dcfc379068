// Instruction examples → SFT batches. An example becomes
//   ids = renderPrompt(instruction, input) ++ output ++ RESPONSE_END
// and the loss covers only the output and RESPONSE_END tokens: the targets
// of prompt positions (and of padding) are −100, which the cross-entropy
// ignores, so prompt tokens contribute exactly nothing to the gradient.
//
// Batching: each row holds one example, right-padded to the longest in the
// batch (causal attention: padding after a token never changes its logits).
// With packing, a row holds several whole examples back to back (up to
// n_positions + 1 tokens, greedily in the epoch's order); as in TRL's
// ConstantLengthDataset an example then attends to the earlier examples of its
// row and starts at a later position than it will at generation time.
import { DataError } from '../errors.js';
import type { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import type { Tokenizer } from '../tokenizer/types.js';
import type { InstructionExample } from '../data/records.js';
import { RESPONSE_END, renderPrompt } from './instruction_format.js';

/** One example's token ids: its prompt, then output and RESPONSE_END. */
export interface EncodedExample {
  ids: Int32Array;
  /** Tokens of the rendered prompt; the loss covers ids[promptLength..]. */
  promptLength: number;
}

export interface SftBatch {
  /** Inputs [B, T] int32. */
  x: Tensor;
  /** Next-token targets [B, T] int32; −100 on prompt and padding positions. */
  y: Tensor;
  /** Positions with a loss (output and RESPONSE_END tokens). */
  targets: number;
  /** Input positions that are not padding. */
  tokens: number;
}

/**
 * Validates and tokenizes examples. `maxLength` is the longest sequence a
 * model can train on (n_positions + 1: the last token is only predicted).
 * `source` names the set in errors ("train", a file name).
 */
export function encodeInstructions(tokenizer: Tokenizer, examples: readonly InstructionExample[], endId: number, maxLength: number, source = 'examples'): EncodedExample[] {
  return examples.map((ex, i) => {
    const where = `${source}[${i}]`;
    if (typeof ex !== 'object' || ex === null) throw new DataError('DATA_BAD_RECORD', `${where}: expected an object { instruction, input, output }`);
    for (const field of ['instruction', 'input', 'output'] as const)
      if (typeof ex[field] !== 'string') throw new DataError('DATA_BAD_RECORD', `${where}: field "${field}" must be a string (got ${ex[field] === undefined ? 'nothing' : typeof ex[field]})`);
    if (ex.instruction.trim() === '') throw new DataError('DATA_EMPTY_FIELD', `${where}: the instruction is empty; every example needs an instruction to condition on`);
    if (ex.output.trim() === '') throw new DataError('DATA_EMPTY_FIELD', `${where}: the output is empty; there is nothing to learn from it (drop the example or give it a response)`);
    if (ex.output.includes(RESPONSE_END)) throw new DataError('DATA_BAD_RECORD', `${where}: the output contains ${RESPONSE_END}, which marks the end of a response; remove it (it is appended automatically)`);
    const encode = (field: string, text: string): number[] => {
      try {
        return tokenizer.encode(text);
      } catch (err) {
        throw new DataError('DATA_UNENCODABLE', `${where}: the tokenizer cannot encode the ${field} (${(err as Error).message})`, { cause: err });
      }
    };
    const prompt = encode('prompt', renderPrompt(ex));
    const output = encode('output', ex.output);
    const ids = Int32Array.from([...prompt, ...output, endId]);
    if (ids.length > maxLength)
      throw new DataError('DATA_TOO_LONG', `${where}: ${ids.length} tokens (prompt ${prompt.length} + output ${output.length} + 1 end token) exceed the model's ${maxLength - 1} positions; shorten the example or use a model with a longer context`);
    return { ids, promptLength: prompt.length };
  });
}

/** Greedy packing: examples in `order` fill rows of at most `capacity` tokens, each example whole. */
export function packRows(order: readonly number[], lengths: readonly number[], capacity: number): number[][] {
  const rows: number[][] = [];
  let row: number[] = [], used = 0;
  for (const i of order) {
    const n = lengths[i]!;
    if (n > capacity) throw new RangeError(`packRows: example ${i} has ${n} tokens, more than a row's ${capacity}`);
    if (used + n > capacity && row.length > 0) {
      rows.push(row);
      row = [];
      used = 0;
    }
    row.push(i);
    used += n;
  }
  if (row.length > 0) rows.push(row);
  return rows;
}

/**
 * HF's length-grouped order (LengthGroupedSampler): the epoch's shuffled
 * order is cut into mega-batches of `batchSize`·MEGA_BATCH examples, each
 * sorted longest first, so consecutive batches hold similar lengths. The
 * batches of a mega-batch are then visited in an order drawn from `rng`
 * (HF keeps them longest first), so training does not sweep from long to
 * short examples.
 */
export const MEGA_BATCH = 50;

export function lengthGroupedOrder(order: readonly number[], lengths: readonly number[], batchSize: number, rng: Random): number[] {
  const out: number[] = [];
  const mega = batchSize * MEGA_BATCH;
  for (let start = 0; start < order.length; start += mega) {
    const group = order.slice(start, start + mega).sort((a, b) => lengths[b]! - lengths[a]! || a - b);
    const batches: number[][] = [];
    for (let i = 0; i < group.length; i += batchSize) batches.push(group.slice(i, i + batchSize));
    for (const batch of rng.shuffle(batches)) out.push(...batch);
  }
  return out;
}

/** Rows of examples (one each, or packed) → a right-padded batch with masked targets. */
export function collateSft(rows: readonly (readonly EncodedExample[])[], padId: number): SftBatch {
  const lengths = rows.map((row) => row.reduce((n, ex) => n + ex.ids.length, 0));
  const B = rows.length;
  const T = Math.max(...lengths) - 1; // the last token is only a target
  const x = new Int32Array(B * T).fill(padId); // (B, T)
  const y = new Int32Array(B * T).fill(-100); // (B, T)
  let targets = 0, tokens = 0;
  rows.forEach((row, b) => {
    // Row token j is the input at position j and the target of position j − 1.
    let j = 0;
    for (const ex of row) {
      for (let k = 0; k < ex.ids.length; k++, j++) {
        if (j < T) x[b * T + j] = ex.ids[k]!;
        if (j > 0 && k >= ex.promptLength) {
          y[b * T + j - 1] = ex.ids[k]!;
          targets++;
        }
      }
    }
    tokens += lengths[b]! - 1;
  });
  return { x: new Tensor(x, [B, T]), y: new Tensor(y, [B, T]), targets, tokens };
}

