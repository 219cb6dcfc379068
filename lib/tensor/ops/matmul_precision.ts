// The precision of linear()'s GEMMs (forward and both backward products):
// 'fp32' (the default) or 'bf16', mixed precision as in PyTorch's CPU
// autocast: inputs rounded to bfloat16, products summed in fp32, while the
// weights, their gradients and the optimizer stay fp32. A scope, not a
// global knob: withMatmulPrecision restores the previous setting.
import { ConfigError } from '../../errors.js';

export type MatmulPrecision = 'fp32' | 'bf16';

export const MATMUL_PRECISIONS: readonly MatmulPrecision[] = ['fp32', 'bf16'];

let current: MatmulPrecision = 'fp32';

/** The precision linear() uses now. */
export function matmulPrecision(): MatmulPrecision {
  return current;
}

/**
 * Runs `fn` with linear()'s GEMMs in `precision`, then restores the previous
 * one (also when fn throws). A backward pass uses the precision its forward
 * pass ran in. 'bf16' needs CPU tensors.
 */
export function withMatmulPrecision<T>(precision: MatmulPrecision, fn: () => T): T {
  const previous = current;
  current = parseMatmulPrecision(precision, 'withMatmulPrecision');
  try {
    return fn();
  } finally {
    current = previous;
  }
}

/** `value` as a MatmulPrecision; a ConfigError naming `where` otherwise. */
export function parseMatmulPrecision(value: unknown, where: string): MatmulPrecision {
  if (value === 'fp32' || value === 'bf16') return value;
  throw new ConfigError('CONFIG_INVALID', `${where}: matmul precision must be one of ${MATMUL_PRECISIONS.join(', ')}, got ${JSON.stringify(value)}`);
}
