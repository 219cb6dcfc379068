// A model worker thread of the engine: loads the checkpoint, then runs the
// continuous batcher. Between decoding steps it yields to its own event loop,
// which is when new sequences and cancels arrive, so the batch is re-formed
// at every step. Beam searches run whole, between two steps. On close it
// stops between two steps and lets its thread end.
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parentPort, workerData } from 'node:worker_threads';

import { generate } from '../generate/generate.js';
import { readCheckpoint } from '../io/checkpoint.js';
import { DecoderLM } from '../models/decoder.js';
import { modelFromCheckpoint } from '../models/model_checkpoint.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { ContinuousBatcher } from './batcher.js';
import type { SequenceOptions } from './sequence.js';
import { toWire, type FromWorker, type ToWorker, type WorkerInit } from './worker_protocol.js';

const port = parentPort;
if (!port) throw new Error('engine_worker.ts runs as a worker thread of createEngine(), not on its own');
const send = (m: FromWorker): void => port.postMessage(m);

function load(init: WorkerInit): { model: DecoderLM; tokenizer: Tokenizer; dir: string } {
  const ckpt = readCheckpoint(init.dir);
  const model = modelFromCheckpoint(ckpt);
  if (!(model instanceof DecoderLM))
    throw new Error(`${ckpt.dir}: the engine serves decoder (GPT / LLaMA) checkpoints; this one is ${model.constructor.name}, whose generation has no continuous-batching session yet; use lmkit generate for it`);
  return { model: model.eval(), tokenizer: ckpt.tokenizer, dir: ckpt.dir };
}

/** Beam search with generate(): the resolved options back in generate()'s form. */
function beam(model: DecoderLM, tokenizer: Tokenizer, prompt: number[], o: SequenceOptions) {
  return generate(model, tokenizer, [prompt], {
    maxNewTokens: o.maxNewTokens, minNewTokens: o.minNewTokens, repetitionPenalty: o.repetitionPenalty,
    noRepeatNgramSize: o.noRepeatNgramSize, numBeams: o.numBeams, lengthPenalty: o.lengthPenalty,
    earlyStopping: o.earlyStopping, numReturnSequences: o.numReturnSequences, stopTokens: o.eosTokenIds,
    stopStrings: o.stopStrings,
  })[0]!;
}

function main(init: WorkerInit): void {
  let loaded: ReturnType<typeof load>;
  try {
    loaded = load(init);
  } catch (err) {
    send({ type: 'load-failed', error: toWire(err) });
    return;
  }
  const { model, tokenizer, dir } = loaded;
  const batcher = new ContinuousBatcher(model, tokenizer, init.maxBatch);
  send({ type: 'ready', info: { dir, arch: 'decoder', nPositions: model.config.n_positions, vocabSize: model.config.vocab_size, parameters: model.numParameters() } });

  let running = false;
  let closing = false;
  // The thread ends by itself (its port closed, its loop empty), never while a kernel runs.
  const exit = (): void => port!.close();
  async function loop(): Promise<void> {
    while (!batcher.idle && !closing) {
      const events = batcher.pick();
      if (events.length > 0) send({ type: 'events', events });
      batcher.advance();
      await nextTurn(); // new sequences, cancels and close are delivered here
    }
    running = false;
    if (closing) exit();
  }
  const kick = (): void => {
    if (running) return;
    running = true;
    loop().catch((err: unknown) => {
      send({ type: 'fatal', error: toWire(err) });
      process.exit(1);
    });
  };

  port!.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'sequence':
        batcher.add({ id: m.id, prompt: m.prompt, options: m.options, index: m.index });
        kick();
        return;
      case 'cancel': {
        const event = batcher.cancel(m.id);
        if (event) send({ type: 'events', events: [event] });
        return;
      }
      case 'beam':
        try {
          send({ type: 'beam-done', id: m.id, sequences: beam(model, tokenizer, m.prompt, m.options) });
        } catch (err) {
          send({ type: 'beam-failed', id: m.id, error: toWire(err) });
        }
        return;
      case 'memory': {
        const gc = (globalThis as { gc?: () => void }).gc;
        if (m.gc && gc) gc();
        const { heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage(); // this worker's isolate
        send({ type: 'memory', id: m.id, usage: { heapUsed, heapTotal, external, arrayBuffers, collected: m.gc && gc !== undefined } });
        return;
      }
      case 'close':
        closing = true;
        if (!running) exit();
        return;
    }
  });
}

main(workerData as WorkerInit);
