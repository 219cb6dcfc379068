// `lmkit compare`: the four architectures side by side (lib/compare), on the
// shipped corpus or a given one; prints the parameter counts first and the
// markdown table at the end, and writes <out>/compare.md, <out>/index.html
// and <out>/metrics.json (the whole result, for scripts).
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { COMPARE_CONFIGS, type CompareConfig } from '../compare/config.js';
import { runCompare, type CompareEvent } from '../compare/pipeline.js';
import { compareMarkdown, compareSection } from '../compare/report.js';
import { ConfigError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic_write.js';
import { packageRoot } from '../package_info.js';
import { writeReport } from '../report/write_report.js';
import { backendInfo } from '../runtime.js';
import { cliError, usageError } from './errors.js';
import { formatDuration } from './progress.js';

export const COMPARE_HELP = `Usage: lmkit compare [--quick] [--out <dir>] [--data <file>] [--seeds 1,2,3]

The seed article's claim about architectures, measured: a decoder (GPT), an
encoder (BERT), an encoder-decoder (T5) and GLM at the same parameter count
(±10%), each pre-trained on the same corpus budget with its own objective,
then evaluated zero-shot, few-shot and fine-tuned on classification (NLU),
conditional generation (a made-up cipher "translation") and unconditional
generation (per-character perplexity of held-out text). Every number is
measured in this run; the same options give the same numbers.

Options:
  --quick          the same comparison about five times smaller (a smoke run; weak numbers by design)
  --out <dir>      where compare.md, index.html and metrics.json go (default: compare)
  --data <file>    the pre-training corpus, UTF-8 text (default: the shipped tinyshakespeare)
  --seeds <list>   fine-tuning seeds, comma-separated (default: 1,2,3; --quick: 1)
  -h, --help       this text`;

function renderEvent(e: CompareEvent): void {
  const tty = process.stderr.isTTY === true;
  const line = (text: string): void => void process.stderr.write(`${tty ? '\r\x1b[K' : ''}${text}\n`);
  switch (e.type) {
    case 'family':
      line(`[${e.index}/${e.total}] ${e.arch}: ${e.parameters.toLocaleString('en-US')} parameters (${e.shape})`);
      return;
    case 'pretrain': {
      const text = `      pre-training ${e.iter}/${e.maxIters} loss ${e.loss.toFixed(3)} ETA ${formatDuration(e.etaSec)}`;
      if (tty) process.stderr.write(`\r\x1b[K${text}`);
      else if (e.iter === e.maxIters || e.iter % Math.max(1, Math.floor(e.maxIters / 4)) === 0) line(text);
      return;
    }
    case 'phase':
      line(`      ${e.phase}`);
      return;
    case 'result':
      line(`      ${e.text}`);
      return;
  }
}

/** "1,2,3" → [1, 2, 3]: distinct non-negative integers. */
export function parseSeeds(text: string): number[] {
  const seeds = text.split(',').map((s) => s.trim());
  if (seeds.some((s) => !/^\d+$/.test(s)))
    throw new ConfigError('CONFIG_INVALID', `--seeds ${JSON.stringify(text)}: expected non-negative integers separated by commas, e.g. --seeds 1,2,3`);
  const out = seeds.map(Number);
  if (new Set(out).size !== out.length) throw new ConfigError('CONFIG_INVALID', `--seeds ${text}: a seed is repeated; give each once`);
  return out;
}

export function runCompareCommand(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean' }, out: { type: 'string' }, data: { type: 'string' }, seeds: { type: 'string' },
        // The test-sized config: every code path in seconds, numbers meaningless (not in --help).
        tiny: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    return usageError('compare', err);
  }
  if (values.help) {
    console.log(COMPARE_HELP);
    return 0;
  }
  try {
    if (values.quick && values.tiny) throw new ConfigError('CONFIG_INVALID', '--quick and --tiny choose different sizes; pass one');
    const base = COMPARE_CONFIGS[values.tiny ? 'tiny' : values.quick ? 'quick' : 'full'];
    const config: CompareConfig = values.seeds ? { ...base, finetuneSeeds: parseSeeds(values.seeds) } : base;
    const outDir = values.out ?? 'compare';
    const corpusFile = values.data ?? path.join(packageRoot, 'data', 'tinyshakespeare.txt');
    const date = new Date().toISOString();
    const result = runCompare({ config, corpusFile, workDir: outDir, onEvent: renderEvent });
    const info = backendInfo();
    const run = {
      date,
      command: ['lmkit compare', ...argv].join(' '),
      machine: `${os.cpus()[0]?.model ?? 'CPU'}; ${info.cpu.threads} threads, ${info.cpu.isa}; Node ${process.version}`,
    };
    const markdown = compareMarkdown(result, run);
    const written = writeReport(outDir, { title: 'lmkit compare', subtitle: `${config.name} run, pre-training seed ${config.seed}`, run: { ...run, stages: result.families.flatMap((f) => [{ name: `${f.arch}: pre-train`, seconds: f.pretrain.seconds }, { name: `${f.arch}: fine-tune + eval`, seconds: f.evalSeconds }]) }, sections: [compareSection(result)] }, { run, ...result });
    const mdFile = path.join(outDir, 'compare.md');
    writeFileAtomic(mdFile, [new TextEncoder().encode(markdown)]);
    console.log(markdown);
    console.error(`done in ${formatDuration(result.seconds)}: ${mdFile}, report ${written.html}, metrics ${written.metrics}`);
    return 0;
  } catch (err) {
    return cliError('compare', err);
  }
}
