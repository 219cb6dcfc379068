// EncoderLM: a BERT-style bidirectional encoder (Devlin et al. 2019) with its
// two heads: masked-LM (cls.predictions) and sequence classification on the
// first token ([CLS]; pooler + classifier as BertForSequenceClassification).
//   h = word(ids) + pos(0..T-1) [+ type(tokenTypes)];  h = block_i(h);  h = ln_f(h)
//   mlm = LN(gelu(dense(h)))·Eᵀ + b   (decoder tied to the word embeddings E)
//   cls = classifier(tanh(pooler(h[:, 0])))
// Difference from BERT, on purpose: BERT is post-LN (LayerNorm after each
// residual add, and on the embeddings). We use the pre-LN TransformerBlock
// shared by every family (GPT-2 style), so there is no embedding LayerNorm and
// a final LayerNorm (bert.encoder.ln_f) closes the stack. HF BERT checkpoints
// therefore do not load; names follow BERT where a BERT module exists
// (bert.embeddings.*, cls.predictions.*, bert.pooler.dense, classifier) and
// the blocks keep the shared names (bert.encoder.layer.0.attn.c_attn ...).
// Padding: row b's tokens are [0, lengths[b]); keys beyond are masked, and a
// padded query row's output is computed but meaningless (losses ignore it).
import { ShapeError } from '../errors.js';
import { TransformerBlock } from '../nn/block.js';
import { Embedding } from '../nn/embedding.js';
import { Linear } from '../nn/linear.js';
import { Module } from '../nn/module.js';
import { LayerNorm } from '../nn/norm.js';
import { gelu, tanh } from '../tensor/ops/activation.js';
import { dropout } from '../tensor/ops/dropout.js';
import { add } from '../tensor/ops/elementwise.js';
import { linear } from '../tensor/ops/linear.js';
import { crossEntropy } from '../tensor/ops/loss.js';
import { narrow, permute, reshape } from '../tensor/ops/shape.js';
import { Random } from '../tensor/random.js';
import { Tensor, zeros } from '../tensor/tensor.js';
import { encoderConfig, type EncoderConfig } from './encoder_config.js';

class EncoderEmbeddings extends Module {
  word_embeddings: Embedding;
  position_embeddings: Embedding;
  token_type_embeddings: Embedding | null;

  constructor(c: EncoderConfig, rng: Random) {
    super();
    this.word_embeddings = new Embedding(c.vocab_size, c.hidden_size, rng, c.initializer_range);
    this.position_embeddings = new Embedding(c.max_position_embeddings, c.hidden_size, rng, c.initializer_range);
    this.token_type_embeddings = c.type_vocab_size > 0 ? new Embedding(c.type_vocab_size, c.hidden_size, rng, c.initializer_range) : null;
  }
}

class EncoderStack extends Module {
  layer: TransformerBlock[];
  ln_f: LayerNorm;

  constructor(c: EncoderConfig, rng: Random, dropoutRng: Random) {
    super();
    const block = {
      dim: c.hidden_size, heads: c.num_attention_heads, hidden: c.intermediate_size,
      activation: c.hidden_act === 'gelu_new' ? ('gelu_tanh' as const) : ('gelu' as const),
      norm: 'layernorm' as const, normEps: c.layer_norm_eps, bias: true, dropout: c.hidden_dropout_prob,
      projStd: c.initializer_range / Math.sqrt(2 * c.num_hidden_layers), // pre-LN residual scaling, as in the decoder
    };
    this.layer = Array.from({ length: c.num_hidden_layers }, () => new TransformerBlock(block, rng, dropoutRng));
    this.ln_f = new LayerNorm(c.hidden_size, c.layer_norm_eps);
  }
}

class Pooler extends Module {
  dense: Linear;
  constructor(dim: number, rng: Random, std: number) {
    super();
    this.dense = new Linear(dim, dim, rng, { std });
  }
}

class BertModel extends Module {
  embeddings: EncoderEmbeddings;
  encoder: EncoderStack;
  /** [CLS] pooler (dense + tanh); only with a classification head. */
  pooler: Pooler | null;

  constructor(c: EncoderConfig, rng: Random, dropoutRng: Random) {
    super();
    this.embeddings = new EncoderEmbeddings(c, rng);
    this.encoder = new EncoderStack(c, rng, dropoutRng);
    this.pooler = c.num_labels > 0 ? new Pooler(c.hidden_size, rng, c.initializer_range) : null;
  }
}

