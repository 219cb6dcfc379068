"""PyTorch CPU peer for the kernel bench: times torch's own ops or, where
PyTorch has no fused op, the composition a user would write.

stdin:  a JSON object {"threads": N, "budget_ms": B, "cases": [{"id", "kind", ...}]}
        (a bare JSON list of cases is accepted too, with threads=1, budget 500 ms).
stdout: one JSON object {"torch": version, "threads": N, "results": [...]}, one
        result per case: {"id", "median_ms", "min_ms", "reps", "inner"} or {"id", "error"}.

Kinds and their shape fields:
  layernorm_fwd, layernorm_fwdbwd   rows, cols, eps
  attention_fwd, attention_fwdbwd   batch, heads, t, head_dim, causal
  ppo_fwdbwd                        rows, cols, clip_eps, kl_coef
  ce_fwdbwd                         rows, vocab

Timing mirrors bench/lib/timing.mjs: warm-up calls size the run, calls
shorter than 1 ms are grouped so a sample lasts >= 1 ms, and the median and
minimum time per call over the samples are reported.
"""
import json
import math
import statistics
import sys
import time

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print(json.dumps({"error": "torch is not installed", "install": "apt-get install python3-torch"}))
    sys.exit(0)


def measure(fn, budget_ms, min_reps=5, max_reps=1000, min_sample_ms=1.0):
    t0 = time.perf_counter()
    fn()
    per_call = (time.perf_counter() - t0) * 1e3
    if per_call < budget_ms / 5:
        # A second warm-up when it is cheap; the first call pays for
        # allocation and page faults, so size the run on the second.
        t0 = time.perf_counter()
        fn()
        per_call = min(per_call, (time.perf_counter() - t0) * 1e3)
    per_call = max(per_call, 1e-4)
    inner = math.ceil(min_sample_ms / per_call) if per_call < min_sample_ms else 1
    sample_ms = per_call * inner
    # Aim for budget_ms of samples, at least min_reps of them, but never
    # spend more than 4 budgets on one slow case.
    reps = min(max(round(budget_ms / sample_ms), min_reps), max_reps)
    reps = max(1, min(reps, math.floor(4 * budget_ms / sample_ms)))
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        samples.append((time.perf_counter() - t0) * 1e3 / inner)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "reps": reps, "inner": inner}


def layernorm(case, backward, backward_only=False):
    rows, cols, eps = case["rows"], case["cols"], case.get("eps", 1e-5)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, cols, generator=g, requires_grad=backward)
    w = torch.randn(cols, generator=g, requires_grad=backward)
    b = torch.randn(cols, generator=g, requires_grad=backward)
    dout = torch.randn(rows, cols, generator=g)
    if not backward:
        def fwd():
            with torch.no_grad():
                F.layer_norm(x, (cols,), w, b, eps)
        return fwd
    if backward_only:
        # One forward, then its backward alone (native_layer_norm_backward)
        # on every call: the graph is kept between calls.
        y = F.layer_norm(x, (cols,), w, b, eps)

        def bwd():
            x.grad = w.grad = b.grad = None
            y.backward(dout, retain_graph=True)
        return bwd

    def fwdbwd():
        x.grad = w.grad = b.grad = None
        F.layer_norm(x, (cols,), w, b, eps).backward(dout)
    return fwdbwd


def attention(case, backward):
    B, H, T, D = case["batch"], case["heads"], case["t"], case["head_dim"]
    causal = case.get("causal", True)
    scale = 1.0 / math.sqrt(D)
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(B, H, T, D, generator=g, requires_grad=backward) for _ in range(3))
    dout = torch.randn(B, H, T, D, generator=g)
    # True above the diagonal: key j is hidden from query i when j > i.
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1) if causal else None

    def forward():
        scores = (q @ k.transpose(-2, -1)) * scale  # (B, H, T, T)
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        return torch.softmax(scores, dim=-1) @ v  # (B, H, T, D)

    if not backward:
        def fwd():
            with torch.no_grad():
                forward()
        return fwd

    def fwdbwd():
        q.grad = k.grad = v.grad = None
        forward().backward(dout)
    return fwdbwd


