// The stages' distributed bookkeeping: a resume on another world size is
// refused naming both sizes and the command; every rank's dropout state is
// gathered into the checkpoint (nothing added for one process) and comes back
// to its rank; rank 0 keeps the single-process dropout seed; val means over
// rank shares are weighted by the shares' sizes, an empty share included.
import t from 'tap';
import { SINGLE_PROCESS } from '../../lib/distributed/world.js';
import { ConfigError } from '../../lib/errors.js';
import { checkResumedWorld, freshDropoutState, meanOverRanks, resumedDropoutState, worldStateFields } from '../../lib/stages/distributed_state.js';
import type { TrainerState } from '../../lib/stages/trainer_state.js';
import { parseTrainerState } from '../../lib/stages/trainer_state.js';
import { Random, type RngState } from '../../lib/tensor/random.js';
import { RecordingWorld, ReplayWorld } from '../helpers/fake_world.js';

const state = (over: Partial<TrainerState> = {}): TrainerState => ({
  iter: 3, sampler_rng: [1, 2, 3, 4], dropout_rng: [5, 6, 7, 8], best_val_loss: null, elapsed_s: 1, data_sha256: 'a'.repeat(64), data_file: '', config: {}, ...over,
});

t.test('a resume needs the world size the checkpoint was trained with', async (t) => {
  t.doesNotThrow(() => checkResumedWorld(state(), SINGLE_PROCESS), 'no world_size: one process');
  t.doesNotThrow(() => checkResumedWorld(state({ world_size: 2 }), new RecordingWorld(1, 2)));
  t.throws(() => checkResumedWorld(state({ world_size: 2 }), SINGLE_PROCESS), new ConfigError('CONFIG_RESUME_MISMATCH',
    'resume: the checkpoint was trained on 2 ranks but this run has 1; the global batch and every rank\'s data share depend on it. Resume with mpirun -np 2'));
  t.throws(() => checkResumedWorld(state(), new RecordingWorld(0, 4)), /trained on 1 rank but this run has 4; .*Resume with a single process \(no mpirun\)/);
});

t.test('dropout states: gathered by rank into the checkpoint, each rank resumes its own', async (t) => {
  t.same(worldStateFields(SINGLE_PROCESS, [1, 2, 3, 4]), {}, 'one process: trainer_state.json as before');
  const mine: RngState[] = [new Random(5).state(), new Random(6).state()];
  const peer = new RecordingWorld(1, 2);
  worldStateFields(peer, mine[1]!);
  const fields = worldStateFields(new ReplayWorld(0, 2, [peer]), mine[0]!);
  t.same(fields, { world_size: 2, dropout_rng_ranks: mine });
  const saved = parseTrainerState({ ...state(), dropout_rng: mine[0], ...fields } as unknown as Record<string, unknown>, 'trainer_state.json');
  t.same(resumedDropoutState(saved, new RecordingWorld(1, 2)), mine[1]);
  t.same(resumedDropoutState(saved, new RecordingWorld(0, 2)), mine[0]);
  t.throws(() => parseTrainerState({ ...state(), world_size: 3, dropout_rng_ranks: mine } as unknown as Record<string, unknown>, 'f.json'), /f\.json: dropout_rng_ranks must be world_size \(3\) RNG states/);
  t.same(freshDropoutState(9, SINGLE_PROCESS), new Random(9).state(), 'rank 0 draws what one process draws');
  t.notSame(freshDropoutState(9, new RecordingWorld(1, 2)), new Random(9).state());
});

t.test('meanOverRanks: weighted by each share, an empty share counts nothing; one process is untouched', async (t) => {
  t.same(meanOverRanks(SINGLE_PROCESS, { means: [0.1 + 0.2], weight: 3 }, 1, 'val'), [0.1 + 0.2]);
  const peer = new RecordingWorld(1, 3), empty = new RecordingWorld(2, 3);
  meanOverRanks(peer, { means: [4, 1], weight: 1 }, 2, 'val');
  meanOverRanks(empty, null, 2, 'val');
  t.same(meanOverRanks(new ReplayWorld(0, 3, [peer, empty]), { means: [1, 0], weight: 3 }, 2, 'val'), [(1 * 3 + 4 * 1) / 4, (0 * 3 + 1 * 1) / 4]);
});
