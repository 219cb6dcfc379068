"""PyTorch peer for the distributed bench suite: the nanoGPT-equivalent GPT of
torch_train.py trained data parallel with torch.nn.parallel.DistributedDataParallel
over the gloo backend (CPU, loopback TCP), as a torch 1.13 user would scale a
CPU run to several processes.

stdin:  {"cases": [{"id", "world", "ddp", "threads", n_layer, n_embd, n_head,
         block, batch, vocab, bias, lr, beta1, beta2, eps, weight_decay,
         grad_clip, warmup, steps}]}
stdout: {"torch": version, "results": [{"id", "median_ms", "min_ms", "reps",
         "samples_ms", "world", "initial_loss"} | {"id", "error"}]}

A case runs `world` processes (torch.multiprocessing, spawn), each with
`threads` intra-op threads, its own random token batches of `batch` rows and
the same initial weights (seed 0). ddp = false runs one plain process (no
process group), the baseline DDP's overhead is measured against. One step =
forward + cross-entropy + backward (DDP all-reduces its 25 MB buckets
during it) + clip_grad_norm_ + AdamW + zero_grad; rank 0's step times are
reported after `warmup` steps; a barrier before each step keeps the ranks
in step so rank 0's time is the job's.
"""
import json
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

try:
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
    import torch.nn.functional as F
    from torch_train import GPT, summary
except ImportError:
    print(json.dumps({"error": "torch is not installed", "install": "apt-get install python3-torch"}))
    sys.exit(0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train(rank, c, port, out_file):
    torch.set_num_threads(c["threads"])
    if c["ddp"]:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=c["world"])
    torch.manual_seed(0)
    model = GPT({**c, "n_positions": c["block"]})
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and not n.startswith(("wte", "wpe"))]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and not n.startswith(("wte", "wpe")))]
    groups = [{"params": decay, "weight_decay": c["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=c["lr"], betas=(c["beta1"], c["beta2"]), eps=c["eps"])
    net = torch.nn.parallel.DistributedDataParallel(model) if c["ddp"] else model
    B, T, V = c["batch"], c["block"], c["vocab"]
    g = torch.Generator().manual_seed(1 + rank)
    samples, losses = [], []
    for i in range(c["warmup"] + c["steps"]):
        x = torch.randint(0, V, (B, T), generator=g)
        y = torch.randint(0, V, (B, T), generator=g)
        if c["ddp"]:
            dist.barrier()
        t0 = time.perf_counter()
        loss = F.cross_entropy(net(x).view(-1, V), y.view(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), c["grad_clip"])
        opt.step()
        opt.zero_grad(set_to_none=True)
        t1 = time.perf_counter()
        losses.append(loss.item())
        if i >= c["warmup"]:
            samples.append({"step_ms": (t1 - t0) * 1e3})
    if rank == 0:
        with open(out_file, "w") as f:
            json.dump({**summary(samples, "step_ms"), "world": c["world"], "initial_loss": losses[0]}, f)
    if c["ddp"]:
        dist.destroy_process_group()


def run_case(c):
    with tempfile.TemporaryDirectory() as tmp:
        out_file = os.path.join(tmp, "rank0.json")
        port = free_port()
        if c["ddp"]:
            mp.spawn(train, args=(c, port, out_file), nprocs=c["world"], join=True)
        else:
            train(0, c, port, out_file)
        with open(out_file) as f:
            return json.load(f)


def main():
    request = json.load(sys.stdin)
    results = []
    for case in request["cases"]:
        try:
            results.append({"id": case["id"], **run_case(case)})
        except Exception as err:  # one failed case must not hide the others
            results.append({"id": case.get("id"), "error": f"{type(err).__name__}: {err}"})
    print(json.dumps({"torch": torch.__version__, "results": results}))


if __name__ == "__main__":
    main()
