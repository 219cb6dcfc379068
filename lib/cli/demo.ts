// `lmkit demo` (and `npm start`): the whole fine-tuning pipeline on the
// shipped corpus and the synthetic task suite, on CPU, with a progress line
// per stage; writes <out>/index.html and <out>/metrics.json. With
// --compare, the report ends with the comparison of a finished
// `lmkit compare` run, read from its metrics.json (nothing is trained for it,
// so the demo takes no longer).
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { savedCompareSection } from '../compare/report.js';
import { readCompareResult } from '../compare/result_file.js';
import { FULL_DEMO, QUICK_DEMO } from '../demo/config.js';
import { runDemo } from '../demo/pipeline.js';
import type { DemoEvent } from '../demo/progress.js';
import { demoReport } from '../demo/report.js';
import { packageRoot } from '../package_info.js';
import { writeReport } from '../report/write_report.js';
import { backendInfo } from '../runtime.js';
import { cliError, usageError } from './errors.js';
import { formatDuration } from './progress.js';

export const DEMO_HELP = `Usage: lmkit demo [--quick] [--out <dir>] [--work <dir>] [--compare <dir>]

Runs the seed article's pipeline on CPU on what lmkit ships: pre-train a
character-level decoder on tinyshakespeare, prompt it zero/one/few-shot on a
synthetic task suite, instruction-tune it (one task family held out), compare
chain of thought with direct answers, train a reward model on labeled samples,
run PPO against it, and pre-train + cloze-fine-tune a GLM. Every number in the
report is measured in this run, except the --compare section, which names the
run that measured it.

Options:
  --quick          the same pipeline about five times smaller (a smoke run; weak numbers by design)
  --out <dir>      where index.html and metrics.json go (default: report)
  --work <dir>     checkpoints and data of the stages (default: <out>/work)
  --compare <dir>  end the report with the four-architecture comparison of a
                   finished \`lmkit compare\` run (its --out folder or metrics.json),
                   labelled with that run; nothing is trained for it
  -h, --help       this text`;

function renderEvent(e: DemoEvent): void {
  const tty = process.stderr.isTTY === true;
  switch (e.type) {
    case 'stage':
      if (tty) process.stderr.write('\r\x1b[K');
      process.stderr.write(`[${e.index}/${e.total}] ${e.name}\n`);
      return;
    case 'result':
      if (tty) process.stderr.write('\r\x1b[K');
      process.stderr.write(`      ${e.text}\n`);
      return;
    case 'progress': {
      const eta = e.etaSec === undefined ? '' : ` ETA ${formatDuration(e.etaSec)}`;
      const text = `      ${e.stage} ${e.done}/${e.total} ${e.info}${eta}`;
      if (tty) process.stderr.write(`\r\x1b[K${text}`);
      else if (e.done === e.total || e.done % 100 === 0) process.stderr.write(`${text}\n`);
      return;
    }
  }
}

export function runDemoCommand(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { quick: { type: 'boolean' }, out: { type: 'string' }, work: { type: 'string' }, compare: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: false,
      strict: true,
    }));
  } catch (err) {
    return usageError('demo', err);
  }
  if (values.help) {
    console.log(DEMO_HELP);
    return 0;
  }
  try {
    // Read first: a bad file is refused before minutes of training, not after.
    const saved = values.compare === undefined ? undefined : readCompareResult(values.compare);
    const config = values.quick ? QUICK_DEMO : FULL_DEMO;
    const outDir = values.out ?? 'report';
    const workDir = values.work ?? path.join(outDir, 'work');
    const started = performance.now();
    const date = new Date().toISOString();
    const metrics = runDemo({ config, corpusFile: path.join(packageRoot, 'data', 'tinyshakespeare.txt'), workDir, onEvent: renderEvent });
    const info = backendInfo();
    const machine = `${os.cpus()[0]?.model ?? 'CPU'}; ${info.cpu.threads} threads, ${info.cpu.isa}; Node ${process.version}`;
    const command = ['lmkit demo', ...(values.quick ? ['--quick'] : []), ...(saved ? ['--compare', values.compare] : [])].join(' ');
    const report = demoReport(metrics, { date, command, machine });
    const written = saved
      ? writeReport(outDir, { ...report, sections: [...report.sections, savedCompareSection(saved)] }, { ...metrics, compare: { file: saved.file, run: saved.run, ...saved.result } })
      : writeReport(outDir, report, metrics);
    const held = metrics.checks.filter((c) => c.holds).length;
    console.error(`done in ${formatDuration((performance.now() - started) / 1000)}: ${held}/${metrics.checks.length} claims hold; report: ${written.html}, metrics: ${written.metrics}`);
    for (const c of metrics.checks) console.error(`  ${c.holds ? 'holds' : 'does not hold'}: ${c.claim} — ${c.measured}`);
    return 0;
  } catch (err) {
    return cliError('demo', err);
  }
}
