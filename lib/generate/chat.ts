// Chat prompts: a role template (system / user / assistant) and multi-turn
// history concatenated into one token sequence that fits a budget. The oldest
// whole turns go first; the system prompt and the newest user message always
// stay; the prompt ends with the assistant tag so the model answers next.
// Positions simply follow the truncated sequence: it is a new prompt from 0.
import { LmkitError } from '../errors.js';

export type ChatErrorCode = 'CHAT_BAD_HISTORY' | 'CHAT_BAD_BUDGET' | 'CHAT_SYSTEM_TOO_LONG' | 'CHAT_USER_TOO_LONG';

/** A chat history cannot be turned into a prompt. */
export class ChatError extends LmkitError {
  declare readonly code: ChatErrorCode;
  constructor(code: ChatErrorCode, message: string) {
    super(code, message);
  }
}

export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Anything that counts tokens the way the model will see them (every lmkit tokenizer fits). */
export interface TokenCounter {
  encode(text: string): number[];
}

/** How messages are written: `tags[role] + content + turnEnd` per message. */
export interface ChatTemplate {
  /** Written before each message's content, one per role. */
  tags: Readonly<Record<ChatRole, string>>;
  /** Closes each message, so the model learns where a turn stops (and can emit it as a stop token). */
  turnEnd: string;
}

/** Special-token tags as in Zephyr / Phi-3; add them to the tokenizer as added tokens so each is one id. */
export const DEFAULT_CHAT_TEMPLATE: ChatTemplate = {
  tags: { system: '<|system|>\n', user: '<|user|>\n', assistant: '<|assistant|>\n' },
  turnEnd: '<|end|>\n',
};

export interface ChatPromptOptions {
  /** Encodes each rendered message; the budget is counted in its ids. */
  tokenizer: TokenCounter;
  /** Most tokens the prompt may have (context length minus the tokens reserved for the reply). */
  maxTokens: number;
  /** Role tags and turn separator (default DEFAULT_CHAT_TEMPLATE). */
  template?: ChatTemplate;
}

export interface ChatPrompt {
  /** The prompt ids: kept messages, then the assistant tag. */
  ids: number[];
  /** The same prompt as text. */
  text: string;
  /** The messages that were kept, in order. */
  messages: ChatMessage[];
  /** How many whole turns (a user message and the replies after it) were dropped. */
  droppedTurns: number;
}

/** One message as text. */
export function renderMessage(message: ChatMessage, template: ChatTemplate = DEFAULT_CHAT_TEMPLATE): string {
  return `${template.tags[message.role]}${message.content}${template.turnEnd}`;
}

/** Messages then the assistant tag, with no budget: what the model sees when everything fits. */
export function renderChat(messages: readonly ChatMessage[], template: ChatTemplate = DEFAULT_CHAT_TEMPLATE): string {
  return messages.map((m) => renderMessage(m, template)).join('') + template.tags.assistant;
}

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant'];

/** Checks the history's shape: at most one system message, first; the last message is the user's. */
function checkHistory(history: readonly ChatMessage[]): void {
  if (history.length === 0) throw new ChatError('CHAT_BAD_HISTORY', 'chatPrompt: the history is empty; it needs at least the user message to answer');
  history.forEach((m, i) => {
    if (!ROLES.includes(m.role))
      throw new ChatError('CHAT_BAD_HISTORY', `chatPrompt: message ${i} has role ${JSON.stringify(m.role)}; expected one of ${ROLES.join(', ')}`);
    if (typeof m.content !== 'string') throw new ChatError('CHAT_BAD_HISTORY', `chatPrompt: message ${i} (${m.role}) has no string content`);
    if (m.role === 'system' && i !== 0)
      throw new ChatError('CHAT_BAD_HISTORY', `chatPrompt: message ${i} is a system message; only the first message may be the system prompt`);
  });
  const last = history[history.length - 1]!;
  if (last.role !== 'user')
    throw new ChatError('CHAT_BAD_HISTORY', `chatPrompt: the last message is the ${last.role}'s; the prompt must end with the user message the assistant answers`);
}

/**
 * Builds the prompt for the assistant's next reply within `maxTokens`.
 *
 * A turn is a user message and the assistant replies that follow it (replies
 * before the first user message form a turn of their own). Required: the
 * system prompt (if any), the newest user message and the assistant tag; if
 * those do not fit, a ChatError says which part and by how much. Then older
 * turns are added newest-first while they fit whole; the first that does not
 * fit, and everything older, is dropped, so the kept history is contiguous.
 * Each message is encoded on its own and the ids concatenated, so the count
 * is exact for any tokenizer (no merges across message boundaries).
 */
export function chatPrompt(history: readonly ChatMessage[], options: ChatPromptOptions): ChatPrompt {
  const template = options.template ?? DEFAULT_CHAT_TEMPLATE;
  const { tokenizer, maxTokens } = options;
  if (!Number.isInteger(maxTokens) || maxTokens < 1)
    throw new ChatError('CHAT_BAD_BUDGET', `chatPrompt: expected a positive integer for maxTokens but received ${maxTokens}`);
  checkHistory(history);

  const encoded = history.map((m) => tokenizer.encode(renderMessage(m, template)));
  const generationIds = tokenizer.encode(template.tags.assistant);
  const hasSystem = history[0]!.role === 'system';
  const systemLen = hasSystem ? encoded[0]!.length : 0;
  const lastIndex = history.length - 1;
  const userLen = encoded[lastIndex]!.length;

  if (hasSystem && systemLen + generationIds.length > maxTokens)
    throw new ChatError('CHAT_SYSTEM_TOO_LONG',
      `chatPrompt: the system prompt takes ${systemLen} tokens (+${generationIds.length} for the assistant tag), over the budget of ${maxTokens} on its own; shorten the system prompt or raise maxTokens`);
  const required = systemLen + userLen + generationIds.length;
  if (required > maxTokens)
    throw new ChatError('CHAT_USER_TOO_LONG',
      `chatPrompt: the newest user message takes ${userLen} tokens; with the system prompt (${systemLen}) and the assistant tag (${generationIds.length}) that is ${required}, ${required - maxTokens} over the budget of ${maxTokens}; shorten the message or raise maxTokens`);

  // Turns between the system prompt and the newest user message, as [start, end) ranges.
  const first = hasSystem ? 1 : 0;
  const turns: [number, number][] = [];
  for (let i = first; i < lastIndex; i++) {
    if (turns.length === 0 || history[i]!.role === 'user') turns.push([i, i + 1]);
    else turns[turns.length - 1]![1] = i + 1;
  }

  let used = required;
  let keepFrom = turns.length; // index of the oldest kept turn
  for (let t = turns.length - 1; t >= 0; t--) {
    const [start, end] = turns[t]!;
    let cost = 0;
    for (let i = start; i < end; i++) cost += encoded[i]!.length;
    if (used + cost > maxTokens) break;
    used += cost;
    keepFrom = t;
  }

  const kept: number[] = [];
  if (hasSystem) kept.push(0);
  const firstKept = keepFrom < turns.length ? turns[keepFrom]![0] : lastIndex;
  for (let i = firstKept; i <= lastIndex; i++) kept.push(i);

  const ids = kept.flatMap((i) => encoded[i]!).concat(generationIds);
  const messages = kept.map((i) => ({ ...history[i]! }));
  return { ids, text: renderChat(messages, template), messages, droppedTurns: keepFrom };
}
