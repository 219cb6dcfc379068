// Reverse-mode autograd over the ops in ./ops: each op that sees an input
// requiring grad records a GradFn (its inputs and a backward closure) on its
// output; backward() walks them in reverse topological order. The graph is
// freed as it is walked, so saved activations are released deterministically
// at the end of every step instead of waiting for the GC to notice them.
import { ShapeError } from '../errors.js';
import { cloneF32, f32On, zerosF32, type F32Buffer } from './device.js';
import { Tensor } from './tensor.js';
import { addInto } from './vec.js';

/**
 * The gradient of a slice of an input: `values` for elements
 * [offset, offset + values.length), zero elsewhere. Lets ops that read part
 * of a tensor (narrow) skip materialising the zeros.
 */
export interface SegmentGrad {
  offset: number;
  values: F32Buffer;
}

/** Gradients live on their tensor's device: typed arrays on 'cpu', CudaArrays on 'cuda'. */
export type InputGrad = F32Buffer | SegmentGrad | null;

export interface GradFn {
  /** Op name, for error messages. */
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /**
   * Gradients w.r.t. each input (null where an input needs none). May return
   * gradOut itself (the walk hands it on without a copy) but must not write
   * into it.
   */
  backward: ((gradOut: F32Buffer) => InputGrad[]) | null;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs fn with gradient recording off (inference, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/** Whether an op over these inputs must record its backward. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  return gradEnabled && inputs.some((t) => t != null && (t.requiresGrad || t.gradFn !== null));
}

/** Attaches a GradFn to an op's output. */
export function record(
  out: Tensor,
  name: string,
  inputs: Tensor[],
  backward: (gradOut: F32Buffer) => InputGrad[],
): Tensor {
  out.gradFn = { name, inputs, backward };
  return out;
}

function accumulate(target: F32Buffer, add: F32Buffer): void {
  addInto(target, target, add);
}

function isSegment(g: InputGrad): g is SegmentGrad {
  return g !== null && 'offset' in g && 'values' in g;
}

/**
 * Back-propagates from `root` (a scalar unless gradOut is given), accumulating
 * into .grad of every leaf with requiresGrad. Frees the graph.
 * `onLeafGrad` is called for each such leaf as soon as this pass has added
 * its whole gradient (every leaf once, in the order the walk finishes them):
 * data parallelism starts reducing a bucket while the rest of the pass runs.
 */
export function backward(root: Tensor, gradOut?: F32Buffer, onLeafGrad?: (leaf: Tensor) => void): void {
  if (!gradOut && root.size !== 1)
    throw new ShapeError('SHAPE_MISMATCH', `backward(): root has shape [${root.shape.join(', ')}]; pass gradOut for a non-scalar`);
  if (gradOut && gradOut.length !== root.size)
    throw new ShapeError('SHAPE_MISMATCH', `backward(): gradOut has ${gradOut.length} elements, expected ${root.size}`);

  // Topological order by iterative DFS (graphs are deep: no recursion).
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.gradFn?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i]!;
      if (!seen.has(next) && (next.gradFn || next.requiresGrad)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }

  // Every buffer in `grads` (or given to a leaf's .grad) is held by one tensor
  // only, so accumulating into it in place never changes another tensor's
  // gradient. A tensor's buffer is released when its op's backward consumes
  // it: the op may pass gradOut on to one input without a copy (reshape,
  // add, narrow); a second input handed the same buffer gets a copy.
  const grads = new Map<Tensor, F32Buffer>();
  const held = new Set<F32Buffer>();
  const hold = (g: F32Buffer): F32Buffer => {
    const mine = held.has(g) ? cloneF32(g) : g;
    held.add(mine);
    return mine;
  };
  const seed = gradOut ? cloneF32(f32On(gradOut, root.device)) : f32On(new Float32Array([1]), root.device);
  grads.set(root, hold(seed));
  for (let n = order.length - 1; n >= 0; n--) {
    const t = order[n]!;
    const g = grads.get(t);
    grads.delete(t);
    if (!g) continue;
    const fn = t.gradFn;
    if (!fn) {
      if (t.requiresGrad) {
        if (t.gradBuffer) accumulate(t.gradBuffer, g);
        else t.gradBuffer = g;
        onLeafGrad?.(t);
      }
      continue;
    }
    if (!fn.backward) throw new Error(`backward(): the graph through ${fn.name} was already freed by an earlier backward()`);
    held.delete(g);
    const inputGrads = fn.backward(g);
    fn.backward = null; // release what the closure saved
    fn.inputs.forEach((input, i) => {
      const ig = inputGrads[i];
      if (!ig || !(input.gradFn || input.requiresGrad)) return;
      let prev = grads.get(input);
      if (!isSegment(ig)) {
        if (prev) accumulate(prev, ig);
        else grads.set(input, hold(ig));
        return;
      }
      if (!prev) {
        prev = hold(zerosF32(input.device, input.size));
        grads.set(input, prev);
      }
      accumulate(prev.subarray(ig.offset, ig.offset + ig.values.length), ig.values);
    });
    t.gradFn = null;
  }
}
