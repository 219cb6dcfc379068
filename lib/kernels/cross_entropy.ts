// Fused softmax cross-entropy and token log-probs over rows of vocab logits
// (row-major [rows, vocab] Float32Array, Int32Array targets [rows]).
import { addon, type F32Buffer, type I32Buffer } from '../native.js';

export interface RowsShape {
  /** Rows (tokens); may be 0. */
  rows: number;
  /** Logits per row (≥ 1). */
  vocab: number;
}

export interface CrossEntropyOptions extends RowsShape {
  /** Rows with this target contribute nothing (default −100, PyTorch's). */
  ignoreIndex?: number;
  /** PyTorch's label_smoothing ε in [0, 1] (default 0). */
  labelSmoothing?: number;
  /** Receives each row's loss (0 for ignored rows); Float32Array(rows). */
  losses?: Float32Array;
}

export interface CrossEntropyResult {
  /** Mean loss over counted rows; 0 when every row is ignored. */
  loss: number;
  /** Rows whose target is not ignoreIndex. */
  count: number;
}

/**
 * loss = mean over counted rows of −log softmax(logits)[target] (with label
 * smoothing). When dlogits is given it receives ∂loss/∂logits (zeros on
 * ignored rows). Targets must be in [0, vocab) or equal ignoreIndex.
 */
export function softmaxCrossEntropy(
  logits: F32Buffer,
  targets: I32Buffer,
  dlogits: F32Buffer | null,
  opts: CrossEntropyOptions,
): CrossEntropyResult {
  return addon.softmaxCrossEntropy(logits, targets, dlogits, opts);
}

/**
 * logp[r] = log_softmax(logits[r])[targets[r]]; entropy[r] (optional) =
 * −Σ p·log p of row r. Targets must be in [0, vocab).
 */
export function tokenLogProbs(
  logits: F32Buffer,
  targets: I32Buffer,
  logp: F32Buffer,
  entropy: F32Buffer | null,
  opts: RowsShape,
): void {
  addon.tokenLogProbs(logits, targets, logp, entropy, opts);
}

/** Overwrites dlogits with dlogp·∂logp/∂logits + dentropy·∂entropy/∂logits. */
export function tokenLogProbsBackward(
  logits: F32Buffer,
  targets: I32Buffer,
  dlogp: F32Buffer,
  dentropy: F32Buffer | null,
  dlogits: F32Buffer,
  opts: RowsShape,
): void {
  addon.tokenLogProbsBackward(logits, targets, dlogp, dentropy, dlogits, opts);
}
