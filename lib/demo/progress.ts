// What the demo tells its caller while it runs: which stage, how far, and the
// headline number of each stage once measured. The CLI draws these; tests
// collect them.

export type DemoEvent =
  | { type: 'stage'; index: number; total: number; name: string }
  /** A training or evaluation loop inside the current stage; `info` is e.g. "loss 1.234". */
  | { type: 'progress'; stage: string; done: number; total: number; info: string; etaSec?: number }
  /** A measured result, one line. */
  | { type: 'result'; text: string };

export type DemoListener = (event: DemoEvent) => void;

/** Step events of every training loop have this shape (pretrain, sft, reward). */
export interface StepLike {
  type: string;
  iter?: number;
  maxIters?: number;
  loss?: number;
  etaSec?: number;
}

/** Forwards a stage's step events as demo progress, and keeps the loss curve. */
export function trackSteps(stage: string, emit: DemoListener, curve: [number, number][]): (e: StepLike) => void {
  return (e) => {
    if (e.type !== 'step' || e.iter === undefined || e.maxIters === undefined || e.loss === undefined) return;
    curve.push([e.iter, e.loss]);
    emit({ type: 'progress', stage, done: e.iter, total: e.maxIters, info: `loss ${e.loss.toFixed(4)}`, ...(e.etaSec === undefined ? {} : { etaSec: e.etaSec }) });
  };
}
