// Encoder-decoder decoding (T5 style) through encoderDecoderSession: with the
// decoder KV cache and the cross k/v computed once, every step's logits and
// the greedy tokens equal a full no-cache forward (encoder rerun on the source
// alone, decoder over the whole target so far); sources of different lengths
// in one batch equal each alone; the encoder runs once per distinct source;
// beam search equals exhaustive enumeration and the HF transcription; bad input.
import t from 'tap';
import { beamSearch, type BeamSearchOptions } from '../../lib/generate/beam_search.js';
import { decodeRows, rowRandom, type DecodeRow } from '../../lib/generate/decode_loop.js';
import { encoderDecoderSession } from '../../lib/generate/encoder_decoder_session.js';
import { generate, stream } from '../../lib/generate/generate.js';
import { EncoderDecoderLM } from '../../lib/models/encoder_decoder.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { exhaustive, hfReference } from '../helpers/beam_reference.js';
import { expectClose } from '../helpers/compare.js';

const config = { vocab_size: 23, d_model: 16, num_layers: 2, num_heads: 2, max_position_embeddings: 24, dropout_rate: 0, eos_token_id: 1, decoder_start_token_id: 0 };
const argmax = (x: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
};

/** Next-token logits of the decoder after `target`, recomputed from scratch: no cache, the source encoded alone. */
function direct(model: EncoderDecoderLM, source: readonly number[], target: readonly number[]): Float32Array {
  const V = model.config.vocab_size;
  const out = noGrad(() => model.forward(new Tensor(Int32Array.from(source), [1, source.length]), undefined,
    new Tensor(Int32Array.from(target), [1, target.length]))).f32(); // (1, T, V)
  return out.slice(out.length - V);
}

const decodeOpts = { maxNewTokens: 10, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0, eosTokenIds: [] as number[] };

