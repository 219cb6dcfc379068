// Training checkpoints: a directory that is written atomically as a whole.
//
//   model.safetensors      weights, Hugging Face names and layouts
//   config.json            the model config (HF keys) + model_type + lmkit_version
//   tokenizer.json         the tokenizer in its own format (lmkit char or HF BPE)
//   optimizer.safetensors  AdamW moments exp_avg.<param> / exp_avg_sq.<param>,
//                          flat, in lmkit's parameter layout; step in metadata
//   trainer_state.json     iteration, RNG states, best val loss, training config
//
// Protocol (Linux cannot rename over a non-empty directory in one step):
//   1. write every file into <dir>.tmp-<pid>, fsync each file and the folder;
//   2. rename <dir> → <dir>.old (when a previous checkpoint exists);
//   3. rename <dir>.tmp-<pid> → <dir>, fsync the parent;
//   4. delete <dir>.old.
// A crash in 1 leaves <dir> untouched; between 2 and 3 only <dir>.old holds a
// complete checkpoint: readers fall back to it and the next writer renames it
// back; after 3 the writer deletes a stale <dir>.old or temp folder. So a
// reader always finds the previous complete checkpoint or the new one, never
// a mix. Only writers touch leftovers: a reader (lmkit sample during training)
// must not delete a live writer's temp folder.
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

import { CheckpointError } from '../errors.js';
import { loadTokenizer } from '../tokenizer/load.js';
import type { Tokenizer, TokenizerJson } from '../tokenizer/types.js';
import { readSafetensors, serializeSafetensors, toFloat32, type SafetensorsFile, type TensorToWrite } from './safetensors.js';
import { fsyncDirectory, writeFileSynced } from './atomic_write.js';

export const CHECKPOINT_FILES = {
  weights: 'model.safetensors',
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  optimizer: 'optimizer.safetensors',
  trainerState: 'trainer_state.json',
} as const;

/** AdamW's state, structurally the same as optim's AdamWState (io stays a leaf). */
export interface OptimizerMoments {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export interface CheckpointContents {
  weights: Record<string, TensorToWrite>;
  config: Record<string, unknown>;
  tokenizer: TokenizerJson;
  /** Present in training checkpoints, absent in exported models. */
  optimizer?: OptimizerMoments;
  trainerState?: Record<string, unknown>;
  /**
   * Further checkpoints saved in subfolders <dir>/<name>, swapped in with
   * this one as a whole (PPO: the value model beside the policy), so the
   * set is never half old, half new. Readers of <dir> ignore them.
   */
  attachments?: Record<string, CheckpointContents>;
}

export interface LoadedCheckpoint {
  dir: string;
  config: Record<string, unknown>;
  weights: SafetensorsFile;
  tokenizer: Tokenizer;
  optimizer: OptimizerMoments | null;
  trainerState: Record<string, unknown> | null;
}

const oldDir = (dir: string): string => `${dir}.old`;
const tmpPrefix = (dir: string): string => `${path.basename(dir)}.tmp-`;

/** Where the complete checkpoint for `dir` is now (dir, or dir.old mid-swap), or null. */
export function locateCheckpoint(dir: string): string | null {
  for (const candidate of [dir, oldDir(dir)])
    if (existsSync(path.join(candidate, CHECKPOINT_FILES.config))) return candidate;
  return null;
}

/**
 * For writers: finishes or undoes an interrupted save (see the protocol
 * above). Returns whether a complete checkpoint is at `dir` afterwards.
 */
export function recoverCheckpoint(dir: string): boolean {
  const parent = path.dirname(dir);
  if (!existsSync(parent)) return false;
  const old = oldDir(dir);
  if (!existsSync(dir) && existsSync(old)) renameSync(old, dir); // crashed between steps 2 and 3
  else if (existsSync(old)) rmSync(old, { recursive: true, force: true }); // crashed before step 4
  for (const name of readdirSync(parent))
    if (name.startsWith(tmpPrefix(dir))) rmSync(path.join(parent, name), { recursive: true, force: true });
  return existsSync(path.join(dir, CHECKPOINT_FILES.config));
}

/** Writes a checkpoint directory atomically, replacing any previous one. */
export function saveCheckpoint(dir: string, contents: CheckpointContents, lmkitVersion: string): void {
  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true });
  recoverCheckpoint(dir);
  const tmp = path.join(parent, `${tmpPrefix(dir)}${process.pid}`);
  try {
    writeCheckpointFiles(tmp, contents, lmkitVersion);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw new CheckpointError('CHECKPOINT_WRITE', `${dir}: cannot write checkpoint (${(err as Error).message}); the previous checkpoint is intact`, { cause: err });
  }
  const hadPrevious = existsSync(dir);
  if (hadPrevious) renameSync(dir, oldDir(dir));
  renameSync(tmp, dir);
  fsyncDirectory(parent);
  if (hadPrevious) rmSync(oldDir(dir), { recursive: true, force: true });
}

