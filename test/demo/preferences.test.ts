// Preference collection for the demo's reward model: one response per
// temperature, responses the labeler values the same left out (their order
// would be an arbitrary label), rankings the labeler's own, K < 2 refused.
import t from 'tap';
import { collectPreferences, instancePrompt } from '../../lib/demo/preferences.js';
import { demoTokenizer } from '../../lib/demo/tokenizer.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { generateInstances } from '../../lib/tasks/instances.js';
import { SimulatedLabeler } from '../../lib/tasks/labeler.js';
import { Random } from '../../lib/tensor/random.js';

const tokenizer = demoTokenizer('a tiny corpus.\n');
// Untrained: its samples are mostly wrong, so many of them tie in utility.
const model = new DecoderLM({ vocab_size: tokenizer.vocabSize, n_positions: 128, n_embd: 32, n_layer: 1, n_head: 2 }, 11);
const instances = [
  ...generateInstances('sentiment', 6, new Random(1)),
  ...generateInstances('first_letter', 6, new Random(2)),
];
const labeler = new SimulatedLabeler({ seed: 4 });
const temperatures = [0.7, 1, 1.5, 2];

t.test('kept responses are told apart by the labeler; counts add up', async (t) => {
  const got = collectPreferences(model, tokenizer, instances, labeler, { temperatures, seed: 9, maxNewTokens: 8 });
  const kept = got.examples.reduce((s, e) => s + e.responses.length, 0);
  // Every sample is either kept, left out as a tie, or belongs to a dropped prompt (which keeps at most 1).
  t.ok(kept + got.tiedResponses <= instances.length * temperatures.length, 'no response counted twice');
  t.ok(kept + got.tiedResponses >= instances.length * temperatures.length - got.dropped, 'every sample accounted for');
  t.equal(got.examples.length + got.dropped, instances.length, 'each prompt kept or dropped');
  t.ok(got.tiedResponses > 0, `an untrained model ties often (${got.tiedResponses} ties)`);
  for (const e of got.examples) {
    const instance = instances.find((inst, i) => instancePrompt(inst, i) === e.prompt)!;
    const u = e.responses.map((r) => labeler.assess(instance, r).utility);
    t.equal(new Set(u).size, u.length, `distinct utilities for "${e.prompt.slice(0, 30)}…"`);
    t.ok(e.responses.length >= 2 && e.responses.length <= temperatures.length, 'between 2 and K responses');
    t.same([...e.ranking].sort(), e.responses.map((_, i) => i), 'the ranking is a permutation');
    // The labeler without noise orders by utility, best first.
    const ranked = e.ranking.map((i) => u[i]!);
    t.same(ranked, [...ranked].sort((a, b) => b - a), 'ranked best first');
  }
});

t.test('the same seed gives the same preferences', async (t) => {
  const a = collectPreferences(model, tokenizer, instances, labeler, { temperatures, seed: 9, maxNewTokens: 8 });
  const b = collectPreferences(model, tokenizer, instances, labeler, { temperatures, seed: 9, maxNewTokens: 8 });
  t.same(a, b);
});

t.test('fewer than two temperatures are refused', async (t) => {
  t.throws(() => collectPreferences(model, tokenizer, instances, labeler, { temperatures: [1], seed: 9, maxNewTokens: 8 }), /K = 1 temperatures; a ranking needs K >= 2/);
});
