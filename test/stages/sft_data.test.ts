// SFT data: prompt tokens are masked out of the loss (exactly zero gradient),
// the batched padded loss equals a float64 recomputation per example, packing
// keeps examples whole, and bad examples are refused naming the example.
import t from 'tap';
import { DecoderLM } from '../../lib/models/decoder.js';
import { backward, noGrad } from '../../lib/tensor/autograd.js';
import { crossEntropy } from '../../lib/tensor/ops/loss.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { RESPONSE_END, renderPrompt, responseEndId } from '../../lib/stages/instruction_format.js';
import { MEGA_BATCH, collateSft, encodeInstructions, lengthGroupedOrder, packRows } from '../../lib/stages/sft_data.js';
import { Random } from '../../lib/tensor/random.js';
import type { InstructionExample } from '../../lib/data/records.js';
import { expectClose } from '../helpers/compare.js';

const tok = CharTokenizer.fromCorpus('abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ:.\n0123456789', { specialTokens: [RESPONSE_END] });
const END = responseEndId(tok);
const examples: InstructionExample[] = [
  { instruction: 'Reverse', input: 'abc', output: 'cba' },
  { instruction: 'Greet', input: '', output: 'hello there' },
  { instruction: 'Add', input: '12 30', output: '42' },
];
const model = new DecoderLM({ vocab_size: tok.vocabSize, n_positions: 64, n_embd: 16, n_layer: 2, n_head: 2 }, 3);
const encoded = encodeInstructions(tok, examples, END, 65);

t.test('encoding: prompt ids, then output ids and the end token', async (t) => {
  encoded.forEach((e, i) => {
    const prompt = tok.encode(renderPrompt(examples[i]!));
    t.equal(e.promptLength, prompt.length);
    t.same([...e.ids], [...prompt, ...tok.encode(examples[i]!.output), END]);
  });
});

t.test('targets: −100 on every prompt and padding position, the next token on output positions', async (t) => {
  const batch = collateSft(encoded.map((e) => [e]), END);
  const [B, T] = batch.x.shape as [number, number];
  t.equal(B, 3);
  t.equal(T, Math.max(...encoded.map((e) => e.ids.length)) - 1, 'padded to the longest input');
  const y = batch.y.i32();
  encoded.forEach((e, b) => {
    const want = Array.from({ length: T }, (_, p) => (p + 1 >= e.promptLength && p + 1 < e.ids.length ? e.ids[p + 1]! : -100));
    t.same([...y.subarray(b * T, (b + 1) * T)], want, `row ${b}: prompt length ${e.promptLength}, ${e.ids.length} tokens`);
  });
  t.equal(batch.targets, encoded.reduce((n, e) => n + e.ids.length - e.promptLength, 0), 'targets = output + end tokens');
});

t.test('prompt and padding positions get exactly zero gradient; output positions do not', async (t) => {
  const batch = collateSft(encoded.map((e) => [e]), END);
  const logits = noGrad(() => model.forward(batch.x));
  const leaf = new Tensor(logits.f32().slice(), logits.shape, true);
  backward(crossEntropy(leaf, batch.y));
  const V = tok.vocabSize;
  const y = batch.y.i32();
  const masked: number[] = [], scored: number[] = [], badMasked: number[] = [], deadScored: number[] = [];
  for (let r = 0; r < y.length; r++) {
    const row = leaf.grad!.subarray(r * V, (r + 1) * V);
    if (y[r] === -100) {
      masked.push(r);
      if (!row.every((g) => g === 0)) badMasked.push(r);
    } else {
      scored.push(r);
      if (row.every((g) => g === 0)) deadScored.push(r);
    }
  }
  t.same(badMasked, [], `all ${masked.length} prompt/padding rows: every one of the ${V} logit gradients is exactly 0`);
  t.same(deadScored, [], `all ${scored.length} output rows: non-zero gradient`);
  t.equal(scored.length, batch.targets);
  t.ok(masked.length > scored.length, 'most positions are prompt or padding');
});

t.test('the batched, padded loss equals a float64 recomputation over output tokens, per example', async (t) => {
  const batch = collateSft(encoded.map((e) => [e]), END);
  const got = noGrad(() => model.loss(batch.x, batch.y)).item();
  // Reference: each example alone (no padding), log-softmax in float64 at
  // positions promptLength−1 … len−2, which predict the output and end tokens.
  let sum = 0, count = 0;
  for (const e of encoded) {
    const L = e.ids.length;
    const logits = noGrad(() => model.forward(new Tensor(e.ids.slice(0, L - 1), [1, L - 1]))).f32();
    const V = tok.vocabSize;
    for (let p = e.promptLength - 1; p < L - 1; p++) {
      const row = Array.from(logits.subarray(p * V, (p + 1) * V));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      sum += lse - row[e.ids[p + 1]!]!;
      count++;
    }
  }
  t.equal(count, batch.targets);
  // float32 logits through a 2-layer model, reduced in float32 by the kernel: ~1e-6 relative.
  expectClose(t, 'loss', [got], [sum / count], { atol: 1e-6, rtol: 1e-5 });
});

