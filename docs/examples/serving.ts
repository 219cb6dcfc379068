// Serving: the embeddable engine (worker threads, continuous batching) and
// the OpenAI-compatible HTTP server on top of it, as `lmkit serve` runs
// them. Both serve a checkpoint folder; a few seconds of pretrain() make one.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createApiServer, createEngine, pretrain, pretrainConfig } from 'lmkit';

const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-serve-'));
writeFileSync(path.join(dir, 'corpus.txt'), 'the cat sat on the mat. '.repeat(80));
const { checkpointDir } = pretrain({
  dataFile: path.join(dir, 'corpus.txt'), outDir: path.join(dir, 'run'),
  config: pretrainConfig({
    batch_size: 8, block_size: 32, max_iters: 60, learning_rate: 1e-2, min_lr: 1e-3, warmup_iters: 5, lr_decay_iters: 60,
    eval_interval: 0, log_interval: 60, checkpoint_interval: 0, seed: 1, n_layer: 2, n_head: 2, n_embd: 32,
  }),
});

// The engine: one worker thread holding the model, up to 8 sequences decoded together.
const engine = await createEngine({ model: checkpointDir!, workers: 1, maxBatch: 8 });
const generation = engine.generate('the cat', { maxNewTokens: 10 });
let pieces = 0;
for await (const piece of generation) if (piece.text !== '') pieces++; // streamed as decoded
const result = await generation.result;
console.log(`engine: ${JSON.stringify(result.text)} (${result.finishReason}, ${pieces} pieces)`);

// The HTTP server: /v1/completions, /v1/chat/completions (SSE with "stream": true), /v1/models, /metrics.
const server = createApiServer(engine, { modelName: 'tiny' });
const { port } = await server.listen(0); // 0: any free port, on 127.0.0.1
const response = await fetch(`http://127.0.0.1:${port}/v1/completions`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'tiny', prompt: 'the cat', max_tokens: 10, temperature: 0 }),
});
const body = (await response.json()) as { choices: { text: string; finish_reason: string }[]; usage: { completion_tokens: number } };
console.log(`http ${response.status}: ${JSON.stringify(body.choices[0]!.text)} (${body.choices[0]!.finish_reason}, ${body.usage.completion_tokens} tokens)`);

await server.drain(1000); // stop accepting, let running requests finish (1 s grace), close connections
await engine.close();
