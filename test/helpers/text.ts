// Test texts: the tinyshakespeare corpus shipped in data/, a large varied text
// (many scripts, emoji sequences, whitespace runs, code, numbers), and seeded
// random Unicode strings.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './gpt2.js';
import { Rng } from './random.js';

export function shakespeare(): string {
  return readFileSync(path.join(repoRoot, 'data', 'tinyshakespeare.txt'), 'utf8');
}

/** Fragments that stress a byte-level BPE: every entry is kept verbatim somewhere in variedText(). */
export const FRAGMENTS: readonly string[] = [
  // scripts
  '中文分词测试：我们今天去北京。', '日本語のテキスト、ひらがなとカタカナ。', '한국어 문장입니다.',
  'مرحبا بالعالم، هذا نص عربي.', 'שלום עולם', 'नमस्ते दुनिया, यह हिंदी है।', 'สวัสดีชาวโลก', 'Привет, мир! Ёжик.',
  'Γειά σου Κόσμε', 'café naïve façade résumé Ångström', 'cafe\u0301 nai\u0308ve', 'ß ẞ ǅ ﬁ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟙𝟚𝟛',
  // emoji: skin tones, ZWJ families, flags, keycaps, variation selectors
  '👍🏽', '👩🏾‍💻', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇯🇵🇫🇷', '1️⃣', '❤️', '🧑🏻‍🤝‍🧑🏿', '😀😃😄😁', '🫠',
  // whitespace runs and line endings
  '   ', '\t\t', '\n\n\n', ' \n ', '\r\n', 'line\r\nline\r\n', ' \t \t', '\u00a0', '\u3000', '\u2028', '          x',
  'trailing   ', '\v\f', '\u0085 \u001c \ufeff',
  // code
  'def f(x):\n    if x > 0:\n        return x ** 2\n    return None\n',
  'function add(a, b) {\n\treturn a + b; // sum\n}\n',
  '{"key": [1, 2.5, -3e10], "nested": {"a": null}}', 'for (let i = 0; i < n; i++) { s += a[i]; }',
  '#include <stdio.h>\nint main(void) { printf("%d\\n", 42); }', '<div class="x">&amp;</div>',
  // numbers
  '3.14159', '1,000,000', '0xFF', '2024-01-01T12:00:00Z', '١٢٣٤', 'ⅫⅣ', '12345678901234567890', '½ ¾ ²',
  // contractions (case-sensitive in GPT-2) and punctuation runs
  "it's", "we'll", "they'd", "I'M", "don't", "you're", "I've", "O'Neil's", '!!!???', '...', '—–-', '«»""\'\'',
  '<|endoftext|>',
];

/** Shakespeare slice + every fragment + seeded mixtures of fragments and whitespace. */
export function variedText(seed = 1, corpusChars = 200_000, mixtures = 3000): string {
  const rng = new Rng(seed);
  const parts: string[] = [shakespeare().slice(0, corpusChars), FRAGMENTS.join(' ')];
  const spaces = ['', ' ', '  ', '\n', '\t', '\r\n', '    ', '\n\n'];
  for (let i = 0; i < mixtures; i++) parts.push(FRAGMENTS[rng.int(0, FRAGMENTS.length)]!, spaces[rng.int(0, spaces.length)]!);
  return parts.join('\n');
}

/** Code point pools for random strings; the last one holds lone surrogates. */
const POOLS: readonly (readonly [number, number])[] = [
  [0x20, 0x7f], [0x09, 0x0e], [0xa0, 0x250], [0x300, 0x370], [0x400, 0x500], [0x600, 0x700], [0x900, 0x980],
  [0x3040, 0x3100], [0x4e00, 0x4f00], [0xac00, 0xac80], [0x1f300, 0x1f650], [0x1f3fb, 0x1f400], [0x200b, 0x2030],
  [0xfe00, 0xfe10], [0x10000, 0x10100], [0xe000, 0xe010], [0xd800, 0xe000],
];

/** A seeded random string of `length` code points (lone surrogates only if `surrogates`). */
export function randomUnicode(rng: Rng, length: number, surrogates: boolean): string {
  let s = '';
  const pools = surrogates ? POOLS.length : POOLS.length - 1;
  for (let i = 0; i < length; i++) {
    const [lo, hi] = POOLS[rng.int(0, pools)]!;
    s += String.fromCodePoint(rng.int(lo, hi));
  }
  return s;
}

/** String.prototype.toWellFormed (ES2024): each lone surrogate becomes U+FFFD. */
export function toWellFormed(s: string): string {
  return s.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

/** JSON.stringify with line-breaking characters escaped too, safe as a TAP test name. */
export function label(s: string): string {
  return JSON.stringify(s).replace(/[\u0085\u2028\u2029\u001c-\u001f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
