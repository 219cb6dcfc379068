"""PyTorch CPU peer for the train and decode bench suites: a nanoGPT-equivalent
GPT written in plain torch, timed the way a user of torch 1.13 on a CPU
would run it.

The model matches lmkit's DecoderLM for the config the suite passes: learned
token and position embeddings, pre-LN blocks, exact GELU, optional biases,
lm_head tied to wte, N(0, 0.02) init with GPT-2's 0.02/sqrt(2*n_layer) on the
residual projections. Attention is the explicit matmul -> masked softmax ->
matmul composition (torch 1.13 CPU has no fused scaled_dot_product_attention).

stdin:  {"threads": N, "cases": [{"id", "kind": "train" | "decode", ...}]}
stdout: {"torch": version, "threads": N, "results": [...]}, one result per case
        ({"id", ..., "error"} when the case failed).

train case:  n_layer, n_embd, n_head, block, batch, vocab, bias, lr, beta1,
             beta2, eps, weight_decay, grad_clip, warmup, min_steps,
             max_steps, budget_s
  One step = forward + cross-entropy + backward + clip_grad_norm_ +
  AdamW.step (torch's default loop, fused=False where the flag exists) + zero_grad, on uniformly random
  token batches. Result: per-step samples (total and forward / backward /
  optimizer), the loss of the first step (random init: about ln(vocab)).
decode case: n_layer, n_embd, n_head, vocab, bias, batch, prompt, new_tokens,
             warmup, min_runs, max_runs, budget_s
  Greedy generation under torch.no_grad(): one forward over the prompt, then
  one single-token forward per new token, each layer keeping its k/v in a
  preallocated [B, H, prompt + new, D] buffer written in place (cheaper than
  torch.cat per step). Result: per-run samples and the tokens generated.

Timing mirrors bench/suites/train.mjs and decode.mjs: warm-up runs first,
then at least min_* timed runs, more while the budget lasts, at most max_*.
"""
import inspect
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:
    print(json.dumps({"error": "torch is not installed", "install": "apt-get install python3-torch"}))
    sys.exit(0)


class SelfAttention(nn.Module):
    def __init__(self, n_embd, n_head, bias):
        super().__init__()
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)

    def forward(self, x, cache=None):
        B, T, C = x.shape
        H, D = self.n_head, C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)
        q = q.view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = k.view(B, T, H, D).transpose(1, 2)
        v = v.view(B, T, H, D).transpose(1, 2)
        start = 0
        if cache is not None:
            # Append this step's k/v to the layer's buffer, attend over all of it.
            start = cache["length"]
            cache["k"][:, :, start:start + T] = k
            cache["v"][:, :, start:start + T] = v
            cache["length"] = start + T
            k = cache["k"][:, :, :start + T]
            v = cache["v"][:, :, :start + T]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))  # (B, H, T, S)
        if T > 1:
            S = k.shape[2]
            # Query i (at position start + i) sees keys 0 .. start + i.
            visible = torch.ones(T, S, dtype=torch.bool).tril(diagonal=start)
            att = att.masked_fill(~visible, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.c_proj(y)


class Block(nn.Module):
    def __init__(self, n_embd, n_head, bias):
        super().__init__()
        self.ln_1 = nn.LayerNorm(n_embd, elementwise_affine=True)
        self.attn = SelfAttention(n_embd, n_head, bias)
        self.ln_2 = nn.LayerNorm(n_embd, elementwise_affine=True)
        self.c_fc = nn.Linear(n_embd, 4 * n_embd, bias=bias)
        self.c_proj = nn.Linear(4 * n_embd, n_embd, bias=bias)
        if not bias:
            # nanoGPT's LayerNorm(bias=False); torch 1.13 has no such flag.
            self.ln_1.bias = None
            self.ln_2.bias = None

    def forward(self, x, cache=None):
        x = x + self.attn(self.ln_1(x), cache)
        return x + self.c_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c["vocab"], c["n_embd"])
        self.wpe = nn.Embedding(c["n_positions"], c["n_embd"])
        self.h = nn.ModuleList([Block(c["n_embd"], c["n_head"], c["bias"]) for _ in range(c["n_layer"])])
        self.ln_f = nn.LayerNorm(c["n_embd"])
        if not c["bias"]:
            self.ln_f.bias = None
        self.apply(self._init)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c["n_layer"]))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, mean=0.0, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)

    def forward(self, idx, caches=None):
        B, T = idx.shape
        start = caches[0]["length"] if caches else 0
        pos = torch.arange(start, start + T, dtype=torch.long)
        x = self.wte(idx) + self.wpe(pos)
        for i, block in enumerate(self.h):
            x = block(x, caches[i] if caches else None)
        return F.linear(self.ln_f(x), self.wte.weight)  # tied lm_head


