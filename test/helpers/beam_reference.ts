// Independent references for beam search, sharing no code with
// lib/generate/beam_search.ts: exhaustive enumeration of every sequence on a
// tiny vocabulary, and a literal list-based transcription of Hugging Face's
// BeamSearchScorer / BeamHypotheses. A "model" is a function from the tokens
// fed so far to next-token logits (computed without any cache).

export type PrefixModel = (prefix: readonly number[]) => Float32Array;

export interface ScoredSequence {
  tokens: number[];
  score: number;
}

export function logSoftmax64(x: Float32Array): number[] {
  const m = Math.max(...x);
  const lse = m + Math.log([...x].reduce((a, v) => a + Math.exp(v - m), 0));
  return [...x].map((v) => v - lse);
}

/** Every finished sequence (ending in eos, or maxNew tokens long), scored HF-style (Σ log p / len^α), best first. */
export function exhaustive(model: PrefixModel, prompt: readonly number[], maxNew: number, minNew: number, alpha: number, eos = 0): ScoredSequence[] {
  const out: ScoredSequence[] = [];
  const walk = (tokens: number[], sum: number) => {
    if (tokens.length === maxNew || tokens[tokens.length - 1] === eos) return void out.push({ tokens, score: sum / tokens.length ** alpha });
    const lp = logSoftmax64(model([...prompt, ...tokens]));
    if (tokens.length < minNew) lp[eos] = -Infinity;
    for (let v = 0; v < lp.length; v++) if (lp[v]! > -Infinity) walk([...tokens, v], sum + lp[v]!);
  };
  walk([], 0);
  return out.sort((a, b) => b.score - a.score);
}

export interface HfReferenceOptions {
  numBeams: number;
  alpha: number;
  early: boolean | 'never';
  maxNew: number;
  minNew: number;
  numReturn: number;
  /** Default 0. */
  eos?: number;
}

/** HF BeamSearchScorer transcribed over plain lists (one prompt); V is the vocabulary size. */
export function hfReference(model: PrefixModel, V: number, prompt: readonly number[], o: HfReferenceOptions): ScoredSequence[] {
  const N = o.numBeams, eos = o.eos ?? 0;
  let beams = Array.from({ length: N }, (_, i) => ({ tokens: [] as number[], score: i === 0 ? 0 : -1e9 }));
  const hyps: ScoredSequence[] = [];
  let worst = 1e9;
  const add = (tokens: number[], sum: number, len: number) => {
    const score = sum / len ** o.alpha;
    if (hyps.length < N || score > worst) {
      hyps.push({ tokens, score });
      if (hyps.length > N) {
        const order = hyps.map((h, i) => [h.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        hyps.splice(order[0]![1], 1);
        worst = order[1]![0];
      } else worst = Math.min(worst, score);
    }
  };
  let done = false;
  for (let step = 0; step < o.maxNew && !done; step++) {
    const curLen = step + 1;
    const cands: { parent: number; token: number; score: number; flat: number }[] = [];
    beams.forEach((b, i) => {
      const lp = logSoftmax64(model([...prompt, ...b.tokens]));
      if (step < o.minNew) lp[eos] = -Infinity;
      lp.forEach((l, v) => cands.push({ parent: i, token: v, score: Math.fround(l) + b.score, flat: i * V + v }));
    });
    cands.sort((a, b) => b.score - a.score || a.flat - b.flat);
    const next: typeof beams = [];
    for (const [rank, c] of cands.slice(0, 2 * N).entries()) {
      if (next.length === N) break;
      if (c.token === eos) { if (rank < N) add([...beams[c.parent]!.tokens, eos], c.score, curLen); }
      else next.push({ tokens: [...beams[c.parent]!.tokens, c.token], score: c.score });
    }
    if (hyps.length >= N) {
      const best = cands[0]!.score;
      if (o.early === true) done = true;
      else {
        const len = o.early === 'never' && o.alpha > 0 ? o.maxNew : curLen;
        done = worst >= best / len ** o.alpha;
      }
    }
    if (!done) beams = next;
  }
  if (!done) for (const b of beams) add(b.tokens, b.score, b.tokens.length);
  return hyps.map((h, i) => [h, i] as const).sort((a, b) => b[0].score - a[0].score || b[1] - a[1]).slice(0, o.numReturn).map(([h]) => h);
}
