"""The PyTorch side of the "your own data" benchmark (docs/PERFORMANCE.md, session 5).

The model of `benches/regressor32.mlp` (32-64-64-1, ReLU, mean squared error, Adam with
Keras's defaults: learning rate 1e-3, betas 0.9 / 0.999, epsilon 1e-7, Glorot-uniform
kernels and zero biases), trained on the same CSV as `mlp train` (the one
`mlp-runtime/examples/csv_big.rs --out FILE` writes: a header, 32 features, the target
last) with batch 32, in the loop a PyTorch user writes for data that fits in memory: the
whole table as two tensors, a fresh permutation per epoch, one slice of it per step, the
running loss read with `.item()` (as Keras's progress bar and `mlp train` report it).
No `DataLoader`: its per-sample collation is several times slower than slicing tensors.

Prints the seconds of each epoch (wall clock, from the permutation to the last optimiser
step) and the process's CPU time over it (all threads), for one thread count:

    /tmp/venv-torch/bin/python scripts/torch_regressor.py /tmp/big/regression.csv \
        --threads 1 --cache /tmp/big/regression.npy

`--cache FILE.npy` keeps the parsed table (`np.loadtxt` takes tens of seconds on 313 MB);
keep it outside the repository, as the CSV. `--threads` sets `torch.set_num_threads` (one
value per process: PyTorch fixes its thread pool at the first operation). `--optimizer`
picks Adam's implementation: `for-loop` (the CPU default), `foreach` or `fused`.
"""

import argparse
import os
import sys
import time

import numpy as np
import torch


def load(path, cache):
    """The table as float32 (features, targets); the cache is written on first use."""
    start = time.perf_counter()
    if cache and os.path.exists(cache):
        table = np.load(cache)
        how = f"read the cache {cache}"
    else:
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
        how = f"parsed {path} with np.loadtxt"
        if cache:
            np.save(cache, table)
    seconds = time.perf_counter() - start
    print(f"{how}: {table.shape[0]} rows x {table.shape[1]} columns in {seconds:.1f} s")
    features = torch.from_numpy(np.ascontiguousarray(table[:, :-1]))
    targets = torch.from_numpy(np.ascontiguousarray(table[:, -1:]))
    return features, targets


def model(inputs, seed):
    """32-64-64-1 with Keras's initialisers."""
    torch.manual_seed(seed)
    net = torch.nn.Sequential(
        torch.nn.Linear(inputs, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 64),
        torch.nn.ReLU(),
        torch.nn.Linear(64, 1),
    )
    for layer in net:
        if isinstance(layer, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(layer.weight)
            torch.nn.init.zeros_(layer.bias)
    return net


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("csv", help="the CSV of csv_big.rs --out")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", help="a .npy file holding the parsed table")
    parser.add_argument(
        "--optimizer", choices=["for-loop", "foreach", "fused"], default="for-loop"
    )
    args = parser.parse_args()
    if args.threads < 1 or args.epochs < 1 or args.batch < 1:
        sys.exit("--threads, --epochs and --batch must be at least 1")

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    x, y = load(args.csv, args.cache)
    net = model(x.shape[1], args.seed)
    impl = {
        "for-loop": {"foreach": False},
        "foreach": {"foreach": True},
        "fused": {"fused": True},
    }[args.optimizer]
    opt = torch.optim.Adam(
        net.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-7, **impl
    )
    loss_fn = torch.nn.MSELoss()
    shuffle = torch.Generator().manual_seed(args.seed)
    n = x.shape[0]
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}, "
        f"Adam {args.optimizer}, batch {args.batch}, {n} samples"
    )
    for epoch in range(args.epochs):
        start, cpu = time.perf_counter(), time.process_time()
        order = torch.randperm(n, generator=shuffle)
        total = 0.0
        for first in range(0, n, args.batch):
            idx = order[first : first + args.batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        seconds = time.perf_counter() - start
        cpu = time.process_time() - cpu
        steps = (n + args.batch - 1) // args.batch
        print(
            f"epoch {epoch + 1}/{args.epochs}: {seconds:.3f} s "
            f"({seconds / steps * 1e6:.1f} us/step, {steps} steps), "
            f"loss {total / n:.4f}, threads {args.threads}, CPU time {cpu:.3f} s"
        )


if __name__ == "__main__":
    main()
