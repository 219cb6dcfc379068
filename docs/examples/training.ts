// Training: one optimizer step by hand (model, loss, backward, AdamW), then
// the pre-training loop, pretrain(), on a text file: the same loop as
// `lmkit train`, with evaluation, metrics.jsonl and a resumable checkpoint.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AdamW, DecoderLM, Random, Tensor, backward, pretrain, pretrainConfig } from 'lmkit';

// --- by hand: a 2-layer GPT over a vocabulary of 16, memorising one batch
const model = new DecoderLM({ vocab_size: 16, n_positions: 32, n_embd: 32, n_layer: 2, n_head: 2 }, /* seed */ 1);
const opt = new AdamW(model.namedParameters(), { lr: 3e-3, weightDecay: 0.1 });
const rng = new Random(2);
const B = 4, T = 16;
const ids = new Int32Array(B * T); // input tokens [B, T]
const targets = new Int32Array(B * T); // the next token at each position; -100 would be ignored
for (let b = 0; b < B; b++) {
  const row = Array.from({ length: T + 1 }, () => rng.int(16));
  ids.set(row.slice(0, T), b * T);
  targets.set(row.slice(1), b * T);
}
const losses: number[] = [];
for (let step = 0; step < 5; step++) {
  const loss = model.loss(new Tensor(ids, [B, T]), new Tensor(targets, [B, T])); // mean cross-entropy, a scalar Tensor
  losses.push(loss.item());
  backward(loss);
  opt.clipGradNorm(1.0);
  opt.update();
  opt.zeroGrad();
}
console.log(`by hand: loss ${losses.map((l) => l.toFixed(3)).join(' → ')}`);

// --- pretrain(): nanoGPT's loop on a small corpus, written to a run folder
const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-example-'));
const dataFile = path.join(dir, 'corpus.txt');
writeFileSync(dataFile, 'to be or not to be, that is the question. '.repeat(60));
const config = pretrainConfig({
  batch_size: 8, block_size: 32, max_iters: 40, learning_rate: 3e-3, min_lr: 3e-4, warmup_iters: 5, lr_decay_iters: 40,
  eval_interval: 40, eval_iters: 2, log_interval: 10, checkpoint_interval: 0, seed: 1,
  n_layer: 2, n_head: 2, n_embd: 32, // model keys sit beside the training keys, as in nanoGPT's configs
});
const result = pretrain({
  config, dataFile, outDir: path.join(dir, 'run'),
  onProgress: (e) => { if (e.type === 'eval') console.log(`iter ${e.iter}: train ${e.trainLoss.toFixed(3)}, val ${e.valLoss.toFixed(3)}, unigram baseline ${e.unigramValLoss?.toFixed(3)}`); },
});
console.log(`pretrain: ${result.iter} steps, val loss ${result.valLoss?.toFixed(3)} (unigram ${result.unigramValLoss?.toFixed(3)}), checkpoint in ${result.checkpointDir}`);
