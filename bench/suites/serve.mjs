// Suite "serve": lmkit serve under load on loopback (issue #8).
//   1. 200 concurrent streaming completions against a server with continuous
//      batching (maxBatch 64) and the same against maxBatch 1 (no batching):
//      every request must succeed and end with [DONE]; tokens/s of the two,
//      batching must win; p99 event-loop delay of the server's main thread
//      while it generates must stay under 20 ms.
//   2. 10,000 requests (streaming completions and whole chat answers, mixed)
//      against one server: RSS after 10,000 within 10% of RSS after the first
//      1,000 (both read after a full GC in the server process).
// Each server runs in its own process (bench/lib/serve_child.mjs), so the
// load client never runs on the event loop being measured. Weights are
// random (speed does not depend on them); no eos, so every completion runs
// to max_tokens.
import { fork } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { makeRow, okSide, emptySide } from '../lib/rows.mjs';
import { runLoad } from '../lib/serve_load.mjs';

export const description = 'HTTP serving: 200 concurrent streams with batching vs maxBatch 1, event-loop lag, RSS over 10,000 requests';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ.,:;!?\'\n<|>';
/** The shakespeare-char model's shape (nanoGPT's CPU run), with room for prompt + new tokens. */
const LOAD_MODEL = { name: '6×384', config: { n_layer: 6, n_embd: 384, n_head: 6, n_positions: 128 } };
/** Small, so 10,000 requests take seconds: memory growth comes from the server, not the model. */
const RSS_MODEL = { name: '2×64', config: { n_layer: 2, n_embd: 64, n_head: 2, n_positions: 64 } };
const PROMPTS = ['ROMEO:', 'JULIET: O Romeo, Romeo!', 'First Citizen:\nBefore we proceed', 'KING RICHARD III:', 'To be, or not', 'MENENIUS: What work'];
const LAG_BAR_MS = 20;
const RSS_BAR = 1.1;

function plan(quick) {
  return quick
    ? { concurrent: 50, newTokens: 16, batch: 64, rssFirst: 200, rssTotal: 2000 }
    : { concurrent: 200, newTokens: 32, batch: 64, rssFirst: 1000, rssTotal: 10000 };
}

function writeCheckpoint(lmkit, dir, config) {
  const tokenizer = lmkit.tokenizer.CharTokenizer.fromCorpus(ALPHABET);
  const model = new lmkit.DecoderLM({ vocab_size: tokenizer.vocabSize, ...config }, 1);
  fs.mkdirSync(dir, { recursive: true });
  lmkit.saveWeights(model, path.join(dir, lmkit.CHECKPOINT_FILES.weights));
  fs.writeFileSync(path.join(dir, lmkit.CHECKPOINT_FILES.config), JSON.stringify(lmkit.decoderCheckpointConfig(model.config)));
  fs.writeFileSync(path.join(dir, lmkit.CHECKPOINT_FILES.tokenizer), JSON.stringify(tokenizer.toJSON()));
}

/** A server process; resolves once it listens. `ask(type)` sends a message and waits for the reply of that type. */
function startServer(root, ckpt, { maxBatch, maxQueue, threads, nodeFlags = [] }) {
  const child = fork(path.join(root, 'bench', 'lib', 'serve_child.mjs'), [path.join(root, 'dist', 'index.js'), ckpt, String(maxBatch), String(maxQueue)], {
    execArgv: ['--expose-gc', ...nodeFlags],
    env: { ...process.env, LMKIT_NUM_THREADS: String(threads) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  // Every wait is bounded: a server that stops answering fails the suite instead of hanging it.
  const next = (type) => new Promise((resolve, reject) => {
    const done = () => (clearTimeout(timer), child.off('message', onMessage).off('exit', onExit));
    const onMessage = (m) => {
      if (m.type === 'error') return done(), reject(new Error(`server: ${m.message}`));
      if (m.type !== type) return;
      done();
      resolve(m);
    };
    const onExit = (code) => (done(), reject(new Error(`the server process exited (${code}) before answering ${type}`)));
    const timer = setTimeout(() => (done(), reject(new Error(`the server process did not answer ${type} within 120 s`))), 120_000);
    child.on('message', onMessage).once('exit', onExit);
  });
  const ask = (type) => {
    const reply = next(type);
    child.send({ type });
    return reply;
  };
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => (clearTimeout(timer), resolve()));
    child.send({ type: 'stop' });
  });
  return next('ready').then((m) => ({ port: m.port, ask, stop, child }), (err) => (child.kill('SIGKILL'), Promise.reject(err)));
}

const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : null;
};

