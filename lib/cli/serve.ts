// `lmkit serve`: the OpenAI-compatible server (lib/serve) for a checkpoint.
// Prints one line when it listens (with the URL, so scripts can read the port
// of --port 0); SIGTERM or SIGINT drains (running requests finish, new ones
// get 503) and exits 0.
import path from 'node:path';
import { parseArgs } from 'node:util';

import { ConfigError } from '../errors.js';
import { createEngine } from '../serve/engine.js';
import { createApiServer, type ServerLimits } from '../serve/server.js';
import { cliError, usageError } from './errors.js';
import { intFlag, numberFlag, resolveCheckpointDir } from './flags.js';
import { followLauncher } from './relaunch.js';

export const SERVE_HELP = `Usage: lmkit serve --ckpt <dir> [--port 8080] [options]

Serves a decoder checkpoint over an OpenAI-compatible HTTP API:
POST /v1/completions, POST /v1/chat/completions (stream: true for SSE),
GET /v1/models, /health, /metrics (Prometheus). Concurrent requests are
decoded together (continuous batching) in worker threads.

Options:
  --ckpt <dir>               the checkpoint folder (<out>/checkpoint), or the run folder <out>
  --port <n>                 port to listen on (default 8080; 0 = any free port)
  --host <addr>              address to bind (default 127.0.0.1)
  --model-name <name>        the name clients send as "model" (default: the run folder's name)
  --workers <n>              model worker threads, one model copy each (default 1)
  --max-batch <n>            sequences one worker decodes together (default 16)
  --max-queue <n>            sequences that may wait for a row; beyond that 429 (default 256)
  --max-tokens <n>           most tokens a choice may generate (default min(512, context − 1))
  --max-prompt-tokens <n>    most prompt tokens (default context − 1)
  --max-choices <n>          most choices (n × prompts) per request (default 16)
  --max-body-bytes <n>       largest request body (default 1048576)
  --timeout <s>              a request is cancelled after this many seconds (default 120)
  --drain-timeout <s>        on SIGTERM, how long running requests may finish (default 30)
  -h, --help                 this text`;

const FLAGS = {
  ckpt: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, 'model-name': { type: 'string' },
  workers: { type: 'string' }, 'max-batch': { type: 'string' }, 'max-queue': { type: 'string' }, 'max-tokens': { type: 'string' },
  'max-prompt-tokens': { type: 'string' }, 'max-choices': { type: 'string' }, 'max-body-bytes': { type: 'string' },
  timeout: { type: 'string' }, 'drain-timeout': { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];

function seconds(flag: string, text: string | undefined, fallback: number): number {
  const s = numberFlag(flag, text) ?? fallback;
  if (!(s > 0)) throw new ConfigError('CONFIG_INVALID', `--${flag}: expected a number of seconds > 0, got ${JSON.stringify(text)}`);
  return s;
}

/** The run folder's name: `runs/a/checkpoint` → "a". */
function defaultModelName(ckpt: string): string {
  const resolved = path.resolve(ckpt);
  const base = path.basename(resolved);
  return base === 'checkpoint' ? path.basename(path.dirname(resolved)) : base;
}

function limitsFrom(v: Values, nPositions: number): Partial<ServerLimits> {
  const limits: Partial<ServerLimits> = {
    maxTokens: intFlag('max-tokens', v['max-tokens'], 1),
    maxPromptTokens: intFlag('max-prompt-tokens', v['max-prompt-tokens'], 1),
    maxChoices: intFlag('max-choices', v['max-choices'], 1),
    maxBodyBytes: intFlag('max-body-bytes', v['max-body-bytes'], 1),
    timeoutMs: seconds('timeout', v.timeout, 120) * 1000,
  };
  for (const [flag, key] of [['max-tokens', 'maxTokens'], ['max-prompt-tokens', 'maxPromptTokens']] as const) {
    const n = limits[key];
    if (n !== undefined && n >= nPositions)
      throw new ConfigError('CONFIG_INVALID', `--${flag} ${n}: the model's context is ${nPositions} tokens, so at most ${nPositions - 1}`);
  }
  for (const key of Object.keys(limits) as (keyof ServerLimits)[]) if (limits[key] === undefined) delete limits[key];
  return limits;
}

export async function runServe(argv: string[]): Promise<number> {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, allowPositionals: false, strict: true }));
  } catch (err) {
    return usageError('serve', err);
  }
  if (values.help) {
    console.log(SERVE_HELP);
    return 0;
  }
  followLauncher();
  try {
    if (!values.ckpt) throw new ConfigError('CONFIG_MISSING', '--ckpt is required: the checkpoint folder lmkit train wrote (<out>/checkpoint)');
    const port = intFlag('port', values.port, 0) ?? 8080;
    if (port > 65535) throw new ConfigError('CONFIG_INVALID', `--port: expected 0..65535, got ${port}`);
    const host = values.host ?? '127.0.0.1';
    const graceMs = seconds('drain-timeout', values['drain-timeout'], 30) * 1000;
    const engineOptions = {
      model: resolveCheckpointDir(values.ckpt),
      workers: intFlag('workers', values.workers, 1),
      maxBatch: intFlag('max-batch', values['max-batch'], 1),
      maxQueue: intFlag('max-queue', values['max-queue'], 0),
    };
    const engine = await createEngine(engineOptions);
    let api;
    try {
      const modelName = values['model-name'] ?? defaultModelName(values.ckpt);
      api = createApiServer(engine, { modelName, limits: limitsFrom(values, engine.info.nPositions) });
      const address = await api.listen(port, host);
      const s = engine.stats();
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      console.log(`lmkit serve: ${modelName} on http://${shownHost}:${address.port} (workers ${s.workers}, max batch ${s.maxBatch}, max queue ${s.maxQueue})`);
    } catch (err) {
      await engine.close();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL')
        throw new ConfigError('CONFIG_INVALID', `cannot listen on ${host}:${port} (${code}); pick another --port or --host`, { cause: err });
      throw err;
    }
    const signal = await new Promise<NodeJS.Signals>((resolve) => {
      process.once('SIGTERM', () => resolve('SIGTERM'));
      process.once('SIGINT', () => resolve('SIGINT'));
    });
    const drained = api.drain(graceMs); // stops listening at once, so the line below is printed only once it holds
    console.error(`lmkit serve: ${signal}: draining (running requests may finish for ${graceMs / 1000} s; new ones get 503)`);
    const { cancelled } = await drained;
    await engine.close();
    console.error(`lmkit serve: stopped${cancelled ? ` (${cancelled} requests cancelled at the drain timeout)` : ''}`);
    return 0;
  } catch (err) {
    return cliError('serve', err);
  }
}
