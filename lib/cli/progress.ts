// Renders pretrain's progress events: on a TTY one line redrawn in place (a
// bar with loss, tokens/s and ETA), elsewhere plain lines at log_interval, so
// logs piped to a file stay readable.
import type { PretrainEvent } from '../stages/pretrain.js';

export interface ProgressSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatRate(tokensPerSec: number): string {
  return tokensPerSec >= 1e6 ? `${(tokensPerSec / 1e6).toFixed(2)}M` : tokensPerSec >= 1e3 ? `${(tokensPerSec / 1e3).toFixed(1)}k` : tokensPerSec.toFixed(0);
}

export interface ProgressRenderer {
  /** The callback for pretrain(). */
  onProgress: (e: PretrainEvent) => void;
  /** Ends a bar line left open, keeping its last state on screen. */
  end(): void;
}

/** Draws pretrain()'s progress on `out`. */
export function progressRenderer(out: ProgressSink): ProgressRenderer {
  const tty = out.isTTY === true;
  let barShown = false, lastDraw = 0;
  const line = (text: string): void => {
    if (barShown) out.write('\r\x1b[K');
    barShown = false;
    out.write(text + '\n');
  };
  const onProgress = (e: PretrainEvent): void => {
    switch (e.type) {
      case 'start':
        line(`${e.resumed ? `resuming at iteration ${e.iter}` : 'training'} ${e.arch}: ${(e.parameters / 1e6).toFixed(2)}M parameters, vocab ${e.vocabSize}, ` +
          `${e.trainTokens} train / ${e.valTokens} val tokens, ${e.tokensPerIter} tokens per iteration${e.worldSize > 1 ? ` (${e.worldSize} ranks)` : ''}, ${e.maxIters} iterations`);
        return;
      case 'eval':
        line(`iter ${e.iter}: train loss ${e.trainLoss.toFixed(4)}, val loss ${e.valLoss.toFixed(4)}${e.unigramValLoss === undefined ? '' : ` (unigram baseline ${e.unigramValLoss.toFixed(4)})`}`);
        return;
      case 'checkpoint':
        line(`iter ${e.iter}: checkpoint written to ${e.dir}`);
        return;
      case 'skip':
        line(`iter ${e.iter}: skipped the update (loss ${e.loss}, gradient norm ${e.gradNorm})`);
        return;
      case 'step': {
        const stats = `loss ${e.loss.toFixed(4)} | ${formatRate(e.tokensPerSec)} tok/s | ETA ${formatDuration(e.etaSec)}`;
        if (!tty) {
          if (e.logged) line(`iter ${e.iter}/${e.maxIters}: loss ${e.loss.toFixed(4)}, lr ${e.lr.toExponential(2)}, ${formatRate(e.tokensPerSec)} tok/s, grad norm ${e.gradNorm.toFixed(3)}, ETA ${formatDuration(e.etaSec)}`);
          return;
        }
        const now = Date.now();
        if (now - lastDraw < 100 && e.iter !== e.maxIters) return; // ~10 redraws a second
        lastDraw = now;
        const width = Math.max(10, Math.min(30, (out.columns ?? 80) - 70));
        const done = Math.round((width * e.iter) / Math.max(e.maxIters, 1));
        const bar = '█'.repeat(done) + '░'.repeat(width - done);
        out.write(`\r\x1b[Kiter ${e.iter}/${e.maxIters} ${bar} ${stats}`);
        barShown = true;
        return;
      }
    }
  };
  const end = (): void => {
    if (barShown) out.write('\n');
    barShown = false;
  };
  return { onProgress, end };
}
