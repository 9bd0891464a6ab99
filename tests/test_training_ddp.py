"""Data-parallel training: 2 processes under DistributedDataParallel (gloo, CPU) take the same
steps as one process on the whole batch, with an optimlab optimizer used unchanged."""

from __future__ import annotations

import datetime
import multiprocessing

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from cli_helpers import FORK_WARNING

import optimlab.problems as P
from optimlab.training import Trainer

WORLD = 2
B = 30  # per process; one process uses WORLD·B
EPOCHS = 3
OPT = "adam:lr=0.05"



def _problem():
    return P.get("linreg-synthetic", seed=4, d=5, condition=20.0, dtype=torch.float64)


def _worker(rank: int, store: str, out: str) -> None:
    torch.set_num_threads(1)
    # a short timeout: a process left waiting in a collective fails the test instead of hanging it
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD,
                            timeout=datetime.timedelta(seconds=60))
    try:
        p = _problem()
        model = torch.nn.parallel.DistributedDataParallel(p.model)
        h = Trainer(model, loss=p.loss, optimizer=OPT).fit(p.train, batch_size=B, epochs=EPOCHS, seed=11,
                                                          shuffle=True, verbose=0)
        flat = torch.cat([q.detach().ravel() for q in p.model.parameters()])
        # a loss that turns NaN on rank 1 only, at its 4th batch: every process must stop there together
        calls = []

        def nan_on_rank1(output, target):
            calls.append(len(output) == B)  # training batches; the Trainer's shape check uses 2 rows
            loss = torch.nn.functional.mse_loss(output, target)
            return loss * float("nan") if rank == 1 and sum(calls) == 4 and calls[-1] else loss

        p2 = _problem()
        h2 = Trainer(torch.nn.parallel.DistributedDataParallel(p2.model), loss=nan_on_rank1, optimizer=OPT).fit(
            p2.train, batch_size=B, epochs=EPOCHS, seed=11, verbose=0)
        torch.save({"params": flat, "ipe": h.iterations_per_epoch, "steps": h.steps,
                    "nan_run": (h2.stop_reason, h2.steps)}, f"{out}.{rank}")
        dist.barrier()  # nobody tears gloo down while the other still talks
    finally:
        dist.destroy_process_group()


@pytest.mark.slow  # starts two worker processes
@pytest.mark.filterwarnings(f"ignore:{FORK_WARNING}:DeprecationWarning")  # cli_helpers.FORK_WARNING
@pytest.mark.skipif(not dist.is_available(), reason="torch built without torch.distributed")
def test_two_process_ddp_equals_one_process_on_the_full_batch(tmp_path):
    store, out = str(tmp_path / "store"), str(tmp_path / "params")
    # forked, the workers start with torch and optimlab imported: spawned, each imported them again
    # (about 3 s of CPU per process, most of this test's time); spawn where fork does not exist
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    mp.start_processes(_worker, args=(store, out), nprocs=WORLD, join=True, start_method=method)
    r0, r1 = (torch.load(f"{out}.{r}") for r in range(WORLD))
    torch.testing.assert_close(r0["params"], r1["params"], rtol=0, atol=0)  # replicas stay identical

    p = _problem()
    h = Trainer(p.model, loss=p.loss, optimizer=OPT).fit(p.train, batch_size=WORLD * B, epochs=EPOCHS, seed=11,
                                                        shuffle=True, verbose=0)
    single = torch.cat([q.detach().ravel() for q in p.model.parameters()])
    assert r0["ipe"] == h.iterations_per_epoch == len(p.train) // (WORLD * B)
    assert r0["steps"] == h.steps
    assert r0["nan_run"] == r1["nan_run"] == ("diverged", 3)  # nobody hung, both stopped at the same batch
    np.testing.assert_allclose(r0["params"].numpy(), single.numpy(), rtol=0, atol=1e-10)
    # and training moved the parameters far more than that tolerance
    assert float((single - torch.cat([q.detach().ravel() for q in _problem().model.parameters()])).abs().max()) > 0.1
