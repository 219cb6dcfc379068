// Data parallelism (PyTorch DDP's scheme): every rank holds the whole model,
// computes the gradients of its own share of the batch, and the gradients
// are averaged across ranks with all-reduce before the optimizer step, so
// every replica takes the same step. Parameters are grouped into buckets of
// about `bucketBytes` in reverse registration order (the order backward
// produces them); a bucket's all-reduce starts on the communication thread
// as soon as backward has finished all of its gradients, while backward goes
// on with earlier layers. Buckets start strictly in order on every rank, as
// MPI requires the same sequence of collectives everywhere.
//
// Averaging: the bucket sums gradients over ranks (for two ranks a + b, the
// same bits on both since IEEE addition commutes), then scales by 1/worldSize.
// A power-of-two world size scales exactly, so two ranks reproduce bitwise a
// single process that accumulates the same two micro-batches (each gradient
// scaled by ½ before it is added). Each bucket also carries one flag per
// parameter, summed with it, so a parameter no rank computed a gradient for
// keeps grad = null (AdamW skips it), as in a single process.
import type { Tensor } from '../tensor/tensor.js';
import type { Collective, World } from './world.js';

export interface DataParallelOptions {
  /** Target bucket size in bytes (default: LMKIT_DIST_BUCKET_MB MiB, else 1 MiB). */
  bucketBytes?: number;
}

export const DEFAULT_BUCKET_BYTES = 1 << 20;

/** A step's loss and token count, local or reduced. */
export interface StepTotals {
  /** Mean loss (over micro-batches on one rank; over ranks once reduced). */
  loss: number;
  /** Tokens read (by this rank; by all ranks once reduced). */
  tokens: number;
}

interface Bucket {
  params: Tensor[];
  /** Start of each parameter's gradient in flat; flags follow the gradients. */
  offsets: number[];
  flat: Float32Array;
  ready: number;
  pending: Collective | null;
}

function bucketBytesFromEnv(): number {
  const mb = Number(process.env['LMKIT_DIST_BUCKET_MB']);
  return mb > 0 ? Math.round(mb * (1 << 20)) : DEFAULT_BUCKET_BYTES;
}

export class DataParallel {
  readonly buckets: readonly Bucket[];
  /**
   * Pass to the step's last backward() (undefined in a world of one, where
   * there is nothing to reduce).
   */
  readonly onGradReady: ((leaf: Tensor) => void) | undefined;
  private readonly where = new Map<Tensor, { bucket: number; ready: boolean }>();
  private nextToStart = 0;

  constructor(readonly world: World, parameters: readonly Tensor[], options: DataParallelOptions = {}) {
    const bucketBytes = options.bucketBytes ?? bucketBytesFromEnv();
    const buckets: Bucket[] = [];
    let current: Tensor[] = [], bytes = 0;
    const close = (): void => {
      if (current.length === 0) return;
      const offsets: number[] = [];
      let n = 0;
      for (const p of current) offsets.push(n), (n += p.size);
      buckets.push({ params: current, offsets, flat: new Float32Array(n + current.length), ready: 0, pending: null });
      current = [];
      bytes = 0;
    };
    for (const p of [...parameters].reverse()) {
      current.push(p);
      bytes += p.size * 4;
      if (bytes >= bucketBytes) close();
    }
    close();
    this.buckets = buckets;
    buckets.forEach((b, i) => b.params.forEach((p) => this.where.set(p, { bucket: i, ready: false })));
    this.onGradReady = world.worldSize > 1 ? (leaf) => this.gradReady(leaf) : undefined;
  }

  /** Starts a step: waits out anything a failed step left in flight and clears the ready marks. */
  begin(): void {
    for (const b of this.buckets) {
      b.pending?.wait();
      b.pending = null;
      b.ready = 0;
    }
    for (const w of this.where.values()) w.ready = false;
    this.nextToStart = 0;
  }

  /**
   * After the step's last backward: starts the buckets not started yet,
   * reduces the step's loss and tokens with them, and leaves every gradient
   * the mean over ranks. Returns the step's totals over all ranks.
   */
  finish(local: StepTotals): StepTotals {
    const N = this.world.worldSize;
    if (N === 1) return local;
    while (this.nextToStart < this.buckets.length) this.start(this.nextToStart++);
    const totals = new Float64Array([local.loss, local.tokens]);
    // Queued behind the buckets; waited last, so a failure names the first collective that failed.
    const reducedTotals = this.world.allReduceStart(totals, 'sum', 'all-reduce of the step loss');
    const scale = 1 / N;
    this.buckets.forEach((b) => {
      b.pending!.wait();
      b.pending = null;
      const flags = b.flat.length - b.params.length;
      b.params.forEach((p, i) => {
        if (b.flat[flags + i] === 0) {
          p.grad = null; // no rank had a gradient for it
          return;
        }
        const g = p.grad ?? new Float32Array(p.size);
        const off = b.offsets[i]!;
        for (let j = 0; j < g.length; j++) g[j] = b.flat[off + j]! * scale;
        p.grad = g;
      });
    });
    reducedTotals.wait();
    this.begin();
    return { loss: totals[0]! / N, tokens: totals[1]! };
  }

  private gradReady(leaf: Tensor): void {
    const w = this.where.get(leaf);
    if (!w || w.ready) return;
    w.ready = true;
    this.buckets[w.bucket]!.ready++;
    while (this.nextToStart < this.buckets.length) {
      const b = this.buckets[this.nextToStart]!;
      if (b.ready < b.params.length) break;
      this.start(this.nextToStart++);
    }
  }

  private start(index: number): void {
    const b = this.buckets[index]!;
    const flags = b.flat.length - b.params.length;
    b.params.forEach((p, i) => {
      const off = b.offsets[i]!;
      if (p.grad) b.flat.set(p.grad, off);
      else b.flat.fill(0, off, off + p.size);
      b.flat[flags + i] = p.grad ? 1 : 0;
    });
    b.pending = this.world.allReduceStart(b.flat, 'sum', `all-reduce of gradient bucket ${index + 1} of ${this.buckets.length} (${b.flat.length * 4} bytes)`);
  }
}