t.test('padding does not change the gradient: batched grads equal the token-weighted sum of single-example grads', async (t) => {
  const grads = (fn: () => void): Float32Array[] => {
    model.zeroGrad();
    fn();
    return model.parameters().map((p) => p.grad!.slice());
  };
  const batched = grads(() => backward(model.loss(...xy(collateSft(encoded.map((e) => [e]), END)))));
  const total = encoded.reduce((n, e) => n + e.ids.length - e.promptLength, 0);
  const summed = grads(() => {
    for (const e of encoded) {
      // Built by hand: inputs ids[:-1], targets ids[1:] with the prompt's targets ignored.
      const L = e.ids.length;
      const y = Int32Array.from(e.ids.subarray(1), (id, p) => (p + 1 >= e.promptLength ? id : -100));
      const loss = model.loss(new Tensor(e.ids.slice(0, L - 1), [1, L - 1]), new Tensor(y, [1, L - 1]));
      backward(loss, new Float32Array([(L - e.promptLength) / total]));
    }
  });
  model.namedParameters().forEach(([name, _], i) => expectClose(t, `d ${name}`, batched[i]!, summed[i]!, { atol: 1e-6, rtol: 1e-4 }));
});

t.test('packing: rows of whole examples within capacity, every example once, same masks', async (t) => {
  const lengths = [10, 7, 5, 12, 3, 9];
  const rows = packRows([3, 0, 5, 1, 2, 4], lengths, 20);
  t.same(rows, [[3], [0, 5], [1, 2, 4]], 'greedy in order: 12 | 10+9 | 7+5+3');
  t.same(rows.flat().sort(), [0, 1, 2, 3, 4, 5]);
  t.throws(() => packRows([0], [21], 20), /21 tokens/);

  const packed = collateSft([[encoded[0]!, encoded[2]!]], END);
  const a = encoded[0]!, c = encoded[2]!;
  const row = [...a.ids, ...c.ids];
  t.same([...packed.x.i32()], row.slice(0, -1), 'inputs: the two examples back to back');
  const want = row.slice(1).map((id, p) => {
    const j = p + 1; // the row token this position predicts
    const scored = j < a.ids.length ? j >= a.promptLength : j - a.ids.length >= c.promptLength;
    return scored ? id : -100;
  });
  t.same([...packed.y.i32()], want, 'targets: only each example\'s output and end tokens');
  t.equal(packed.targets, a.ids.length - a.promptLength + c.ids.length - c.promptLength);
});

t.test('length grouping: a permutation whose batches hold similar lengths, with far less padding than a random order', async (t) => {
  const rng = new Random(4);
  const n = 1000, batchSize = 8;
  const lengths = Array.from({ length: n }, () => 20 + rng.int(100));
  const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
  const grouped = lengthGroupedOrder(order, lengths, batchSize, new Random(9));
  t.same([...grouped].sort((a, b) => a - b), [...order].sort((a, b) => a - b), 'every example exactly once');
  const padding = (o: readonly number[]) => {
    let pad = 0;
    for (let i = 0; i < o.length; i += batchSize) {
      const batch = o.slice(i, i + batchSize).map((j) => lengths[j]!);
      pad += batch.reduce((s, l) => s + Math.max(...batch) - l, 0);
    }
    return pad;
  };
  const random = padding(order), lean = padding(grouped);
  t.ok(lean < random / 10, `padded positions: ${lean} grouped vs ${random} in the random order`);
  // Batches stay within their mega-batch: the examples of grouped batch b all come from one mega-batch of the input order.
  const megaOf = new Map(order.map((id, i) => [id, Math.floor(i / (batchSize * MEGA_BATCH))]));
  for (let i = 0; i < n; i += batchSize) t.equal(new Set(grouped.slice(i, i + batchSize).map((id) => megaOf.get(id))).size, 1, `batch ${i / batchSize} from one mega-batch`);
  // Batch order within a mega-batch is drawn, not longest first: the batch maxima are not sorted.
  const maxima = Array.from({ length: MEGA_BATCH }, (_, b) => Math.max(...grouped.slice(b * batchSize, (b + 1) * batchSize).map((j) => lengths[j]!)));
  t.notSame(maxima, [...maxima].sort((a, b) => b - a), 'batches of a mega-batch are visited in a drawn order');
  t.same(lengthGroupedOrder(order, lengths, batchSize, new Random(9)), grouped, 'same seed, same order');
});

t.test('bad examples are refused naming the example and the fix', async (t) => {
  const enc = (ex: Partial<InstructionExample>, maxLength = 200) => () => encodeInstructions(tok, [examples[0]!, ex as InstructionExample], END, maxLength, 'train.jsonl');
  t.throws(enc({ instruction: 'Say', input: '', output: '' }), { name: 'DataError', code: 'DATA_EMPTY_FIELD', message: /train\.jsonl\[1\]: the output is empty/ });
  t.throws(enc({ instruction: 'Say', input: '', output: '  \n' }), { code: 'DATA_EMPTY_FIELD', message: /output is empty/ });
  t.throws(enc({ instruction: '', input: 'x', output: 'y' }), { code: 'DATA_EMPTY_FIELD', message: /instruction is empty/ });
  t.throws(enc({ instruction: 'Say', output: 'y' }), { code: 'DATA_BAD_RECORD', message: /\[1\]: field "input" must be a string \(got nothing\)/ });
  t.throws(enc({ instruction: 'Say', input: '', output: `hi${RESPONSE_END}` }), { code: 'DATA_BAD_RECORD', message: /contains <\|end\|>.*appended automatically/ });
  t.throws(enc({ instruction: 'Say', input: '', output: 'héllo' }), { code: 'DATA_UNENCODABLE', message: /\[1\]: the tokenizer cannot encode the output.*"é"/ });
  t.throws(enc({ instruction: 'Say', input: '', output: 'a'.repeat(30) }, 50), { code: 'DATA_TOO_LONG', message: /\[1\]: 58 tokens \(prompt 27 \+ output 30 \+ 1 end token\) exceed the model's 49 positions/ });
});

function xy(b: { x: Tensor; y: Tensor }): [Tensor, Tensor] {
  return [b.x, b.y];
}
