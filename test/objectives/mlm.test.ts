// BERT masking: measured rates over many draws match 15% chosen and an
// 80/10/10 split; specials and padding are never chosen; every chosen token is
// recoverable from its label and nothing else changes; same seed, same masks.
import t from 'tap';
import { mlmBatch, maskTokens, type MlmConfig } from '../../lib/objectives/mlm.js';
import { padBatch } from '../../lib/objectives/pad_batch.js';
import { Random } from '../../lib/tensor/random.js';

const PAD = 0, CLS = 1, SEP = 2, MASK = 3;
const config: MlmConfig = { vocabSize: 1000, maskId: MASK, padId: PAD, specialIds: [CLS, SEP] };

/** [CLS] w… [SEP] with w drawn from the ordinary ids, lengths 8..64. */
function corpus(n: number, rng: Random): Int32Array[] {
  return Array.from({ length: n }, () => {
    const len = 8 + rng.int(57);
    const s = Int32Array.from({ length: len }, () => 4 + rng.int(996));
    s[0] = CLS;
    s[len - 1] = SEP;
    return s;
  });
}

t.test('rates over many draws: 15% chosen, then 80% [MASK] / 10% random / 10% kept', async (t) => {
  for (const seed of [1, 2, 3]) {
    const rng = new Random(seed);
    const seqs = corpus(800, new Random(100 + seed));
    let eligible = 0, specialChosen = 0, chosen = 0, masked = 0, random = 0, kept = 0;
    for (const s of seqs) {
      const { input, labels } = maskTokens(s, config, rng);
      for (let i = 0; i < s.length; i++) {
        const special = s[i] === CLS || s[i] === SEP;
        if (!special) eligible++;
        if (labels[i] === -100) continue;
        if (special) specialChosen++;
        chosen++;
        if (input[i] === MASK) masked++;
        else if (input[i] === s[i]) kept++; // includes a random draw of the original id (p = 1/996, negligible)
        else random++;
      }
    }
    t.equal(specialChosen, 0, `seed ${seed}: no special token is ever chosen`);
    // Each check is a binomial proportion; 4.5 standard deviations make a
    // false failure ~7e-6 per check while a wrong rate (e.g. 0.12 or 0.7) is
    // far outside. With ~27k eligible tokens per seed: sd(chosen) ≈ 0.0022,
    // and with ~4k chosen: sd(mask share) ≈ 0.0063, sd(random/kept) ≈ 0.0047.
    const within = (name: string, got: number, p: number, n: number) => {
      const tol = 4.5 * Math.sqrt((p * (1 - p)) / n);
      t.ok(Math.abs(got - p) <= tol, `seed ${seed} ${name}: ${got.toFixed(4)} vs ${p} ± ${tol.toFixed(4)} (n = ${n})`);
    };
    within('chosen rate', chosen / eligible, 0.15, eligible);
    within('[MASK] share', masked / chosen, 0.8, chosen);
    within('random share', random / chosen, 0.1, chosen);
    within('kept share', kept / chosen, 0.1, chosen);
  }
});

t.test('batches: padding never chosen, labels recover every chosen token, nothing else changes', async (t) => {
  const seqs = corpus(64, new Random(7));
  const { ids, labels, lengths } = mlmBatch(seqs, config, new Random(8));
  const [B, T] = ids.shape as [number, number];
  t.equal(B, 64);
  t.equal(T, Math.max(...seqs.map((s) => s.length)));
  const x = ids.i32(), y = labels.i32();
  let bad = 0;
  for (let b = 0; b < B; b++) {
    t.equal(lengths[b], seqs[b]!.length);
    for (let i = 0; i < T; i++) {
      const k = b * T + i;
      if (i >= lengths[b]!) {
        if (x[k] !== PAD || y[k] !== -100) bad++; // padding: filler id, no label
      } else if (y[k] !== -100) {
        if (y[k] !== seqs[b]![i]) bad++; // the label is the original token
      } else if (x[k] !== seqs[b]![i]) bad++; // unchosen tokens are untouched
    }
  }
  t.equal(bad, 0, 'every position obeys the padding/label/untouched rule');
  // A random replacement never introduces a special id.
  const specials = new Set([PAD, CLS, SEP]);
  let leaked = 0;
  for (let k = 0; k < x.length; k++) if (y[k] !== -100 && x[k] !== MASK && specials.has(x[k]!)) leaked++;
  t.equal(leaked, 0, 'no special id is drawn as a random replacement');
});

t.test('deterministic by seed', async (t) => {
  const seqs = corpus(20, new Random(3));
  const a = mlmBatch(seqs, config, new Random(42));
  const b = mlmBatch(seqs, config, new Random(42));
  const c = mlmBatch(seqs, config, new Random(43));
  t.same(a.ids.i32(), b.ids.i32());
  t.same(a.labels.i32(), b.labels.i32());
  t.not(a.labels.i32().join(), c.labels.i32().join(), 'another seed gives other masks');
  // Resuming from a saved Random state reproduces the next batch.
  const rng = new Random(5);
  mlmBatch(seqs, config, rng);
  const saved = rng.state();
  const next = mlmBatch(seqs, config, rng);
  t.same(mlmBatch(seqs, config, new Random(saved)).labels.i32(), next.labels.i32());
});

t.test('collation and bad configs', async (t) => {
  const { ids, lengths } = padBatch([[5, 6, 7], [8]], PAD, 4);
  t.same([...ids.i32()], [5, 6, 7, PAD, 8, PAD, PAD, PAD]);
  t.same([...lengths], [3, 1]);
  t.same(mlmBatch([[1, 2]], config, new Random(0), 4).labels.i32(), Int32Array.of(-100, -100, -100, -100), 'specials only: nothing chosen');
  t.throws(() => padBatch([], PAD), { code: 'BATCH_EMPTY' });
  t.throws(() => padBatch([[5], []], PAD), { code: 'BATCH_EMPTY_SEQUENCE', message: /sequence 1 is empty/ });
  t.throws(() => padBatch([[5, 6, 7]], PAD, 2), { code: 'BATCH_TOO_LONG', message: /3 tokens, more than the width 2/ });
  t.throws(() => maskTokens([5], { ...config, maskId: 1000 }, new Random(0)), { code: 'CONFIG_INVALID', message: /maskId 1000/ });
  t.throws(() => maskTokens([5], { ...config, maskTokenRate: 0.95 }, new Random(0)), { code: 'CONFIG_INVALID', message: /≤ 1/ });
  t.throws(() => maskTokens([5], { ...config, maskProb: 1.5 }, new Random(0)), { code: 'CONFIG_INVALID' });
});