/** BERT's BertPredictionHeadTransform: dense → GELU → LayerNorm. */
class MlmTransform extends Module {
  dense: Linear;
  LayerNorm: LayerNorm;
  constructor(c: EncoderConfig, rng: Random) {
    super();
    this.dense = new Linear(c.hidden_size, c.hidden_size, rng, { std: c.initializer_range });
    this.LayerNorm = new LayerNorm(c.hidden_size, c.layer_norm_eps);
  }
}

/** cls.predictions: transform, then the decoder tied to the word embeddings plus its own bias. */
class MlmPredictions extends Module {
  transform: MlmTransform;
  bias: Tensor;
  constructor(c: EncoderConfig, rng: Random) {
    super();
    this.transform = new MlmTransform(c, rng);
    this.bias = zeros([c.vocab_size], true);
  }
}

class MlmHead extends Module {
  predictions: MlmPredictions;
  constructor(c: EncoderConfig, rng: Random) {
    super();
    this.predictions = new MlmPredictions(c, rng);
  }
}

export class EncoderLM extends Module {
  readonly config: EncoderConfig;
  bert: BertModel;
  cls: MlmHead;
  classifier: Linear | null;
  /** Drives dropout; saved in checkpoints for exact resume. */
  readonly dropoutRng: Random;

  constructor(config: EncoderConfig | Record<string, unknown>, seed = 0) {
    super();
    this.config = encoderConfig(config);
    const rng = new Random(seed);
    this.dropoutRng = new Random(seed + 1);
    this.bert = new BertModel(this.config, rng, this.dropoutRng);
    this.cls = new MlmHead(this.config, rng);
    this.classifier = this.config.num_labels > 0 ? new Linear(this.config.hidden_size, this.config.num_labels, rng, { std: this.config.initializer_range }) : null;
  }

  /**
   * ids [B, T] (int32) → final hidden states [B, T, C]. lengths [B] (default
   * all T): row b's real tokens are [0, lengths[b]). tokenTypes [B, T]
   * (default all 0) selects segment embeddings when type_vocab_size > 0.
   */
  forward(ids: Tensor, lengths?: Int32Array, tokenTypes?: Tensor): Tensor {
    const [B, T] = this.checkIds(ids, lengths);
    const c = this.config;
    const e = this.bert.embeddings;
    const pos = new Int32Array(B * T);
    for (let b = 0; b < B; b++) for (let i = 0; i < T; i++) pos[b * T + i] = i;
    let x = add(e.word_embeddings.forward(ids), e.position_embeddings.forward(new Tensor(pos, [B, T]))); // (B, T, C)
    if (e.token_type_embeddings) x = add(x, e.token_type_embeddings.forward(this.checkTokenTypes(tokenTypes, B, T)));
    else if (tokenTypes) throw new ShapeError('SHAPE_INVALID', 'EncoderLM: tokenTypes given but the config has type_vocab_size 0; drop them or set type_vocab_size');
    x = dropout(x, this.training ? c.hidden_dropout_prob : 0, this.dropoutRng);
    const mask = { causal: false, ...(lengths ? { kvLen: lengths } : {}) };
    for (const block of this.bert.encoder.layer) x = block.forward(x, { mask });
    return this.bert.encoder.ln_f.forward(x);
  }

  /** MLM logits [B, T, vocab] from hidden states [B, T, C]. */
  mlmHead(hidden: Tensor): Tensor {
    const p = this.cls.predictions;
    const h = gelu(p.transform.dense.forward(hidden), this.config.hidden_act === 'gelu_new' ? 'tanh' : 'none');
    return linear(p.transform.LayerNorm.forward(h), this.bert.embeddings.word_embeddings.weight, p.bias); // (B, T, V)
  }

  mlmLogits(ids: Tensor, lengths?: Int32Array, tokenTypes?: Tensor): Tensor {
    return this.mlmHead(this.forward(ids, lengths, tokenTypes));
  }

  /** Mean cross-entropy over masked positions; labels [B, T] hold the original id there and −100 elsewhere (padding included). */
  mlmLoss(ids: Tensor, labels: Tensor, lengths?: Int32Array, tokenTypes?: Tensor): Tensor {
    if (labels.ndim !== 2 || labels.shape[0] !== ids.shape[0] || labels.shape[1] !== ids.shape[1])
      throw new ShapeError('SHAPE_MISMATCH', `EncoderLM.mlmLoss: labels [${labels.shape}] must match ids [${ids.shape}]`);
    return crossEntropy(this.mlmLogits(ids, lengths, tokenTypes), labels);
  }

