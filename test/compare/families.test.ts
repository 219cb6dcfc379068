// Each family's text likelihood in `lmkit compare`, on small random models,
// against a float64 log-softmax of logits taken straight from the model's
// forward (built here by hand, not through the adapters' batching), and
// each family's prompted classification against lmkit's own scorers or a
// by-hand score; the encoder has no generation and says why.
import t, { type Test } from 'tap';
import { encoderAdapter } from '../../lib/compare/families/encoder.js';
import { decoderAdapter } from '../../lib/compare/families/decoder.js';
import { encoderDecoderAdapter } from '../../lib/compare/families/encoder_decoder.js';
import { glmAdapter } from '../../lib/compare/families/glm.js';
import { isUnsupported } from '../../lib/compare/family.js';
import { nluPrompt, type NluItem } from '../../lib/compare/formats.js';
import { compareTokenizer } from '../../lib/compare/tokenizer.js';
import { clozeClassify } from '../../lib/generate/scoring.js';
import { glmClozeClassify } from '../../lib/generate/glm_scoring.js';
import type { DecoderLM } from '../../lib/models/decoder.js';
import type { EncoderDecoderLM } from '../../lib/models/encoder_decoder.js';
import type { EncoderLM } from '../../lib/models/encoder.js';
import type { GLM } from '../../lib/models/glm.js';
import { glmTokenIds, mlmTokenIds, t5TokenIds } from '../../lib/objectives/special_tokens.js';
import { pretrainConfig, resolvedModelKeys, resolvedObjectiveKeys } from '../../lib/stages/pretrain_config.js';
import { ARCH_ADAPTERS } from '../../lib/stages/pretrain_task.js';
import type { Arch } from '../../lib/models/arch.js';
import { noGrad } from '../../lib/tensor/autograd.js';
import { Tensor } from '../../lib/tensor/tensor.js';

const BLOCK = 96;
const tokenizer = compareTokenizer('To be, or not to be: that is the question.\n', BLOCK);

function build(arch: Arch, seed: number): unknown {
  const c = pretrainConfig({ arch, n_layer: 2, n_head: 2, n_embd: 16, block_size: BLOCK, ...(arch === 'decoder' ? { position_embedding: 'rope' } : {}) });
  return ARCH_ADAPTERS[arch].createTask({ tokenizer, blockSize: BLOCK, model: resolvedModelKeys(c), objective: resolvedObjectiveKeys(c), seed }).model;
}

/** −log softmax(row)[target] in float64. */
function nllOf(logits: Float32Array, row: number, V: number, target: number): number {
  const x = Array.from(logits.subarray(row * V, (row + 1) * V));
  const max = Math.max(...x);
  const lse = max + Math.log(x.reduce((a, v) => a + Math.exp(v - max), 0));
  return lse - x[target]!;
}

const segments = ['to be, or no', 'that is the ', 'question.\nTo'].map((s) => tokenizer.encode(s));
const V = tokenizer.vocabSize;
const close = (t: Test, got: number, want: number, what: string) =>
  t.ok(Math.abs(got - want) <= 1e-4 * Math.max(1, Math.abs(want)), `${what}: ${got} vs by hand ${want}`);

t.test('decoder: Σ −log p(x_t | x_<t) over x_1..x_n, x_0 given', async (t) => {
  const model = build('decoder', 3) as DecoderLM;
  let want = 0;
  for (const s of segments) {
    const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(s.slice(0, -1)), [1, s.length - 1]))).f32(); // (1, n, V)
    for (let i = 1; i < s.length; i++) want += nllOf(logits, i - 1, V, s[i]!);
  }
  const got = decoderAdapter(model, tokenizer).textNll(segments);
  t.equal(got.kind, 'likelihood');
  close(t, (got as { nll: number }).nll, want, 'decoder NLL');
});

t.test('GLM: the segment after x_0 as one [gMASK] span; [E] not counted', async (t) => {
  const model = build('glm', 4) as GLM;
  const ids = glmTokenIds(tokenizer);
  let want = 0;
  for (const s of segments) {
    // Part A = x_0 [gMASK] at positions 0, 1; Part B = [S] x_1 … x_{n−1} at position 1 (the [gMASK]), block positions 1..n.
    const n = s.length - 1;
    const input = [s[0]!, ids.gmask, ids.start, ...s.slice(1, -1)];
    const positions = [0, 1, ...Array.from({ length: n }, () => 1)];
    const blocks = [0, 0, ...Array.from({ length: n }, (_, j) => j + 1)];
    const T = input.length;
    const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(input), [1, T]), new Tensor(Int32Array.from(positions), [1, T]),
      new Tensor(Int32Array.from(blocks), [1, T]), Int32Array.of(2))).f32();
    for (let j = 0; j < n; j++) want += nllOf(logits, 2 + j, V, s[j + 1]!);
  }
  const got = glmAdapter(model, tokenizer).textNll(segments);
  t.equal(got.kind, 'likelihood');
  close(t, (got as { nll: number }).nll, want, 'GLM NLL');
});

