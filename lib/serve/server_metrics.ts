// What the server's /metrics reports: requests by route and status, prompt
// and generated tokens, the engine's queue depth and running sequences,
// latency histograms (whole request, time to first token), and the main
// thread's event-loop delay (the engine's promise: models off this thread).
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

import type { Engine } from './engine.js';
import { MetricsRegistry, type Counter, type Histogram } from './metrics.js';

/** Seconds: 5 ms .. 2 min, for requests that stream from milliseconds to minutes. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

export class ServerMetrics {
  readonly registry = new MetricsRegistry();
  readonly requests: Counter;
  readonly promptTokens: Counter;
  readonly completionTokens: Counter;
  readonly duration: Histogram;
  readonly firstToken: Histogram;
  private readonly loopDelay: IntervalHistogram;

  constructor(engine: Engine, inFlight: () => number) {
    const r = this.registry;
    this.requests = r.counter('lmkit_http_requests_total', 'HTTP requests answered, by route and status code (499: the client went away first).');
    this.promptTokens = r.counter('lmkit_prompt_tokens_total', 'Prompt tokens of generation requests that ran.');
    this.completionTokens = r.counter('lmkit_completion_tokens_total', 'Tokens generated, all choices.');
    this.duration = r.histogram('lmkit_request_duration_seconds', 'Time from request to the end of the response, by route.', LATENCY_BUCKETS);
    this.firstToken = r.histogram('lmkit_time_to_first_token_seconds', 'Time from a generation request to its first generated token.', LATENCY_BUCKETS);
    r.gauge('lmkit_queue_depth', 'Sequences waiting for a free decoding row.', () => [[{}, engine.stats().queued]]);
    r.gauge('lmkit_running_sequences', 'Sequences holding a decoding row (or running a beam search).', () => [[{}, engine.stats().running]]);
    r.scrapedCounter('lmkit_cancelled_sequences_total', 'Sequences cancelled before their end (client gone, timeout), since start.', () => [[{}, engine.stats().cancelled]]);
    r.gauge('lmkit_workers', 'Model worker threads alive.', () => [[{}, engine.stats().workers]]);
    r.gauge('lmkit_http_requests_in_flight', 'HTTP requests being answered.', () => [[{}, inFlight()]]);
    // 1 ms sampling: the delays of interest here are a few ms to tens of ms.
    this.loopDelay = monitorEventLoopDelay({ resolution: 1 });
    this.loopDelay.enable();
    r.gauge('lmkit_event_loop_delay_seconds', 'Event-loop delay of the server thread since it started, by quantile.', () => {
      const h = this.loopDelay;
      if (h.count === 0) return [];
      return [0.5, 0.9, 0.99, 1].map((q) => [{ quantile: String(q) }, (q === 1 ? h.max : h.percentile(q * 100)) / 1e9] as const);
    });
  }

  stop(): void {
    this.loopDelay.disable();
  }
}
