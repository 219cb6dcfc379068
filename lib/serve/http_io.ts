// Reading request bodies under a size limit, and writing JSON, plain text
// and Server-Sent Events (the `data: ...\n\n` framing OpenAI streams use).
import type { IncomingMessage, ServerResponse } from 'node:http';

import { HttpError } from './http_errors.js';

/**
 * The body as a parsed JSON object. A declared or actual size over `limit`
 * is a 413 (the rest of the body is left to node, which discards it once the
 * response is sent); invalid JSON or a non-object is a 400.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const tooLarge = (n: string): HttpError =>
    new HttpError(413, 'request_too_large', `the request body is ${n} bytes; this server takes at most ${limit} (--max-body-bytes)`, null, { connection: 'close' });
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(declared);
  const chunks: Buffer[] = [];
  let size = 0;
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.resume(); // keep draining so the client can finish sending and read the 413
        reject(tooLarge(`over ${limit}`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', resolve);
    req.once('error', reject);
    req.once('aborted', () => reject(new HttpError(400, 'aborted', 'the client closed the connection while sending the body')));
  });
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'invalid_json', 'the request body is empty; send a JSON object (Content-Type: application/json)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new HttpError(400, 'invalid_json', `the request body must be a JSON object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  return parsed as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers });
  res.end(payload);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An SSE response: one `data:` event per JSON chunk, then `data: [DONE]`. */
export class SseWriter {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.flushHeaders();
  }

  /** False once the client is gone. */
  get open(): boolean {
    return !this.res.destroyed && !this.res.writableEnded;
  }

  send(value: unknown): void {
    if (this.open) this.res.write(`data: ${JSON.stringify(value)}\n\n`);
  }

  /** Ends the stream; `done` writes OpenAI's `[DONE]` terminator first (left out after an error event). */
  end(done = true): void {
    if (!this.open) return;
    if (done) this.res.write('data: [DONE]\n\n');
    this.res.end();
  }
}
