// A finished `lmkit compare` run read back from its metrics.json, so the
// demo's HTML report can show the comparison (`lmkit demo --compare <dir>`)
// without training anything for it: the numbers stay those of the compare
// run, labelled with its date, command and machine.
//
// The file is checked field by field before it is used: a file from another
// command, a hand-edited one or a run that wrote "NaN" is refused naming the
// key, instead of the report failing halfway or printing "undefined".
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { ConfigError } from '../errors.js';
import type { Arch } from '../models/arch.js';
import { REPORT_FILES } from '../report/write_report.js';
import { checkCompareConfig, COMPARE_CONFIGS, type CompareConfig } from './config.js';
import type { CompareResult } from './pipeline.js';
import { FAMILIES } from './sizing.js';

/** Where and how the compare run was made (what `lmkit compare` puts beside the result). */
export interface CompareRunInfo {
  date: string;
  command: string;
  machine: string;
}

export interface SavedCompare {
  run: CompareRunInfo;
  result: CompareResult;
  /** The file it was read from. */
  file: string;
}

type Json = Record<string, unknown>;

class Checker {
  constructor(private readonly file: string) {}

  fail(key: string, what: string): never {
    throw new ConfigError('COMPARE_RESULT_INVALID', `${this.file}: ${key} ${what}; pass the metrics.json (or the --out folder) of a finished \`lmkit compare\` run`);
  }

