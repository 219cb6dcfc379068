// Per-row KV cache: cached greedy decoding and its per-step logits equal
// recomputation without a cache, and prompts of different lengths decoded in
// one batch equal each decoded alone (learned positions and RoPE).
import t from 'tap';
import { DecoderLM } from '../../lib/models/decoder.js';
import { decoderSession } from '../../lib/generate/kv_cache.js';
import { decodeRows, rowRandom, type DecodeRow } from '../../lib/generate/decode_loop.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { expectClose } from '../helpers/compare.js';

const configs = {
  gpt2: { vocab_size: 23, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2 },
  llama: { vocab_size: 23, n_positions: 32, n_embd: 16, n_layer: 2, n_head: 2, position_embedding: 'rope', norm: 'rmsnorm', activation_function: 'swiglu', bias: false },
};

function lastLogits(model: DecoderLM, ids: number[]): Float32Array {
  const V = model.config.vocab_size;
  const out = noGrad(() => model.forward(new Tensor(Int32Array.from(ids), [1, ids.length]))).f32();
  return out.slice(out.length - V);
}

const greedyOpts = { maxNewTokens: 10, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0, eosTokenIds: [] };

for (const [name, config] of Object.entries(configs)) {
  t.test(`${name}: cached greedy tokens and per-step logits equal no-cache recomputation, rows of different lengths`, async (t) => {
    const model = new DecoderLM(config, 3);
    model.eval();
    const prompts = [[1, 2, 3, 4, 5, 6, 7], [8], [9, 10, 11]];
    const { session, logits: first } = decoderSession(model, 7 + 10)(prompts);
    const V = session.vocabSize;
    const seqs = prompts.map((p) => [...p]);
    let logits = first;
    for (let step = 0; step < 10; step++) {
      const next = new Int32Array(prompts.length);
      seqs.forEach((seq, r) => {
        const want = lastLogits(model, seq); // full forward over the whole sequence, no cache
        const got = logits.subarray(r * V, (r + 1) * V);
        expectClose(t, `step ${step} row ${r}`, got, want, { atol: 2e-5, rtol: 1e-4 });
        t.equal(want.indexOf(Math.max(...want)), got.indexOf(Math.max(...got)), `step ${step} row ${r}: same greedy token`);
        next[r] = got.indexOf(Math.max(...got));
        seq.push(next[r]!);
      });
      logits = session.step(next);
    }
    session.close();
    t.throws(() => session.step(new Int32Array(3)), /closed/);
  });

  t.test(`${name}: batched generation equals each prompt alone (greedy and seeded sampling)`, async (t) => {
    const model = new DecoderLM(config, 5);
    const prompts = [[3, 1, 4, 1, 5, 9, 2, 6], [5], [3, 5, 8, 9]];
    for (const temperature of [0, 1.3]) {
      const run = (ps: number[][], js: number[]) => {
        const rows: DecodeRow[] = ps.map((prompt, i) => ({ prompt, generated: [], finished: false, rng: rowRandom(7, js[i]!) }));
        for (const _ of decodeRows(decoderSession(model, 8 + 12), rows, { ...greedyOpts, maxNewTokens: 12, temperature, topK: 10, topP: 0.9, eosTokenIds: [0] }));
        return rows.map((r) => r.generated);
      };
      const together = run(prompts, [0, 0, 0]);
      const alone = prompts.map((p) => run([p], [0])[0]!);
      t.same(together, alone, `temperature ${temperature}`);
      t.ok(together.every((g) => g.length > 0));
    }
  });
}
