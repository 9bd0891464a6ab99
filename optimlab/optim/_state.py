"""Optimizer state: checks on loading, old formats, and complex parameters as real pairs.

* :func:`check_loaded_state` refuses, before anything is loaded, a state tensor that
  does not fit its parameter (shape, real vs complex): torch's default path would fail
  at the next ``step()`` ("The size of tensor a (3) must match the size of tensor b
  ..."), and a fused kernel, which trusts shapes, would read or write out of bounds.
* :func:`tensorize_scalars` turns a plain-number ``step`` (or NAdam's ``mu_product``)
  of an older or foreign checkpoint into the tensor torch's classes convert it to.
* :func:`real_view_update` runs an update on ``torch.view_as_real`` of a complex
  parameter, its gradient and its state, as torch does: a complex number is updated
  as the pair (real, imaginary) of independent coordinates.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor

from ._fused import SCALAR_STATE
from .hparams import broadcasts_to

__all__ = ["check_loaded_state", "tensorize_scalars", "real_view_update"]


def _shape(v: Any) -> str:
    return str(tuple(v.shape))


def check_loaded_state(owner: str, state_dict: dict[str, Any], param_groups: list[dict[str, Any]]) -> None:
    """Raise ``RuntimeError`` naming the entry if a saved state tensor does not fit its parameter."""
    saved = state_dict.get("param_groups")
    if not isinstance(saved, list) or len(saved) != len(param_groups) or any(
            len(s.get("params", ())) != len(g["params"]) for s, g in zip(saved, param_groups)):
        return  # torch's load_state_dict gives its own error for a mismatched layout
    params = {}
    for s, g in zip(saved, param_groups):
        for index, (pid, p) in enumerate(zip(s["params"], g["params"])):
            params[pid] = (index, p, s)
    for pid, pstate in state_dict.get("state", {}).items():
        if pid not in params:
            continue
        index, p, group = params[pid]
        where = f"{owner}.load_state_dict: state[{pid!r}][{{key!r}}] (parameter {index} of shape {_shape(p)})"
        for key, value in pstate.items():
            _check_entry(where.format(key=key), key, value, p, group)


# state tensors that broadcast against the parameter rather than match it: Adafactor's factors
FACTORED_STATE = ("row_var", "col_var")


# state tensors kept on every slice_p-th element of the flattened parameter (Prodigy's, as prodigyopt)
SLICED_STATE = ("s", "p0")


def sliced(t: Tensor, runs: int | None, k: int) -> Tensor:
    """Every k-th element of ``t`` flattened (prodigyopt's ``t.flatten()[::k]``), of each run's
    ``t[r]`` with runs (shape (R, ⌈n/k⌉)); ``t`` itself when k = 1 (the same sums)."""
    if k == 1:
        return t
    return t.reshape(-1)[::k] if runs is None else t.reshape(runs, -1)[:, ::k]


def sliced_shapes(key: str, p: Tensor, group: dict[str, Any]) -> list[torch.Size]:
    """The shapes a :data:`SLICED_STATE` entry of ``p`` may have in a saved group: :func:`sliced`
    with k = the group's ``slice_p``, for one run or with the first dimension counting runs;
    also flat for k = 1 (prodigyopt's layout); for ``p0`` also 0-d (prodigyopt's zero for a
    parameter that was all zeros)."""
    k = group.get("slice_p", 1)
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        return []  # the group's options are checked (and refused) afterwards
    meta = torch.empty(p.shape, device="meta")
    shapes = [sliced(meta.reshape(-1), None, k).shape, sliced(meta, None, k).shape]
    if p.dim() > 0:
        shapes.append(sliced(meta, p.shape[0], k).shape)
    if key == "p0":
        shapes.append(torch.Size([]))
    return shapes


# state tensors that are per-dimension matrices, not per-element: SOAP's preconditioners (key prefix)
MATRIX_STATE_PREFIX = "precond_"


def _merged_sizes(shape: tuple[int, ...]) -> set[int]:
    """The sizes of ``shape`` and the products of consecutive ones, also in (N, C, H, W) order
    of the last four (SOAP's ``merge_dims`` multiplies consecutive sizes)."""
    orders = [tuple(shape)]
    if len(shape) >= 4:
        *lead, n, h, w, c = shape
        orders.append((*lead, n, c, h, w))
    out = set()
    for sizes in orders:
        for i in range(len(sizes)):
            product = 1
            for n in sizes[i:]:
                product *= n
                out.add(product)
    return out


def _check_matrix(where: str, value: Any, p: Tensor) -> None:
    if not isinstance(value, Tensor) or value.dim() < 2 or value.shape[-1] != value.shape[-2] or \
            value.shape[-1] not in _merged_sizes(p.shape) or value.is_complex() or not value.is_floating_point():
        got = f"a {value.dtype} tensor of shape {_shape(value)}" if isinstance(value, Tensor) else repr(value)
        raise RuntimeError(f"{where} must be a real square matrix (or one per run) of a size of the parameter "
                           f"(or a product of consecutive sizes), got {got}; nothing was loaded")


def _check_entry(where: str, key: str, value: Any, p: Tensor, group: dict[str, Any]) -> None:
    if key.startswith(MATRIX_STATE_PREFIX):
        return _check_matrix(where, value, p)
    if key in SCALAR_STATE or key in FACTORED_STATE:
        if isinstance(value, Tensor):
            if value.is_complex() or not broadcasts_to(value.shape, p.shape):
                raise RuntimeError(f"{where} must be a real number or broadcast against the parameter, "
                                   f"got a {value.dtype} tensor of shape {_shape(value)}; nothing was loaded")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            raise RuntimeError(f"{where} must be a number or a tensor, got {value!r}; nothing was loaded")
        return
    if not isinstance(value, Tensor):
        if value is None or isinstance(value, (str, bytes, bool, int, float, complex)):
            return  # not per-element state (torch's classes keep no such entries, others might)
        raise RuntimeError(f"{where} must be a tensor, got {type(value).__name__}; nothing was loaded")
    if value.shape != p.shape and not (key in SLICED_STATE and value.shape in sliced_shapes(key, p, group)):
        raise RuntimeError(f"{where}: the size of the state tensor {_shape(value)} must match the size of the "
                           f"parameter {_shape(p)}; nothing was loaded")
    if value.is_complex() != p.is_complex() or (p.is_floating_point() and not (
            value.is_floating_point() or value.is_complex())):
        raise RuntimeError(f"{where} has dtype {value.dtype}, which does not fit a {p.dtype} parameter; "
                           "nothing was loaded")


def tensorize_scalars(state: dict[Any, dict[str, Any]], dtype: torch.dtype) -> None:
    """A plain-number step or mu_product becomes a 0-dim tensor, as torch's classes convert it."""
    for pstate in state.values():
        for key in SCALAR_STATE:
            v = pstate.get(key)
            if v is not None and not isinstance(v, Tensor):
                pstate[key] = torch.tensor(float(v), dtype=dtype)


def _trailing(v: Any) -> Any:
    """A per-run tensor hyperparameter, given one more trailing dimension for the (re, im) pair."""
    if isinstance(v, Tensor) and v.dim() > 0:
        return v.unsqueeze(-1)
    if isinstance(v, tuple):
        return tuple(_trailing(x) for x in v)
    return v


def real_view_update(update: Callable[..., None], p: Tensor, g: Tensor, state: dict[str, Any],
                     group: dict[str, Any], lr: Any) -> None:
    """``update`` on the real views of a complex parameter, gradient and state (torch's convention)."""
    rp, rg = torch.view_as_real(p), _real(g)
    view = {k: torch.view_as_real(v) if isinstance(v, Tensor) and v.is_complex() else v for k, v in state.items()}
    before = dict(view)
    if any(isinstance(v, Tensor) and v.dim() > 0 for k, v in group.items() if k != "params") or any(
            isinstance(b, Tensor) and b.dim() > 0 for b in group.get("betas", ())):
        group = {k: v if k == "params" else _trailing(v) for k, v in group.items()}
    update(rp, rg, view, group, _trailing(lr))
    for k, v in view.items():  # entries the update created or replaced go back as complex
        if before.get(k) is not v:
            complex_shaped = isinstance(v, Tensor) and v.shape == rp.shape and not v.is_complex()
            state[k] = torch.view_as_complex(v.contiguous()) if complex_shaped else v


def _real(g: Tensor) -> Tensor:
    return torch.view_as_real(g) if g.is_complex() else g