def ppo(case):
    # The token-level PPO-clip loss with a k1 KL penalty, as TRL-style code
    # writes it, plus the statistics lmkit's fused kernel also returns.
    rows, cols = case["rows"], case["cols"]
    clip_eps, kl_coef = case.get("clip_eps", 0.2), case.get("kl_coef", 0.05)
    g = torch.Generator().manual_seed(0)
    logp = (torch.randn(rows, cols, generator=g) * 0.1 - 2.0).requires_grad_(True)
    old = logp.detach() + torch.randn(rows, cols, generator=g) * 0.1
    ref = logp.detach() + torch.randn(rows, cols, generator=g) * 0.1
    adv = torch.randn(rows, cols, generator=g)
    mask = (torch.rand(rows, cols, generator=g) < 0.9).float()

    def fwdbwd():
        logp.grad = None
        ratio = torch.exp(logp - old)
        pg1 = ratio * adv
        pg2 = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * adv
        policy = -torch.min(pg1, pg2)
        kl = logp - ref
        denom = mask.sum().clamp(min=1)
        loss = ((policy + kl_coef * kl) * mask).sum() / denom
        loss.backward()
        with torch.no_grad():
            clip_frac = (((ratio - 1).abs() > clip_eps).float() * mask).sum() / denom
            approx_kl = (0.5 * (logp - old) ** 2 * mask).sum() / denom
        return loss.item(), clip_frac.item(), approx_kl.item()
    return fwdbwd


def cross_entropy(case):
    rows, vocab = case["rows"], case["vocab"]
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(rows, vocab, generator=g, requires_grad=True)
    targets = torch.randint(0, vocab, (rows,), generator=g)

    def fwdbwd():
        logits.grad = None
        F.cross_entropy(logits, targets, ignore_index=-100).backward()
    return fwdbwd


BUILDERS = {
    "layernorm_fwd": lambda c: layernorm(c, False),
    "layernorm_fwdbwd": lambda c: layernorm(c, True),
    "layernorm_bwd": lambda c: layernorm(c, True, backward_only=True),
    "attention_fwd": lambda c: attention(c, False),
    "attention_fwdbwd": lambda c: attention(c, True),
    "ppo_fwdbwd": ppo,
    "ce_fwdbwd": cross_entropy,
}


def status_kib(field):
    """A kB field of /proc/self/status (VmRSS, VmHWM)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line (Linux only)")


def reset_peak_rss():
    """Resets VmHWM to VmRSS (Linux >= 4.0); where refused, the peak also
    counts the set-up before the baseline and reads high."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_growth_mib(case):
    """Peak RSS two calls add over the resident size with the inputs built,
    in a process that ran nothing else: this address space's high-water mark
    (VmHWM, reset at the baseline) after the calls minus the RSS before them.
    Not ru_maxrss: Linux carries it across exec, so it would read the size of
    the bench process that spawned this one. Outputs and gradients are
    allocated by the calls, so they count (lmkit's side counts its
    preallocated outputs the same way)."""
    fn = BUILDERS[case["kind"]](case)
    reset_peak_rss()
    before = status_kib("VmRSS")
    fn()
    fn()
    after = status_kib("VmHWM")
    return (after - before) / 1024.0


def main():
    request = json.load(sys.stdin)
    if isinstance(request, list):
        request = {"cases": request}
    threads = int(request.get("threads", 1))
    budget_ms = float(request.get("budget_ms", 500))
    torch.set_num_threads(threads)
    if request.get("memory"):
        # One case per process: the high-water mark must not carry an earlier case's.
        case = request["cases"][0]
        try:
            result = {"id": case["id"], "peak_growth_mib": peak_growth_mib(case)}
        except Exception as err:
            result = {"id": case.get("id"), "error": f"{type(err).__name__}: {err}"}
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": [result]}))
        return
    results = []
    for case in request["cases"]:
        try:
            build = BUILDERS[case["kind"]]
            results.append({"id": case["id"], **measure(build(case), budget_ms)})
        except Exception as err:  # one failing case must not hide the others
            results.append({"id": case.get("id"), "error": f"{type(err).__name__}: {err}"})
    print(json.dumps({
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "results": results,
    }))


if __name__ == "__main__":
    main()
