// `lmkit chat`: a read-eval-print loop over a checkpoint. Each user line is
// added to the history, the history becomes a prompt within the token budget
// (chatPrompt drops the oldest whole turns, and we say so on stderr), and the
// reply streams until the template's end tag. Reads lines from a pipe as
// well as from a terminal, so scripts and tests can drive it.
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';

import { ConfigError } from '../errors.js';
import { ChatError, chatPrompt, DEFAULT_CHAT_TEMPLATE, renderMessage, type ChatMessage, type ChatRole, type ChatTemplate } from '../generate/chat.js';
import { stream, type GenerateOptions } from '../generate/generate.js';
import { resolveOptions } from '../generate/options.js';
import { readCheckpoint } from '../io/checkpoint.js';
import { decoderFromCheckpoint } from '../models/decoder_checkpoint.js';
import type { DecoderLM } from '../models/decoder.js';
import { TokenizerError } from '../tokenizer/errors.js';
import type { Tokenizer } from '../tokenizer/types.js';
import { cliError, usageError } from './errors.js';
import { asFlagError, intFlag, numberFlag, resolveCheckpointDir } from './flags.js';

export const CHAT_HELP = `Usage: lmkit chat --ckpt <dir> [options]

Talks with a checkpoint's model, one line per user message. The history is
kept and sent each turn; when it outgrows the prompt budget the oldest turns
are dropped (a notice goes to stderr). Works on piped input too.

In the chat:  /reset clears the history (the system prompt stays); /exit or end of input quits.

Options:
  --ckpt <dir>            the checkpoint folder (<out>/checkpoint), or the run folder <out>
  --system <text>         the system prompt, kept in every prompt
  --max-new-tokens <n>    most tokens per reply (default min(128, n_positions / 2))
  --temperature <t>       0 = greedy; higher is more random (default 0.7)
  --top-p <p>             nucleus sampling, in (0, 1] (default 0.9)
  --seed <n>              seeds sampling; reply k uses seed + k (default 0)
  --budget <n>            prompt budget in tokens (default n_positions − max-new-tokens)
  -h, --help              this text`;

const FLAGS = {
  ckpt: { type: 'string' }, system: { type: 'string' }, 'max-new-tokens': { type: 'string' }, temperature: { type: 'string' },
  'top-p': { type: 'string' }, seed: { type: 'string' }, budget: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];

/** Where the REPL reads and writes; the process's streams unless a caller (a test) gives others. */
export interface ChatIO {
  input: Readable;
  output: Writable;
  /** Notices (dropped turns, cleared history, errors in a turn). */
  notice: (line: string) => void;
}

interface ChatSetup {
  model: DecoderLM;
  tokenizer: Tokenizer;
  template: ChatTemplate;
  /** Prompt budget in tokens. */
  budget: number;
  /** Per-reply options; the seed is offset by the reply's number. */
  options: GenerateOptions;
}

/** The end tag as a stop token when the vocabulary has it (special tokens are skipped in decoded text), always as a stop string. */
function stopOptions(tokenizer: Tokenizer, template: ChatTemplate): Pick<GenerateOptions, 'stopTokens' | 'stopStrings'> {
  const endTag = template.turnEnd.trim();
  // A model that skips the end tag and starts the user's next turn is stopped there too.
  const userTag = template.tags.user.trim();
  const ids = [tokenizer.eos, tokenizer.tokenToId(endTag), tokenizer.tokenToId(userTag)].filter((id): id is number => id !== undefined);
  return { stopStrings: [endTag, userTag], ...(ids.length > 0 ? { stopTokens: [...new Set(ids)] } : {}) };
}

