// generate() and stream() end to end on a tiny decoder with a byte-level BPE
// tokenizer: UTF-8-whole streamed pieces (emoji and CJK split across byte
// tokens), stop strings, stop tokens, abort, batching, and bad input.
import t from 'tap';
import { generate, stream, type StreamPiece } from '../../lib/generate/generate.js';
import { createTextStream, StopStringBuffer } from '../../lib/generate/stop_strings.js';
import { DecoderLM } from '../../lib/models/decoder.js';
import { trainBpe } from '../../lib/tokenizer/train_bpe.js';

const corpus = 'the cat sat on the mat. 猫が好き 🙂 the dog 🐶 ran. 東京 the end. '.repeat(4);
const tokenizer = trainBpe(corpus, { vocabSize: 300, specialTokens: ['<|endoftext|>'] });
const model = new DecoderLM({ vocab_size: tokenizer.vocabSize, n_positions: 48, n_embd: 16, n_layer: 1, n_head: 2 }, 2);

t.test('streamed text pieces are whole characters: an emoji and CJK split over byte tokens come out whole', async (t) => {
  const text = 'a 🙂 猫 🐶x';
  // Byte tokens one by one (ids 1..256 are the 256 byte symbols after the one special token).
  const byteIds = [...new TextEncoder().encode(text)].map((b) => 1 + b);
  t.ok(byteIds.every((id) => tokenizer.tokenBytes(id).length === 1), 'ids 1..256 are single bytes');
  const s = createTextStream(tokenizer, []);
  const pieces = byteIds.map((id) => s.push(id));
  pieces.push(s.flush());
  t.equal(pieces.join(''), text);
  t.ok(pieces.every((p) => !p.includes('\uFFFD')), 'no replacement characters mid-stream');
  t.same(pieces.filter((p) => p !== ''), ['a', ' ', '🙂', ' ', '猫', ' ', '🐶', 'x'], 'each character appears once complete');
});

t.test('stop strings: the text ends before the stop string, held prefixes are released when they diverge', async (t) => {
  const b = new StopStringBuffer(['END', 'xyz']);
  t.equal(b.push('abcE'), 'abc');
  t.equal(b.push('Nd E'), 'ENd ');
  t.equal(b.push('ND and more'), '');
  t.ok(b.stopped);
  const c = new StopStringBuffer(['\n\n']);
  t.equal(c.push('hi\n'), 'hi');
  t.equal(c.flush(), '\n');
});

t.test('stream() joins to generate() text; batched generate equals each prompt alone', async (t) => {
  for (const temperature of [0, 0.9]) {
    const o = { maxNewTokens: 20, temperature, topK: 50, seed: 3, stopTokens: [] };
    const pieces: StreamPiece[] = [];
    for await (const p of stream(model, tokenizer, 'the cat', o)) pieces.push(p);
    const one = generate(model, tokenizer, 'the cat', o)[0]![0]!;
    t.equal(pieces.map((p) => p.text).join(''), one.text, `temperature ${temperature}: stream text = generate text`);
    t.same(pieces.map((p) => p.token), one.ids);
    t.equal(one.text, tokenizer.decode(one.ids, { skipSpecial: true }));
    const prompts = ['the cat sat on', '猫', 'the dog 🐶'];
    const together = generate(model, tokenizer, prompts, o);
    t.same(together, prompts.map((p) => generate(model, tokenizer, p, o)[0]), `temperature ${temperature}: batch = alone`);
  }
});

t.test('stop strings and stop tokens end generation', async (t) => {
  const free = generate(model, tokenizer, 'the', { maxNewTokens: 24, stopTokens: [] })[0]![0]!;
  const stopAt = free.text.slice(3, 5);
  t.ok(stopAt.length === 2 && free.text.indexOf(stopAt) >= 0, `stop string ${JSON.stringify(stopAt)} from the free text ${JSON.stringify(free.text)}`);
  const [[cut]] = generate(model, tokenizer, 'the', { maxNewTokens: 24, stopTokens: [], stopStrings: [stopAt] });
  t.equal(cut!.text, free.text.slice(0, free.text.indexOf(stopAt)));
  t.equal(cut!.finishReason, 'stop');
  const streamed: string[] = [];
  for await (const p of stream(model, tokenizer, 'the', { maxNewTokens: 24, stopTokens: [], stopStrings: [stopAt] })) streamed.push(p.text);
  t.equal(streamed.join(''), cut!.text);
  const firstTok = free.ids[2]!;
  const [[eosd]] = generate(model, tokenizer, 'the', { maxNewTokens: 24, stopTokens: [firstTok] });
  t.equal(eosd!.finishReason, 'eos');
  t.same(eosd!.ids, free.ids.slice(0, free.ids.indexOf(firstTok) + 1), 'ends with the stop token');
  const beams = generate(model, tokenizer, ['the', 'cat'], { maxNewTokens: 8, numBeams: 3, numReturnSequences: 2 });
  t.ok(beams.every((b) => b.length === 2 && b[0]!.score! >= b[1]!.score!));
});

t.test('an AbortSignal ends the stream', async (t) => {
  const ac = new AbortController();
  const got: number[] = [];
  for await (const p of stream(model, tokenizer, 'the', { maxNewTokens: 30, stopTokens: [], signal: ac.signal })) {
    got.push(p.token);
    if (got.length === 3) ac.abort();
  }
  t.equal(got.length, 3);
  t.throws(() => generate(model, tokenizer, 'the', { signal: AbortSignal.abort() }), { name: 'AbortError' });
});

t.test('bad input names the option', async (t) => {
  const cases: [() => unknown, RegExp][] = [
    [() => generate(model, tokenizer, ''), /prompt 0 is empty/],
    [() => generate(model, tokenizer, [[]]), /prompt 0 is empty/],
    [() => generate(model, tokenizer, 'a', { numBeams: 2, numReturnSequences: 3 }), /numReturnSequences 3 exceeds numBeams 2/],
    [() => generate(model, tokenizer, 'a', { maxNewTokens: 48 }), /maxNewTokens 48 .* exceed the model's context of 48/],
    [() => generate(model, tokenizer, 'a', { stopTokens: ['<|nope|>'] }), /stop token "<\|nope\|>" is not in the tokenizer's vocabulary/],
    [() => generate(model, tokenizer, 'a', { temperature: -1 }), /temperature must be a number ≥ 0/],
    [() => generate(model, tokenizer, 'a', { topP: 0 }), /topP must be in \(0, 1\]/],
    [() => generate(model, tokenizer, 'a', { topP: 1.5 }), /topP must be in \(0, 1\]/],
    [() => generate(model, tokenizer, 'a', { topK: -1 }), /topK must be an integer ≥ 0/],
    [() => generate(model, tokenizer, 'a', { earlyStopping: 'sometimes' as never }), /earlyStopping must be/],
    [() => generate(model, tokenizer, 'a', { tempratur: 1 } as never), /unknown option "tempratur"/],
    [() => generate(model, tokenizer, 'a', { numReturnSequences: 2 }), /greedy decoding would repeat/],
  ];
  for (const [fn, message] of cases) t.throws(fn, { message }, String(message));
  await t.rejects(async () => { for await (const _ of stream(model, tokenizer, 'a', { numBeams: 2 })); }, /streams one sequence/);
});
