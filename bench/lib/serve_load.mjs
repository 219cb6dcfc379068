// A bounded load client for the serve suite: keeps `concurrency` requests in
// flight over loopback until `total` have finished, then stops. Streaming
// requests are read as SSE to the end and must finish with `data: [DONE]`;
// generated tokens are counted from the usage OpenAI reports (the final usage
// chunk with stream_options.include_usage, or the body's usage).
import http from 'node:http';

/**
 * @param {{port: number, total: number, concurrency: number, request: (i: number) => {path: string, body: object},
 *          timeoutMs?: number}} o  request(i) builds the i-th request
 */
export async function runLoad({ port, total, concurrency, request, timeoutMs = 300_000 }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const stats = { ok: 0, errorCount: 0, errors: [], completionTokens: 0, latenciesMs: [] };
  let next = 0;
  const started = performance.now();
  async function lane() {
    while (next < total) {
      const i = next++;
      const { path, body } = request(i);
      const t0 = performance.now();
      try {
        const tokens = await send(agent, port, path, body, timeoutMs);
        stats.ok++;
        stats.completionTokens += tokens;
        stats.latenciesMs.push(performance.now() - t0);
      } catch (err) {
        stats.errorCount++;
        if (stats.errors.length < 5) stats.errors.push(`request ${i}: ${err.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, lane));
  agent.destroy();
  return { ...stats, wallMs: performance.now() - started };
}

/** One request; resolves with its completion tokens, rejects on any failure. */
function send(agent, port, path, body, timeoutMs) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('error', reject);
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}: ${text.slice(0, 200)}`));
        try {
          resolve(body.stream ? streamTokens(text) : JSON.parse(text).usage.completion_tokens);
        } catch (err) {
          reject(err);
        }
      });
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function streamTokens(text) {
  const datas = text.split('\n\n').filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  if (datas[datas.length - 1] !== '[DONE]') throw new Error('the stream did not end with [DONE]');
  const chunks = datas.slice(0, -1).map((d) => JSON.parse(d));
  const error = chunks.find((c) => c.error);
  if (error) throw new Error(`error event: ${error.error.message}`);
  const usage = chunks[chunks.length - 1]?.usage;
  if (!usage) throw new Error('no usage chunk (stream_options.include_usage)');
  return usage.completion_tokens;
}