/** Loads the model and checks every flag against it, before the first line is read. */
function setup(v: Values): ChatSetup {
  if (!v.ckpt) throw new ConfigError('CONFIG_MISSING', '--ckpt is required: the checkpoint folder lmkit train wrote (<out>/checkpoint)');
  const ckpt = readCheckpoint(resolveCheckpointDir(v.ckpt));
  const model = decoderFromCheckpoint(ckpt).eval();
  const tokenizer = ckpt.tokenizer, template = DEFAULT_CHAT_TEMPLATE;
  const context = model.config.n_positions;
  const maxNewTokens = intFlag('max-new-tokens', v['max-new-tokens'], 1) ?? Math.max(1, Math.min(128, Math.floor(context / 2)));
  if (maxNewTokens >= context)
    throw new ConfigError('CONFIG_INVALID', `--max-new-tokens ${maxNewTokens} leaves no room for the prompt in the model's ${context} positions; use at most ${context - 1}`);
  const budget = intFlag('budget', v.budget, 1) ?? context - maxNewTokens;
  if (budget + maxNewTokens > context)
    throw new ConfigError('CONFIG_INVALID', `--budget ${budget} + --max-new-tokens ${maxNewTokens} exceed the model's ${context} positions; use --budget ≤ ${context - maxNewTokens}`);
  for (const role of Object.keys(template.tags) as ChatRole[]) {
    try {
      tokenizer.encode(renderMessage({ role, content: '' }, template));
    } catch (err) {
      if (!(err instanceof TokenizerError)) throw err;
      throw new ConfigError('CONFIG_INVALID', `this checkpoint's tokenizer cannot write the chat template's ${role} tag ${JSON.stringify(template.tags[role])}: ${err.message}; chat needs a model whose vocabulary covers the tags`);
    }
  }
  const options: GenerateOptions = {
    maxNewTokens, temperature: numberFlag('temperature', v.temperature) ?? 0.7, topP: numberFlag('top-p', v['top-p']) ?? 0.9,
    seed: intFlag('seed', v.seed) ?? 0, ...stopOptions(tokenizer, template),
  };
  try {
    resolveOptions(options, tokenizer, context, budget);
  } catch (err) {
    throw asFlagError(err);
  }
  return { model, tokenizer, template, budget, options };
}

/**
 * The loop. SIGINT while a reply streams stops that reply (it is kept as far
 * as it got); SIGINT at the prompt ends the chat with status 130.
 */
export async function chatLoop(s: ChatSetup, system: string | undefined, io: ChatIO): Promise<number> {
  const base: ChatMessage[] = system !== undefined ? [{ role: 'system', content: system }] : [];
  let history = [...base];
  let replies = 0;
  let reply: AbortController | null = null;
  let interrupted = false;
  // On a terminal: line editing and a "> " prompt; from a pipe: plain lines, replies only.
  const tty = (io.input as { isTTY?: boolean }).isTTY === true;
  const rl = createInterface({ input: io.input, ...(tty ? { output: io.output, terminal: true } : { terminal: false }) });
  const ask = (): void => void (tty && io.output.write('> '));
  const onSigint = (): void => {
    if (reply) return reply.abort();
    interrupted = true;
    rl.close();
  };
  process.on('SIGINT', onSigint);
  rl.on('SIGINT', onSigint); // a terminal in raw mode reports Ctrl-C here instead
  try {
    ask();
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/exit') break;
      if (line === '' || line === '/reset') {
        if (line === '/reset') {
          history = [...base];
          io.notice('history cleared');
        }
        ask();
        continue;
      }
      let prompt;
      try {
        prompt = chatPrompt([...history, { role: 'user', content: line }], { tokenizer: s.tokenizer, maxTokens: s.budget, template: s.template });
      } catch (err) {
        // A message that cannot fit (or cannot be encoded) loses that turn, not the chat.
        if (!(err instanceof ChatError || err instanceof TokenizerError)) throw err;
        io.notice(`${err.message.replace('raise maxTokens', 'raise --budget')} [${err.code}]; message not sent`);
        ask();
        continue;
      }
      if (prompt.droppedTurns > 0)
        io.notice(`the history is over the ${s.budget}-token prompt budget; dropped the oldest ${prompt.droppedTurns} turn(s)`);
      history = prompt.messages;
      reply = new AbortController();
      let text = '';
      for await (const piece of stream(s.model, s.tokenizer, prompt.ids, { ...s.options, seed: (s.options.seed ?? 0) + replies, signal: reply.signal })) {
        text += piece.text;
        io.output.write(piece.text);
      }
      io.output.write('\n');
      if (reply.signal.aborted) io.notice('reply interrupted');
      reply = null;
      replies++;
      history.push({ role: 'assistant', content: text });
      ask();
    }
  } finally {
    process.off('SIGINT', onSigint);
    rl.close();
  }
  return interrupted ? 130 : 0;
}

export async function runChat(argv: string[], io?: ChatIO): Promise<number> {
  let values: Values;
  try {
    ({ values } = parseArgs({ args: argv, options: FLAGS, allowPositionals: false, strict: true }));
  } catch (err) {
    return usageError('chat', err);
  }
  if (values.help) {
    console.log(CHAT_HELP);
    return 0;
  }
  try {
    const s = setup(values);
    return await chatLoop(s, values.system, io ?? { input: process.stdin, output: process.stdout, notice: (line) => console.error(`lmkit chat: ${line}`) });
  } catch (err) {
    return cliError('chat', err);
  }
}