t.test('cached per-step logits and greedy tokens equal no-cache recomputation; sources of different lengths in one batch', async (t) => {
  const model = new EncoderDecoderLM(config, 3);
  model.eval();
  const sources = [[5, 6, 7, 8, 9, 10, 11, 12, 13], [14], [15, 16, 17]];
  const { session, logits: first, history } = encoderDecoderSession(model, 10)(sources);
  t.same(history, sources.map(() => [0]), 'processors see the decoder input (start token), not the source');
  const V = session.vocabSize;
  const targets = sources.map(() => [config.decoder_start_token_id]);
  let logits = first;
  for (let step = 0; step < 10; step++) {
    const next = new Int32Array(sources.length);
    targets.forEach((tgt, r) => {
      const want = direct(model, sources[r]!, tgt);
      const got = logits.subarray(r * V, (r + 1) * V);
      expectClose(t, `step ${step} row ${r}`, got, want, { atol: 2e-5, rtol: 1e-4 });
      next[r] = argmax(got);
      t.equal(next[r], argmax(want), `step ${step} row ${r}: same greedy token`);
      tgt.push(next[r]!);
    });
    if (step < 9) logits = session.step(next);
  }
  t.throws(() => session.step(new Int32Array(3)), /cache is full \(capacity 10/, 'an 11th decoder token does not fit capacity 10');
  session.close();
  t.throws(() => session.step(new Int32Array(3)), /closed/);
});

t.test('reorder() moves the cross k/v and source lengths with the decoder cache', async (t) => {
  const model = new EncoderDecoderLM(config, 4);
  model.eval();
  const sources = [[5, 6, 7, 8, 9], [10], [11, 12, 13]];
  const { session } = encoderDecoderSession(model, 6)(sources);
  const V = session.vocabSize;
  const targets = sources.map(() => [0]);
  session.step(Int32Array.of(2, 3, 4)).fill(0);
  targets.forEach((tgt, r) => tgt.push(2 + r));
  const src = Int32Array.of(2, 0, 0); // rows continue other rows, sources included
  session.reorder(src);
  const moved = Array.from(src, (s) => ({ source: sources[s]!, target: [...targets[s]!, 9] }));
  const logits = session.step(Int32Array.of(9, 9, 9));
  moved.forEach((m, r) => expectClose(t, `row ${r} after reorder`, logits.subarray(r * V, (r + 1) * V), direct(model, m.source, m.target), { atol: 2e-5, rtol: 1e-4 }));
  session.close();
});

t.test('batched decoding equals each source alone (greedy and seeded sampling)', async (t) => {
  const model = new EncoderDecoderLM(config, 5);
  const sources = [[3, 4, 5, 6, 7, 8, 9, 10], [5], [3, 5, 8, 9]];
  for (const temperature of [0, 1.3]) {
    const run = (ps: number[][]) => {
      const rows: DecodeRow[] = ps.map((prompt) => ({ prompt, generated: [], finished: false, rng: rowRandom(7, 0) }));
      for (const _ of decodeRows(encoderDecoderSession(model, 12), rows, { ...decodeOpts, maxNewTokens: 12, temperature, topK: 10, topP: 0.9, eosTokenIds: [1] }));
      return rows.map((r) => r.generated);
    };
    const together = run(sources);
    t.same(together, sources.map((p) => run([p])[0]!), `temperature ${temperature}`);
    t.ok(together.every((g) => g.length > 0));
  }
});

t.test('the encoder and the cross k/v projections run once, even under beam search', async (t) => {
  const model = new EncoderDecoderLM(config, 6);
  const calls: number[][] = [];
  const encode = model.encode.bind(model);
  model.encode = (src, lengths) => {
    calls.push([...src.shape]);
    return encode(src, lengths);
  };
  let projections = 0;
  for (const block of model.decoder.block) {
    const project = block.crossattention.projectMemory.bind(block.crossattention);
    block.crossattention.projectMemory = (memory) => {
      projections++;
      return project(memory);
    };
  }
  const o: BeamSearchOptions = { numBeams: 3, lengthPenalty: 1, earlyStopping: false, numReturnSequences: 2, maxNewTokens: 6, minNewTokens: 0, eosTokenIds: [1], repetitionPenalty: 1, noRepeatNgramSize: 0 };
  beamSearch(encoderDecoderSession(model, 6), [[4, 5, 6], [7, 8], [4, 5, 6]], o);
  t.same(calls, [[2, 3]], 'one encoder call over the 2 distinct sources (9 beam rows), padded to 3 tokens');
  t.equal(projections, config.num_layers, 'cross k/v projected once per decoder layer, not per step');
});

t.test('beam search on a tiny vocabulary equals exhaustive enumeration and the HF transcription', async (t) => {
  const V = 5, EOS = 1;
  const model = new EncoderDecoderLM({ ...config, vocab_size: V }, 11);
  model.eval();
  const source = [2, 3, 4, 2];
  // The reference model: the decoder prefix (start token + tokens so far) → logits, no cache.
  const ref = (prefix: readonly number[]) => direct(model, source, prefix);
  const base = { lengthPenalty: 1, minNewTokens: 0, eosTokenIds: [EOS], repetitionPenalty: 1, noRepeatNgramSize: 0 };
  for (const alpha of [0, 1, 2]) {
    // 128 beams ≥ the 5^3 live prefixes: nothing is pruned, so "never" returns the exhaustive top.
    const got = beamSearch(encoderDecoderSession(model, 4), [source], { ...base, numBeams: 128, lengthPenalty: alpha, earlyStopping: 'never', numReturnSequences: 5, maxNewTokens: 4 })[0]!;
    const want = exhaustive(ref, [0], 4, 0, alpha, EOS).slice(0, 5);
    t.same(got.map((h) => h.tokens), want.map((h) => h.tokens), `α=${alpha}: the exhaustive top 5`);
    t.ok(got.every((h, i) => Math.abs(h.score - want[i]!.score) < 1e-4), `α=${alpha}: scores ${got.map((h) => h.score.toFixed(4))}`);
  }
  for (const early of [true, false, 'never'] as const) {
    const sources = [source, [4, 4, 3, 2, 2, 3, 4]];
    const got = beamSearch(encoderDecoderSession(model, 6), sources, { ...base, numBeams: 2, earlyStopping: early, numReturnSequences: 2, maxNewTokens: 6 });
    sources.forEach((s, i) => {
      const want = hfReference((p) => direct(model, s, p), V, [0], { numBeams: 2, alpha: 1, early, maxNew: 6, minNew: 0, numReturn: 2, eos: EOS });
      t.same(got[i]!.map((h) => h.tokens), want.map((h) => h.tokens), `early=${early} source ${i}`);
      t.ok(got[i]!.every((h, j) => Math.abs(h.score - want[j]!.score) < 1e-4), `early=${early} source ${i} scores`);
    });
  }
});

t.test('generate() and stream() take an EncoderDecoderLM: batch = alone, stream = generate, eos from the config', async (t) => {
  const tokenizer = CharTokenizer.fromCorpus('abcdefghij klmnop', { specialTokens: ['<pad>', '</s>'] });
  const pad = tokenizer.tokenToId('<pad>')!, eos = tokenizer.tokenToId('</s>')!;
  const model = new EncoderDecoderLM({ ...config, vocab_size: tokenizer.vocabSize, pad_token_id: pad, eos_token_id: eos, decoder_start_token_id: pad }, 2);
  for (const o of [{ maxNewTokens: 8 }, { maxNewTokens: 8, temperature: 0.9, seed: 4 }, { maxNewTokens: 8, numBeams: 3, numReturnSequences: 2 }]) {
    const prompts = ['abc def', 'k', 'jihgfedcba'];
    const together = generate(model, tokenizer, prompts, o);
    const alone = prompts.map((p) => generate(model, tokenizer, p, o)[0]!);
    // Sources padded to the longest change float32 rounding in the encoder, not the tokens: scores agree to ~1e-7.
    const strip = (seqs: typeof alone) => seqs.map((ss) => ss.map(({ score: _, ...rest }) => rest));
    t.same(strip(together), strip(alone), `${JSON.stringify(o)}: batch = alone`);
    t.ok(together.every((ss, i) => ss.every((s, j) => Math.abs((s.score ?? 0) - (alone[i]![j]!.score ?? 0)) < 1e-5)), 'beam scores agree');
    for (const seqs of together) for (const s of seqs) {
      t.ok(s.ids.slice(0, -1).every((id) => id !== eos), 'eos (config.eos_token_id) only ends a sequence');
      t.equal(s.finishReason, s.ids[s.ids.length - 1] === eos ? 'eos' : 'length');
    }
  }
  const pieces: string[] = [];
  for await (const p of stream(model, tokenizer, 'abc def', { maxNewTokens: 8 })) pieces.push(p.text);
  t.equal(pieces.join(''), generate(model, tokenizer, 'abc def', { maxNewTokens: 8 })[0]![0]!.text);
  // A source may be as long as the encoder's table; the decoder's limit is separate.
  t.equal(generate(model, tokenizer, 'a'.repeat(24), { maxNewTokens: 24 })[0]!.length, 1);
  t.throws(() => generate(model, tokenizer, 'a'.repeat(25)), /prompt 0 has 25 tokens but the encoder reads at most 24/);
  t.throws(() => generate(model, tokenizer, 'ab', { maxNewTokens: 25 }), /maxNewTokens 25 exceeds the decoder's 24 positions/);
  t.throws(() => generate(model, tokenizer, ''), /prompt 0 is empty/);
});

t.test('bad input: clear errors', async (t) => {
  const model = new EncoderDecoderLM(config, 1);
  t.throws(() => encoderDecoderSession(model, 0), /capacity must be an integer in \[1, 24\]/);
  t.throws(() => encoderDecoderSession(model, 25), /capacity must be an integer in \[1, 24\]/);
  const open = encoderDecoderSession(model, 4);
  t.throws(() => open([]), /no prompts/);
  t.throws(() => open([[1, 2], []]), /prompt 1 is empty/);
  t.throws(() => open([Array.from({ length: 25 }, () => 2)]), /prompt 0 has 25 tokens .* max_position_embeddings 24/);
  t.throws(() => open([[2, 23]]), /token id 23, outside the vocabulary \[0, 23\)/);
});