/** Part 1 at one maxBatch: `concurrent` streaming completions at once. */
async function concurrentStreams(root, ckpt, p, maxBatch, threads, nodeFlags, log) {
  const server = await startServer(root, ckpt, { maxBatch, maxQueue: 256, threads, nodeFlags });
  try {
    const body = (i) => ({ model: 'bench', prompt: PROMPTS[i % PROMPTS.length], max_tokens: p.newTokens, temperature: 0.8, seed: i, stream: true, stream_options: { include_usage: true } });
    await runLoad({ port: server.port, total: 4, concurrency: 4, request: (i) => ({ path: '/v1/completions', body: body(i) }) }); // warm-up
    await server.ask('window');
    const load = await runLoad({ port: server.port, total: p.concurrent, concurrency: p.concurrent, request: (i) => ({ path: '/v1/completions', body: body(i) }) });
    const sample = await server.ask('sample');
    const tokensPerS = load.completionTokens / (load.wallMs / 1e3);
    log(`serve maxBatch ${maxBatch}: ${load.ok}/${p.concurrent} ok, ${load.completionTokens} tokens in ${(load.wallMs / 1e3).toFixed(2)} s = ${tokensPerS.toFixed(0)} tokens/s, ` +
      `event-loop p99 ${sample.lag.p99Ms.toFixed(2)} ms (max ${sample.lag.maxMs.toFixed(1)})`);
    return { maxBatch, ...load, latenciesMs: undefined, latencyP50Ms: percentile(load.latenciesMs, 50), latencyP99Ms: percentile(load.latenciesMs, 99), tokensPerS, lag: sample.lag, memory: sample.memory };
  } finally {
    await server.stop();
  }
}

/** Part 2: RSS after the first rssFirst requests and after rssTotal, the server started with `nodeFlags`. */
async function memoryOverRequests(root, ckpt, p, threads, nodeFlags, log) {
  const server = await startServer(root, ckpt, { maxBatch: 32, maxQueue: 256, threads, nodeFlags });
  const flags = nodeFlags.length ? ` (node ${nodeFlags.join(' ')})` : ' (node defaults)';
  try {
    // Alternating: streaming completions, whole chat answers, and every 10th a bad request (400), so error paths run too.
    const request = (i) => i % 10 === 9
      ? { path: '/v1/completions', body: { model: 'bench', prompt: 'x', max_tokens: -1 }, bad: true }
      : i % 2 === 0
        ? { path: '/v1/completions', body: { model: 'bench', prompt: PROMPTS[i % PROMPTS.length], max_tokens: 8, seed: i, stream: true, stream_options: { include_usage: true } } }
        : { path: '/v1/chat/completions', body: { model: 'bench', messages: [{ role: 'user', content: PROMPTS[i % PROMPTS.length] }], max_tokens: 8, seed: i } };
    const good = (from) => (i) => request(from + i);
    const run = async (from, total) => {
      const load = await runLoad({ port: server.port, total, concurrency: 32, request: good(from) });
      const bad = Array.from({ length: total }, (_, i) => request(from + i).bad === true).filter(Boolean).length;
      if (load.errorCount !== bad) throw new Error(`expected ${bad} refused requests, got ${load.errorCount}: ${load.errors.join('; ')}`);
      return load;
    };
    const first = await run(0, p.rssFirst);
    const atFirst = (await server.ask('sample')).memory;
    log(`serve memory${flags}: after ${p.rssFirst} requests RSS ${atFirst.rssMiB.toFixed(1)} MiB, heap ${atFirst.heapUsedMiB.toFixed(1)} MiB, young generation ${atFirst.newSpaceMiB.toFixed(1)} MiB`);
    const rest = await run(p.rssFirst, p.rssTotal - p.rssFirst);
    const atTotal = (await server.ask('sample')).memory;
    log(`serve memory${flags}: after ${p.rssTotal} requests RSS ${atTotal.rssMiB.toFixed(1)} MiB, heap ${atTotal.heapUsedMiB.toFixed(1)} MiB, young generation ${atTotal.newSpaceMiB.toFixed(1)} MiB`);
    return {
      nodeFlags, requests: { first: p.rssFirst, total: p.rssTotal }, afterFirst: atFirst, afterTotal: atTotal,
      rssRatio: atTotal.rssMiB / atFirst.rssMiB, heapRatio: atTotal.heapUsedMiB / atFirst.heapUsedMiB,
      wallS: (first.wallMs + rest.wallMs) / 1e3, refused400: first.errorCount + rest.errorCount,
    };
  } finally {
    await server.stop();
  }
}

/**
 * @param {{lmkit: any, root: string, options: {quick: boolean, threads: number}, log: (line: string) => void}} ctx
 */
