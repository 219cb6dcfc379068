// EncoderDecoderLM: a T5-style encoder-decoder (Raffel et al. 2020).
//   memory = ln_f(enc_block_i(shared(src) + enc_pos))            (bidirectional; source padding hidden via kvLen)
//   h      = ln_f(dec_block_i(shared(tgtIn) + dec_pos, memory))  (causal self-attention, then cross-attention)
//   logits = h · sharedᵀ                                          (LM head tied to the shared embedding)
// Two parameter stacks (encoder.*, decoder.*) and one token embedding
// (shared.weight) used by both and by the head, as in T5.
// Differences from T5, on purpose: T5 uses relative position buckets inside
// attention and RMS-style LayerNorm without bias, and scales tied logits by
// d_model^-0.5. We use learned absolute position tables (one per stack), the
// shared pre-LN LayerNorm block with biases, and no logit scaling, so the
// blocks are the ones every other family uses. HF T5 checkpoints do not load.
// The encoder runs once per source: decode() takes the memory or the
// per-layer cross k/v from projectMemory(), so generation reuses them, and a
// decoder self-attention KV cache (createDecoderCache) makes each step one token.
import { ShapeError } from '../errors.js';
import { LayerKvCache } from '../nn/attention.js';
import { TransformerBlock, type BlockConfig } from '../nn/block.js';
import type { MemoryKv } from '../nn/cross_attention.js';
import { DecoderBlockWithCross } from '../nn/cross_block.js';
import { Embedding } from '../nn/embedding.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
import { dropout } from '../tensor/ops/dropout.js';
import { add } from '../tensor/ops/elementwise.js';
import { linear } from '../tensor/ops/linear.js';
import { crossEntropy } from '../tensor/ops/loss.js';
import { Random } from '../tensor/random.js';
import { Tensor } from '../tensor/tensor.js';
import { encoderDecoderConfig, type EncoderDecoderConfig } from './encoder_decoder_config.js';

function blockConfig(c: EncoderDecoderConfig, layers: number): BlockConfig {
  return {
    dim: c.d_model, heads: c.num_heads, hidden: c.d_ff,
    activation: c.feed_forward_proj === 'gelu_new' ? 'gelu_tanh' : 'gelu',
    norm: 'layernorm', normEps: c.layer_norm_epsilon, bias: true, dropout: c.dropout_rate,
    projStd: c.initializer_factor / Math.sqrt(2 * layers), // pre-LN residual scaling, as in the decoder
  };
}

class EncoderStack extends Module {
  embed_positions: Embedding;
  block: TransformerBlock[];
  final_layer_norm: LayerNorm;

  constructor(c: EncoderDecoderConfig, rng: Random, dropoutRng: Random) {
    super();
    this.embed_positions = new Embedding(c.max_position_embeddings, c.d_model, rng, c.initializer_factor);
    const cfg = blockConfig(c, c.num_layers);
    this.block = Array.from({ length: c.num_layers }, () => new TransformerBlock(cfg, rng, dropoutRng));
    this.final_layer_norm = new LayerNorm(c.d_model, c.layer_norm_epsilon);
  }
}

class DecoderStack extends Module {
  embed_positions: Embedding;
  block: DecoderBlockWithCross[];
  final_layer_norm: LayerNorm;

  constructor(c: EncoderDecoderConfig, rng: Random, dropoutRng: Random) {
    super();
    this.embed_positions = new Embedding(c.max_position_embeddings, c.d_model, rng, c.initializer_factor);
    const cfg = blockConfig(c, c.num_decoder_layers);
    this.block = Array.from({ length: c.num_decoder_layers }, () => new DecoderBlockWithCross(cfg, rng, dropoutRng));
    this.final_layer_norm = new LayerNorm(c.d_model, c.layer_norm_epsilon);
  }
}

