// AdamW (Loshchilov & Hutter 2019) over the fused native step, with PyTorch's
// defaults and order of operations. By default weight decay skips biases,
// norm weights and embeddings (every tensor with fewer than 2 dims, and the
// embedding tables), as GPT-2-era training recipes do.
import { adamwStep, clipGradNorm } from '../kernels/index.js';
import { f32On, toHostF32, zerosF32, type F32Buffer } from '../tensor/device.js';
import type { Tensor } from '../tensor/tensor.js';

export interface AdamWConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** Which parameters get weight decay (default: 2-D weights that are not embedding tables, by every family's names). */
  decays: (name: string, p: Tensor) => boolean;
}

export const defaultDecays = (name: string, p: Tensor): boolean =>
  p.ndim >= 2 && !/(^|\.)(wte|wpe|block_wpe|embed_tokens|embed_positions|shared|embeddings?)(\.|$)/.test(name);

export interface AdamWState {
  step: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export class AdamW {
  readonly config: AdamWConfig;
  private stepCount = 0;
  // Moments live on each parameter's device (create the optimizer after moving the model).
  private readonly slots: { name: string; param: Tensor; m: F32Buffer; v: F32Buffer; decay: boolean }[];

  constructor(namedParams: [string, Tensor][], config: Partial<AdamWConfig> = {}) {
    this.config = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, decays: defaultDecays, ...config };
    this.slots = namedParams.map(([name, param]) => ({
      name, param, m: zerosF32(param.device, param.size), v: zerosF32(param.device, param.size), decay: this.config.decays(name, param),
    }));
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.stepCount;
  }

  /** Names of the parameters that get weight decay. */
  decayed(): string[] {
    return this.slots.filter((s) => s.decay).map((s) => s.name);
  }

  /**
   * Clips the global gradient norm to maxNorm (no-op when Infinity) and
   * returns the norm before clipping (non-finite when a gradient is).
   */
  clipGradNorm(maxNorm: number): number {
    const grads = this.slots.flatMap((s) => (s.param.gradBuffer ? [s.param.gradBuffer] : []));
    return clipGradNorm(grads, { maxNorm: Number.isFinite(maxNorm) ? maxNorm : 3.4e38 });
  }

  /** One update of every parameter that has a gradient, at learning rate lr. */
  update(lr = this.config.lr): void {
    this.stepCount++;
    const c = this.config;
    for (const s of this.slots) {
      if (!s.param.gradBuffer) continue;
      adamwStep(s.param.f32Buffer(s.name), s.param.gradBuffer, s.m, s.v, {
        lr, beta1: c.beta1, beta2: c.beta2, eps: c.eps, weightDecay: s.decay ? c.weightDecay : 0, step: this.stepCount,
      });
    }
  }

  zeroGrad(): void {
    for (const s of this.slots) s.param.gradBuffer = null;
  }

  state(): AdamWState {
    const m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
    for (const s of this.slots) {
      // Host copies (a checkpoint is written from these).
      m[s.name] = s.m instanceof Float32Array ? s.m.slice() : toHostF32(s.m);
      v[s.name] = s.v instanceof Float32Array ? s.v.slice() : toHostF32(s.v);
    }
    return { step: this.stepCount, m, v };
  }

  loadState(state: AdamWState, source = 'optimizer state'): void {
    for (const s of this.slots) {
      const m = state.m[s.name], v = state.v[s.name];
      if (!m || !v || m.length !== s.m.length || v.length !== s.v.length)
        throw new RangeError(`${source}: moments for ${s.name} are missing or have the wrong size (expected ${s.m.length})`);
      if (s.m instanceof Float32Array && s.v instanceof Float32Array) {
        s.m.set(m);
        s.v.set(v);
      } else {
        s.m = f32On(m, 'cuda');
        s.v = f32On(v, 'cuda');
      }
    }
    this.stepCount = state.step;
  }
}
