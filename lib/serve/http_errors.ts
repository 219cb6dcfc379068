// Errors as the OpenAI API writes them: a status code and
// {"error": {"message", "type", "param", "code"}}, so OpenAI clients raise
// their usual exception classes (BadRequestError, NotFoundError,
// RateLimitError, ...). Every failure the server can meet maps here.
import { LmkitError } from '../errors.js';
import { ChatError } from '../generate/chat.js';
import { EngineError, RequestError } from './errors.js';

export interface ApiErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An HTTP-level failure (route, method, body) with its status. */
export class HttpError extends LmkitError {
  constructor(readonly status: number, code: string, message: string, readonly param: string | null = null, readonly headers: Record<string, string> = {}) {
    super(code, message);
  }
}

export interface ApiError {
  status: number;
  body: ApiErrorBody;
  headers: Record<string, string>;
}

const TYPE_OF_STATUS: Record<number, string> = {
  400: 'invalid_request_error', 404: 'invalid_request_error', 405: 'invalid_request_error', 413: 'invalid_request_error',
  429: 'rate_limit_error', 500: 'server_error', 503: 'server_error', 504: 'timeout_error',
};

function body(status: number, message: string, code: string | null, param: string | null): ApiErrorBody {
  return { error: { message, type: TYPE_OF_STATUS[status] ?? (status < 500 ? 'invalid_request_error' : 'server_error'), param, code } };
}

/** Status and body for any error; `retryAfterSeconds` goes into 429's Retry-After. */
export function apiError(err: unknown, retryAfterSeconds: number): ApiError {
  if (err instanceof HttpError) return { status: err.status, body: body(err.status, err.message, err.code, err.param), headers: err.headers };
  if (err instanceof RequestError) {
    const status = err.code === 'REQUEST_UNKNOWN_MODEL' ? 404 : 400;
    const code = { REQUEST_INVALID: 'invalid_value', REQUEST_TOO_LONG: 'context_length_exceeded', REQUEST_UNKNOWN_MODEL: 'model_not_found' }[err.code];
    return { status, body: body(status, err.message, code, err.param), headers: {} };
  }
  if (err instanceof ChatError) {
    const message = err.message.replace(/^chatPrompt: /, '').replace('raise maxTokens', 'lower max_tokens').replace('the budget of', 'the prompt budget of');
    return { status: 400, body: body(400, message, err.code === 'CHAT_BAD_HISTORY' ? 'invalid_value' : 'context_length_exceeded', 'messages'), headers: {} };
  }
  if (err instanceof EngineError) {
    switch (err.code) {
      case 'ENGINE_QUEUE_FULL':
        return { status: 429, body: body(429, err.message, 'queue_full', null), headers: { 'retry-after': String(retryAfterSeconds) } };
      case 'ENGINE_CLOSED':
        return { status: 503, body: body(503, err.message, 'shutting_down', null), headers: { 'retry-after': String(retryAfterSeconds) } };
      case 'ENGINE_TIMEOUT':
        return { status: 504, body: body(504, err.message, 'timeout', null), headers: {} };
      case 'ENGINE_WORKER_FAILED':
        return { status: 500, body: body(500, err.message, 'worker_failed', null), headers: {} };
    }
  }
  // A bug: say so without leaking a stack to the client (the server logs it).
  return { status: 500, body: body(500, `internal error: ${(err as Error)?.message ?? String(err)}`, 'internal_error', null), headers: {} };
}
