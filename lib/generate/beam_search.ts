// Beam search with Hugging Face `generate` semantics (BeamSearchScorer and
// BeamHypotheses, transformers ≥ 4.36): numBeams rows per prompt, the top
// 2·numBeams candidates each step, an eos candidate becomes a finished
// hypothesis only when it ranks among the top numBeams, and
//   score = Σ log p / len^lengthPenalty,
// where len counts the generated tokens including the eos that ended the
// hypothesis (HF's generated_len = cur_len + 1 − prompt_len; the prompt is not counted).
import { processLogits, logSoftmax, type ProcessorOptions } from './sampling.js';
import type { SessionFactory } from './kv_cache.js';

export type EarlyStopping = boolean | 'never';

export interface BeamSearchOptions extends ProcessorOptions {
  numBeams: number;
  /** Exponent α of the length normalisation; > 0 favours longer sequences. */
  lengthPenalty: number;
  /** true: stop at numBeams finished hypotheses; false: HF's heuristic; 'never': only when no beam can do better. */
  earlyStopping: EarlyStopping;
  /** Best hypotheses returned per prompt (≤ numBeams). */
  numReturnSequences: number;
  maxNewTokens: number;
}

export interface BeamHypothesis {
  /** Generated tokens (the prompt excluded), ending with eos when it ended there. */
  tokens: number[];
  /** Σ log p of the generated tokens (after logits processors). */
  sumLogprobs: number;
  /** sumLogprobs / len^lengthPenalty: the ranking score. */
  score: number;
}

/** The numBeams best finished hypotheses of one prompt (HF BeamHypotheses). */
export class BeamHypotheses {
  readonly beams: BeamHypothesis[] = [];
  private worstScore = 1e9;

  constructor(private readonly numBeams: number, private readonly lengthPenalty: number,
    private readonly earlyStopping: EarlyStopping, private readonly maxNewTokens: number) {}

  add(tokens: number[], sumLogprobs: number, generatedLen: number): void {
    const score = sumLogprobs / generatedLen ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worstScore) {
      this.beams.push({ tokens, sumLogprobs, score });
      if (this.beams.length > this.numBeams) {
        const sorted = this.beams.map((h, i) => [h.score, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(sorted[0]![1], 1);
        this.worstScore = sorted[1]![0];
      } else {
        this.worstScore = Math.min(score, this.worstScore);
      }
    }
  }

  /** Whether no running beam can still enter the list; curLen is the generated length the scores were computed on. */
  isDone(bestSumLogprobs: number, curLen: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping === true) return true;
    // false: HF's heuristic scores the best running beam at the current length;
    // 'never' with α > 0 bounds it at the longest allowed length instead.
    const len = this.earlyStopping === 'never' && this.lengthPenalty > 0 ? this.maxNewTokens : curLen;
    return this.worstScore >= bestSumLogprobs / len ** this.lengthPenalty;
  }

  /** Best first; among equal scores the later-added first (HF sorts then pops). */
  best(n: number): BeamHypothesis[] {
    return this.beams.map((h, i) => [h, i] as const).sort((a, b) => b[0].score - a[0].score || b[1] - a[1]).slice(0, n).map(([h]) => h);
  }
}

/** Beam search for each prompt; returns numReturnSequences hypotheses per prompt, best first. */
export function beamSearch(open: SessionFactory, prompts: readonly (readonly number[])[], o: BeamSearchOptions): BeamHypothesis[][] {
  const N = o.numBeams, B = prompts.length;
  const { session, logits: first, history } = open(prompts.flatMap((p) => Array.from({ length: N }, () => p)));
  try {
    const V = session.vocabSize;
    let logits = first;
    // Only beam 0 of each prompt is live at first, so step one draws N distinct tokens from it.
    let beamScores = Float64Array.from({ length: B * N }, (_, r) => (r % N === 0 ? 0 : -1e9));
    let beamTokens: number[][] = Array.from({ length: B * N }, () => []);
    const hyps = prompts.map(() => new BeamHypotheses(N, o.lengthPenalty, o.earlyStopping, o.maxNewTokens));
    const done = new Array<boolean>(B).fill(false);
    const eos = new Set(o.eosTokenIds);
    for (let step = 0; step < o.maxNewTokens; step++) {
      const curLen = step + 1; // generated length once this step's token is appended
      const src = new Int32Array(B * N), next = new Int32Array(B * N);
      const nextScores = new Float64Array(B * N);
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          // A finished prompt keeps its rows idle (HF pads them); their output is never read.
          for (let i = 0; i < N; i++) (src[b * N + i] = b * N + i), (next[b * N + i] = o.eosTokenIds[0] ?? 0);
          continue;
        }
        const cand = new Float64Array(N * V);
        for (let i = 0; i < N; i++) {
          const r = b * N + i;
          const lp = Float32Array.from(logSoftmax(logits.subarray(r * V, (r + 1) * V)));
          processLogits(lp, { tokens: [...(history?.[b * N] ?? prompts[b]!), ...beamTokens[r]!], newTokens: step }, o);
          for (let v = 0; v < V; v++) cand[i * V + v] = lp[v]! + beamScores[r]!;
        }
        const top = topIndices(cand, Math.min(2 * N, cand.length));
        let kept = 0;
        for (let rank = 0; rank < top.length && kept < N; rank++) {
          const flat = top[rank]!, parent = b * N + Math.floor(flat / V), token = flat % V;
          if (eos.has(token)) {
            if (rank >= N) continue; // an eos below the top numBeams does not finish a hypothesis
            hyps[b]!.add([...beamTokens[parent]!, token], cand[flat]!, curLen);
          } else {
            src[b * N + kept] = parent;
            next[b * N + kept] = token;
            nextScores[b * N + kept] = cand[flat]!;
            kept++;
          }
        }
        if (kept < N) throw new RangeError(`beamSearch: only ${kept} of the top ${top.length} candidates are not eos; numBeams ${N} needs a vocabulary with more non-eos tokens`);
        done[b] = hyps[b]!.isDone(cand[top[0]!]!, curLen);
      }
      if (done.every(Boolean)) break;
      beamTokens = Array.from(src, (s, r) => (done[Math.floor(r / N)] ? beamTokens[r]! : [...beamTokens[s]!, next[r]!]));
      beamScores = Float64Array.from(nextScores, (s, r) => (done[Math.floor(r / N)] ? beamScores[r]! : s));
      if (step + 1 === o.maxNewTokens) break; // out of length: the running beams are final
      session.reorder(src);
      logits = session.step(next);
    }
    // Prompts that ran out of length: their running beams compete with the finished ones.
    for (let b = 0; b < B; b++) {
      if (done[b]) continue;
      for (let i = 0; i < N; i++) hyps[b]!.add(beamTokens[b * N + i]!, beamScores[b * N + i]!, beamTokens[b * N + i]!.length);
    }
    return hyps.map((h) => h.best(o.numReturnSequences));
  } finally {
    session.close();
  }
}

/** Indices of the k largest values, largest first; ties by lower index (as a stable sort). */
function topIndices(values: Float64Array, k: number): number[] {
  const idx = Array.from(values.keys());
  idx.sort((a, b) => values[b]! - values[a]! || a - b);
  return idx.slice(0, k);
}
