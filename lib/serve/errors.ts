// Error families of serving. A RequestError is the caller's: the request
// cannot be run as given (an HTTP server answers 4xx). An EngineError is the
// engine's state: busy, closed, timed out or broken (429 / 503 / 504 / 500).
import { LmkitError } from '../errors.js';

export type RequestErrorCode =
  /** A field has the wrong type or an impossible value. */
  | 'REQUEST_INVALID'
  /** The prompt, or prompt + max tokens, does not fit the model's context or the server's limits. */
  | 'REQUEST_TOO_LONG'
  /** The request names a model this server does not serve. */
  | 'REQUEST_UNKNOWN_MODEL';

/** The request cannot be run as given; `param` names the field when there is one. */
export class RequestError extends LmkitError {
  declare readonly code: RequestErrorCode;
  readonly param: string | null;
  constructor(code: RequestErrorCode, message: string, options: { param?: string | null; cause?: unknown } = {}) {
    super(code, message, options.cause !== undefined ? { cause: options.cause } : undefined);
    this.param = options.param ?? null;
  }
}

export type EngineErrorCode =
  /** Every row is busy and the queue is at its limit: try again later. */
  | 'ENGINE_QUEUE_FULL'
  /** The engine is closing or closed (draining for shutdown). */
  | 'ENGINE_CLOSED'
  /** The request ran past its timeout. */
  | 'ENGINE_TIMEOUT'
  /** A worker thread died or could not load the model. */
  | 'ENGINE_WORKER_FAILED';

export class EngineError extends LmkitError {
  declare readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
