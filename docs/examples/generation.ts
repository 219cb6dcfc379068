// Generation: greedy decoding, seeded sampling, beam search, stop strings
// and streaming with generate() and stream() (KV-cached, prompts of
// different lengths in one batch). The model is trained for a few seconds
// on a repetitive corpus first, so that its continuations are predictable.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DecoderLM, generate, pretrain, pretrainConfig, stream } from 'lmkit';

const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-generate-'));
const dataFile = path.join(dir, 'corpus.txt');
writeFileSync(dataFile, 'the cat sat on the mat. '.repeat(80));
const run = pretrain({
  dataFile,
  config: pretrainConfig({
    batch_size: 8, block_size: 32, max_iters: 80, learning_rate: 1e-2, min_lr: 1e-3, warmup_iters: 5, lr_decay_iters: 80,
    eval_interval: 0, log_interval: 80, checkpoint_interval: 0, seed: 1, n_layer: 2, n_head: 2, n_embd: 32,
  }),
});
// pretrain() returns the family that config.arch names (decoder by default).
const { model, tokenizer } = run;
if (!(model instanceof DecoderLM)) throw new Error(`expected a DecoderLM, got ${run.arch}`);

// Greedy (temperature 0, the default); two prompts of different lengths decode together.
const greedy = generate(model, tokenizer, ['the cat', 'on the'], { maxNewTokens: 12 });
for (const [seq] of greedy) console.log(`greedy: ${JSON.stringify(seq!.text)} (${seq!.finishReason})`);

// Sampling is seeded: the same seed gives the same text.
const sampled = generate(model, tokenizer, 'the', { maxNewTokens: 12, temperature: 0.8, topK: 5, topP: 0.95, seed: 7, numReturnSequences: 2 });
console.log(`sampled: ${sampled[0]!.map((s) => JSON.stringify(s.text)).join(', ')}`);

// Beam search (Hugging Face semantics): the best 2 of 4 beams, with their scores.
const beams = generate(model, tokenizer, 'the mat', { maxNewTokens: 8, numBeams: 4, numReturnSequences: 2 });
console.log(`beams: ${beams[0]!.map((s) => `${JSON.stringify(s.text)} (${s.score?.toFixed(3)})`).join(', ')}`);

// Stop strings end a sequence and are cut from its text.
const stopped = generate(model, tokenizer, 'the cat', { maxNewTokens: 20, stopStrings: ['.'] })[0]![0]!;
console.log(`stop at ".": ${JSON.stringify(stopped.text)} (${stopped.finishReason})`);

// stream(): pieces as they are decoded (an AbortSignal in the options cancels).
let streamed = '';
for await (const piece of stream(model, tokenizer, 'the cat', { maxNewTokens: 12 })) streamed += piece.text;
console.log(`streamed: ${JSON.stringify(streamed)} (the same as greedy: ${streamed === greedy[0]![0]!.text})`);
