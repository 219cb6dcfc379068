// Decoder cloze scores: each ℓ[n, y] equals the continuation log-likelihood
// scoreContinuations computes on its own path (one request per pair); the
// loss is the cross-entropy over labels worked out from those scores; its
// gradient matches central finite differences; bad inputs are clear errors.
import t from 'tap';
import { scoreContinuations } from '../../lib/generate/scoring.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { causalClozeLoss, causalVerbalizerScores } from '../../lib/objectives/causal_cloze.js';
import { backward, noGrad } from '../../lib/tensor/autograd.js';

const model = new DecoderLM({ vocab_size: 13, n_positions: 16, n_embd: 16, n_layer: 2, n_head: 2 }, 5);
const contexts = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10]];
const verbalizers = [[11], [12, 3], [2, 2, 7]];

t.test('scores are the verbalizers\' log-likelihoods after each context', async (t) => {
  const got = noGrad(() => causalVerbalizerScores(model, contexts, verbalizers)).f32();
  t.same([...noGrad(() => causalVerbalizerScores(model, contexts, verbalizers)).shape], [3, 3]);
  contexts.forEach((context, n) => verbalizers.forEach((continuation, y) => {
    const want = scoreContinuations(model, [{ context, continuation }])[0]!.logProb;
    t.ok(Math.abs(got[n * 3 + y]! - want) < 1e-4, `ℓ[${n}, ${y}] ${got[n * 3 + y]} vs ${want}`);
  }));
});

t.test('loss = mean −log softmax(ℓ)[y*], and its gradient matches finite differences', async (t) => {
  const labels = [2, 0, 1];
  const scores = noGrad(() => causalVerbalizerScores(model, contexts, verbalizers)).f32();
  let want = 0;
  labels.forEach((y, n) => {
    const row = Array.from(scores.subarray(n * 3, n * 3 + 3));
    const max = Math.max(...row);
    want += max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0)) - row[y]!;
  });
  want /= labels.length;
  const loss = causalClozeLoss(model, contexts, labels, verbalizers);
  t.ok(Math.abs(loss.item() - want) < 1e-5, `loss ${loss.item()} vs ${want}`);
  model.zeroGrad();
  backward(loss);
  const [name, p] = model.namedParameters().find(([n]) => n.includes('wte.weight'))!;
  const grad = p.grad!;
  const w = p.f32();
  const eps = 1e-2;
  // The three largest gradients (the verbalizer rows of the tied head): big enough for float32 differences to resolve.
  const top = Array.from(grad.keys()).sort((a, b) => Math.abs(grad[b]!) - Math.abs(grad[a]!)).slice(0, 3);
  t.ok(Math.abs(grad[top[0]!]!) > 1e-2, `largest gradient ${grad[top[0]!]}`);
  for (const i of top) {
    const at = (v: number) => {
      const keep = w[i]!;
      w[i] = v;
      const l = noGrad(() => causalClozeLoss(model, contexts, labels, verbalizers)).item();
      w[i] = keep;
      return l;
    };
    const fd = (at(w[i]! + eps) - at(w[i]! - eps)) / (2 * eps);
    t.ok(Math.abs(fd - grad[i]!) < 1e-4 + 0.02 * Math.abs(fd), `${name}[${i}]: autograd ${grad[i]} vs finite difference ${fd}`);
  }
  model.zeroGrad();
});

t.test('bad inputs are DataErrors that say what to change', async (t) => {
  t.throws(() => causalVerbalizerScores(model, [], verbalizers), { code: 'DATA_EMPTY' });
  t.throws(() => causalVerbalizerScores(model, [[]], verbalizers), { code: 'DATA_EMPTY', message: /empty context/ });
  t.throws(() => causalVerbalizerScores(model, [[1]], [[]]), { code: 'DATA_INVALID', message: /at least one token/ });
  t.throws(() => causalVerbalizerScores(model, [Array(15).fill(1)], verbalizers), { code: 'DATA_INVALID', message: /over n_positions 16; shorten the text/ });
  t.throws(() => causalVerbalizerScores(model, [[1]], [[13]]), { code: 'DATA_INVALID', message: /outside the vocabulary/ });
  t.throws(() => causalClozeLoss(model, contexts, [0, 3, 1], verbalizers), { code: 'DATA_INVALID', message: /label 3/ });
});
