#!/usr/bin/env node
// The `lmkit` command: dispatches to one module per subcommand.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

import { backendInfo } from '../runtime.js';
import { runChat } from './chat.js';
import { runDemoCommand } from './demo.js';
import { runCloze } from './cloze.js';
import { runCompareCommand } from './compare.js';
import { runGenerate } from './generate.js';
import { runPpo } from './ppo.js';
import { runRm } from './rm.js';
import { runSample } from './sample.js';
import { relaunchWithFlags, SERVE_NODE_FLAGS, youngGenerationChosen } from './relaunch.js';
import { runServe } from './serve.js';
import { cliError } from './errors.js';
import { runSft } from './sft.js';
import { runTrain } from './train.js';

const packageJson = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json');

const HELP = `lmkit — train, fine-tune, evaluate and serve transformer language models

Usage: lmkit <command> [options]

Commands:
  train       pre-train a decoder LM on a text file (lmkit train --config shakespeare-char)
  sample      generate text from a checkpoint (lmkit sample --ckpt out-shakespeare-char)
  generate    continue prompts: batches, sampling, beam search, stop strings, --stream, --json
              (lmkit generate --ckpt out-shakespeare-char --prompt "ROMEO:" --beams 4 --num-return 2)
  chat        talk with a checkpoint, history kept (lmkit chat --ckpt <dir> --system "...")
  serve       OpenAI-compatible HTTP server with batching and streaming (lmkit serve --ckpt <dir> --port 8080)
  sft         instruction fine-tuning (lmkit sft --ckpt <pretrained> --data inst.jsonl --out out-sft)
  rm          reward model from ranked responses (lmkit rm --ckpt out-sft --data prefs.jsonl --out out-rm)
  ppo         RLHF with PPO (lmkit ppo --policy out-sft --rm out-rm --prompts prompts.jsonl --out out-ppo)
  cloze       GLM cloze fine-tuning (lmkit cloze --ckpt <glm> --data cloze.jsonl --labels good,bad --out out-cloze)
  info        print the backend lmkit runs on (CPU ISA, threads, CUDA status) as JSON
  demo        the whole fine-tuning pipeline on the shipped corpus, with an HTML report (lmkit demo --quick)
  compare     decoder, encoder, encoder-decoder and GLM side by side on NLU, conditional and
              unconditional generation, at equal size and corpus budget (lmkit compare --quick)
  help        this text

Run lmkit <command> --help for a command's options.

Options:
  -h, --help     this text
  -v, --version  print the version

Data parallel on Open MPI: mpirun -np N lmkit train|sft|rm|cloze|ppo ... (batch_size per rank; rank 0 writes --out).

Environment: LMKIT_NUM_THREADS (thread pool size), LMKIT_CPU_ISA (scalar|avx2|avx512),
LMKIT_DIST_TIMEOUT (seconds a collective may take, default 300), LMKIT_DIST_BUCKET_MB, LMKIT_MPI_LIB.`;

function version(): string {
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  // Subcommands parse their own flags (so `lmkit train -h` is train's help).
  if (argv[0] === 'train') return runTrain(argv.slice(1));
  if (argv[0] === 'demo') return runDemoCommand(argv.slice(1));
  if (argv[0] === 'compare') return runCompareCommand(argv.slice(1));
  if (argv[0] === 'sample') return runSample(argv.slice(1));
  if (argv[0] === 'generate') return runGenerate(argv.slice(1));
  if (argv[0] === 'chat') return runChat(argv.slice(1));
  if (argv[0] === 'serve')
    return youngGenerationChosen() ? runServe(argv.slice(1)) : relaunchWithFlags(SERVE_NODE_FLAGS, argv).catch((err: unknown) => cliError('serve', err));
  if (argv[0] === 'sft') return runSft(argv.slice(1));
  if (argv[0] === 'rm') return runRm(argv.slice(1));
  if (argv[0] === 'ppo') return runPpo(argv.slice(1));
  if (argv[0] === 'cloze') return runCloze(argv.slice(1));
  const { values, positionals } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } },
    allowPositionals: true,
    strict: false,
  });
  const command = positionals[0];
  if (values.version) {
    console.log(version());
    return 0;
  }
  if (values.help || command === undefined || command === 'help') {
    console.log(HELP);
    return 0;
  }
  switch (command) {
    case 'info':
      console.log(JSON.stringify(backendInfo(), null, 2));
      return 0;
    default:
      console.error(`lmkit: unknown command '${command}'. Run: lmkit --help`);
      return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
