// trainer_state.json: what a checkpoint needs beyond weights and optimizer
// moments for a resumed run to continue exactly where the killed one was.
import { CheckpointError } from '../errors.js';
import type { RngState } from '../tensor/random.js';

export interface TrainerState {
  /** Optimizer steps done; the resumed loop starts at this iteration. */
  iter: number;
  /** The batch sampler's xoshiro128** state. */
  sampler_rng: RngState;
  /** DecoderLM.dropoutRng's state. */
  dropout_rng: RngState;
  /** Lowest val loss estimated so far (null before the first estimate). */
  best_val_loss: number | null;
  /** Training seconds so far, carried across resumes for the metrics. */
  elapsed_s: number;
  /** sha256 of the data file: resuming on other text would not be a resume. */
  data_sha256: string;
  data_file: string;
  /** The flat training config the run was started with. */
  config: Record<string, unknown>;
  /** Ranks the run trains on (absent: 1); a resume needs as many. */
  world_size?: number;
  /** Every rank's dropout RNG state, by rank, when world_size > 1 (rank 0's is dropout_rng). */
  dropout_rng_ranks?: RngState[];
}

export function parseTrainerState(raw: Record<string, unknown>, file: string): TrainerState {
  const bad = (key: string, want: string): never => {
    throw new CheckpointError('CHECKPOINT_INVALID', `${file}: ${key} must be ${want}, got ${JSON.stringify(raw[key])}; the file is corrupt`);
  };
  const rng = (key: string): RngState => (isRngState(raw[key]) ? (raw[key] as RngState) : bad(key, 'four uint32 values, not all zero'));
  const iter = raw['iter'];
  if (!Number.isSafeInteger(iter) || (iter as number) < 0) bad('iter', 'a non-negative integer');
  const best = raw['best_val_loss'];
  if (best !== null && typeof best !== 'number') bad('best_val_loss', 'a number or null');
  const elapsed = raw['elapsed_s'];
  if (typeof elapsed !== 'number' || !(elapsed >= 0)) bad('elapsed_s', 'a number ≥ 0');
  const sha = raw['data_sha256'];
  if (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha)) bad('data_sha256', 'a hex sha256');
  const config = raw['config'];
  if (typeof config !== 'object' || config === null || Array.isArray(config)) bad('config', 'an object');
  const worldSize = raw['world_size'] ?? 1;
  if (!Number.isSafeInteger(worldSize) || (worldSize as number) < 1) bad('world_size', 'a positive integer');
  const ranks = raw['dropout_rng_ranks'];
  if (ranks !== undefined && !(Array.isArray(ranks) && ranks.length === worldSize && ranks.every(isRngState)))
    bad('dropout_rng_ranks', `world_size (${String(worldSize)}) RNG states of four uint32 values`);
  return {
    ...(worldSize === 1 ? {} : { world_size: worldSize as number }),
    ...(ranks === undefined ? {} : { dropout_rng_ranks: ranks as RngState[] }),
    iter: iter as number,
    sampler_rng: rng('sampler_rng'),
    dropout_rng: rng('dropout_rng'),
    best_val_loss: best as number | null,
    elapsed_s: elapsed as number,
    data_sha256: sha as string,
    data_file: typeof raw['data_file'] === 'string' ? raw['data_file'] : '',
    config: config as Record<string, unknown>,
  };
}

function isRngState(v: unknown): boolean {
  return Array.isArray(v) && v.length === 4 && v.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffffffff) && v.some((x) => x !== 0);
}
