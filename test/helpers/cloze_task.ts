// A separable two-label cloze task for GLM tests: the "good" words use
// letters a-h, the "bad" ones r-y, the fillers neither; a sentence is two
// fillers and one labelled word in a random slot, then "was [MASK]". Sets
// drawn together share no sentence (held-out = new arrangements of the words).
import type { ClozeExample } from '../../lib/data/cloze_jsonl.js';
import { Random } from '../../lib/tensor/random.js';

export const CLOZE_LEXICON = { good: ['bead', 'cafe', 'hedge'], bad: ['rust', 'vow', 'tryst'] } as const;
const FILLERS = ['in', 'no', 'ion', 'mil', 'kin', 'lo', 'on', 'oil', 'mink', 'lion', 'nil', 'kilo'];

/** Disjoint sets of sizes `counts`, drawn from `seed`. */
export function clozeSentences(seed: number, counts: readonly number[]): ClozeExample[][] {
  const rng = new Random(seed), seen = new Set<string>();
  return counts.map((n) => {
    const out: ClozeExample[] = [];
    while (out.length < n) {
      const label = rng.int(2) === 0 ? 'good' : 'bad';
      const words = [FILLERS[rng.int(FILLERS.length)]!, FILLERS[rng.int(FILLERS.length)]!];
      words.splice(rng.int(3), 0, CLOZE_LEXICON[label][rng.int(3)]!);
      const text = `${words.join(' ')} was [MASK]`;
      if (seen.has(text)) continue;
      seen.add(text);
      out.push({ text, label });
    }
    return out;
  });
}
