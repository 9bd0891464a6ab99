"""What the Trainer costs: time per epoch of digits-mlp, Trainer versus a plain loop.

Four variants, same data, same initial weights, same shuffling, interleaved in one run
(round-robin repeats, the median per variant), so the ratios compare like with like:

* plain loop + torch.optim.Adam      (the reference a user would write by hand)
* plain loop + optimlab.optim.Adam
* Trainer    + torch.optim.Adam
* Trainer    + optimlab.optim.Adam
* Trainer    + optimlab.optim.Adam, without the training-accuracy metric

The plain loop records what the curves need (each batch's loss, validation loss and
accuracy after each epoch); the Trainer also records training accuracy, learning
rate and times. Target: the Trainer adds under 10 % over the plain loop.

    PYTHONPATH=. python benchmarks/train_overhead.py [--epochs 10] [--repeats 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

import optimlab.optim as oo
import optimlab.problems as P
from optimlab.training import Trainer


def plain_loop(model: nn.Module, opt: torch.optim.Optimizer, p: P.Problem, epochs: int, batch_size: int,
               seed: int) -> list[float]:
    X, Y = p.train.tensors
    Xv, Yv = p.val.tensors
    loss_fn = nn.CrossEntropyLoss()
    g = torch.Generator().manual_seed(seed)
    losses, per_epoch = [], []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        perm = torch.randperm(len(X), generator=g)
        for s in range(0, len(X), batch_size):
            idx = perm[s:s + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(X[idx]), Y[idx])
            losses.append(loss.item())
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            out = model(Xv)
            _val = (loss_fn(out, Yv).item(), (out.argmax(1) == Yv).float().mean().item())
        per_epoch.append(time.perf_counter() - t0)
    return per_epoch


def trainer_loop(model: nn.Module, opt: torch.optim.Optimizer, p: P.Problem, epochs: int, batch_size: int,
                 seed: int, metrics: tuple = ("accuracy",)) -> list[float]:
    h = Trainer(model, loss="cross_entropy", optimizer=opt, metrics=list(metrics)).fit(
        p.train, batch_size=batch_size, epochs=epochs, validation_data=p.val, seed=seed, verbose=0)
    return list(h.epoch_times)


def trainer_loop_loss_only(*args: object, **kw: object) -> list[float]:
    """The Trainer recording only what the plain loop records (no training accuracy)."""
    return trainer_loop(*args, metrics=(), **kw)  # type: ignore[arg-type]


VARIANTS = {
    "plain + torch.optim.Adam": (plain_loop, torch.optim.Adam),
    "plain + optimlab Adam": (plain_loop, oo.Adam),
    "Trainer + torch.optim.Adam": (trainer_loop, torch.optim.Adam),
    "Trainer + optimlab Adam": (trainer_loop, oo.Adam),
    "Trainer, no metrics + optimlab": (trainer_loop_loss_only, oo.Adam),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (1 suits tiny models)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    p = P.get("digits-mlp", seed=0)
    init = {k: v.clone() for k, v in p.model.state_dict().items()}
    times: dict[str, list[float]] = {k: [] for k in VARIANTS}
    finals: dict[str, torch.Tensor] = {}
    for r in range(args.repeats + 1):  # the first round warms up and is not counted
        for name, (loop, opt_cls) in VARIANTS.items():
            model = P.get("digits-mlp", seed=0).model
            model.load_state_dict(init)
            per_epoch = loop(model, opt_cls(model.parameters(), lr=1e-3), p, args.epochs, args.batch_size, seed=r)
            if r:
                times[name].append(statistics.median(per_epoch))
            finals[name] = torch.cat([q.detach().ravel() for q in model.parameters()])
    med = {k: statistics.median(v) for k, v in times.items()}
    ref = med["plain + torch.optim.Adam"]
    print(f"digits-mlp: {len(p.train)} examples, batch {args.batch_size} "
          f"({-(-len(p.train) // args.batch_size)} iterations/epoch), {args.epochs} epochs x {args.repeats} "
          f"repeats, {args.threads} thread(s); median time per epoch")
    print(f"{'variant':<32}{'ms/epoch':>10}{'vs plain+torch':>16}")
    for k, v in med.items():
        print(f"{k:<32}{v * 1e3:>10.2f}{v / ref:>16.3f}")
    print(f"Trainer overhead (torch Adam):    {med['Trainer + torch.optim.Adam'] / ref - 1:+.1%}")
    print(f"Trainer overhead (optimlab Adam): "
          f"{med['Trainer + optimlab Adam'] / med['plain + optimlab Adam'] - 1:+.1%}")
    print(f"Trainer overhead without training accuracy (optimlab Adam): "
          f"{med['Trainer, no metrics + optimlab'] / med['plain + optimlab Adam'] - 1:+.1%}")
    print(f"optimlab Adam vs torch Adam (plain loop): {med['plain + optimlab Adam'] / ref:.3f}x")
    same = max(float((finals[k] - finals['plain + torch.optim.Adam']).abs().max()) for k in finals)
    print(f"largest parameter difference between variants after the last round: {same:.3g}")


if __name__ == "__main__":
    main()
