"""Small torch helpers of the training lab: model state copies, DDP wrapping, the first bad row."""

from __future__ import annotations

import torch
from torch import nn


def copy_state(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def process_rank() -> int:
    import torch.distributed as dist

    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


def ddp_world(model: nn.Module) -> tuple[int, int]:
    """(rank, world size) when the model is wrapped in DistributedDataParallel, else (0, 1)."""
    from torch.nn.parallel import DistributedDataParallel

    if isinstance(model, DistributedDataParallel):
        import torch.distributed as dist

        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model) if type(model).__name__ == "DistributedDataParallel" else model


def first_bad_row(t: torch.Tensor) -> int:
    bad = ~torch.isfinite(t.reshape(len(t), -1)).all(1)
    return int(bad.nonzero()[0, 0])
