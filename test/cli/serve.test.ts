// `lmkit serve` as a spawned process: it prints its URL, answers, and on
// SIGTERM drains (the running stream ends with [DONE], new connections are
// refused) and exits 0; flag errors are one-line messages. Every spawned
// server is killed in teardown.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { SERVE_NODE_FLAGS, youngGenerationChosen } from '../../lib/cli/relaunch.js';
import { runServe } from '../../lib/cli/serve.js';
import { captured, spawnLmkit } from '../helpers/cli_run.js';
import { openStream, rawRequest, sseEvents } from '../helpers/http_client.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';

const dir = t.testdir();
const runDir = path.join(dir, 'my-run');
saveTinyCheckpoint(path.join(runDir, 'checkpoint'));

/** Resolves with the first match of `pattern` in the growing text of a stream; rejects if the child exits first. */
function waitFor(child: ReturnType<typeof spawnLmkit>['child'], stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d;
      const m = text.match(pattern);
      if (m) {
        child[stream].off('data', onData);
        child.off('exit', onExit);
        resolve(m);
      }
    };
    const onExit = (code: number | null): void => reject(new Error(`lmkit serve exited (${code}) before printing ${pattern}: ${text}`));
    child[stream].on('data', onData);
    child.once('exit', onExit);
  });
}

t.test('serves, then SIGTERM drains the running stream and exits 0', async (t) => {
  const { child, done } = spawnLmkit(['serve', '--ckpt', runDir, '--port', '0', '--max-batch', '4']);
  t.teardown(() => void child.kill('SIGKILL'));
  const [, name, port] = await waitFor(child, 'stdout', /lmkit serve: (\S+) on http:\/\/127\.0\.0\.1:(\d+)/);
  t.equal(name, 'my-run', 'the model is named after the run folder');
  const health = await rawRequest(Number(port), 'GET', '/health');
  t.equal(health.status, 200);

  const stream = await openStream(Number(port), '/v1/completions', { model: 'my-run', prompt: 'hello', max_tokens: 60, stream: true }, (s) => s.includes('data: '));
  const draining = waitFor(child, 'stderr', /draining/);
  child.kill('SIGTERM');
  await draining;
  await t.rejects(rawRequest(Number(port), 'GET', '/health'), { code: 'ECONNREFUSED' }, 'no new connections while draining');
  const { events, done: ended } = sseEvents(await stream.rest);
  t.ok(ended, 'the running stream ended with [DONE]');
  t.equal((events.at(-1) as { choices: { finish_reason: string }[] }).choices[0]!.finish_reason, 'length');
  const r = await done;
  t.equal(r.code, 0, r.stderr);
  t.match(r.stderr, /lmkit serve: stopped/);
});

t.test('flag and checkpoint errors are one line and a non-zero exit', async (t) => {
  const run = (argv: string[]) => captured(() => runServe(argv));
  const missing = await run([]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /lmkit serve: --ckpt is required/);
  const port = await run(['--ckpt', runDir, '--port', 'http']);
  t.equal(port.code, 1);
  t.match(port.stderr, /--port: expected a number/);
  const nowhere = await run(['--ckpt', path.join(dir, 'nowhere')]);
  t.equal(nowhere.code, 1);
  t.match(nowhere.stderr, /not a checkpoint.*\[CHECKPOINT_MISSING\]/);
  const unknown = await run(['--ckpt', runDir, '--turbo']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /Run: lmkit serve --help/);
  const tooMany = await run(['--ckpt', runDir, '--port', '0', '--max-tokens', '500']);
  t.equal(tooMany.code, 1);
  t.match(tooMany.stderr, /--max-tokens 500: the model's context is 96 tokens/);
  const help = await run(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /POST \/v1\/chat\/completions/);
});

/** The pids of a process's children (Linux /proc). */
function childPids(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
}
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('the server runs with a capped young generation, and a launcher killed by SIGKILL takes it down', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const { child, done } = spawnLmkit(['serve', '--ckpt', runDir, '--port', '0']);
  const [, port] = await waitFor(child, 'stdout', /on http:\/\/127\.0\.0\.1:(\d+)/);
  const [server] = childPids(child.pid!);
  t.ok(server, 'lmkit serve started the server as its child');
  t.teardown(() => { if (server && alive(server)) process.kill(server, 'SIGKILL'); });
  const argv = readFileSync(`/proc/${server}/cmdline`, 'utf8').split('\0');
  t.ok(argv.includes(SERVE_NODE_FLAGS[0]!), `the server's node runs with ${SERVE_NODE_FLAGS[0]}: ${argv.slice(0, 3).join(' ')}`);
  t.equal((await rawRequest(Number(port), 'GET', '/health')).status, 200, 'and answers');
  child.kill('SIGKILL');
  await done;
  // The server notices its launcher is gone (the IPC channel closes) and drains as on SIGTERM.
  for (let i = 0; i < 200 && alive(server!); i++) await new Promise((r) => setTimeout(r, 50));
  t.notOk(alive(server!), 'the orphaned server stopped by itself');
  await t.rejects(rawRequest(Number(port), 'GET', '/health'), { code: 'ECONNREFUSED' }, 'and its port is closed');
});

t.test('a young-generation size chosen by the user is kept: no relaunch', async (t) => {
  t.equal(youngGenerationChosen({}, []), false, 'node defaults: relaunch');
  t.equal(youngGenerationChosen({}, ['--max-semi-space-size=8']), true, 'a node flag');
  t.equal(youngGenerationChosen({ NODE_OPTIONS: '--max-semi-space-size=4' }, []), true, 'NODE_OPTIONS');
  t.equal(youngGenerationChosen({ LMKIT_SERVE_RELAUNCHED: '1' }, []), true, 'the relaunched process itself');
});