export interface EncoderDecoderDecodeOptions {
  /** One self-attention cache per decoder layer: tgtIn continues after each row's cached tokens. */
  cache?: LayerKvCache[];
}

export class EncoderDecoderLM extends Module {
  readonly config: EncoderDecoderConfig;
  shared: Embedding;
  encoder: EncoderStack;
  decoder: DecoderStack;
  /** Drives dropout; saved in checkpoints for exact resume. */
  readonly dropoutRng: Random;

  constructor(config: EncoderDecoderConfig | Record<string, unknown>, seed = 0) {
    super();
    this.config = encoderDecoderConfig(config);
    const rng = new Random(seed);
    this.dropoutRng = new Random(seed + 1);
    this.shared = new Embedding(this.config.vocab_size, this.config.d_model, rng, this.config.initializer_factor);
    this.encoder = new EncoderStack(this.config, rng, this.dropoutRng);
    this.decoder = new DecoderStack(this.config, rng, this.dropoutRng);
  }

  /** src [B, S] (int32) → memory [B, S, C]. srcLengths [B] (default all S): row b's real tokens are [0, srcLengths[b]). */
  encode(src: Tensor, srcLengths?: Int32Array): Tensor {
    const [B, S] = this.checkIds(src, 'src');
    this.checkLengths(srcLengths, B, S);
    let x = this.embed(src, this.encoder.embed_positions);
    const mask = { causal: false, ...(srcLengths ? { kvLen: srcLengths } : {}) };
    for (const block of this.encoder.block) x = block.forward(x, { mask });
    return this.encoder.final_layer_norm.forward(x);
  }

  /** The cross-attention keys/values of every decoder layer, projected once from the memory. */
  projectMemory(memory: Tensor): MemoryKv[] {
    return this.decoder.block.map((block) => block.crossattention.projectMemory(memory));
  }

  /**
   * tgtIn [B, T] (int32, targets shifted right) attends causally to itself
   * and to the memory (a tensor, or projectMemory()'s per-layer k/v) → logits [B, T, V].
   * Target padding needs no mask: it sits after every real query, which the
   * causal mask already hides it from; its own outputs go to ignored labels.
   * With opts.cache, row b's tokens take positions after its cached ones.
   */
  decode(tgtIn: Tensor, memory: Tensor | MemoryKv[], srcLengths?: Int32Array, opts: EncoderDecoderDecodeOptions = {}): Tensor {
    const [B] = this.checkIds(tgtIn, 'tgtIn');
    const layers = this.decoder.block;
    if (Array.isArray(memory) && memory.length !== layers.length)
      throw new ShapeError('SHAPE_MISMATCH', `EncoderDecoderLM.decode: ${memory.length} projected memories for ${layers.length} decoder layers; pass projectMemory(memory)`);
    const first = Array.isArray(memory) ? memory[0]!.k : memory;
    if (first.shape[0] !== B) throw new ShapeError('SHAPE_MISMATCH', `EncoderDecoderLM.decode: tgtIn has batch ${B} but the memory has ${first.shape[0]}`);
    const Tk = Array.isArray(memory) ? first.shape[2]! : first.shape[1]!;
    this.checkLengths(srcLengths, B, Tk);
    const cache = opts.cache;
    if (cache && cache.length !== layers.length)
      throw new ShapeError('SHAPE_MISMATCH', `EncoderDecoderLM.decode: ${cache.length} layer caches for ${layers.length} decoder layers; use createDecoderCache()`);
    let x = this.embed(tgtIn, this.decoder.embed_positions, cache?.[0]?.lengths);
    layers.forEach((block, i) => {
      x = block.forward(x, Array.isArray(memory) ? memory[i]! : memory, srcLengths, cache ? { cache: cache[i]! } : {});
    });
    return linear(this.decoder.final_layer_norm.forward(x), this.shared.weight); // (B, T, V), tied head
  }

