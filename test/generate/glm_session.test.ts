// GLM decoding through glmSession / glmFillBlanks: Part A is encoded once into
// the cache and Part B decoded after [S] at 2D positions (the blank's index,
// 1..n). Every step's logits and the greedy tokens equal a full no-cache
// forward of the whole sequence, with positions built here independently;
// prompts of different lengths batch as alone; beam search equals exhaustive
// enumeration and the HF transcription; several blanks fill one at a time;
// generate()/stream() take a GLM; bad input gives clear errors.
import t from 'tap';
import { beamSearch, type BeamSearchOptions } from '../../lib/generate/beam_search.js';
import { decodeRows, rowRandom, type DecodeRow } from '../../lib/generate/decode_loop.js';
import { generate, stream } from '../../lib/generate/generate.js';
import { glmFillBlanks } from '../../lib/generate/glm_fill.js';
import { GlmRows, glmSession } from '../../lib/generate/glm_session.js';
import { GLM } from '../../lib/models/glm.js';
import type { GlmSpecialTokens } from '../../lib/objectives/blank_infilling.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { CharTokenizer } from '../../lib/tokenizer/char.js';
import { exhaustive, hfReference } from '../helpers/beam_reference.js';
import { expectClose } from '../helpers/compare.js';

const sp: GlmSpecialTokens = { mask: 26, gmask: 27, start: 28, end: 29 };
const config = { vocab_size: 30, n_positions: 40, n_embd: 16, n_layer: 2, n_head: 2 };
const argmax = (x: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i]! > x[best]!) best = i;
  return best;
};

/** A Part B span as fed: [S] then tokens, all at the blank `position`. */
interface FedSpan {
  position: number;
  tokens: readonly number[];
}

/**
 * Next-token logits after Part A and the given Part B spans, from one full
 * forward with no cache: positions i in Part A, the blank's index in Part B;
 * block positions 0 in Part A, 1..n+1 along each span (GLM §2.3).
 */
function direct(model: GLM, partA: readonly number[], spans: readonly FedSpan[], start = sp.start): Float32Array {
  const ids = [...partA], pos = partA.map((_, i) => i), block = partA.map(() => 0);
  for (const s of spans)
    [start, ...s.tokens].forEach((id, j) => {
      ids.push(id);
      pos.push(s.position);
      block.push(j + 1);
    });
  const T = ids.length, V = model.config.vocab_size;
  const t = (a: number[]) => new Tensor(Int32Array.from(a), [1, T]);
  const out = noGrad(() => model.forward(t(ids), t(pos), t(block), Int32Array.of(partA.length))).f32(); // (1, T, V)
  return out.slice(out.length - V);
}

const decodeOpts = { maxNewTokens: 8, temperature: 0, topK: 0, topP: 1, repetitionPenalty: 1, noRepeatNgramSize: 0, minNewTokens: 0, eosTokenIds: [] as number[] };

