// Chat prompt truncation: budget edges, very long turns, unicode, the two
// "cannot fit" errors, and whole-turn, oldest-first dropping. Token counts are
// checked against an independent count (UTF-8 bytes + one id per tag).
import t from 'tap';
import { ChatError, DEFAULT_CHAT_TEMPLATE, chatPrompt, renderChat, type ChatMessage, type ChatTemplate } from '../../lib/generate/chat.js';
import { trainBpe } from '../../lib/tokenizer/train_bpe.js';

const TAGS = ['<|system|>', '<|user|>', '<|assistant|>', '<|end|>'];

// A byte-level tokenizer without merges: each tag is one id, every other UTF-8 byte one id.
const byteTokenizer = {
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const part of text.split(/(<\|system\|>|<\|user\|>|<\|assistant\|>|<\|end\|>)/)) {
      const tag = TAGS.indexOf(part);
      if (tag >= 0) ids.push(256 + tag);
      else ids.push(...Buffer.from(part, 'utf8'));
    }
    return ids;
  },
};

// Default template cost of one message: tag + "\n" + content + <|end|> + "\n".
const cost = (content: string): number => Buffer.byteLength(content, 'utf8') + 4;
const GEN = 2; // "<|assistant|>\n"
const opts = (maxTokens: number) => ({ tokenizer: byteTokenizer, maxTokens });

const sys: ChatMessage = { role: 'system', content: 'Be brief.' };
const history: ChatMessage[] = [
  sys,
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Name a fruit' },
  { role: 'assistant', content: 'Apple' },
  { role: 'user', content: 'Another' },
  { role: 'assistant', content: 'Pear' },
  { role: 'user', content: 'Thanks' },
];
const total = history.reduce((n, m) => n + cost(m.content), 0) + GEN;

t.test('budget exactly fits: nothing dropped, ids are the whole rendered chat', async (t) => {
  const p = chatPrompt(history, opts(total));
  t.equal(p.droppedTurns, 0);
  t.same(p.messages, history);
  t.equal(p.ids.length, total);
  t.equal(p.text, renderChat(history));
  t.ok(p.text.endsWith('<|user|>\nThanks<|end|>\n<|assistant|>\n'), 'ends with the assistant tag, ready to generate');
  t.same(p.ids, byteTokenizer.encode(p.text));
});

t.test('one token short: the oldest whole turn (user + reply) goes, the system prompt stays', async (t) => {
  const p = chatPrompt(history, opts(total - 1));
  t.equal(p.droppedTurns, 1);
  t.same(p.messages, [sys, ...history.slice(3)]);
  t.equal(p.ids.length, total - cost('Hi') - cost('Hello!'));
  t.same(p.ids, byteTokenizer.encode(renderChat(p.messages)), 'ids are the kept messages, re-encoded from position 0');
});

t.test('several turns dropped oldest-first, always whole turns', async (t) => {
  const required = cost(sys.content) + cost('Thanks') + GEN;
  const lastTurn = cost('Another') + cost('Pear');
  t.same(chatPrompt(history, opts(required + lastTurn)).messages, [sys, ...history.slice(5)]);
  t.equal(chatPrompt(history, opts(required + lastTurn)).droppedTurns, 2);
  // One token fewer than the last turn needs: that whole turn goes, not just its user message.
  const p = chatPrompt(history, opts(required + lastTurn - 1));
  t.same(p.messages, [sys, history[7]]);
  t.equal(p.droppedTurns, 3);
  t.equal(p.ids.length, required);
  // Exactly the required part.
  t.same(chatPrompt(history, opts(required)).messages, [sys, history[7]]);
});

t.test('a very long turn in the middle drops it and everything older (the kept history is contiguous)', async (t) => {
  const long = 'x'.repeat(5000);
  const h: ChatMessage[] = [sys, { role: 'user', content: 'a' }, { role: 'assistant', content: 'b' },
    { role: 'user', content: 'tell me a story' }, { role: 'assistant', content: long },
    { role: 'user', content: 'c' }, { role: 'assistant', content: 'd' }, { role: 'user', content: 'e' }];
  const budget = cost(sys.content) + cost('c') + cost('d') + cost('e') + GEN + cost('a') + cost('b') + 10;
  const p = chatPrompt(h, opts(budget));
  t.same(p.messages, [sys, h[5], h[6], h[7]], 'the short oldest turn is not kept past the long one');
  t.equal(p.droppedTurns, 2);
  const all = chatPrompt(h, opts(h.reduce((n, m) => n + cost(m.content), 0) + GEN));
  t.equal(all.droppedTurns, 0, 'with room for it, the long turn stays');
});

t.test('a very long newest user message: fits exactly, or a clear error one token short', async (t) => {
  const long = 'word '.repeat(2000);
  const h: ChatMessage[] = [sys, { role: 'user', content: 'old' }, { role: 'assistant', content: 'reply' }, { role: 'user', content: long }];
  const required = cost(sys.content) + cost(long) + GEN;
  const p = chatPrompt(h, opts(required));
  t.same(p.messages, [sys, h[3]]);
  t.equal(p.ids.length, required);
  t.throws(() => chatPrompt(h, opts(required - 1)), {
    code: 'CHAT_USER_TOO_LONG',
    message: new RegExp(`newest user message takes ${cost(long)} tokens.*that is ${required}, 1 over the budget of ${required - 1}`),
  });
  const err = (() => { try { chatPrompt(h, opts(10)); } catch (e) { return e; } })();
  t.ok(err instanceof ChatError, 'a ChatError');
});

