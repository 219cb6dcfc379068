// Several ranks of a World inside one test process, without MPI: the other
// ranks run first on RecordingWorlds (each collective records what the rank
// sent), then the rank under test runs on a ReplayWorld whose k-th
// collective combines its own buffer with every peer's k-th record as MPI
// would: all-reduce adds in rank order in the buffer's own precision (for two
// ranks the order does not matter: IEEE addition commutes), broadcast copies
// the root's bytes. A sequence mismatch (different kind or size) throws, as
// mismatched collectives are a bug MPI would hang or garble on.
import type { Collective, CommStats, ReduceOp, World } from '../../lib/distributed/world.js';

export interface Sent {
  kind: 'allReduce' | 'broadcast' | 'barrier';
  op?: ReduceOp;
  root?: number;
  bytes: Uint8Array;
  what: string;
}

const bytesOf = (b: ArrayBufferView): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

abstract class FakeWorld implements World {
  readonly usesMpi = false;
  /** Every collective this rank took part in, in order, with what it sent. */
  readonly sent: Sent[] = [];
  /** Collectives started and not yet waited on. */
  inFlight = 0;

  constructor(readonly rank: number, readonly worldSize: number) {}

  allReduce(buffer: Float32Array | Float64Array, op: ReduceOp = 'sum', what = 'all-reduce'): void {
    this.allReduceStart(buffer, op, what).wait();
  }

  allReduceStart(buffer: Float32Array | Float64Array, op: ReduceOp = 'sum', what = 'all-reduce'): Collective {
    const index = this.sent.length;
    this.sent.push({ kind: 'allReduce', op, bytes: bytesOf(buffer).slice(), what });
    this.inFlight++;
    let finished = false;
    return {
      done: () => finished,
      wait: () => {
        if (finished) return;
        finished = true;
        this.inFlight--;
        this.reduce(index, buffer, op);
      },
    };
  }

  broadcast(buffer: ArrayBufferView, root = 0, what = 'broadcast'): void {
    const index = this.sent.length;
    this.sent.push({ kind: 'broadcast', root, bytes: bytesOf(buffer).slice(), what });
    this.receive(index, buffer, root);
  }

  barrier(what = 'barrier'): void {
    this.sent.push({ kind: 'barrier', bytes: new Uint8Array(0), what });
  }

  commStats(): CommStats {
    return { waitSec: 0, busySec: 0, bytes: 0 };
  }

  abort(code = 1): never {
    throw new Error(`rank ${this.rank} aborted with ${code}`);
  }

  protected abstract reduce(index: number, buffer: Float32Array | Float64Array, op: ReduceOp): void;
  protected abstract receive(index: number, buffer: ArrayBufferView, root: number): void;
}

/**
 * A peer rank: its collectives record what it sent and leave its buffers as
 * they are, except that the collectives it receives from (all-reduces, and
 * broadcasts it does not root) take their results from `inbox`, in order,
 * while it lasts: for a peer whose later contributions depend on earlier
 * results, the test supplies those results.
 */
export class RecordingWorld extends FakeWorld {
  constructor(rank: number, worldSize: number, private readonly inbox: Uint8Array[] = []) {
    super(rank, worldSize);
  }

  protected reduce(_index: number, buffer: Float32Array | Float64Array): void {
    const next = this.inbox.shift();
    if (next) bytesOf(buffer).set(next);
  }

  protected receive(_index: number, buffer: ArrayBufferView, root: number): void {
    if (root === this.rank) return;
    const next = this.inbox.shift();
    if (next) bytesOf(buffer).set(next);
  }
}

/** The rank under test: collectives combine its buffers with the peers' records. */
export class ReplayWorld extends FakeWorld {
  constructor(rank: number, worldSize: number, private readonly peers: readonly RecordingWorld[]) {
    super(rank, worldSize);
    if (peers.length !== worldSize - 1) throw new Error(`ReplayWorld: ${worldSize} ranks need ${worldSize - 1} recorded peers`);
  }

  /** The record of rank r's collective `index` (this rank's own for r === rank). */
  private record(index: number, r: number): Sent {
    const world = r === this.rank ? this : this.peers[r < this.rank ? r : r - 1]!;
    const sent = world.sent[index];
    const mine = this.sent[index]!;
    if (!sent || sent.kind !== mine.kind || sent.bytes.length !== mine.bytes.length)
      throw new Error(`collective ${index} (${mine.what}): rank ${r} ${sent ? `ran ${sent.kind} of ${sent.bytes.length} bytes (${sent.what})` : 'ran no such collective'}`);
    return sent;
  }

  protected reduce(index: number, buffer: Float32Array | Float64Array, op: ReduceOp): void {
    const Ctor = buffer instanceof Float32Array ? Float32Array : Float64Array;
    const view = (s: Sent): Float32Array | Float64Array => new Ctor(s.bytes.buffer as ArrayBuffer, s.bytes.byteOffset, buffer.length);
    const acc = new Ctor(view(this.record(index, 0)));
    for (let r = 1; r < this.worldSize; r++) {
      const x = view(this.record(index, r));
      for (let i = 0; i < acc.length; i++) acc[i] = op === 'sum' ? acc[i]! + x[i]! : op === 'max' ? Math.max(acc[i]!, x[i]!) : Math.min(acc[i]!, x[i]!);
    }
    buffer.set(acc);
  }

  protected receive(index: number, buffer: ArrayBufferView, root: number): void {
    bytesOf(buffer).set(this.record(index, root).bytes);
  }
}
