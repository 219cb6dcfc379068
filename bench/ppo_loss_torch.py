"""PPO policy loss fwd+bwd as the PyTorch composition TRL uses (ratio, clamp,
max, k3 KL, masked mean, autograd), timed like bench/ppo_loss.mjs times
lmkit. Prints JSON: {"rowsxcols": median seconds}. Run with /usr/bin/python3."""
import json
import sys
import time

import torch

torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)
CLIP, KL = 0.2, 0.1


def step(logp, old, ref, adv, mask):
    logp = logp.detach().requires_grad_(True)
    ratio = torch.exp(logp - old)
    pg = torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - CLIP, 1 + CLIP))
    x = ref - logp
    k3 = torch.exp(x) - 1 - x
    den = mask.sum()
    loss = ((pg + KL * k3) * mask).sum() / den
    loss.backward()
    with torch.no_grad():  # the same stats lmkit returns
        clip_frac = ((-adv * torch.clamp(ratio, 1 - CLIP, 1 + CLIP) > -adv * ratio).float() * mask).sum() / den
        approx_kl = (0.5 * (logp - old) ** 2 * mask).sum() / den
    return loss.item(), clip_frac.item(), approx_kl.item(), logp.grad


out = {}
for rows, cols in [(64, 512), (256, 1024)]:
    n = (rows, cols)
    old = -torch.rand(n) * 3
    logp = old + torch.randn(n) * 0.3
    ref = old + torch.randn(n) * 0.2
    adv = torch.randn(n)
    mask = (torch.rand(n) < 0.9).float()
    for _ in range(20):
        step(logp, old, ref, adv, mask)
    times = []
    iters = 200 if rows * cols < 100000 else 50
    for _ in range(iters):
        t0 = time.perf_counter()
        step(logp, old, ref, adv, mask)
        times.append(time.perf_counter() - t0)
    times.sort()
    out[f'{rows}x{cols}'] = times[len(times) // 2]
print(json.dumps(out))
