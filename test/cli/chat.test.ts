// `lmkit chat`: piped lines get one reply each, equal to chatPrompt + generate
// on the kept history (so the second prompt carries the first turn); /reset
// forgets; an over-budget history loses its oldest turns with a notice; bad
// flags and a message that cannot fit are clear errors.
import t from 'tap';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { runChat } from '../../lib/cli/chat.js';
import { chatPrompt, type ChatMessage } from '../../lib/generate/chat.js';
import { generate } from '../../lib/generate/generate.js';
import { readCheckpoint } from '../../lib/io/checkpoint.js';
import { decoderFromCheckpoint } from '../../lib/models/decoder_checkpoint.js';
import { captured, spawnLmkit } from '../helpers/cli_run.js';
import { saveTinyCheckpoint } from '../helpers/tiny_checkpoint.js';

const dir = t.testdir();
const ckptDir = path.join(dir, 'ckpt');
saveTinyCheckpoint(ckptDir, { nPositions: 160 });
const ckpt = readCheckpoint(ckptDir);
const model = decoderFromCheckpoint(ckpt).eval();
const tok = ckpt.tokenizer;
const MAX_NEW = 12;

/** The reply chat should give: greedy generation on chatPrompt's ids, stopped at the template's end or user tag. */
function expectedReply(history: ChatMessage[], budget: number, replyIndex: number): { text: string; prompt: ReturnType<typeof chatPrompt> } {
  const prompt = chatPrompt(history, { tokenizer: tok, maxTokens: budget });
  const [seq] = generate(model, tok, [prompt.ids], { maxNewTokens: MAX_NEW, temperature: 0, topP: 0.9, seed: replyIndex, stopStrings: ['<|end|>', '<|user|>'] })[0]!;
  return { text: seq!.text, prompt };
}

/** runChat in this process on the given input lines: replies on stdout, notices collected. */
async function chat(args: string[], lines: string[]) {
  const input = new PassThrough(), output = new PassThrough();
  let stdout = '';
  output.on('data', (d: Buffer) => (stdout += d));
  const notices: string[] = [];
  input.end(lines.map((l) => l + '\n').join(''));
  const r = await captured(() => runChat(['--ckpt', ckptDir, '--temperature', '0', '--max-new-tokens', String(MAX_NEW), ...args], { input, output, notice: (l) => notices.push(l) }));
  return { ...r, stdout, notices };
}

t.test('piped: two lines, two replies; the second prompt holds the first turn', async (t) => {
  const budget = 160 - MAX_NEW;
  const r = await spawnLmkit(['chat', '--ckpt', ckptDir, '--system', 'Be brief.', '--temperature', '0', '--max-new-tokens', String(MAX_NEW)], 'Hello there\nWhat is your name?\n').done;
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '', 'no notices');
  const history: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }];
  const first = expectedReply(history, budget, 0);
  history.push({ role: 'assistant', content: first.text }, { role: 'user', content: 'What is your name?' });
  const second = expectedReply(history, budget, 1);
  t.equal(second.prompt.droppedTurns, 0);
  t.ok(second.prompt.text.includes(`<|user|>\nHello there<|end|>\n<|assistant|>\n${first.text}<|end|>\n<|user|>\nWhat is your name?`), 'second prompt carries turn one');
  t.equal(r.stdout, `${first.text}\n${second.text}\n`);
});

t.test('/reset forgets the history; /exit stops reading', async (t) => {
  const r = await chat([], ['Hello there', 'again', '/reset', 'Hello there', '/exit', 'never read']);
  t.equal(r.code, 0, r.stderr);
  t.same(r.notices, ['history cleared']);
  const one = expectedReply([{ role: 'user', content: 'Hello there' }], 160 - MAX_NEW, 0).text;
  const two = expectedReply([{ role: 'user', content: 'Hello there' }, { role: 'assistant', content: one }, { role: 'user', content: 'again' }], 160 - MAX_NEW, 1).text;
  t.equal(r.stdout, `${one}\n${two}\n${one}\n`, 'after /reset the same question gets the first answer again');
});

t.test('over the budget: the oldest turns go, with a notice, and the reply uses what is kept', async (t) => {
  const budget = 70;
  const lines = ['first question here', 'second one', 'third'];
  const r = await chat(['--budget', String(budget)], lines);
  t.equal(r.code, 0, r.stderr);
  // Replay the conversation the way the loop keeps it (history replaced by what was kept).
  let history: ChatMessage[] = [];
  let expected = '', dropped = 0;
  lines.forEach((line, k) => {
    const { text, prompt } = expectedReply([...history, { role: 'user', content: line }], budget, k);
    dropped += prompt.droppedTurns;
    history = [...prompt.messages, { role: 'assistant', content: text }];
    expected += text + '\n';
  });
  t.ok(dropped > 0, `the budget of ${budget} forces drops (${dropped})`);
  t.equal(r.stdout, expected);
  t.ok(r.notices.length > 0 && r.notices.every((n) => /over the 70-token prompt budget; dropped the oldest \d turn/.test(n)), r.notices.join(' | '));
});

t.test('errors: bad flags before reading; a message too long for the budget is skipped, the chat goes on', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['--ckpt', ckptDir, '--sytem', 'x'], 2, /Unknown option '--sytem'.*lmkit chat --help/],
    [[], 1, /--ckpt is required/],
    [['--ckpt', ckptDir, '--budget', '150'], 1, /--budget 150 \+ --max-new-tokens 80 exceed the model's 160 positions; use --budget ≤ 80/],
    [['--ckpt', ckptDir, '--max-new-tokens', '160'], 1, /--max-new-tokens 160 leaves no room/],
    [['--ckpt', ckptDir, '--top-p', '2'], 1, /--top-p must be in \(0, 1\]/],
  ];
  for (const [argv, code, message] of cases) {
    const r = await captured(() => runChat(argv, { input: new PassThrough(), output: new PassThrough(), notice: () => {} }));
    t.equal(r.code, code, `${argv.join(' ')} → exit ${code}`);
    t.match(r.stderr, message, r.stderr.trim());
  }
  const r = await chat(['--budget', '40'], ['x'.repeat(60), 'hi']);
  t.equal(r.code, 0);
  t.match(r.notices[0], /newest user message takes \d+ tokens.*raise --budget \[CHAT_USER_TOO_LONG\]; message not sent/);
  t.equal(r.stdout, expectedReply([{ role: 'user', content: 'hi' }], 40, 0).text + '\n', 'the next message is answered without the skipped one');
});
