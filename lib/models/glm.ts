// GLM (Du et al. 2022): one transformer; Part A sees itself bidirectionally,
// Part B sees Part A and its own past. Positions are 2D: (span, offset).
//   h = wte(tokens) + wpe(positions) + block_wpe(blockPositions)
//   h = block_i(h, mask: causal except keys < prefixLen);  logits = ln_f(h)·wteᵀ
// Parameter names follow DecoderLM's (Hugging Face GPT-2), plus block_wpe.
import { ShapeError } from '../errors.js';
import { Embedding } from '../nn/embedding.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
import { TransformerBlock } from '../nn/block.js';
import { LayerKvCache } from '../nn/attention.js';
import { add } from '../tensor/ops/elementwise.js';
import { dropout } from '../tensor/ops/dropout.js';
import { linear } from '../tensor/ops/linear.js';
import { crossEntropy } from '../tensor/ops/loss.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { glmConfig, type GlmConfig } from './glm_config.js';

class GlmTransformer extends Module {
  wte: Embedding;
  /** Inter-span position: index in Part A, or the [MASK] a Part B token fills. */
  wpe: Embedding;
  /** Intra-span position: 0 in Part A, 1..n+1 along a Part B span. */
  block_wpe: Embedding;
  h: TransformerBlock[];
  ln_f: LayerNorm;

  constructor(c: GlmConfig, rng: Random, dropoutRng: Random) {
    super();
    this.wte = new Embedding(c.vocab_size, c.n_embd, rng, c.initializer_range);
    this.wpe = new Embedding(c.n_positions, c.n_embd, rng, c.initializer_range);
    this.block_wpe = new Embedding(c.n_positions, c.n_embd, rng, c.initializer_range);
    const block = {
      dim: c.n_embd, heads: c.n_head, hidden: c.n_inner,
      activation: c.activation_function === 'gelu_new' ? ('gelu_tanh' as const) : c.activation_function,
      norm: 'layernorm' as const, normEps: c.layer_norm_epsilon, bias: true, dropout: c.dropout,
      projStd: c.initializer_range / Math.sqrt(2 * c.n_layer),
    };
    this.h = Array.from({ length: c.n_layer }, () => new TransformerBlock(block, rng, dropoutRng));
    this.ln_f = new LayerNorm(c.n_embd, c.layer_norm_epsilon, true);
  }
}

export interface GlmForwardOptions {
  /**
   * One cache per layer (incremental decoding): the tokens are appended after
   * each row's cached ones. Part A is prefilled once, then Part B steps.
   */
  cache?: LayerKvCache[];
}

export class GLM extends Module {
  readonly config: GlmConfig;
  transformer: GlmTransformer;
  /** Drives dropout; saved in checkpoints for exact resume. */
  readonly dropoutRng: Random;

  constructor(config: GlmConfig | Record<string, unknown>, seed = 0) {
    super();
    this.config = glmConfig(config);
    this.dropoutRng = new Random(seed + 1);
    this.transformer = new GlmTransformer(this.config, new Random(seed), this.dropoutRng);
  }

  /**
   * tokens, positions, blockPositions [B, T] (int32); prefixLen[b] = |Part A|
   * of row b; kvLen[b] = its real length (right padding) → logits [B, T, vocab].
   * With opts.cache, prefixLen still counts from the row's first cached token
   * and kvLen must be left out (the cache knows each row's length).
   */
  forward(tokens: Tensor, positions: Tensor, blockPositions: Tensor, prefixLen: Int32Array, kvLen?: Int32Array, opts: GlmForwardOptions = {}): Tensor {
    const [B, T] = this.check(tokens, positions, blockPositions, prefixLen, kvLen, opts.cache);
    const t = this.transformer;
    let x = add(add(t.wte.forward(tokens), t.wpe.forward(positions)), t.block_wpe.forward(blockPositions)); // (B, T, C)
    x = dropout(x, this.training ? this.config.dropout : 0, this.dropoutRng);
    // The kernel's rule: key j is visible to query i iff j < kvLen and (j ≤ i + qOffset or j < prefixLen);
    // a cache supplies qOffset and kvLen from its row lengths.
    const mask = opts.cache ? { causal: true, prefixLen } : { causal: true, prefixLen, kvLen: kvLen ?? new Int32Array(B).fill(T) };
    t.h.forEach((block, i) => {
      x = block.forward(x, { mask, ...(opts.cache ? { cache: opts.cache[i]! } : {}) });
    });
    x = t.ln_f.forward(x);
    return linear(x, t.wte.weight); // (B, T, V): the LM head is tied to wte
  }

