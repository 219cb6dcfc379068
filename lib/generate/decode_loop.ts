// Token-by-token decoding of a batch of rows (greedy or seeded sampling):
// processors, warpers and the pick for every unfinished row, then one
// batched KV-cached step. Finished rows (eos, or marked by the caller for a
// stop string) are fed a filler token and never sampled again.
import { Random } from '../tensor/random.js';
import type { SessionFactory } from './kv_cache.js';
import { pickToken, processLogits, type ProcessorOptions, type WarperOptions } from './sampling.js';

export interface DecodeLoopOptions extends ProcessorOptions, WarperOptions {
  maxNewTokens: number;
}

/** Per-row state the caller reads after each step (and may mark finished). */
export interface DecodeRow {
  prompt: readonly number[];
  generated: number[];
  finished: boolean;
  rng: Random;
}

/** One sampling stream per returned sequence j, independent of batch layout. */
export function rowRandom(seed: number, j: number): Random {
  return new Random((seed ^ Math.imul(j + 1, 0x9e3779b1)) >>> 0);
}

/**
 * Decodes all rows together; yields after each step with every row's
 * `generated` updated. Returns when all rows are finished or maxNewTokens
 * steps are done. The session is closed when the generator ends or is
 * returned early (for...of break, abort).
 */
export function* decodeRows(open: SessionFactory, rows: DecodeRow[], o: DecodeLoopOptions): Generator<DecodeRow[]> {
  const { session, logits: first, history } = open(rows.map((r) => r.prompt));
  try {
    const V = session.vocabSize;
    const eos = new Set(o.eosTokenIds);
    const filler = o.eosTokenIds[0] ?? 0;
    let logits = first;
    for (let step = 0; step < o.maxNewTokens; step++) {
      const next = new Int32Array(rows.length).fill(filler);
      rows.forEach((row, r) => {
        if (row.finished) return;
        const lg = Float32Array.from(logits.subarray(r * V, (r + 1) * V));
        processLogits(lg, { tokens: [...(history?.[r] ?? row.prompt), ...row.generated], newTokens: row.generated.length }, o);
        const id = pickToken(lg, { ...o, rng: row.rng });
        next[r] = id;
        row.generated.push(id);
        if (eos.has(id)) row.finished = true;
      });
      yield rows;
      if (rows.every((r) => r.finished) || step + 1 === o.maxNewTokens) return;
      logits = session.step(next);
    }
  } finally {
    session.close();
  }
}