t.test('the system prompt alone over the budget is a clear error', async (t) => {
  const bigSys: ChatMessage = { role: 'system', content: 'rule. '.repeat(100) };
  const h = [bigSys, { role: 'user' as const, content: 'hi' }];
  t.throws(() => chatPrompt(h, opts(cost(bigSys.content) + GEN - 1)), { code: 'CHAT_SYSTEM_TOO_LONG', message: /system prompt takes 604 tokens.*budget of 605/ });
  // System fits with the tag, but not with the user message: the user message is named.
  t.throws(() => chatPrompt(h, opts(cost(bigSys.content) + GEN)), { code: 'CHAT_USER_TOO_LONG' });
  t.equal(chatPrompt(h, opts(cost(bigSys.content) + cost('hi') + GEN)).ids.length, cost(bigSys.content) + cost('hi') + GEN);
});

t.test('unicode and emoji are counted in tokens, not characters', async (t) => {
  const emoji = '👨‍👩‍👧 家族 🙂'; // ZWJ family (18 bytes), CJK (6), emoji (4), 2 spaces
  t.equal(Buffer.byteLength(emoji, 'utf8'), 30);
  t.equal(emoji.length, 14, 'UTF-16 length differs from the token count');
  const h: ChatMessage[] = [{ role: 'user', content: emoji }, { role: 'assistant', content: '🙂' }, { role: 'user', content: 'ça va? 🙂' }];
  const full = cost(emoji) + cost('🙂') + cost('ça va? 🙂') + GEN;
  t.equal(full, 34 + 8 + 16 + 2, 'ç is 2 bytes, 🙂 is 4');
  t.equal(chatPrompt(h, opts(full)).droppedTurns, 0, 'exact budget keeps all');
  const p = chatPrompt(h, opts(full - 1));
  t.equal(p.droppedTurns, 1);
  t.same(p.messages, [h[2]], 'no system prompt: only the newest user message');
  t.equal(p.ids.length, 18);
});

t.test('assistant messages before the first user message form a turn of their own', async (t) => {
  const h: ChatMessage[] = [sys, { role: 'assistant', content: 'How can I help?' }, { role: 'user', content: 'q1' }, { role: 'assistant', content: 'a1' }, { role: 'user', content: 'q2' }];
  const required = cost(sys.content) + cost('q2') + GEN;
  const p = chatPrompt(h, opts(required + cost('q1') + cost('a1')));
  t.same(p.messages, [sys, h[2], h[3], h[4]]);
  t.equal(p.droppedTurns, 1);
});

t.test('bad histories and budgets', async (t) => {
  t.throws(() => chatPrompt([], opts(10)), { code: 'CHAT_BAD_HISTORY', message: /empty/ });
  t.throws(() => chatPrompt([sys], opts(100)), { code: 'CHAT_BAD_HISTORY', message: /last message is the system's/ });
  t.throws(() => chatPrompt([{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], opts(100)), { code: 'CHAT_BAD_HISTORY', message: /assistant's/ });
  t.throws(() => chatPrompt([{ role: 'user', content: 'q' }, sys, { role: 'user', content: 'q' }], opts(100)), { code: 'CHAT_BAD_HISTORY', message: /message 1 is a system message/ });
  t.throws(() => chatPrompt([{ role: 'tool' as 'user', content: 'q' }], opts(100)), { code: 'CHAT_BAD_HISTORY', message: /role "tool"/ });
  t.throws(() => chatPrompt(history, opts(0)), { code: 'CHAT_BAD_BUDGET', message: /positive integer for maxTokens but received 0/ });
  t.throws(() => chatPrompt(history, opts(2.5)), { code: 'CHAT_BAD_BUDGET' });
});

t.test('a custom template: role tags and turn separator', async (t) => {
  const tpl: ChatTemplate = { tags: { system: '### System:\n', user: '### User:\n', assistant: '### Assistant:\n' }, turnEnd: '\n\n' };
  const h: ChatMessage[] = [sys, { role: 'user', content: 'Hi' }];
  const p = chatPrompt(h, { tokenizer: byteTokenizer, maxTokens: 1000, template: tpl });
  t.equal(p.text, '### System:\nBe brief.\n\n### User:\nHi\n\n### Assistant:\n');
  t.equal(p.ids.length, Buffer.byteLength(p.text));
});

t.test('with a real lmkit BPE tokenizer: tags are single ids and the prompt decodes back to the text', async (t) => {
  const tok = trainBpe('Hello there! How are you? I am fine, thanks. 🙂 Be brief. '.repeat(20), { vocabSize: 300, specialTokens: TAGS });
  for (const tag of TAGS) t.equal(tok.encode(tag).length, 1, `${tag} is one token`);
  const budget = 60;
  const p = chatPrompt(history, { tokenizer: tok, maxTokens: budget });
  t.ok(p.ids.length <= budget, `${p.ids.length} ≤ ${budget}`);
  t.ok(p.droppedTurns > 0 && p.droppedTurns < 3, `dropped ${p.droppedTurns} turns`);
  t.equal(tok.decode(p.ids), p.text);
  t.same(p.ids, p.messages.flatMap((m) => tok.encode(DEFAULT_CHAT_TEMPLATE.tags[m.role] + m.content + DEFAULT_CHAT_TEMPLATE.turnEnd)).concat(tok.encode('<|assistant|>\n')));
  // Adding the next-older turn back would overflow the budget.
  const newestDropped = history.slice(1 + 2 * (p.droppedTurns - 1), 3 + 2 * (p.droppedTurns - 1));
  t.same(newestDropped.map((m) => m.role), ['user', 'assistant']);
  const extra = newestDropped.reduce((n, m) => n + tok.encode(DEFAULT_CHAT_TEMPLATE.tags[m.role] + m.content + DEFAULT_CHAT_TEMPLATE.turnEnd).length, 0);
  t.ok(p.ids.length + extra > budget, `the newest dropped turn (${extra} tokens) would not fit`);
});