  /** Mean cross-entropy over Part B targets (−100, e.g. Part A and padding, ignored). */
  loss(tokens: Tensor, positions: Tensor, blockPositions: Tensor, prefixLen: Int32Array, targets: Tensor, kvLen?: Int32Array): Tensor {
    return crossEntropy(this.forward(tokens, positions, blockPositions, prefixLen, kvLen), targets);
  }

  /** Empty per-layer KV caches for `batch` rows of up to `capacity` tokens (Part A and Part B together). */
  createCache(batch: number, capacity = this.config.n_positions): LayerKvCache[] {
    const size = batch * this.config.n_head * capacity * (this.config.n_embd / this.config.n_head);
    return this.transformer.h.map(() => new LayerKvCache(new Float32Array(size), new Float32Array(size), batch, capacity));
  }

  private check(tokens: Tensor, positions: Tensor, blockPositions: Tensor, prefixLen: Int32Array, kvLen?: Int32Array, cache?: LayerKvCache[]): [number, number] {
    if (tokens.ndim !== 2) throw new ShapeError('SHAPE_MISMATCH', `GLM: tokens must be [batch, time], got [${tokens.shape}]`);
    const [B, T] = tokens.shape as [number, number];
    for (const [name, p] of [['positions', positions], ['blockPositions', blockPositions]] as const) {
      if (p.ndim !== 2 || p.shape[0] !== B || p.shape[1] !== T)
        throw new ShapeError('SHAPE_MISMATCH', `GLM: ${name} [${p.shape}] must match tokens [${B}, ${T}]`);
      const data = p.i32(`GLM ${name}`);
      for (let i = 0; i < data.length; i++)
        if (data[i]! < 0 || data[i]! >= this.config.n_positions)
          throw new ShapeError('SHAPE_INVALID', `GLM: ${name}[${Math.floor(i / T)}, ${i % T}] = ${data[i]} is outside [0, n_positions ${this.config.n_positions}); use a shorter sequence or a larger n_positions`);
    }
    if (T > this.config.n_positions)
      throw new ShapeError('SHAPE_INVALID', `GLM: ${T} tokens exceed n_positions ${this.config.n_positions}; truncate the text or raise n_positions`);
    if (cache) return this.checkCached(B, T, prefixLen, kvLen, cache);
    const len = kvLen ?? new Int32Array(B).fill(T);
    if (prefixLen.length !== B || len.length !== B)
      throw new ShapeError('SHAPE_MISMATCH', `GLM: prefixLen (${prefixLen.length}) and kvLen (${len.length}) need one entry per row (${B})`);
    for (let b = 0; b < B; b++)
      if (!(len[b]! >= 1 && len[b]! <= T && prefixLen[b]! >= 1 && prefixLen[b]! <= len[b]!))
        throw new ShapeError('SHAPE_INVALID', `GLM: row ${b} needs 1 ≤ prefixLen (${prefixLen[b]}) ≤ kvLen (${len[b]}) ≤ T (${T}); Part A holds at least one token`);
    return [B, T];
  }

  private checkCached(B: number, T: number, prefixLen: Int32Array, kvLen: Int32Array | undefined, cache: LayerKvCache[]): [number, number] {
    if (kvLen) throw new ShapeError('SHAPE_INVALID', 'GLM: kvLen cannot be combined with a cache; prefill rows of different lengths one at a time through cache.row(b)');
    if (cache.length !== this.config.n_layer) throw new ShapeError('SHAPE_MISMATCH', `GLM: ${cache.length} layer caches for ${this.config.n_layer} layers; use model.createCache()`);
    const cached = cache[0]!.lengths;
    if (prefixLen.length !== B || cached.length !== B)
      throw new ShapeError('SHAPE_MISMATCH', `GLM: prefixLen (${prefixLen.length}) and the cache (${cached.length} rows) need one entry per row (${B})`);
    for (let b = 0; b < B; b++)
      if (!(prefixLen[b]! >= 1 && prefixLen[b]! <= cached[b]! + T))
        throw new ShapeError('SHAPE_INVALID', `GLM: row ${b} needs 1 ≤ prefixLen (${prefixLen[b]}) ≤ cached + new tokens (${cached[b]! + T}); prefill Part A before stepping Part B`);
    return [B, T];
  }
}