  forward(src: Tensor, srcLengths: Int32Array | undefined, tgtIn: Tensor): Tensor {
    return this.decode(tgtIn, this.encode(src, srcLengths), srcLengths);
  }

  /** Mean cross-entropy of forward() against tgtOut [B, T] (−100 = ignored: padding, or anything not to learn). */
  loss(src: Tensor, srcLengths: Int32Array | undefined, tgtIn: Tensor, tgtOut: Tensor): Tensor {
    if (tgtOut.ndim !== 2 || tgtOut.shape[0] !== tgtIn.shape[0] || tgtOut.shape[1] !== tgtIn.shape[1])
      throw new ShapeError('SHAPE_MISMATCH', `EncoderDecoderLM.loss: tgtOut [${tgtOut.shape}] must match tgtIn [${tgtIn.shape}]`);
    return crossEntropy(this.forward(src, srcLengths, tgtIn), tgtOut);
  }

  /** Empty per-layer self-attention caches of the decoder for `batch` rows of up to `capacity` target tokens. */
  createDecoderCache(batch: number, capacity = this.config.max_position_embeddings): LayerKvCache[] {
    const c = this.config;
    const size = batch * c.num_heads * capacity * (c.d_model / c.num_heads);
    return this.decoder.block.map(() => new LayerKvCache(new Float32Array(size), new Float32Array(size), batch, capacity));
  }

  /** Token + position embeddings; row b's positions start at starts[b] (its cached length) or 0. */
  private embed(ids: Tensor, positions: Embedding, starts?: Int32Array): Tensor {
    const [B, T] = ids.shape as [number, number];
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) pos[b * T + i] = (starts?.[b] ?? 0) + i;
    const last = pos.reduce((a, p) => Math.max(a, p), 0);
    if (last >= this.config.max_position_embeddings)
      throw new ShapeError('SHAPE_INVALID', `EncoderDecoderLM: position ${last} is past max_position_embeddings ${this.config.max_position_embeddings}; generate fewer tokens or raise max_position_embeddings`);
    const x = add(this.shared.forward(ids), positions.forward(new Tensor(pos, [B, T]))); // (B, T, C)
    return dropout(x, this.training ? this.config.dropout_rate : 0, this.dropoutRng);
  }

  private checkIds(ids: Tensor, what: string): [number, number] {
    if (ids.ndim !== 2 || ids.dtype !== 'int32')
      throw new ShapeError('SHAPE_MISMATCH', `EncoderDecoderLM: ${what} must be an int32 [batch, time] tensor, got ${ids.dtype} [${ids.shape}]`);
    const [B, T] = ids.shape as [number, number];
    if (T < 1 || B < 1) throw new ShapeError('SHAPE_INVALID', `EncoderDecoderLM: ${what} [${ids.shape}] is empty`);
    if (T > this.config.max_position_embeddings)
      throw new ShapeError('SHAPE_INVALID', `EncoderDecoderLM: ${what} has ${T} tokens, over max_position_embeddings ${this.config.max_position_embeddings}; truncate it or raise max_position_embeddings`);
    const V = this.config.vocab_size;
    for (const id of ids.i32()) if (id < 0 || id >= V) throw new ShapeError('SHAPE_INVALID', `EncoderDecoderLM: ${what} token id ${id} outside the vocabulary [0, ${V})`);
    return [B, T];
  }

  private checkLengths(lengths: Int32Array | undefined, B: number, T: number): void {
    if (!lengths) return;
    if (lengths.length !== B) throw new ShapeError('SHAPE_MISMATCH', `EncoderDecoderLM: ${lengths.length} source lengths for a batch of ${B}`);
    // A row of length 0 would attend to nothing (softmax over no keys).
    lengths.forEach((n, b) => {
      if (!(n >= 1 && n <= T)) throw new ShapeError('SHAPE_INVALID', `EncoderDecoderLM: srcLengths[${b}] = ${n} must be in [1, ${T}] (the padded source width)`);
    });
  }
}
