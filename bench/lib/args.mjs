// Command line of `npm run bench [-- suite...] [--quick] [--threads N] [--out FILE]`.
import os from 'node:os';

export const USAGE = `usage: npm run bench -- [suite...] [--quick] [--threads N] [--out FILE] [--backend cpu|cuda]

  suite        one or more of the files in bench/suites/ (default: kernels train decode,
               the suites of the performance targets)
  --quick      fewer and smaller cases, shorter timing budget (about 1 minute)
  --threads N  threads for lmkit, OpenBLAS and PyTorch (default: ${os.availableParallelism()}, the usable cores)
  --out FILE   results JSON path (one suite only; default bench/results/<date>-<suite>.json)
  --backend B  cpu (default) or cuda: the CUDA suite (GEMM vs the device's fp32 peak, kernels vs
               lmkit's CPU); without a CUDA GPU it says why and skips`;

/** What a bare `npm run bench` runs: every suite with a performance target (issue #10). */
export const DEFAULT_SUITES = ['kernels', 'train', 'decode'];

export class UsageError extends Error {}

/**
 * @param {string[]} argv arguments after the script name
 * @returns {{suites: string[], quick: boolean, threads: number, out: string | null, help: boolean}}
 */
export function parseArgs(argv) {
  const opts = { suites: [], quick: false, threads: os.availableParallelism(), out: null, help: false, backend: 'cpu' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${arg.split('=')[0]} needs a value`);
      return v;
    };
    if (arg === '--quick') opts.quick = true;
    else if (arg === '--help' || arg === '-h') opts.help = true;
    else if (arg === '--threads' || arg.startsWith('--threads=')) {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 256)
        throw new UsageError(`Expected an integer 1..256 for --threads but received ${v}`);
      opts.threads = n;
    } else if (arg === '--out' || arg.startsWith('--out=')) opts.out = value();
    else if (arg === '--backend' || arg.startsWith('--backend=')) {
      const v = value();
      if (v !== 'cpu' && v !== 'cuda') throw new UsageError(`Expected cpu or cuda for --backend but received ${v}`);
      opts.backend = v;
    }
    else if (arg.startsWith('-')) throw new UsageError(`Unknown option ${arg}`);
    else opts.suites.push(arg);
  }
  if (opts.suites.length === 0) opts.suites.push(...(opts.backend === 'cuda' ? ['cuda'] : DEFAULT_SUITES));
  if (opts.out && opts.suites.length > 1) throw new UsageError('--out takes one suite, got ' + opts.suites.join(', '));
  return opts;
}
