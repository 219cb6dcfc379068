// Compiles the bench's C helpers into bench/build/ (only when the source is
// newer than the binary) and runs them, reading back one JSON line.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Builds `source` into `output` with `compiler` unless output is up to date.
 * @returns {{ok: true, rebuilt: boolean} | {ok: false, error: string}}
 */
export function compile({ compiler = 'gcc', source, output, flags = [], libs = [] }) {
  try {
    if (fs.existsSync(output) && fs.statSync(output).mtimeMs >= fs.statSync(source).mtimeMs)
      return { ok: true, rebuilt: false };
    fs.mkdirSync(path.dirname(output), { recursive: true });
    execFileSync(compiler, [...flags, '-o', output, source, ...libs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { ok: true, rebuilt: true };
  } catch (err) {
    const e = /** @type {{stderr?: Buffer, message: string, code?: string}} */ (err);
    if (e.code === 'ENOENT') return { ok: false, error: `${compiler} not found (install: apt-get install build-essential)` };
    const detail = e.stderr?.toString().trim() || e.message;
    return { ok: false, error: `${compiler} ${path.basename(source)} failed: ${firstLines(detail, 4)}` };
  }
}

/**
 * Runs a program that prints one JSON object on its last stdout line, with
 * this process's environment less the names in `unset`, plus `env`.
 * @returns {{ok: true, value: any} | {ok: false, error: string}}
 */
export function runJson(file, args = [], { env = {}, unset = [], input, timeoutMs = 300_000 } = {}) {
  const inherited = { ...process.env };
  for (const name of unset) delete inherited[name];
  const merged = { ...inherited, ...env };
  const res = spawnSync(file, args, {
    env: merged,
    input,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  if (res.error) return { ok: false, error: `${path.basename(file)}: ${res.error.message}` };
  const lines = res.stdout.trim().split('\n');
  try {
    const value = JSON.parse(lines[lines.length - 1] ?? '');
    if (res.status !== 0 && !value.error)
      return { ok: false, error: `${path.basename(file)} exited ${res.status}: ${firstLines(res.stderr, 4)}` };
    return { ok: true, value };
  } catch {
    return {
      ok: false,
      error: `${path.basename(file)} exited ${res.status} without JSON: ${firstLines(res.stderr || res.stdout, 4)}`,
    };
  }
}

/** @param {string} text @param {number} n */
export function firstLines(text, n) {
  return String(text).trim().split('\n').slice(0, n).join(' | ');
}