/** Writes the files of a checkpoint (and its attachments, in subfolders) into a new folder, fsynced. */
function writeCheckpointFiles(dir: string, contents: CheckpointContents, lmkitVersion: string): void {
  mkdirSync(dir);
  writeFileSynced(path.join(dir, CHECKPOINT_FILES.weights), serializeSafetensors(contents.weights, { format: 'pt', lmkit_version: lmkitVersion }));
  writeFileSynced(path.join(dir, CHECKPOINT_FILES.config), [json({ ...contents.config, lmkit_version: lmkitVersion })]);
  writeFileSynced(path.join(dir, CHECKPOINT_FILES.tokenizer), [json(contents.tokenizer)]);
  if (contents.optimizer) {
    const { step, m, v } = contents.optimizer;
    const tensors: Record<string, TensorToWrite> = {};
    for (const [name, data] of Object.entries(m)) tensors[`exp_avg.${name}`] = { dtype: 'F32', shape: [data.length], data };
    for (const [name, data] of Object.entries(v)) tensors[`exp_avg_sq.${name}`] = { dtype: 'F32', shape: [data.length], data };
    writeFileSynced(path.join(dir, CHECKPOINT_FILES.optimizer), serializeSafetensors(tensors, { step: String(step) }));
  }
  if (contents.trainerState) writeFileSynced(path.join(dir, CHECKPOINT_FILES.trainerState), [json(contents.trainerState)]);
  for (const [name, attached] of Object.entries(contents.attachments ?? {})) {
    if (!/^[A-Za-z0-9_-]+$/.test(name) || Object.values(CHECKPOINT_FILES).includes(name as never))
      throw new Error(`attachment name ${JSON.stringify(name)} must be a plain folder name`);
    writeCheckpointFiles(path.join(dir, name), attached, lmkitVersion);
  }
  fsyncDirectory(dir);
}

/**
 * Reads and validates a checkpoint. Every problem is a CheckpointError naming
 * the file. `training: true` also requires the optimizer and trainer state.
 */
export function readCheckpoint(requested: string, options: { training?: boolean } = {}): LoadedCheckpoint {
  const dir = locateCheckpoint(requested) ?? requested;
  if (!existsSync(path.join(dir, CHECKPOINT_FILES.config))) {
    const why = existsSync(dir) ? `has no ${CHECKPOINT_FILES.config}` : 'does not exist';
    throw new CheckpointError('CHECKPOINT_MISSING', `${dir}: not a checkpoint (the directory ${why}); pass the folder lmkit train wrote (<out>/checkpoint)`);
  }
  const file = (name: string): string => path.join(dir, name);
  const need = (name: string): string => {
    if (!existsSync(file(name))) throw new CheckpointError('CHECKPOINT_MISSING', `${file(name)}: missing from the checkpoint; the checkpoint is incomplete, resume from another one or retrain`);
    return file(name);
  };

  const config = readJsonObject(need(CHECKPOINT_FILES.config));
  delete config['lmkit_version'];
  const weights = readSafetensors(need(CHECKPOINT_FILES.weights));
  let tokenizer: Tokenizer;
  try {
    tokenizer = loadTokenizer(need(CHECKPOINT_FILES.tokenizer));
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError('CHECKPOINT_INVALID', `${file(CHECKPOINT_FILES.tokenizer)}: ${(err as Error).message}`, { cause: err });
  }
  const vocab = config['vocab_size'];
  if (typeof vocab === 'number' && tokenizer.vocabSize > vocab)
    throw new CheckpointError('CHECKPOINT_MISMATCH', `${file(CHECKPOINT_FILES.tokenizer)}: the tokenizer has ${tokenizer.vocabSize} tokens but config.json says vocab_size ${vocab}; the files come from different models`);

  const training = options.training ?? false;
  const hasOptimizer = existsSync(file(CHECKPOINT_FILES.optimizer));
  const hasState = existsSync(file(CHECKPOINT_FILES.trainerState));
  const optimizer = training || hasOptimizer ? readOptimizer(need(CHECKPOINT_FILES.optimizer)) : null;
  const trainerState = training || hasState ? readJsonObject(need(CHECKPOINT_FILES.trainerState)) : null;
  return { dir, config, weights, tokenizer, optimizer, trainerState };
}

function readOptimizer(file: string): OptimizerMoments {
  const st = readSafetensors(file);
  const step = Number(st.metadata['step']);
  if (!Number.isSafeInteger(step) || step < 0)
    throw new CheckpointError('CHECKPOINT_INVALID', `${file}: metadata "step" is ${JSON.stringify(st.metadata['step'])}, expected a non-negative integer`);
  const m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
  for (const [name, t] of st.tensors) {
    const [, kind, param] = /^(exp_avg|exp_avg_sq)\.(.+)$/.exec(name) ?? [];
    if (!kind || !param) throw new CheckpointError('CHECKPOINT_INVALID', `${file}: unexpected tensor "${name}" (expected exp_avg.<param> or exp_avg_sq.<param>)`);
    (kind === 'exp_avg' ? m : v)[param] = toFloat32(t, `${file}: ${name}`);
  }
  return { step, m, v };
}

function readJsonObject(file: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new CheckpointError('CHECKPOINT_INVALID', `${file}: not valid JSON (${(err as Error).message}); the file is truncated or corrupt`, { cause: err });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new CheckpointError('CHECKPOINT_INVALID', `${file}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function json(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2) + '\n');
}
