"""Checkpoints of a :class:`~optimlab.training.Trainer`: the file format, reading it back, writing it safely."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import torch

__all__ = ["FORMAT", "KEYS", "read_checkpoint", "write_checkpoint", "check_optimizer_kind", "state_checksum"]

FORMAT = "optimlab-checkpoint-1"
KEYS = ("epoch", "step", "model", "optimizer", "scheduler", "shuffle_rng", "torch_rng", "history", "fit_config")
"""What every checkpoint holds (besides ``format`` and ``callbacks``)."""


def write_checkpoint(state: dict, path: str | Path) -> Path:
    """Write ``state`` with ``torch.save`` to ``path`` through a temporary file, so a crash
    never leaves a half-written checkpoint."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    torch.save({"format": FORMAT, **state, "checksum": state_checksum(state)}, buf)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)
    return path


def state_checksum(state: Any) -> str:
    """SHA-256 over a checkpoint's contents: every tensor's dtype, shape and bytes and every
    other value's ``repr``, in key order. A flipped byte inside a tensor changes it."""
    h = hashlib.sha256()
    _digest(h, state)
    return h.hexdigest()


def _digest(h: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        t = value.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    elif isinstance(value, dict):
        h.update(f"D{len(value)}".encode())
        for k in sorted(value, key=repr):
            h.update(repr(k).encode())
            _digest(h, value[k])
    elif isinstance(value, (list, tuple)):
        h.update(f"L{len(value)}".encode())
        for v in value:
            _digest(h, v)
    else:
        h.update(repr(value).encode())


def read_checkpoint(path: str | Path, argument: str = "resume_from") -> dict:
    """The state saved in ``path``, checked; ``argument`` names the file in errors."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{argument}: checkpoint {str(path)!r} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # any file torch cannot read (text, a truncated or foreign pickle, ...)
        raise ValueError(f"{str(path)!r} is not an optimlab checkpoint: torch.load failed "
                         f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        held = f"a dict without format {FORMAT!r}" if isinstance(state, dict) else \
            f"a {type(state).__name__}"
        raise ValueError(f"{str(path)!r} is not an optimlab checkpoint: it holds {held} (checkpoints are "
                         f"written by Trainer.save_checkpoint or ModelCheckpoint)")
    missing = [k for k in KEYS if k not in state]
    if missing:
        raise ValueError(f"{str(path)!r} is not an optimlab checkpoint: it lacks {', '.join(missing)}")
    stored = state.pop("checksum", None)  # checkpoints written before checksums have none
    body = {k: v for k, v in state.items() if k != "format"}
    if stored is not None and stored != state_checksum(body):
        raise ValueError(f"{str(path)!r} is damaged: its contents do not match the checksum written with it "
                         f"(bytes changed after saving); nothing was loaded")
    try:
        state["fit_config"] = json.loads(state["fit_config"])
        if not isinstance(state["fit_config"], dict):
            raise ValueError("not a JSON object")
    except (TypeError, ValueError) as e:
        raise ValueError(f"{str(path)!r} is not an optimlab checkpoint: its fit_config is not valid ({e})") \
            from None
    return state


def check_optimizer_kind(mine: dict, saved: Any) -> None:
    """torch loads any optimizer's state into any other (an SGD state into Adam, whose next
    step then fails on ``betas``): a checkpoint's groups may not both lack this optimizer's
    options and hold others."""
    groups = saved.get("param_groups") if isinstance(saved, dict) else None
    if not isinstance(groups, list) or len(groups) != len(mine["param_groups"]):
        raise ValueError(f"its optimizer state has {len(groups) if isinstance(groups, list) else 'no'} parameter "
                         f"groups, this optimizer {len(mine['param_groups'])}")
    for g, own in zip(groups, mine["param_groups"]):
        theirs = set(g) if isinstance(g, dict) else set()
        extra, missing = theirs - set(own), set(own) - theirs
        # only one of the two is an older checkpoint (options added since) or a schedule's keys (initial_lr)
        if not isinstance(g, dict) or (extra and missing):
            raise ValueError(f"its optimizer is another kind: options {sorted(extra)} are not this "
                             f"optimizer's and {sorted(missing)} are missing")
