// Raw HTTP for server tests (node:http, no client library): whole responses,
// and Server-Sent Events split into their `data:` payloads.
import http from 'node:http';

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** One request; `body` is sent as given (a Buffer or string), `headers` as given. */
export function rawRequest(port: number, method: string, path: string, body?: string | Buffer, headers: Record<string, string | number> = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, headers: { 'content-type': 'application/json', ...headers }, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      res.on('error', reject);
    });
    // A server that answers 413 may close before all of a huge body is written; the answer still counts.
    req.on('error', (err) => (responded ? undefined : reject(err)));
    let responded = false;
    req.on('response', () => (responded = true));
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

export const postJson = (port: number, path: string, value: unknown): Promise<RawResponse> => rawRequest(port, 'POST', path, JSON.stringify(value));

/** The JSON payloads of an SSE body, and whether it ended with `data: [DONE]`. */
export function sseEvents(text: string): { events: Record<string, unknown>[]; done: boolean } {
  const datas = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice('data: '.length));
  const done = datas[datas.length - 1] === '[DONE]';
  return { events: datas.filter((d) => d !== '[DONE]').map((d) => JSON.parse(d) as Record<string, unknown>), done };
}

/**
 * Starts a streaming POST and resolves once the first `data:` event with
 * content arrives, handing back the request (to destroy: a client that
 * disconnects mid-stream) and the text so far.
 */
export function openStream(port: number, path: string, value: unknown, until: (text: string) => boolean): Promise<{ req: http.ClientRequest; text: string; rest: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path, headers: { 'content-type': 'application/json' }, agent: false }, (res) => {
      let text = '';
      let resolved = false;
      res.setEncoding('utf8');
      const rest = new Promise<string>((done) => {
        const end = (): void => {
          if (!resolved) reject(new Error(`the stream ended before the awaited event: ${JSON.stringify(text.slice(0, 300))}`));
          done(text);
        };
        res.on('end', end);
        res.on('close', end);
      });
      res.on('data', (d: string) => {
        text += d;
        if (!resolved && until(text)) {
          resolved = true;
          resolve({ req, text, rest });
        }
      });
      res.on('error', () => {});
    });
    req.on('error', (err) => reject(err));
    req.end(JSON.stringify(value));
  });
}