t.test('encoder-decoder: x_1..x_n as the <extra_id_0> span of "x_0 <extra_id_0> </s>", the sentinel given', async (t) => {
  const model = build('encoder-decoder', 5) as EncoderDecoderLM;
  const t5 = t5TokenIds(tokenizer);
  let want = 0;
  for (const s of segments) {
    const src = new Tensor(Int32Array.of(s[0]!, t5.sentinels[0]!, t5.eos), [1, 3]);
    const tgtIn = [model.config.decoder_start_token_id, t5.sentinels[0]!, ...s.slice(1, -1)];
    const logits = noGrad(() => model.forward(src, undefined, new Tensor(Int32Array.from(tgtIn), [1, tgtIn.length]))).f32();
    // Row 0 predicts the sentinel (given, not counted); row j predicts x_j.
    for (let j = 1; j < s.length; j++) want += nllOf(logits, j, V, s[j]!);
  }
  const got = encoderDecoderAdapter(model, tokenizer).textNll(segments);
  t.equal(got.kind, 'likelihood');
  close(t, (got as { nll: number }).nll, want, 'encoder-decoder NLL');
});

t.test('encoder: a pseudo-likelihood (each character masked in turn), labelled as such; no generation', async (t) => {
  const model = build('encoder', 6) as EncoderLM;
  const ids = mlmTokenIds(tokenizer);
  let want = 0;
  for (const s of segments)
    for (let i = 1; i < s.length; i++) {
      const input = [ids.cls, ...s, ids.sep];
      input[i + 1] = ids.mask;
      const logits = noGrad(() => model.mlmLogits(new Tensor(Int32Array.from(input), [1, input.length]))).f32();
      want += nllOf(logits, i + 1, V, s[i]!);
    }
  const adapter = encoderAdapter(model, tokenizer);
  const got = adapter.textNll(segments);
  t.equal(got.kind, 'pseudo', 'not presented as a likelihood');
  close(t, (got as { nll: number }).nll, want, 'encoder pseudo-NLL');
  const none = adapter.promptSeq2Seq(['abc'], [[]], 4);
  t.ok(isUnsupported(none) && /no decoder/.test(none.unsupported), 'conditional generation: not possible, with the reason');
});

const queries: NluItem[] = [{ text: 'the soup was zarby', label: 'good' }, { text: 'my day was grosk and vusk and tovy', label: 'bad' }];
const demos: NluItem[] = [{ text: 'her cake was plak', label: 'bad' }];

t.test('prompted classification agrees with lmkit\'s own cloze scorers', async (t) => {
  const decoder = build('decoder', 7) as DecoderLM;
  const glm = build('glm', 8) as GLM;
  const verbalizers = { good: tokenizer.encode('good'), bad: tokenizer.encode('bad') };
  for (const shots of [[], demos]) {
    const want = queries.map((q) => clozeClassify(decoder, tokenizer.encode(nluPrompt('sentiment', q.text, shots).before), verbalizers).label);
    t.same(decoderAdapter(decoder, tokenizer).promptNlu('sentiment', queries, queries.map(() => shots)), want, `decoder, ${shots.length}-shot`);
    const specials = glmTokenIds(tokenizer);
    const wantGlm = queries.map((q) => {
      const p = nluPrompt('sentiment', q.text, shots);
      return glmClozeClassify(glm, [...tokenizer.encode(p.before), specials.mask, ...tokenizer.encode(p.after)], verbalizers, specials).label;
    });
    t.same(glmAdapter(glm, tokenizer).promptNlu('sentiment', queries, queries.map(() => shots)), wantGlm, `GLM, ${shots.length}-shot`);
  }
});

t.test('encoder-decoder prompted classification: the likelier verbalizer as the sentinel span', async (t) => {
  const model = build('encoder-decoder', 9) as EncoderDecoderLM;
  const t5 = t5TokenIds(tokenizer);
  const want = queries.map((q) => {
    const p = nluPrompt('sentiment', q.text);
    const src = [...tokenizer.encode(p.before), t5.sentinels[0]!, ...tokenizer.encode(p.after), t5.eos];
    const score = (label: string): number => {
      const v = tokenizer.encode(label);
      const tgtIn = [model.config.decoder_start_token_id, t5.sentinels[0]!, ...v.slice(0, -1)];
      const logits = noGrad(() => model.forward(new Tensor(Int32Array.from(src), [1, src.length]), undefined, new Tensor(Int32Array.from(tgtIn), [1, tgtIn.length]))).f32();
      return -v.reduce((a, id, j) => a + nllOf(logits, j + 1, V, id), 0);
    };
    return score('good') >= score('bad') ? 'good' : 'bad';
  });
  t.same(encoderDecoderAdapter(model, tokenizer).promptNlu('sentiment', queries, queries.map(() => [])), want);
});
