// Module: the base of every layer and model. Parameters and sub-modules are
// found by walking the module's own fields (like PyTorch's registration, with
// no registration calls), and named with dotted paths in field order, e.g.
// "h.0.attn.c_attn.weight" — the names checkpoints are written with.
import { Tensor, type Device } from '../tensor/tensor.js';

export abstract class Module {
  /** Dropout and similar layers behave differently in training. */
  training = true;

  /** [dotted name, parameter] for every trainable tensor, in a stable order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const seen = new Set<Tensor>();
    const visit = (value: unknown, name: string): void => {
      if (value instanceof Tensor) {
        // Tied weights (e.g. lm_head = wte) are listed once, under the first name.
        if (value.requiresGrad && !seen.has(value)) {
          seen.add(value);
          out.push([name, value]);
        }
      } else if (value instanceof Module) {
        for (const [key, child] of Object.entries(value)) if (key !== 'training') visit(child, name ? `${name}.${key}` : key);
      } else if (Array.isArray(value)) {
        value.forEach((item, i) => visit(item, `${name}.${i}`));
      }
    };
    visit(this, prefix);
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Number of trainable scalars. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Sets training mode on this module and every sub-module. */
  train(mode = true): this {
    const visit = (value: unknown): void => {
      if (value instanceof Module) {
        value.training = mode;
        for (const child of Object.values(value)) visit(child);
      } else if (Array.isArray(value)) value.forEach(visit);
    };
    visit(this);
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /**
   * Moves every tensor of this module and its sub-modules (parameters and
   * constant buffers) to `device`, in place, so tied weights stay tied; drops
   * their gradients. Create optimizers after moving (their moments live on
   * the parameters' device).
   */
  to(device: Device): this {
    const seen = new Set<unknown>();
    const visit = (value: unknown): void => {
      if (seen.has(value)) return;
      seen.add(value);
      if (value instanceof Tensor) value.moveTo(device);
      else if (value instanceof Module) for (const child of Object.values(value)) visit(child);
      else if (Array.isArray(value)) value.forEach(visit);
    };
    visit(this);
    return this;
  }

  /** The device of the first parameter ('cpu' for a module without any). */
  get device(): Device {
    return this.parameters()[0]?.device ?? 'cpu';
  }

  /** Clears the gradients of every parameter. */
  zeroGrad(): void {
    for (const p of this.parameters()) p.gradBuffer = null;
  }
}
