// The server under test for the serve suite, in its own process so the load
// client's work never lands on its event loop. Started by fork() with
// --expose-gc; talks to the suite over IPC:
//   → {type: 'window'}   starts a measurement window: resets the event-loop delay histogram; ← {type: 'window'}
//   → {type: 'sample'}   ← {type: 'sample', lag: {p50Ms, p99Ms, maxMs, samples}, memory: {rssMiB, heapUsedMiB, newSpaceMiB, worker...}}
//                          (memory after a full GC of this thread and the model workers, so it is what is retained)
//   → {type: 'stop'}     drains and exits
//   ← {type: 'ready', port} once listening; {type: 'error', message} if it cannot start
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import { pathToFileURL } from 'node:url';

const [entry, ckpt, maxBatch, maxQueue] = process.argv.slice(2);
const lmkit = await import(pathToFileURL(entry).href);

let engine;
let api;
try {
  engine = await lmkit.createEngine({ model: ckpt, maxBatch: Number(maxBatch), maxQueue: Number(maxQueue) });
  api = lmkit.createApiServer(engine, { modelName: 'bench', limits: { timeoutMs: 600_000 } });
  const { port } = await api.listen(0);
  // 1 ms resolution: the bar is p99 < 20 ms, so the histogram must see single milliseconds.
  const lag = monitorEventLoopDelay({ resolution: 1 });
  lag.enable();
  process.on('message', async (m) => {
    if (m.type === 'window') {
      lag.reset();
      process.send({ type: 'window' });
    }
    else if (m.type === 'sample') {
      const ms = (ns) => ns / 1e6;
      const figures = { p50Ms: ms(lag.percentile(50)), p99Ms: ms(lag.percentile(99)), maxMs: ms(lag.max), samples: lag.count };
      globalThis.gc?.();
      const workers = await engine.workerMemory({ gc: true });
      const mem = process.memoryUsage();
      // The young generation's size: V8 grows it with the survival rate, and RSS with it.
      const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
      process.send({
        type: 'sample', lag: figures, gc: typeof globalThis.gc === 'function',
        memory: {
          rssMiB: mem.rss / 2 ** 20, heapUsedMiB: mem.heapUsed / 2 ** 20, heapTotalMiB: mem.heapTotal / 2 ** 20, externalMiB: mem.external / 2 ** 20,
          newSpaceMiB: (newSpace?.space_size ?? NaN) / 2 ** 20,
          workerHeapUsedMiB: workers.map((w) => w.heapUsed / 2 ** 20), workerExternalMiB: workers.map((w) => w.external / 2 ** 20),
        },
      });
    } else if (m.type === 'stop') {
      lag.disable();
      await api.drain(5000);
      await engine.close();
      process.disconnect();
    }
  });
  process.send({ type: 'ready', port });
} catch (err) {
  process.send({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  await engine?.close();
  process.disconnect();
}
