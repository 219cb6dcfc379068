// Seeded epochs over a finite data set: every epoch visits each example once,
// in a fresh Fisher–Yates order drawn from the sampler's Random, and batches
// run on across epoch boundaries (an endless iterator, as with a looping
// DataLoader). The order depends only on the seed and how many batches were
// drawn, so a resumed run replays the draws to stand where the killed run was.
import { ConfigError } from '../errors.js';
import { Random, type RngState } from '../tensor/random.js';

export class EpochSampler<Unit> {
  private readonly rng: Random;
  private units: Unit[] = [];
  private cursor = 0;
  /** Epochs started so far (the current one included). */
  epoch = 0;

  /**
   * `count` examples; `arrange` turns an epoch's shuffled example indices
   * into the units batches are made of (one example each, or packed rows).
   */
  constructor(private readonly count: number, seed: number, private readonly arrange: (order: number[]) => Unit[]) {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`EpochSampler: needs at least one example, got ${count}`);
    this.rng = new Random(seed);
  }

  /** The next `size` units. */
  next(size: number): Unit[] {
    const out: Unit[] = [];
    while (out.length < size) {
      if (this.cursor === this.units.length) this.startEpoch();
      out.push(this.units[this.cursor++]!);
    }
    return out;
  }

  /**
   * A resume: draws and drops the `batches` batches of `size` the checkpointed
   * run drew, then checks the Random stands where the checkpoint says it did.
   */
  replay(batches: number, size: number, saved: RngState): void {
    for (let i = 0; i < batches; i++) this.next(size);
    if (this.rng.state().some((v, i) => v !== saved[i]))
      throw new ConfigError('CONFIG_RESUME_MISMATCH', `resume: replaying ${batches} batches of ${size} did not reach the checkpoint's sampler state; the data or batch settings differ from the original run's`);
  }

  /** The Random's state: saved in checkpoints to check a resume replayed the same order. */
  state(): RngState {
    return this.rng.state();
  }

  private startEpoch(): void {
    const order = this.rng.shuffle(Array.from({ length: this.count }, (_, i) => i));
    this.units = this.arrange(order);
    this.cursor = 0;
    this.epoch++;
    if (this.units.length === 0) throw new RangeError('EpochSampler: arrange() returned no units for an epoch');
  }
}
