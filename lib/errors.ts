// Error families of lmkit. Each carries a stable `code` callers can switch
// on; messages say what was wrong, where, and what to do.

export class LmkitError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A checkpoint or safetensors file is missing, truncated, hostile or inconsistent. */
export class CheckpointError extends LmkitError {}

/** A data file (text, JSONL) is missing or has a bad line. */
export class DataError extends LmkitError {}

/** A config is invalid: unknown key, wrong type, out of range. */
export class ConfigError extends LmkitError {}

/** Tensor shapes do not fit the operation. */
export class ShapeError extends LmkitError {}

/** Training cannot go on (non-finite loss, nothing to resume). */
export class TrainingError extends LmkitError {}

/** A device is unavailable, or tensors of one operation sit on different devices. */
export class DeviceError extends LmkitError {}
/** Distributed training cannot start or go on (no MPI, a peer rank failed, a collective timed out, replicas diverged). */
export class DistributedError extends LmkitError {}
