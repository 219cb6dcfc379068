"""Reference pre-training run in PyTorch: nanoGPT's train.py loop for the
shakespeare-char CPU config (the `shakespeare-char` preset of `lmkit train`),
with the nanoGPT-equivalent model of torch_train.py. Prints train/val loss at
each evaluation as JSON lines, so lmkit's final val loss can be compared with
what PyTorch reaches on the same data, split and hyper-parameters.

Usage: /usr/bin/python3 bench/peers/torch_pretrain.py CORPUS [--seed N] [--threads N] [--iters N]
"""
import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_train import GPT  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument('corpus')
ap.add_argument('--seed', type=int, default=1337)
ap.add_argument('--threads', type=int, default=2)
ap.add_argument('--iters', type=int, default=2000)
args = ap.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)

# nanoGPT data/shakespeare_char/prepare.py: char vocab over the whole text, 90/10 split.
text = open(args.corpus, encoding='utf-8').read()
chars = sorted(set(text))
stoi = {ch: i for i, ch in enumerate(chars)}
data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(data))
splits = {'train': data[:n], 'val': data[n:]}

# config/train_shakespeare_char.py + the README's CPU overrides.
block, batch, iters = 64, 12, args.iters
lr, min_lr, warmup, decay_iters = 1e-3, 1e-4, 100, args.iters
model = GPT({'vocab': len(chars), 'n_positions': block, 'n_embd': 128, 'n_head': 4, 'n_layer': 4, 'bias': False})
# nanoGPT configure_optimizers: decay every >= 2-D tensor (embeddings included).
decay = [p for p in model.parameters() if p.dim() >= 2]
no_decay = [p for p in model.parameters() if p.dim() < 2]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                        lr=lr, betas=(0.9, 0.99))


def get_batch(split):
    d = splits[split]
    ix = torch.randint(len(d) - block, (batch,))
    x = torch.stack([d[i:i + block] for i in ix])
    y = torch.stack([d[i + 1:i + 1 + block] for i in ix])
    return x, y


def get_lr(it):
    if it < warmup:
        return lr * (it + 1) / (warmup + 1)
    if it > decay_iters:
        return min_lr
    ratio = (it - warmup) / (decay_iters - warmup)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (lr - min_lr)


@torch.no_grad()
def estimate_loss(eval_iters=20):
    model.eval()
    out = {}
    for split in ('train', 'val'):
        losses = [F.cross_entropy(model(x).view(-1, len(chars)), y.view(-1)).item() for x, y in (get_batch(split) for _ in range(eval_iters))]
        out[split] = sum(losses) / len(losses)
    model.train()
    return out


started = time.time()
for it in range(iters + 1):
    for g in opt.param_groups:
        g['lr'] = get_lr(it)
    if it % 250 == 0 or it == iters:
        losses = estimate_loss()
        print(json.dumps({'iter': it, 'train_loss': losses['train'], 'val_loss': losses['val'], 'elapsed_s': time.time() - started}), flush=True)
    if it == iters:
        break
    x, y = get_batch('train')
    loss = F.cross_entropy(model(x).view(-1, len(chars)), y.view(-1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
