// Suite "decode": greedy generation tokens/s of lmkit's DecoderLM with its KV
// cache next to a PyTorch CPU KV-cache loop over the same nanoGPT model
// (bench/peers/torch_train.py, decode mode), for the issue #10 bar
// (≥ 2× PyTorch at 6×384, batch 1 and 8, 256 new tokens).
//
// One run = a forward over a 16-token prompt, then one single-token forward
// per further new token, argmax each time, 256 new tokens per sequence;
// tokens/s = batch·256 / median run time. Both sides use random-init weights
// (speed does not depend on them) and allocate their caches inside the run.
import { integers } from '../lib/data.mjs';
import { makeRow, okSide, emptySide } from '../lib/rows.mjs';
import { measureRuns } from '../lib/timing.mjs';
import { runTorchCases, torchPeerStatus } from '../lib/torch.mjs';

export const description = 'greedy KV-cache decoding tokens/s (DecoderLM) vs a PyTorch CPU KV-cache loop';

const VOCAB = 65;
const PROMPT = 16;
const NEW_TOKENS = 256;
/** The shakespeare_char model; n_positions covers prompt + new tokens (a 256 block would not). */
const MODEL = { name: '6×384', nLayer: 6, nEmbd: 384, nHead: 6 };
const BATCHES = [1, 8];
/** Tokens checked against uncached greedy decoding (each costs a full forward). */
const CROSS_CHECK_TOKENS = 8;

/** Issue #10: decoding tokens/s ≥ 2× a PyTorch KV-cache loop. */
const BAR = { text: '≥2× PyTorch', min: 2 };

function schedule(quick) {
  return quick ? { warmup: 1, minRuns: 2, maxRuns: 2, budgetMs: 0 } : { warmup: 1, minRuns: 3, maxRuns: 10, budgetMs: 4000 };
}

const shapeOf = (batch) => `${MODEL.name} B${batch} prompt ${PROMPT} + ${NEW_TOKENS} new`;

function hfConfig() {
  return {
    vocab_size: VOCAB,
    n_positions: PROMPT + NEW_TOKENS,
    n_embd: MODEL.nEmbd,
    n_layer: MODEL.nLayer,
    n_head: MODEL.nHead,
    bias: true,
    dropout: 0,
  };
}

/** Argmax over the last position of logits [B, T, V], one token per row. */
function lastArgmax(logits, B, T) {
  const next = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    const row = (b * T + T - 1) * VOCAB;
    let best = 0;
    for (let v = 1; v < VOCAB; v++) if (logits[row + v] > logits[row + best]) best = v;
    next[b] = best;
  }
  return next;
}

/** Greedy generation with the KV cache: tokens [B, NEW_TOKENS]. */
function generate(lmkit, model, prompt, B) {
  const { Tensor, noGrad } = lmkit;
  const out = new Int32Array(B * NEW_TOKENS);
  noGrad(() => {
    const cache = model.createCache(B, PROMPT + NEW_TOKENS);
    let next = lastArgmax(model.forward(new Tensor(prompt, [B, PROMPT]), { cache }).f32(), B, PROMPT);
    for (let i = 0; ; i++) {
      for (let b = 0; b < B; b++) out[b * NEW_TOKENS + i] = next[b];
      if (i === NEW_TOKENS - 1) break;
      next = lastArgmax(model.forward(new Tensor(next, [B, 1]), { cache }).f32(), B, 1);
    }
  });
  return out;
}

/**
 * The first tokens again without a cache (full forward over prompt + tokens
 * so far): checks the timed path computes what greedy decoding should.
 * Returns how many of the first CROSS_CHECK_TOKENS agree, in order.
 */
function uncachedAgreement(lmkit, model, prompt, tokens, B) {
  const { Tensor, noGrad } = lmkit;
  let agree = 0;
  noGrad(() => {
    for (let i = 0; i < CROSS_CHECK_TOKENS; i++) {
      const T = PROMPT + i;
      const ids = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        ids.set(prompt.subarray(b * PROMPT, (b + 1) * PROMPT), b * T);
        ids.set(tokens.subarray(b * NEW_TOKENS, b * NEW_TOKENS + i), b * T + PROMPT);
      }
      const next = lastArgmax(model.forward(new Tensor(ids, [B, T])).f32(), B, T);
      for (let b = 0; b < B; b++) if (next[b] !== tokens[b * NEW_TOKENS + i]) return;
      agree++;
    }
  });
  return agree;
}

function timeOurs(lmkit, B, quick) {
  const model = new lmkit.DecoderLM(hfConfig(), 0);
  model.eval();
  const prompt = integers(B * PROMPT, 7, VOCAB);
  const outputs = [];
  const timing = measureRuns(
    () => {
      const t0 = performance.now();
      const tokens = generate(lmkit, model, prompt, B);
      const runMs = performance.now() - t0;
      outputs.push(tokens);
      return { runMs };
    },
    { ...schedule(quick), key: 'runMs' },
  );
  const last = outputs[outputs.length - 1];
  return {
    timing,
    tokens: last.length,
    inVocab: last.every((t) => t >= 0 && t < VOCAB),
    deterministic: outputs.every((o) => o.every((t, i) => t === last[i])),
    agree: uncachedAgreement(lmkit, model, prompt, last, B),
  };
}