export async function run({ lmkit, root, options, log }) {
  const { quick, threads } = options;
  const p = plan(quick);
  // The node flags `lmkit serve` starts its server process with (a capped young generation of the main thread).
  const { SERVE_NODE_FLAGS } = await import(pathToFileURL(path.join(root, 'dist', 'cli', 'relaunch.js')).href);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lmkit-bench-serve-'));
  const notes = [];
  try {
    const loadCkpt = path.join(tmp, 'load');
    const rssCkpt = path.join(tmp, 'rss');
    writeCheckpoint(lmkit, loadCkpt, LOAD_MODEL.config);
    writeCheckpoint(lmkit, rssCkpt, RSS_MODEL.config);

    const batched = await concurrentStreams(root, loadCkpt, p, p.batch, threads, SERVE_NODE_FLAGS, log);
    const unbatched = await concurrentStreams(root, loadCkpt, p, 1, threads, SERVE_NODE_FLAGS, log);
    const shape = `${p.concurrent} concurrent streams × ${p.newTokens} tokens, ${LOAD_MODEL.name}`;
    const side = (r, extra) => r.ok === p.concurrent
      ? okSide({ medianMs: r.wallMs, minMs: r.wallMs, reps: 1, inner: 1 }, { tokens: r.completionTokens }, extra)
      : emptySide('error', `${r.errorCount} of ${p.concurrent} requests failed: ${r.errors.join('; ')}`, extra);
    const rows = [makeRow({
      kernel: 'serve: streaming completions', shape, work: { tokens: p.concurrent * p.newTokens }, threads,
      ours: side(batched, { maxBatch: p.batch }), peer: side(unbatched, { name: 'lmkit maxBatch 1', maxBatch: 1 }),
      bar: { text: '>1× maxBatch 1', min: 1, strict: true },
    })];
    for (const r of [batched, unbatched]) {
      const ok = r.ok === p.concurrent && r.errorCount === 0 && r.completionTokens === p.concurrent * p.newTokens;
      notes.push(`maxBatch ${r.maxBatch}: ${r.ok}/${p.concurrent} streams ended with [DONE], ${r.errorCount} errors, ${r.completionTokens} tokens ` +
        `(${p.concurrent}×${p.newTokens} expected)${ok ? '' : ' — CHECK FAILED'}; request latency p50 ${r.latencyP50Ms?.toFixed(0)} ms, p99 ${r.latencyP99Ms?.toFixed(0)} ms`);
    }
    const lagOk = batched.lag.p99Ms < LAG_BAR_MS;
    notes.push(`server main-thread event-loop delay while generating (monitorEventLoopDelay, 1 ms resolution, ${batched.lag.samples} samples): ` +
      `p99 ${batched.lag.p99Ms.toFixed(2)} ms with batching (max ${batched.lag.maxMs.toFixed(1)} ms), ${unbatched.lag.p99Ms.toFixed(2)} ms at maxBatch 1 — ` +
      `bar p99 < ${LAG_BAR_MS} ms: ${lagOk ? 'PASS' : 'FAIL'}`);

    // Twice: with the flags lmkit serve runs under (the main thread's young generation capped), and with node's
    // defaults, as an embedding server started without flags gets (V8 grows the young generation up to 16 MiB per
    // semi-space), which tells that growth apart from retained memory.
    const memory = [];
    for (const nodeFlags of [SERVE_NODE_FLAGS, []]) {
      const m = await memoryOverRequests(root, rssCkpt, p, threads, nodeFlags, log);
      m.pass = m.rssRatio <= RSS_BAR;
      memory.push(m);
      const mib = (x) => x.toFixed(1);
      notes.push(`RSS of the server process, ${nodeFlags.length ? `node ${nodeFlags.join(' ')} (as lmkit serve runs)` : 'node defaults (an embedding server without flags)'} (${RSS_MODEL.name} model, maxBatch 32, 32 in flight): ` +
        `after ${m.requests.first} requests ${mib(m.afterFirst.rssMiB)} MiB, after ${m.requests.total} ${mib(m.afterTotal.rssMiB)} MiB: ratio ${m.rssRatio.toFixed(3)} — bar ≤ ${RSS_BAR}: ${m.pass ? 'PASS' : 'FAIL'}. ` +
        `After a full GC: main-thread heap used ${mib(m.afterFirst.heapUsedMiB)} → ${mib(m.afterTotal.heapUsedMiB)} MiB (committed ${mib(m.afterFirst.heapTotalMiB)} → ${mib(m.afterTotal.heapTotalMiB)}), young generation ${mib(m.afterFirst.newSpaceMiB)} → ${mib(m.afterTotal.newSpaceMiB)} MiB, ` +
        `worker heap ${mib(m.afterFirst.workerHeapUsedMiB[0])} → ${mib(m.afterTotal.workerHeapUsedMiB[0])} MiB; ${m.refused400} of the requests were bad ones answered 400`);
    }
    notes.push(`each server is its own process (LMKIT_NUM_THREADS=${threads}, 1 model worker, node ${SERVE_NODE_FLAGS.join(' ')} for the load test, as lmkit serve runs); the load client is this process, on the same ${os.availableParallelism()} cores`);
    return {
      rows, notes,
      figures: {
        concurrentStreams: { batched, unbatched, speedup: batched.tokensPerS / unbatched.tokensPerS, lagBarMs: LAG_BAR_MS, lagPass: lagOk },
        memory: { runs: memory, bar: RSS_BAR },
      },
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