  /** Class logits [B, num_labels] from the [CLS] (first) token. */
  classify(ids: Tensor, lengths?: Int32Array, tokenTypes?: Tensor): Tensor {
    const classifier = this.classifier, pooler = this.bert.pooler;
    if (!classifier || !pooler)
      throw new ShapeError('SHAPE_INVALID', 'EncoderLM.classify: the config has num_labels 0 (no classification head); set num_labels in the config');
    const hidden = this.forward(ids, lengths, tokenTypes);
    const [B, , C] = hidden.shape as [number, number, number];
    const first = reshape(narrow(permute(hidden, [1, 0, 2]), 0, 1), [B, C]); // (T, B, C) → (B, C): token 0 of each row
    const pooled = tanh(pooler.dense.forward(first));
    return classifier.forward(dropout(pooled, this.training ? this.config.hidden_dropout_prob : 0, this.dropoutRng)); // (B, num_labels)
  }

  /** Mean cross-entropy of classify() against labels [B] (int32, in [0, num_labels)). */
  classificationLoss(ids: Tensor, lengths: Int32Array | undefined, labels: Tensor, tokenTypes?: Tensor): Tensor {
    const B = ids.shape[0];
    if (labels.ndim !== 1 || labels.shape[0] !== B) throw new ShapeError('SHAPE_MISMATCH', `EncoderLM.classificationLoss: labels [${labels.shape}] must be [batch] = [${B}]`);
    const n = this.config.num_labels;
    for (const y of labels.i32('EncoderLM.classificationLoss'))
      if (y !== -100 && (y < 0 || y >= n)) throw new ShapeError('SHAPE_INVALID', `EncoderLM.classificationLoss: label ${y} outside [0, ${n}) (num_labels ${n})`);
    return crossEntropy(this.classify(ids, lengths, tokenTypes), labels);
  }

  private checkIds(ids: Tensor, lengths?: Int32Array): [number, number] {
    if (ids.ndim !== 2 || ids.dtype !== 'int32')
      throw new ShapeError('SHAPE_MISMATCH', `EncoderLM: ids must be an int32 [batch, time] tensor, got ${ids.dtype} [${ids.shape}]`);
    const [B, T] = ids.shape as [number, number];
    if (T < 1 || B < 1) throw new ShapeError('SHAPE_INVALID', `EncoderLM: ids [${ids.shape}] is empty`);
    if (T > this.config.max_position_embeddings)
      throw new ShapeError('SHAPE_INVALID', `EncoderLM: ${T} tokens exceed max_position_embeddings ${this.config.max_position_embeddings}; truncate the batch or raise max_position_embeddings`);
    const V = this.config.vocab_size;
    for (const id of ids.i32()) if (id < 0 || id >= V) throw new ShapeError('SHAPE_INVALID', `EncoderLM: token id ${id} outside the vocabulary [0, ${V})`);
    if (lengths) {
      if (lengths.length !== B) throw new ShapeError('SHAPE_MISMATCH', `EncoderLM: ${lengths.length} lengths for a batch of ${B}`);
      // A row of length 0 would attend to nothing (softmax over no keys).
      lengths.forEach((n, b) => {
        if (!(n >= 1 && n <= T)) throw new ShapeError('SHAPE_INVALID', `EncoderLM: lengths[${b}] = ${n} must be in [1, ${T}] (the padded width)`);
      });
    }
    return [B, T];
  }

  private checkTokenTypes(tokenTypes: Tensor | undefined, B: number, T: number): Tensor {
    if (!tokenTypes) return new Tensor(new Int32Array(B * T), [B, T]);
    if (tokenTypes.ndim !== 2 || tokenTypes.shape[0] !== B || tokenTypes.shape[1] !== T)
      throw new ShapeError('SHAPE_MISMATCH', `EncoderLM: tokenTypes [${tokenTypes.shape}] must match ids [${B}, ${T}]`);
    const n = this.config.type_vocab_size;
    for (const t of tokenTypes.i32('EncoderLM tokenTypes')) if (t < 0 || t >= n) throw new ShapeError('SHAPE_INVALID', `EncoderLM: token type ${t} outside [0, ${n}) (type_vocab_size)`);
    return tokenTypes;
  }
}
