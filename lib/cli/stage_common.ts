// What the fine-tuning commands (sft, rm, ppo, cloze) share: the config
// layers (stage defaults ← --config file ← --set / --max-iters / --seed),
// checkpoints of the kind each stage starts from (a wrong kind is one clear
// line), and the progress display: on a TTY a bar redrawn in place with the
// stage's numbers and ETA, elsewhere plain lines at log_interval.
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { CheckpointError, ConfigError } from '../errors.js';
import { CHECKPOINT_FILES, readCheckpoint, type LoadedCheckpoint } from '../io/checkpoint.js';
import { REWARD_MODEL_TYPE } from '../models/reward_model.js';
import { GLM_MODEL_TYPE } from '../models/glm_checkpoint.js';
import { parseOverride } from '../stages/pretrain_config.js';
import { intFlag, resolveCheckpointDir } from './flags.js';
import { formatDuration, formatRate, type ProgressSink } from './progress.js';

/** Flags every stage command takes (each adds its own data and model flags). */
export const STAGE_FLAGS = {
  out: { type: 'string' }, config: { type: 'string' }, set: { type: 'string', multiple: true },
  seed: { type: 'string' }, resume: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

export const STAGE_FLAGS_HELP = `  --out <dir>         run folder: checkpoint/ and metrics.jsonl (required)
  --config <file>     a JSON object of the stage's config keys
  --set key=value     override one config key (repeatable), e.g. --set learning_rate=1e-4
  --seed <n>          override seed
  --resume            continue the run in --out from its checkpoint
  -h, --help          this text`;

/** The --config file's object ({} without one); a missing or malformed file is a ConfigError naming it. */
export function readConfigFile(file: string | undefined): unknown {
  if (file === undefined) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new ConfigError('CONFIG_UNREADABLE', `--config ${file}: cannot read the config (${why})`, { cause: err });
  }
}

/**
 * The stage config: defaults ← --config ← --set, --seed and the command's
 * iteration-count flag (stored under `itersKey`); `validate(raw, source, base)`
 * is the stage's config function.
 */
export function stageConfigFrom<C>(values: { config?: string; set?: string[]; seed?: string }, iters: { flag: string; text: string | undefined; key: string }, validate: (raw: unknown, source: string, base?: C) => C): C {
  const fromFile = validate(readConfigFile(values.config), values.config ?? 'defaults');
  const overrides: Record<string, unknown> = Object.fromEntries((values.set ?? []).map(parseOverride));
  const n = intFlag(iters.flag, iters.text, 0);
  if (n !== undefined) overrides[iters.key] = n;
  const seed = intFlag('seed', values.seed, 0);
  if (seed !== undefined) overrides['seed'] = seed;
  return validate(overrides, `--set/--${iters.flag}/--seed`, fromFile);
}

/** A required flag's value. */
export function required(flag: string, value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new ConfigError('CONFIG_MISSING', `--${flag} is required: ${what}`);
  return value;
}

export type CheckpointKind = 'decoder' | 'reward' | 'glm';

const KIND_NAMES: Record<CheckpointKind, string> = { decoder: 'decoder language model', reward: 'reward model', glm: 'GLM' };

function kindOf(config: Record<string, unknown>): CheckpointKind | null {
  const type = config['model_type'];
  if (type === REWARD_MODEL_TYPE) return 'reward';
  if (type === GLM_MODEL_TYPE) return 'glm';
  if (type === 'gpt2' || type === 'lmkit-decoder') return 'decoder';
  return null;
}

/**
 * Reads the checkpoint a flag names (the folder or its run folder) and checks
 * it is of `kind`; `hint` says where such a checkpoint comes from.
 */
export function readCheckpointOf(flag: string, dir: string, kind: CheckpointKind, hint: string): LoadedCheckpoint {
  const ckpt = readCheckpoint(resolveCheckpointDir(dir));
  const found = kindOf(ckpt.config);
  if (found !== kind) {
    const what = found ? `a ${KIND_NAMES[found]} checkpoint` : `a checkpoint of model_type ${JSON.stringify(ckpt.config['model_type'])}`;
    throw new CheckpointError('CHECKPOINT_WRONG_KIND', `--${flag} ${dir}: ${path.join(ckpt.dir, CHECKPOINT_FILES.config)} describes ${what}, not a ${KIND_NAMES[kind]}; ${hint}`);
  }
  return ckpt;
}

// --- progress

export interface StageProgress {
  /** A line of its own (start, eval, checkpoint), ending any bar left open. */
  line(text: string): void;
  /**
   * One step: redraws the bar on a TTY; elsewhere prints `plain` when the
   * step is logged (`plain` null: never).
   */
  step(s: { iter: number; maxIters: number; stats: string; etaSec: number; plain: string | null }): void;
  /** Ends a bar line left open, keeping its last state on screen. */
  end(): void;
}

export function stageProgress(out: ProgressSink): StageProgress {
  const tty = out.isTTY === true;
  let barShown = false, lastDraw = 0;
  const line = (text: string): void => {
    if (barShown) out.write('\r\x1b[K');
    barShown = false;
    out.write(text + '\n');
  };
  return {
    line,
    step: (s) => {
      if (!tty) {
        if (s.plain !== null) line(s.plain);
        return;
      }
      const now = Date.now();
      if (now - lastDraw < 100 && s.iter !== s.maxIters) return; // ~10 redraws a second
      lastDraw = now;
      const width = Math.max(10, Math.min(30, (out.columns ?? 80) - 80));
      const done = Math.round((width * s.iter) / Math.max(s.maxIters, 1));
      out.write(`\r\x1b[Kiter ${s.iter}/${s.maxIters} ${'█'.repeat(done)}${'░'.repeat(width - done)} ${s.stats} | ETA ${formatDuration(s.etaSec)}`);
      barShown = true;
    },
    end: () => {
      if (barShown) out.write('\n');
      barShown = false;
    },
  };
}

/** The loss-based stages' step event (training_loop.ts LoopEvent 'step'). */
export interface LossStep {
  iter: number;
  maxIters: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokensPerSec: number;
  etaSec: number;
  logged: boolean;
}

/** Draws a loss-based stage's step: loss, tokens/s and ETA, as lmkit train does. */
export function lossStep(p: StageProgress, e: LossStep): void {
  p.step({
    iter: e.iter, maxIters: e.maxIters, etaSec: e.etaSec,
    stats: `loss ${e.loss.toFixed(4)} | ${formatRate(e.tokensPerSec)} tok/s`,
    plain: e.logged ? `iter ${e.iter}/${e.maxIters}: loss ${e.loss.toFixed(4)}, lr ${e.lr.toExponential(2)}, ${formatRate(e.tokensPerSec)} tok/s, grad norm ${e.gradNorm.toFixed(3)}, ETA ${formatDuration(e.etaSec)}` : null,
  });
}

/** The loop events every loss-based stage shares; returns false for the stage's own events. */
export function loopEvent(p: StageProgress, e: { type: string } & Partial<LossStep> & { dir?: string }): boolean {
  switch (e.type) {
    case 'step':
      lossStep(p, e as LossStep);
      return true;
    case 'checkpoint':
      p.line(`iter ${e.iter}: checkpoint written to ${e.dir}`);
      return true;
    case 'skip':
      p.line(`iter ${e.iter}: skipped the update (loss ${e.loss}, gradient norm ${e.gradNorm})`);
      return true;
    default:
      return false;
  }
}

export { formatDuration };
