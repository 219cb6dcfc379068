// Gradient buckets without MPI (peers simulated by test/helpers/fake_world.ts):
// two ranks' averaged gradients equal, bitwise, what autograd accumulates in
// one process over the same two micro-batches (each scaled by ½); buckets
// follow reverse registration order, start in order during the backward pass
// (before finish), and a parameter no rank has a gradient for stays null.
import t from 'tap';
import path from 'node:path';
import { TextCorpus, type Batch } from '../../lib/data/text_corpus.js';
import { DataParallel } from '../../lib/distributed/data_parallel.js';
import { SINGLE_PROCESS } from '../../lib/distributed/world.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { accumulateLoss } from '../../lib/stages/pretrain.js';
import { backward } from '../../lib/tensor/autograd.js';
import { Random } from '../../lib/tensor/random.js';
import { Tensor } from '../../lib/tensor/tensor.js';
import { RecordingWorld, ReplayWorld } from '../helpers/fake_world.js';
import { repoRoot } from '../helpers/gpt2.js';

const corpus = TextCorpus.fromFile(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), { tokenizer: { kind: 'char' } });
const config = { vocab_size: corpus.tokenizer.vocabSize, n_positions: 16, n_embd: 32, n_layer: 2, n_head: 2 };
const rng = new Random(5);
const batches: Batch[] = [corpus.getBatch('train', 4, 16, rng), corpus.getBatch('train', 4, 16, rng)];

/** One rank's step: its own micro-batch, gradients through the buckets. */
function rankStep(world: RecordingWorld | ReplayWorld, bucketBytes: number) {
  const model = new DecoderLM(config, 3);
  const dp = new DataParallel(world, model.parameters(), { bucketBytes });
  dp.begin();
  const { x, y } = batches[world.rank]!;
  const loss = model.loss(x, y);
  const local = loss.item();
  // How many leaf gradients were complete when each bucket's all-reduce started.
  let leaves = 0;
  const leavesAtStart: number[] = [];
  backward(loss, undefined, (leaf) => {
    leaves++;
    dp.onGradReady!(leaf);
    while (leavesAtStart.length < world.sent.length) leavesAtStart.push(leaves);
  });
  const totals = dp.finish({ loss: local, tokens: 64 });
  return { model, dp, totals, leavesAtStart, leaves };
}

t.test('2 ranks average to the gradients of one process accumulating both micro-batches, bitwise', async (t) => {
  for (const bucketBytes of [1 << 30, 4096]) {
    const peer = new RecordingWorld(1, 2);
    rankStep(peer, bucketBytes);
    const me = new ReplayWorld(0, 2, [peer]);
    const { model, dp, totals, leavesAtStart, leaves } = rankStep(me, bucketBytes);

    const reference = new DecoderLM(config, 3);
    let k = 0;
    const refLoss = accumulateLoss(() => reference.loss(batches[k]!.x, batches[k++]!.y), 2);
    const named = reference.namedParameters();
    const mismatched = model.namedParameters().filter(([, p], i) => !Buffer.from(p.grad!.buffer).equals(Buffer.from(named[i]![1].grad!.buffer)));
    t.same(mismatched.map(([n]) => n), [], `${dp.buckets.length} bucket(s): every gradient bitwise equal to the accumulated one`);
    t.equal(totals.loss, refLoss, 'the step loss is the mean over ranks, as accumulation averages');
    t.equal(totals.tokens, 128, 'tokens are summed over ranks');
    t.equal(me.inFlight, 0, 'nothing left in flight after finish');
    if (dp.buckets.length > 1) {
      t.equal(leavesAtStart.length, dp.buckets.length, `all ${dp.buckets.length} buckets started inside backward, none waited for finish`);
      t.ok(leavesAtStart[0]! < leaves / 2, `the first bucket started after ${leavesAtStart[0]} of ${leaves} leaf gradients: the rest of the pass overlaps its all-reduce`);
      t.same(me.sent.slice(0, dp.buckets.length).map((s) => s.what.match(/bucket (\d+)/)?.[1]), dp.buckets.map((_, i) => String(i + 1)), 'buckets start in order');
    }
  }
});

t.test('buckets hold parameters in reverse registration order, about bucketBytes each', async (t) => {
  const model = new DecoderLM(config, 3);
  const dp = new DataParallel(new RecordingWorld(0, 2), model.parameters(), { bucketBytes: 8192 });
  const flat = dp.buckets.flatMap((b) => b.params);
  t.same(flat, [...model.parameters()].reverse(), 'every parameter once, last registered first');
  for (const b of dp.buckets.slice(0, -1)) {
    const bytes = b.params.reduce((n, p) => n + p.size * 4, 0);
    const withoutLast = bytes - b.params[b.params.length - 1]!.size * 4;
    t.ok(bytes >= 8192 && withoutLast < 8192, `a bucket closes at the parameter that reaches 8192 bytes (${bytes})`);
  }
});

t.test('a parameter with no gradient on any rank stays null; on one rank only, it is averaged with zeros', async (t) => {
  const make = () => [new Tensor(new Float32Array([1, 2]), [2], true), new Tensor(new Float32Array([3]), [1], true)];
  const peerParams = make(), myParams = make();
  peerParams[0]!.grad = new Float32Array([4, 6]); // the peer has a gradient for the first only
  const peer = new RecordingWorld(1, 2);
  new DataParallel(peer, peerParams).finish({ loss: 1, tokens: 1 });
  const me = new ReplayWorld(0, 2, [peer]);
  new DataParallel(me, myParams).finish({ loss: 3, tokens: 1 });
  t.same(Array.from(myParams[0]!.grad!), [2, 3], 'only the peer had one: (g + 0) / 2');
  t.equal(myParams[1]!.grad, null, 'no rank had one: null, so AdamW skips it as in one process');
});

t.test('a world of one: no hook, finish returns the local totals and leaves the gradients alone', async (t) => {
  const p = new Tensor(new Float32Array([1]), [1], true);
  p.grad = new Float32Array([0.3]);
  const dp = new DataParallel(SINGLE_PROCESS, [p]);
  t.equal(dp.onGradReady, undefined);
  t.same(dp.finish({ loss: 2.5, tokens: 7 }), { loss: 2.5, tokens: 7 });
  t.equal(p.grad[0], Math.fround(0.3));
});