function torchCase(B, quick, id) {
  const s = schedule(quick);
  return {
    id,
    kind: 'decode',
    n_layer: MODEL.nLayer,
    n_embd: MODEL.nEmbd,
    n_head: MODEL.nHead,
    vocab: VOCAB,
    bias: true,
    batch: B,
    prompt: PROMPT,
    new_tokens: NEW_TOKENS,
    warmup: s.warmup,
    min_runs: s.minRuns,
    max_runs: s.maxRuns,
    budget_s: s.budgetMs / 1e3,
  };
}

const errorNote = (err) => (err instanceof Error ? err.message : String(err)).split('\n')[0];

/**
 * @param {{lmkit: any, root: string, options: {quick: boolean, threads: number, budgetMs: number},
 *          log: (line: string) => void}} ctx
 */
export async function run({ lmkit, root, options, log }) {
  const { threads, quick } = options;
  lmkit.setNumThreads(threads);
  const notes = [];
  const checks = [];

  const oursRuns = BATCHES.map((B) => {
    log(`decode ${shapeOf(B)}: ours...`);
    try {
      const r = timeOurs(lmkit, B, quick);
      log(`decode ${shapeOf(B)}: ours ${r.timing.medianMs.toFixed(0)} ms per generation over ${r.timing.reps} runs`);
      return r;
    } catch (err) {
      log(`decode ${shapeOf(B)}: ours failed: ${errorNote(err)}`);
      return { error: errorNote(err) };
    }
  });

  log(`peers: PyTorch, ${BATCHES.length} batch sizes`);
  const torch = runTorchCases({
    root,
    threads,
    script: 'torch_train.py',
    cases: BATCHES.map((B, i) => torchCase(B, quick, String(i))),
  });
  const status = torchPeerStatus(torch, threads);
  notes.push(...status.notes);

  const rows = BATCHES.map((B, i) => {
    const shape = shapeOf(B);
    const work = { tokens: B * NEW_TOKENS };
    const o = oursRuns[i];
    let ours;
    if (o.error) ours = emptySide('error', o.error);
    else {
      ours = okSide(o.timing, work, { samplesMs: o.timing.samples.map((s) => s.runMs), uncachedAgreement: o.agree });
      const ok = o.tokens === B * NEW_TOKENS && o.inVocab && o.deterministic && o.agree === CROSS_CHECK_TOKENS;
      checks.push({
        ok,
        note: `${shape}, ours: ${o.tokens} tokens (${B}×${NEW_TOKENS} expected), in vocabulary ${o.inVocab}, same every run ${o.deterministic}, ` +
          `first ${o.agree}/${CROSS_CHECK_TOKENS} equal to uncached greedy decoding` + (ok ? '' : ' — CHECK FAILED'),
      });
    }

    let peer;
    if (torch.status !== 'ok') peer = emptySide(status.peer.status, undefined, { name: 'PyTorch' });
    else {
      const r = torch.results.get(String(i));
      if (!r) peer = emptySide('error', 'no result from torch_train.py', { name: 'PyTorch' });
      else if (r.error) peer = emptySide('error', r.error, { name: 'PyTorch' });
      else {
        peer = okSide({ medianMs: r.median_ms, minMs: r.min_ms, reps: r.reps, inner: 1 }, work, {
          name: 'PyTorch', samplesMs: r.samples_ms,
        });
        const [rb, rn] = r.tokens_shape;
        const ok = rb === B && rn === NEW_TOKENS && r.tokens_in_vocab && r.same_tokens_every_run;
        checks.push({
          ok,
          note: `${shape}, PyTorch: tokens [${r.tokens_shape}] ([${B}, ${NEW_TOKENS}] expected), in vocabulary ${r.tokens_in_vocab}, ` +
            `same every run ${r.same_tokens_every_run}` + (ok ? '' : ' — CHECK FAILED'),
        });
      }
    }
    const row = makeRow({ kernel: 'greedy decode', shape, work, ours, peer, bar: BAR, threads });
    log(
      `decode ${shape}: ours ${ours.rate ? `${ours.rate.value.toFixed(0)} tokens/s` : ours.status}, ` +
        `PyTorch ${peer.rate ? `${peer.rate.value.toFixed(0)} tokens/s` : peer.status}` +
        (row.speedup != null ? `, ${row.speedup.toFixed(2)}×` : ''),
    );
    return row;
  });

  notes.push(...checks.map((c) => c.note));
  notes.push(
    `tokens/s = batch·${NEW_TOKENS} / median generation time (a ${PROMPT}-token prompt forward, then single-token ` +
      'forwards with the KV cache, argmax, no sampling); PyTorch under torch.no_grad() with per-layer k/v buffers written in place',
  );
  return { rows, peers: { torch: status.peer }, notes, machine: { torch: status.peer.version ?? null } };
}