  object(v: unknown, key: string): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(key, `should be an object, got ${describe(v)}`);
    return v as Json;
  }

  array(v: unknown, key: string): unknown[] {
    if (!Array.isArray(v)) this.fail(key, `should be an array, got ${describe(v)}`);
    return v;
  }

  number(v: unknown, key: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `should be a finite number, got ${describe(v)}`);
    return v;
  }

  string(v: unknown, key: string): string {
    if (typeof v !== 'string') this.fail(key, `should be a string, got ${describe(v)}`);
    return v;
  }

  /** A metric over seeds ({mean, min, max, values}) or a reason ({unsupported}). */
  cell(v: unknown, key: string): void {
    const o = this.object(v, key);
    if ('unsupported' in o) {
      this.string(o.unsupported, `${key}.unsupported`);
      return;
    }
    for (const k of ['mean', 'min', 'max']) this.number(o[k], `${key}.${k}`);
    const values = this.array(o.values, `${key}.values`);
    if (values.length === 0) this.fail(`${key}.values`, 'is empty');
    values.forEach((x, i) => this.number(x, `${key}.values[${i}]`));
  }

  settings(v: unknown, key: string): void {
    const o = this.object(v, key);
    for (const s of ['zeroShot', 'fewShot', 'fineTuned']) this.cell(o[s], `${key}.${s}`);
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

function checkFamily(ch: Checker, v: unknown, key: string, config: CompareConfig): Arch {
  const f = ch.object(v, key);
  const arch = ch.string(f.arch, `${key}.arch`);
  if (!FAMILIES.includes(arch as Arch)) ch.fail(`${key}.arch`, `is "${arch}", not one of ${FAMILIES.join(', ')}`);
  ch.string(f.shape, `${key}.shape`);
  ch.number(f.parameters, `${key}.parameters`);
  const pre = ch.object(f.pretrain, `${key}.pretrain`);
  for (const k of ['corpusTokens', 'targetShare', 'seconds']) ch.number(pre[k], `${key}.pretrain.${k}`);
  for (const k of ['valLoss', 'unigramValLoss']) if (pre[k] !== null) ch.number(pre[k], `${key}.pretrain.${k}`);
  const methods = ch.object(f.methods, `${key}.methods`);
  const nluMethod = ch.object(methods.nlu, `${key}.methods.nlu`);
  for (const k of ['prompted', 'fineTuned']) ch.string(nluMethod[k], `${key}.methods.nlu.${k}`);
  if (methods.seq2seq !== null) {
    const s = ch.object(methods.seq2seq, `${key}.methods.seq2seq`);
    for (const k of ['prompted', 'fineTuned']) ch.string(s[k], `${key}.methods.seq2seq.${k}`);
  }
  const nlu = ch.array(f.nlu, `${key}.nlu`);
  for (const task of config.nlu.tasks) {
    const i = nlu.findIndex((n) => typeof n === 'object' && n !== null && (n as Json).task === task);
    if (i < 0) ch.fail(`${key}.nlu`, `has no entry for the task "${task}" of config.nlu.tasks`);
    ch.settings(nlu[i], `${key}.nlu[${i}]`);
  }
  const seq2seq = ch.object(f.seq2seq, `${key}.seq2seq`);
  ch.settings(seq2seq.exact, `${key}.seq2seq.exact`);
  ch.settings(seq2seq.charF1, `${key}.seq2seq.charF1`);
  const text = ch.object(f.text, `${key}.text`);
  const kind = ch.string(text.kind, `${key}.text.kind`);
  if (kind === 'none') ch.string(text.unsupported, `${key}.text.unsupported`);
  else if (kind === 'likelihood' || kind === 'pseudo') {
    ch.number(text.perplexity, `${key}.text.perplexity`);
    ch.string(text.how, `${key}.text.how`);
  } else ch.fail(`${key}.text.kind`, `is "${kind}", not likelihood, pseudo or none`);
  ch.number(f.evalSeconds, `${key}.evalSeconds`);
  ch.array(f.samples, `${key}.samples`).forEach((s, i) => {
    const triple = ch.array(s, `${key}.samples[${i}]`);
    if (triple.length !== 3) ch.fail(`${key}.samples[${i}]`, `should be [source, reference, prediction], has ${triple.length} entries`);
    triple.forEach((x, j) => ch.string(x, `${key}.samples[${i}][${j}]`));
  });
  return arch as Arch;
}

/** The compare result in `fileOrDir` (a metrics.json, or the --out folder holding one), checked. */
export function readCompareResult(fileOrDir: string): SavedCompare {
  let file = fileOrDir;
  let raw: unknown;
  try {
    if (statSync(fileOrDir).isDirectory()) file = path.join(fileOrDir, REPORT_FILES.metrics);
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError('COMPARE_RESULT_UNREADABLE', `${file}: cannot read the compare result (${why}); pass the metrics.json (or the --out folder) of a finished \`lmkit compare\` run`, { cause: err });
  }
  const ch: Checker = new Checker(file); // typed, so ch.fail (never) narrows
  const top = ch.object(raw, 'the file');
  const runJson = ch.object(top.run, 'run');
  const run: CompareRunInfo = { date: ch.string(runJson.date, 'run.date'), command: ch.string(runJson.command, 'run.command'), machine: ch.string(runJson.machine, 'run.machine') };

  // The config: the shape of one of the shipped ones (seeds may differ), then its own checks.
  const configJson = ch.object(top.config, 'config');
  const name = ch.string(configJson.name, 'config.name');
  const shipped = COMPARE_CONFIGS[name as CompareConfig['name']] as CompareConfig | undefined;
  if (shipped === undefined) ch.fail('config.name', `is "${name}", not one of ${Object.keys(COMPARE_CONFIGS).join(', ')}`);
  for (const [k, v] of Object.entries(shipped)) {
    if (typeof v === 'object' && !Array.isArray(v)) ch.object(configJson[k], `config.${k}`);
    else if (Array.isArray(v)) ch.array(configJson[k], `config.${k}`);
    else if (typeof v === 'number') ch.number(configJson[k], `config.${k}`);
  }
  const config = configJson as unknown as CompareConfig;
  try {
    checkCompareConfig(config);
  } catch (err) {
    ch.fail('config', `is not a valid compare config (${(err as Error).message})`);
  }

  ch.number(top.vocabSize, 'vocabSize');
  ch.number(top.seconds, 'seconds');
  const sizes = ch.object(top.evalSizes, 'evalSizes');
  const nluSizes = ch.object(sizes.nlu, 'evalSizes.nlu');
  for (const task of config.nlu.tasks) ch.number(nluSizes[task], `evalSizes.nlu.${task}`);
  ch.number(sizes.seq2seq, 'evalSizes.seq2seq');
  ch.number(sizes.textChars, 'evalSizes.textChars');

  const families = ch.array(top.families, 'families').map((f, i) => checkFamily(ch, f, `families[${i}]`, config));
  for (const arch of FAMILIES)
    if (families.filter((a) => a === arch).length !== 1) ch.fail('families', `should hold each of ${FAMILIES.join(', ')} once, has [${families.join(', ')}]`);

  const result: Json = { ...top };
  delete result.run;
  return { run, result: result as unknown as CompareResult, file };
}