def runs(fn, warmup, min_runs, max_runs, budget_s):
    """Warm-up runs, then timed runs until the budget is spent (at least min_runs)."""
    for _ in range(warmup):
        fn()
    samples = []
    started = time.perf_counter()
    while len(samples) < max_runs and (len(samples) < min_runs or time.perf_counter() - started < budget_s):
        samples.append(fn())
    return samples


def train_case(c):
    torch.manual_seed(0)
    model = GPT({**c, "n_positions": c["block"]})
    model.train()
    # lmkit's AdamW default grouping: decay 2-D weights that are not embeddings.
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith(("wte", "wpe"))]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith(("wte", "wpe")))]
    groups = [{"params": decay, "weight_decay": c["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    kwargs = {"lr": c["lr"], "betas": (c["beta1"], c["beta2"]), "eps": c["eps"]}
    # torch 1.13's AdamW has no fused kernel; newer torch would pick one by
    # itself, so ask for the plain loop and keep the peer the same across versions.
    if "fused" in inspect.signature(torch.optim.AdamW.__init__).parameters:
        kwargs["fused"] = False
    opt = torch.optim.AdamW(groups, **kwargs)
    B, T, V = c["batch"], c["block"], c["vocab"]
    g = torch.Generator().manual_seed(1)
    losses = []

    def step():
        x = torch.randint(0, V, (B, T), generator=g)
        y = torch.randint(0, V, (B, T), generator=g)
        t0 = time.perf_counter()
        logits = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        losses.append(loss.item())
        return {"step_ms": (t3 - t0) * 1e3, "forward_ms": (t1 - t0) * 1e3,
                "backward_ms": (t2 - t1) * 1e3, "optimizer_ms": (t3 - t2) * 1e3}

    samples = runs(step, c["warmup"], c["min_steps"], c["max_steps"], c["budget_s"])
    params = sum(p.numel() for p in model.parameters())
    return {
        **summary(samples, "step_ms"),
        "phases": {k: statistics.median(s[k] for s in samples) for k in ("forward_ms", "backward_ms", "optimizer_ms")},
        "initial_loss": losses[0],
        "last_loss": losses[-1],
        "params": params,
    }


def decode_case(c):
    torch.manual_seed(0)
    B, P, N, V = c["batch"], c["prompt"], c["new_tokens"], c["vocab"]
    model = GPT({**c, "n_positions": P + N})
    model.eval()
    H, D = c["n_head"], c["n_embd"] // c["n_head"]
    prompt = torch.randint(0, V, (B, P), generator=torch.Generator().manual_seed(1))
    produced = []

    def generate():
        t0 = time.perf_counter()
        with torch.no_grad():
            caches = [{"k": torch.empty(B, H, P + N, D), "v": torch.empty(B, H, P + N, D), "length": 0}
                      for _ in range(c["n_layer"])]
            tokens = []
            nxt = model(prompt, caches)[:, -1, :].argmax(dim=-1, keepdim=True)  # (B, 1)
            tokens.append(nxt)
            for _ in range(N - 1):
                nxt = model(nxt, caches)[:, -1, :].argmax(dim=-1, keepdim=True)
                tokens.append(nxt)
            out = torch.cat(tokens, dim=1)
        ms = (time.perf_counter() - t0) * 1e3
        produced.append(out)
        return {"run_ms": ms}

    samples = runs(generate, c["warmup"], c["min_runs"], c["max_runs"], c["budget_s"])
    out = produced[-1]
    return {
        **summary(samples, "run_ms"),
        "tokens_shape": list(out.shape),
        "tokens_in_vocab": bool(((out >= 0) & (out < V)).all()),
        "same_tokens_every_run": all(torch.equal(o, out) for o in produced),
        "first_tokens": out[0, :16].tolist(),
    }


def summary(samples, key):
    values = [s[key] for s in samples]
    return {"median_ms": statistics.median(values), "min_ms": min(values), "reps": len(values), "samples_ms": values}


def main():
    request = json.load(sys.stdin)
    threads = int(request.get("threads", 1))
    torch.set_num_threads(threads)
    results = []
    for case in request["cases"]:
        try:
            fn = {"train": train_case, "decode": decode_case}[case["kind"]]
            results.append({"id": case["id"], **fn(case)})
        except Exception as err:  # one failed case must not hide the others
            results.append({"id": case.get("id"), "error": f"{type(err).__name__}: {err}"})
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