t.test('cached per-step logits and greedy tokens equal no-cache recomputation; Part A of different lengths, [MASK] and [gMASK]', async (t) => {
  const model = new GLM(config, 3);
  model.eval();
  // Row 0: [MASK] mid-text; row 1: [gMASK] at the end; row 2: two [MASK]s, the first is filled.
  const prompts = [[3, 7, sp.mask, 11, 2, 19, 5, 8, 1], [4, 9, sp.gmask], [10, sp.mask, 13, sp.mask, 17, 21, 23]];
  const blanks = [2, 2, 1];
  const { session, logits: first, history } = glmSession(model, 9 + 8, sp)(prompts);
  t.same(history, prompts.map((p) => [...p, sp.start]), 'processors see Part A and [S]');
  const V = session.vocabSize;
  const spans = prompts.map((): number[] => []);
  let logits = first;
  for (let step = 0; step < 8; step++) {
    const next = new Int32Array(prompts.length);
    prompts.forEach((p, r) => {
      const want = direct(model, p, [{ position: blanks[r]!, tokens: spans[r]! }]);
      const got = logits.subarray(r * V, (r + 1) * V);
      expectClose(t, `step ${step} row ${r}`, got, want, { atol: 2e-5, rtol: 1e-4 });
      next[r] = argmax(got);
      t.equal(next[r], argmax(want), `step ${step} row ${r}: same greedy token`);
      spans[r]!.push(next[r]!);
    });
    if (step < 7) logits = session.step(next);
  }
  t.throws(() => session.step(new Int32Array(3)), /cache is full \(capacity 17/, 'row 0 holds 9 + 8 tokens: one more does not fit');
  session.close();
  t.throws(() => session.step(new Int32Array(3)), /closed/);
});

t.test('batched decoding equals each prompt alone (greedy and seeded sampling)', async (t) => {
  const model = new GLM(config, 5);
  const prompts = [[3, 1, 4, 1, 5, 9, sp.mask, 6], [sp.gmask], [3, 5, 8, 9, sp.gmask]];
  for (const temperature of [0, 1.3]) {
    const run = (ps: number[][]) => {
      const rows: DecodeRow[] = ps.map((prompt) => ({ prompt, generated: [], finished: false, rng: rowRandom(7, 0) }));
      for (const _ of decodeRows(glmSession(model, 8 + 10, sp), rows, { ...decodeOpts, maxNewTokens: 10, temperature, topK: 10, topP: 0.9, eosTokenIds: [sp.end] }));
      return rows.map((r) => r.generated);
    };
    const together = run(prompts);
    t.same(together, prompts.map((p) => run([p])[0]!), `temperature ${temperature}`);
    t.ok(together.every((g) => g.length > 0));
  }
});

t.test('beam search on a tiny vocabulary equals exhaustive enumeration and the HF transcription', async (t) => {
  // Text tokens 0 and 1; the specials take 2..5.
  const tiny: GlmSpecialTokens = { mask: 2, gmask: 3, start: 4, end: 5 };
  const model = new GLM({ ...config, vocab_size: 6 }, 11);
  model.eval();
  const partA = [0, 1, tiny.mask, 1, 1];
  // The reference model maps the fed sequence (Part A, [S], span so far) to logits without a cache.
  const ref = (prefix: readonly number[]) => direct(model, partA, [{ position: 2, tokens: prefix.slice(partA.length + 1) }], tiny.start);
  const base = { minNewTokens: 0, eosTokenIds: [tiny.end], repetitionPenalty: 1, noRepeatNgramSize: 0 };
  for (const alpha of [0, 1, 2]) {
    // 128 beams ≥ the 6^2 live prefixes: nothing is pruned, so "never" returns the exhaustive top.
    const got = beamSearch(glmSession(model, 5 + 3, tiny), [partA], { ...base, numBeams: 128, lengthPenalty: alpha, earlyStopping: 'never', numReturnSequences: 5, maxNewTokens: 3 })[0]!;
    const want = exhaustive(ref, [...partA, tiny.start], 3, 0, alpha, tiny.end).slice(0, 5);
    t.same(got.map((h) => h.tokens), want.map((h) => h.tokens), `α=${alpha}: the exhaustive top 5`);
    t.ok(got.every((h, i) => Math.abs(h.score - want[i]!.score) < 1e-4), `α=${alpha}: scores ${got.map((h) => h.score.toFixed(4))}`);
  }
  const wider = new GLM(config, 12);
  wider.eval();
  for (const early of [true, false, 'never'] as const) {
    const prompts = [[3, 7, sp.mask, 11, 2], [4, 9, 12, 6, 20, 25, sp.gmask]];
    const o: BeamSearchOptions = { ...base, eosTokenIds: [sp.end], numBeams: 3, lengthPenalty: 1, earlyStopping: early, numReturnSequences: 2, maxNewTokens: 6 };
    const got = beamSearch(glmSession(wider, 7 + 6, sp), prompts, o);
    prompts.forEach((p, i) => {
      const blank = p.findIndex((id) => id === sp.mask || id === sp.gmask);
      const want = hfReference((prefix) => direct(wider, p, [{ position: blank, tokens: prefix.slice(p.length + 1) }]), 30, [...p, sp.start],
        { numBeams: 3, alpha: 1, early, maxNew: 6, minNew: 0, numReturn: 2, eos: sp.end });
      t.same(got[i]!.map((h) => h.tokens), want.map((h) => h.tokens), `early=${early} prompt ${i}`);
      t.ok(got[i]!.every((h, j) => Math.abs(h.score - want[j]!.score) < 1e-4), `early=${early} prompt ${i} scores`);
    });
  }
});

t.test('commitSpan after beam reordering: logits of the next blank equal the no-cache forward over the committed span', async (t) => {
  const model = new GLM(config, 8);
  model.eval();
  const partA = [3, sp.mask, 7, 11, sp.mask, 2, 5];
  const rows = new GlmRows(model, [partA, partA, partA], 7 + 2 * 7);
  const V = rows.vocabSize;
  rows.startSpan(new Int32Array(3).fill(1), sp.start);
  rows.step(Int32Array.of(4, 9, 12));
  rows.reorder(Int32Array.of(2, 2, 0)); // rows now hold different spans than they were fed
  rows.step(Int32Array.of(6, 6, 6));
  const span = [13, 14, 15];
  rows.commitSpan(7, 1, sp.start, span);
  t.same([...rows.lengths], [11, 11, 11], 'Part A + [S] + 3 span tokens in every row');
  let logits = rows.startSpan(new Int32Array(3).fill(4), sp.start);
  const second: number[] = [];
  for (let step = 0; step < 4; step++) {
    const want = direct(model, partA, [{ position: 1, tokens: span }, { position: 4, tokens: second }]);
    for (let r = 0; r < 3; r++) expectClose(t, `second blank step ${step} row ${r}`, logits.subarray(r * V, (r + 1) * V), want, { atol: 2e-5, rtol: 1e-4 });
    second.push(16 + step);
    logits = rows.step(new Int32Array(3).fill(16 + step));
  }
  rows.close();
});

// A char tokenizer whose added tokens spell the GLM specials, so text can hold "[MASK]".
const tokenizer = CharTokenizer.fromCorpus('abcdefgh ijklmnop.', { specialTokens: ['[MASK]', '[gMASK]', '[S]', '[E]'] });
const tsp: GlmSpecialTokens = { mask: tokenizer.tokenToId('[MASK]')!, gmask: tokenizer.tokenToId('[gMASK]')!, start: tokenizer.tokenToId('[S]')!, end: tokenizer.tokenToId('[E]')! };
const textModel = new GLM({ ...config, vocab_size: tokenizer.vocabSize, n_positions: 48 }, 3);

/** Greedy blank filling with no cache: each blank decoded left to right by full forwards, earlier spans kept as Part B. */
function referenceFill(model: GLM, partA: number[], maxNew: number, eos: number): number[][] {
  const done: FedSpan[] = [];
  const out: number[][] = [];
  partA.forEach((id, position) => {
    if (id !== tsp.mask && id !== tsp.gmask) return;
    const span: number[] = [];
    while (span.length < maxNew) {
      const next = argmax(direct(model, partA, [...done, { position, tokens: span }], tsp.start));
      span.push(next);
      if (next === eos) break;
    }
    out.push(span);
    done.push({ position, tokens: span[span.length - 1] === eos ? span.slice(0, -1) : span });
  });
  return out;
}

t.test('glmFillBlanks: blanks filled one at a time equal the no-cache greedy reference; [gMASK] continues the text', async (t) => {
  textModel.eval();
  let early = 0;
  // Stop tokens the random model does emit, so spans also end early and later blanks follow shorter (even empty) spans.
  for (const eos of [tsp.end, tsp.gmask, tokenizer.tokenToId('b')!, tsp.start])
  for (const text of ['ab[MASK]ef [MASK]k.', 'abc de[MASK]gh[MASK]j [gMASK]', 'hel[gMASK]']) {
    const partA = tokenizer.encode(text);
    const got = glmFillBlanks(textModel, tokenizer, text, { maxNewTokens: 6, ...(eos === tsp.end ? {} : { stopTokens: [eos] }) });
    const want = referenceFill(textModel, partA, 6, eos);
    early += want.filter((s) => s.length < 6).length;
    t.same(got.blanks.map((b) => b.ids), want, `${text}: spans`);
    t.same(got.blanks.map((b) => b.position), partA.flatMap((id, i) => (id === tsp.mask || id === tsp.gmask ? [i] : [])), `${text}: blank positions`);
    // The filled text: each blank replaced by its span without [E].
    let k = 0;
    const filled = partA.flatMap((id) => (id === tsp.mask || id === tsp.gmask ? (([...s]) => (s[s.length - 1] === eos ? s.slice(0, -1) : s))(want[k++]!) : [id]));
    t.same(got.ids, filled, `${text}: filled ids`);
    t.equal(got.text, tokenizer.decode(filled));
    t.ok(got.blanks.every((b) => b.finishReason === (b.ids[b.ids.length - 1] === eos ? 'eos' : 'length')));
  }
  t.ok(early >= 4, `${early} spans ended at a stop token before maxNewTokens`);
});

t.test('glmFillBlanks with beam search: each blank equals the HF transcription over earlier filled spans', async (t) => {
  textModel.eval();
  const text = 'a[MASK]cd[MASK]f';
  const partA = tokenizer.encode(text);
  const got = glmFillBlanks(textModel, tokenizer, text, { maxNewTokens: 5, numBeams: 3 });
  const done: FedSpan[] = [];
  got.blanks.forEach((b, k) => {
    const fed = [...partA, ...done.flatMap((s) => [tsp.start, ...s.tokens]), tsp.start];
    const want = hfReference((prefix) => direct(textModel, partA, [...done, { position: b.position, tokens: prefix.slice(fed.length) }], tsp.start),
      tokenizer.vocabSize, fed, { numBeams: 3, alpha: 1, early: false, maxNew: 5, minNew: 0, numReturn: 1, eos: tsp.end })[0]!;
    t.same(b.ids, want.tokens, `blank ${k}`);
    done.push({ position: b.position, tokens: b.finishReason === 'eos' ? b.ids.slice(0, -1) : b.ids });
  });
});

t.test('generate() and stream() take a GLM: a blank is filled, [gMASK] is appended to text without one', async (t) => {
  const o = { maxNewTokens: 6 };
  const [[one]] = generate(textModel, tokenizer, 'ab[MASK]ef', o);
  t.same(one!.ids, glmFillBlanks(textModel, tokenizer, 'ab[MASK]ef', o).blanks[0]!.ids, 'generate fills the [MASK] as glmFillBlanks does');
  const [[cont]] = generate(textModel, tokenizer, 'abcd', o);
  t.same(cont!.ids, glmFillBlanks(textModel, tokenizer, 'abcd[gMASK]', o).blanks[0]!.ids, 'no blank: continues the text after [gMASK]');
  t.equal(cont!.finishReason, cont!.ids[cont!.ids.length - 1] === tsp.end ? 'eos' : 'length', '[E] is the default stop token');
  for (const opts of [o, { ...o, temperature: 0.8, seed: 2 }, { ...o, numBeams: 3, numReturnSequences: 2 }]) {
    const prompts = ['ab[MASK]ef', 'k', 'jihgf edc[MASK]a.'];
    const together = generate(textModel, tokenizer, prompts, opts);
    const alone = prompts.map((p) => generate(textModel, tokenizer, p, opts)[0]!);
    // Beam scores are sums of float32 log-probs from differently shaped batches: equal to ~1e-7, not bitwise.
    const strip = (seqs: typeof alone) => seqs.map((ss) => ss.map(({ score: _, ...rest }) => rest));
    t.same(strip(together), strip(alone), `${JSON.stringify(opts)}: batch = alone`);
    t.ok(together.every((ss, i) => ss.every((s, j) => Math.abs((s.score ?? 0) - (alone[i]![j]!.score ?? 0)) < 1e-5)), 'beam scores agree');
  }
  const pieces: string[] = [];
  for await (const p of stream(textModel, tokenizer, 'ab[MASK]ef', o)) pieces.push(p.text);
  t.equal(pieces.join(''), one!.text, 'stream joins to generate');
  t.throws(() => generate(textModel, tokenizer, 'ab[MASK]', { maxNewTokens: 46 }), /maxNewTokens 46 \+ the longest Part A's 3 tokens exceed the model's 48 positions/);
  const plain = CharTokenizer.fromCorpus('abc');
  t.throws(() => generate(new GLM({ ...config, vocab_size: 30 }), plain, 'ab'), /no \[MASK\], \[gMASK\], \[S\], \[E\] token; add/);
});

t.test('bad input: clear errors', async (t) => {
  const model = new GLM(config, 1);
  t.throws(() => glmSession(model, 17, sp)([[3, 4, 5]]), /prompt 0 has no \[MASK\] \(id 26\) or \[gMASK\] \(id 27\) to fill/);
  t.throws(() => glmSession(model, 17, sp)([[sp.mask], []]), /prompt 1 has no \[MASK\]/);
  t.throws(() => glmSession(model, 3, sp)([[1, 2, sp.mask]]), /prompt 0 has 3 tokens; with \[S\] that needs capacity 4 but the session has 3/);
  t.throws(() => glmSession(model, 41, sp)([[sp.mask]]), /capacity must be an integer in \[2, 40\]/);
  t.throws(() => glmSession(model, 10, sp)([]), /no prompts/);
  const rows = new GlmRows(model, [[1, sp.mask]], 5);
  t.throws(() => rows.step(Int32Array.of(1)), /step\(\) before startSpan/);
  rows.startSpan(Int32Array.of(1), sp.start);
  rows.step(Int32Array.of(1));
  rows.step(Int32Array.of(1));
  t.throws(() => rows.step(Int32Array.of(1)), /cache is full \(capacity 5/);
  t.throws(() => rows.startSpan(Int32Array.of(2), sp.start), /blank at 2 is not inside its Part A of 2 tokens/);
  t.throws(() => glmFillBlanks(textModel, tokenizer, 'abc'), /the text has no \[MASK\] .* end the text with \[gMASK\]/);
  t.throws(() => glmFillBlanks(textModel, tokenizer, ''), /the text is empty/);
  t.throws(() => glmFillBlanks(textModel, tokenizer, 'a[MASK]b[MASK]', { maxNewTokens: 30 }), /need 65 positions, over n_positions 48/);
  t.throws(() => glmFillBlanks(textModel, tokenizer, 'a[MASK]', { numBeams: 2, numReturnSequences: 2 }), /numReturnSequences must be 1/);
  t.throws(() => glmFillBlanks(textModel, tokenizer, 'a[MASK]', { stopStrings: ['.'] }), /stopStrings are not supported/);
});
