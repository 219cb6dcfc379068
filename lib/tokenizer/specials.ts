// Added (special) tokens shared by every tokenizer: validating them, giving
// them roles, and cutting them out of the text before the model sees it.
import { TokenizerError, where } from './errors.js';
import { SPECIAL_ROLES, type AddedToken, type SpecialRole, type SpecialRoles } from './types.js';

/**
 * Conventional spellings, used to give roles to the tokens of files that do
 * not record them (tokenizer.json keeps roles in a separate config file).
 */
const ROLE_NAMES: Record<SpecialRole, readonly string[]> = {
  bos: ['<s>', '<bos>', '<|begin_of_text|>', '<|startoftext|>', '[CLS]', '<|endoftext|>'],
  eos: ['</s>', '<eos>', '<|end_of_text|>', '<|endoftext|>', '[SEP]'],
  pad: ['<pad>', '[PAD]', '<|pad|>', '<|padding|>'],
  unk: ['<unk>', '[UNK]', '<|unk|>'],
  mask: ['<mask>', '[MASK]', '<|mask|>'],
};

/** Roles given explicitly win; the rest come from the conventional names above. */
export function inferRoles(contents: readonly string[], explicit: SpecialRoles = {}): SpecialRoles {
  const present = new Set(contents);
  const roles: SpecialRoles = {};
  for (const role of SPECIAL_ROLES) {
    const given = explicit[role];
    if (given !== undefined) roles[role] = given;
    else {
      const found = ROLE_NAMES[role].find((name) => present.has(name));
      if (found !== undefined) roles[role] = found;
    }
  }
  return roles;
}

/** Checks added tokens: non-empty contents, non-negative integer ids, no clashes. */
export function checkAddedTokens(tokens: readonly AddedToken[], source?: string): void {
  const byId = new Map<number, string>();
  const byContent = new Map<string, number>();
  for (const t of tokens) {
    if (t.content.length === 0) throw new TokenizerError('BAD_FORMAT', `${where(source)}added token ${t.id} has empty content`);
    if (!Number.isInteger(t.id) || t.id < 0)
      throw new TokenizerError('BAD_FORMAT', `${where(source)}added token ${JSON.stringify(t.content)} has id ${t.id}, expected a non-negative integer`);
    const other = byId.get(t.id);
    if (other !== undefined)
      throw new TokenizerError('DUPLICATE_ID', `${where(source)}added tokens ${JSON.stringify(other)} and ${JSON.stringify(t.content)} both have id ${t.id}`);
    const otherId = byContent.get(t.content);
    if (otherId !== undefined)
      throw new TokenizerError('DUPLICATE_ID', `${where(source)}added token ${JSON.stringify(t.content)} appears twice, with ids ${otherId} and ${t.id}`);
    byId.set(t.id, t.content);
    byContent.set(t.content, t.id);
  }
}

/** Role → id, checking every role names an added token. */
export function roleIds(roles: SpecialRoles, tokens: readonly AddedToken[], source?: string): Partial<Record<SpecialRole, number>> {
  const ids: Partial<Record<SpecialRole, number>> = {};
  for (const role of SPECIAL_ROLES) {
    const content = roles[role];
    if (content === undefined) continue;
    const token = tokens.find((t) => t.content === content);
    if (token === undefined)
      throw new TokenizerError('UNKNOWN_TOKEN', `${where(source)}${role} token ${JSON.stringify(content)} is not one of the added tokens`);
    ids[role] = token.id;
  }
  return ids;
}

/** encode() is often called from plain JS: a non-string gets a clear error, not a crash deep inside. */
export function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string')
    throw new TokenizerError('BAD_ARGUMENT', `encode: expected a string for text but received ${text === null ? 'null' : typeof text}`);
}

export type Segment = { text: string } | { id: number };

/**
 * Splits text into plain runs and added tokens. Longer tokens are tried first,
 * so "<|user|>" wins over a hypothetical "<|" at the same place.
 */
export class AddedTokenSplitter {
  private readonly pattern: RegExp | undefined;
  private readonly ids: Map<string, number>;

  constructor(tokens: readonly AddedToken[]) {
    this.ids = new Map(tokens.map((t) => [t.content, t.id]));
    const contents = [...this.ids.keys()].sort((a, b) => b.length - a.length || (a < b ? -1 : 1));
    this.pattern = contents.length === 0 ? undefined : new RegExp(contents.map(escapeRegExp).join('|'), 'gu');
  }

  split(text: string): Segment[] {
    if (this.pattern === undefined) return [{ text }];
    const out: Segment[] = [];
    let last = 0;
    this.pattern.lastIndex = 0;
    for (let m = this.pattern.exec(text); m !== null; m = this.pattern.exec(text)) {
      if (m.index > last) out.push({ text: text.slice(last, m.index) });
      out.push({ id: this.ids.get(m[0])! });
      last = m.index + m[0].length;
    }
    if (last < text.length) out.push({ text: text.slice(last) });
    return out;
  }
}

// Only syntax characters: the `u` flag rejects escapes such as `\-`.
function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
