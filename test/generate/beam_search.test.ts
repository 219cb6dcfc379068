// Beam search against two references that share no code with it
// (test/helpers/beam_reference.ts):
// (1) exhaustive enumeration of every sequence on a tiny vocabulary — with
// beams wide enough that nothing is pruned and earlyStopping "never", HF beam
// search must return exactly the top sequences by Σ log p / len^α;
// (2) a literal list-based transcription of HF's BeamSearchScorer for
// narrow beams, earlyStopping true / false / "never", several α.
import t from 'tap';
import type { Test } from 'tap';
import { beamSearch, type BeamHypothesis, type BeamSearchOptions } from '../../lib/generate/beam_search.js';
import type { SessionFactory } from '../../lib/generate/kv_cache.js';
import { decoderSession } from '../../lib/generate/kv_cache.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { exhaustive, hfReference } from '../helpers/beam_reference.js';

type Model = (prefix: readonly number[]) => Float32Array;
const V = 4, EOS = 0;

/** Deterministic pseudo-random logits per prefix (a hash of the prefix). */
const fake: Model = (prefix) => {
  let h = 2166136261;
  for (const x of prefix) h = Math.imul(h ^ (x + 7), 16777619) >>> 0;
  return Float32Array.from({ length: V }, (_, v) => {
    const z = Math.imul(h ^ Math.imul(v + 1, 0x9e3779b1), 0x85ebca6b) >>> 0;
    return ((z % 10007) / 10007) * 4 - 2;
  });
};

/** A session over a prefix → logits function (no cache: rows hold their sequences). */
function fakeSession(model: Model, V: number): SessionFactory {
  return (prompts) => {
    let seqs = prompts.map((p) => [...p]);
    const all = () => { const out = new Float32Array(seqs.length * V); seqs.forEach((s, r) => out.set(model(s), r * V)); return out; };
    return {
      logits: all(),
      session: {
        vocabSize: V, rows: seqs.length,
        step(tokens) { seqs.forEach((s, r) => s.push(tokens[r]!)); return all(); },
        reorder(src) { seqs = Array.from(src, (s) => [...seqs[s]!]); },
        close() {},
      },
    };
  };
}

function options(over: Partial<BeamSearchOptions>): BeamSearchOptions {
  return { numBeams: 2, lengthPenalty: 1, earlyStopping: false, numReturnSequences: 1, maxNewTokens: 4, minNewTokens: 0,
    eosTokenIds: [EOS], repetitionPenalty: 1, noRepeatNgramSize: 0, ...over };
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));

function same(t: Test, got: BeamHypothesis[], want: { tokens: number[]; score: number }[], what: string): void {
  t.same(got.map((h) => h.tokens), want.map((h) => h.tokens), `${what}: sequences`);
  t.ok(got.every((h, i) => close(h.score, want[i]!.score)), `${what}: scores ${got.map((h) => h.score.toFixed(4))}`);
}

t.test('wide beams with earlyStopping "never" return exactly the exhaustive top sequences', async (t) => {
  for (const alpha of [-1, 0, 0.5, 1, 2]) for (const minNew of [0, 2]) {
    const prompt = [1, 3];
    // 128 beams: every live prefix (≤ 27 at depth 3) and every candidate survive, so nothing is pruned.
    const got = beamSearch(fakeSession(fake, V), [prompt], options({ numBeams: 128, lengthPenalty: alpha, earlyStopping: 'never', numReturnSequences: 6, minNewTokens: minNew }))[0]!;
    same(t, got, exhaustive(fake, prompt, 4, minNew, alpha).slice(0, 6), `α=${alpha} minNew=${minNew}`);
  }
});

t.test('narrow beams equal the HF BeamSearchScorer transcription (early stopping, α, numReturnSequences)', async (t) => {
  let shorter = 0;
  for (const early of [true, false, 'never'] as const) for (const alpha of [-0.5, 0, 1, 2.5]) for (const numBeams of [1, 2, 3]) {
    const numReturn = numBeams === 1 ? 1 : 2;
    for (const prompt of [[2], [1, 3, 2], [3, 3]]) {
      const got = beamSearch(fakeSession(fake, V), [prompt], options({ numBeams, lengthPenalty: alpha, earlyStopping: early, numReturnSequences: numReturn, maxNewTokens: 6, minNewTokens: 1 }))[0]!;
      const want = hfReference(fake, V, prompt, { numBeams, alpha, early, maxNew: 6, minNew: 1, numReturn });
      same(t, got, want, `early=${early} α=${alpha} beams=${numBeams} prompt=${prompt}`);
      if (got.some((h) => h.tokens.length < 6)) shorter++;
    }
  }
  t.ok(shorter > 0, 'some hypotheses end at eos before maxNewTokens (the eos paths are exercised)');
});

t.test('batched prompts decode as each alone; numReturnSequences orders best first', async (t) => {
  const prompts = [[2], [1, 3, 2], [3]];
  const o = options({ numBeams: 3, numReturnSequences: 3, maxNewTokens: 5, earlyStopping: false });
  const together = beamSearch(fakeSession(fake, V), prompts, o);
  t.same(together, prompts.map((p) => beamSearch(fakeSession(fake, V), [p], o)[0]));
  for (const hyps of together) t.ok(hyps.every((h, i) => i === 0 || hyps[i - 1]!.score >= h.score));
});

t.test('noRepeatNgramSize: no returned sequence repeats a bigram', async (t) => {
  const got = beamSearch(fakeSession(fake, V), [[1, 2, 1]], options({ numBeams: 3, numReturnSequences: 3, maxNewTokens: 6, noRepeatNgramSize: 2, eosTokenIds: [] }))[0]!;
  for (const h of got) {
    const seq = [1, 2, 1, ...h.tokens];
    const grams = seq.slice(1).map((x, i) => `${seq[i]},${x}`);
    t.equal(new Set(grams).size, grams.length, `${seq}`);
  }
});

t.test('with a real decoder the KV cache and beam reordering give the reference result', async (t) => {
  const model = new DecoderLM({ vocab_size: 6, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 }, 11);
  model.eval();
  const direct: Model = (prefix) => {
    const out = noGrad(() => model.forward(new Tensor(Int32Array.from(prefix), [1, prefix.length]))).f32();
    return out.slice(out.length - 6);
  };
  for (const early of [true, false, 'never'] as const) {
    const prompts = [[1, 2, 3], [4]];
    const got = beamSearch(decoderSession(model, 3 + 6), prompts, options({ numBeams: 3, numReturnSequences: 2, maxNewTokens: 6, earlyStopping: early, lengthPenalty: 1 }));
    prompts.forEach((p, i) => {
      const want = hfReference(direct, 6, p, { numBeams: 3, alpha: 1, early, maxNew: 6, minNew: 0, numReturn: 2 });
      t.same(got[i]!.map((h) => h.tokens), want.map((h) => h.tokens), `early=${early} prompt ${i}`);
      t.ok(got[i]!.every((h, j) => Math.abs(h.score - want[j]!.score) < 1e-4), `early=${early} prompt ${i} scores`);
    });
  }
});
