// DecoderLM: a GPT-2 style causal language model (Radford et al. 2019), with
// the LLaMA options (Touvron et al. 2023): rotary positions, RMSNorm, SwiGLU.
//   h = wte(ids) + wpe(pos);  h = block_i(h) for each layer;  logits = ln_f(h)·Wᵀ
// Parameter names follow Hugging Face GPT-2 (transformer.h.0.attn.c_attn.weight ...).
import { ShapeError } from '../errors.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { LayerNorm, RMSNorm, type Norm } from '../nn/norm.js';
import { TransformerBlock } from '../nn/block.js';
import { LayerKvCache } from '../nn/attention.js';
import { add } from '../tensor/ops/elementwise.js';
import { dropout } from '../tensor/ops/dropout.js';
import { linear } from '../tensor/ops/linear.js';
import { crossEntropy } from '../tensor/ops/loss.js';
import { ropeTables, type RopeTables } from '../tensor/ops/rope.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { zerosF32 } from '../tensor/device.js';
import { decoderConfig, type DecoderConfig } from './decoder_config.js';

class DecoderTransformer extends Module {
  wte: Embedding;
  wpe: Embedding | null;
  h: TransformerBlock[];
  ln_f: Norm;

  constructor(c: DecoderConfig, rng: Random, dropoutRng: Random) {
    super();
    this.wte = new Embedding(c.vocab_size, c.n_embd, rng, c.initializer_range);
    this.wpe = c.position_embedding === 'learned' ? new Embedding(c.n_positions, c.n_embd, rng, c.initializer_range) : null;
    const block = {
      dim: c.n_embd, heads: c.n_head, hidden: c.n_inner,
      activation: c.activation_function === 'gelu_new' ? ('gelu_tanh' as const) : c.activation_function,
      norm: c.norm, normEps: c.layer_norm_epsilon, bias: c.bias, dropout: c.dropout,
      projStd: c.initializer_range / Math.sqrt(2 * c.n_layer), // GPT-2's scaled residual init
    };
    this.h = Array.from({ length: c.n_layer }, () => new TransformerBlock(block, rng, dropoutRng));
    this.ln_f = c.norm === 'rmsnorm' ? new RMSNorm(c.n_embd, c.layer_norm_epsilon) : new LayerNorm(c.n_embd, c.layer_norm_epsilon, c.bias);
  }
}

export interface DecoderForwardOptions {
  /** One cache per layer, for incremental decoding. */
  cache?: LayerKvCache[];
}

export class DecoderLM extends Module {
  readonly config: DecoderConfig;
  transformer: DecoderTransformer;
  lm_head: Linear | null;
  private readonly rope: RopeTables | null;
  /** Drives dropout; saved in checkpoints for exact resume. */
  readonly dropoutRng: Random;

  constructor(config: DecoderConfig | Record<string, unknown>, seed = 0) {
    super();
    this.config = decoderConfig(config);
    const rng = new Random(seed);
    this.dropoutRng = new Random(seed + 1);
    this.transformer = new DecoderTransformer(this.config, rng, this.dropoutRng);
    this.lm_head = this.config.tie_word_embeddings ? null : new Linear(this.config.n_embd, this.config.vocab_size, rng, { bias: false });
    this.rope = this.config.position_embedding === 'rope'
      ? ropeTables(this.config.n_embd / this.config.n_head, this.config.n_positions, this.config.rope_theta)
      : null;
  }

  /** ids [B, T] (int32) → logits [B, T, vocab]. */
  forward(ids: Tensor, opts: DecoderForwardOptions = {}): Tensor {
    const x = this.hiddenStates(ids, opts);
    return this.lm_head ? this.lm_head.forward(x) : linear(x, this.transformer.wte.weight); // (B, T, V)
  }

  /**
   * ids [B, T] → the final hidden states [B, T, n_embd] after ln_f (HF GPT2Model's
   * last_hidden_state): what the LM head reads, and the trunk a reward or value head reads.
   */
  hiddenStates(ids: Tensor, opts: DecoderForwardOptions = {}): Tensor {
    if (ids.ndim !== 2) throw new ShapeError('SHAPE_MISMATCH', `DecoderLM: ids must be [batch, time], got [${ids.shape}]`);
    const [B, T] = ids.shape as [number, number];
    // Each row continues after its own cached tokens (rows may hold different lengths).
    const starts = opts.cache?.[0]?.lengths ?? new Int32Array(B);
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) pos[b * T + i] = (starts[b] ?? 0) + i;
    const last = pos.reduce((a, p) => Math.max(a, p), 0);
    if (last >= this.config.n_positions)
      throw new ShapeError('SHAPE_INVALID', `DecoderLM: ${last + 1} positions exceed n_positions ${this.config.n_positions}`);
    const t = this.transformer;
    let x = t.wte.forward(ids); // (B, T, C)
    if (t.wpe) x = add(x, t.wpe.forward(new Tensor(pos, [B, T])));
    x = dropout(x, this.training ? this.config.dropout : 0, this.dropoutRng);
    t.h.forEach((block, i) => {
      x = block.forward(x, {
        mask: { causal: true },
        ...(this.rope ? { rope: { tables: this.rope, start: pos } } : {}),
        ...(opts.cache ? { cache: opts.cache[i]! } : {}),
      });
    });
    return t.ln_f.forward(x); // (B, T, C)
  }

  /** Mean next-token cross-entropy; targets [B, T] with −100 = ignore. */
  loss(ids: Tensor, targets: Tensor): Tensor {
    return crossEntropy(this.forward(ids), targets);
  }

  /** Empty per-layer KV caches for `batch` sequences of up to `capacity` tokens, on the model's device. */
  createCache(batch: number, capacity = this.config.n_positions): LayerKvCache[] {
    const size = batch * this.config.n_head * capacity * (this.config.n_embd / this.config.n_head);
    const device = this.device;
    return this.transformer.h.map(() => new LayerKvCache(zerosF32(device, size), zerosF32(device, size), batch, capacity));
  }
}
