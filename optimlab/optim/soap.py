"""SOAP: Adam run in the eigenbasis of Shampoo's preconditioner (Vyas et al. 2024)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ._base import Optimizer
from ._ops import add_, is_nonzero, scalar_dtype, step_value
from ._runs import runs_dims
from ._state import MATRIX_STATE_PREFIX
from .hparams import Choice, Fixed, Flag, Items, NumbersOnly, Range, SameKind
from .registry import Tune, register_optimizer

__all__ = ["SOAP"]

EIGH_SHIFT = 1e-30  # added to the diagonal before the first eigendecomposition, as the reference


def _gg(i: int) -> str:
    return f"{MATRIX_STATE_PREFIX}gg_{i}"


def _q(i: int) -> str:
    return f"{MATRIX_STATE_PREFIX}q_{i}"


def merge_small_dims(sizes: list[int], max_dim: int) -> list[int]:
    """Consecutive sizes multiplied together while the product stays <= ``max_dim`` (a size
    above it stands alone, after a 1), as pytorch-optimizer's ``merge_small_dims``: (2, 3, 4, 5)
    with 8 gives (6, 4, 5). Where everything fits in one size, one size, the number of
    elements (the reference's ``[1]`` there fails to reshape any tensor of several)."""
    merged, product = [], 1
    for n in sizes:
        product *= n
        if product > max_dim:
            merged.append(product // n)
            product = n
    return merged + [product]


def _channels_first(sizes: tuple[int, ...]) -> tuple[int, ...]:
    """(N, H, W, C) as (N, C, H, W): the order ``data_format="channels_last"`` merges in."""
    return (sizes[0], sizes[3], sizes[1], sizes[2])


def _rotate(x: Tensor, q: Tensor, axis: int, lead: int, backward: bool) -> Tensor:
    """x with its dimension ``axis`` multiplied by Q (``Σ_a x_a Q_aj``, into the eigenbasis) or
    by Qᵀ (``backward``, back); Q: (n, n), or (R, n, n) when the first ``lead`` = 1 dimension
    of x counts runs. One matrix product with the other dimensions together (K), not K
    vector-matrix products: Qᵀ·(n, K) for the first dimension, (K, n)·Q for the last (no copy
    of x either), through a moved copy for a middle one."""
    q = q.mT if backward else q
    runs, n = x.shape[:lead], x.shape[axis]
    if axis == lead:
        return (q.mT @ x.reshape(*runs, n, -1)).reshape(x.shape)
    if axis == x.dim() - 1:
        return (x.reshape(*runs, -1, n) @ q).reshape(x.shape)
    y = x.movedim(axis, -1)
    return (y.reshape(*runs, -1, n) @ q).reshape(y.shape).movedim(-1, axis)


@register_optimizer(tune={"beta1": Tune(0.8, 0.99)},
                    description="SOAP (Vyas et al. 2024): Adam in the eigenbasis of Shampoo's preconditioner, "
                                "refreshed every precondition_frequency steps (matrices of transformers)")
class SOAP(Optimizer):
    r"""SOAP: Vyas, Morwani, Zhao, Kwun, Shapira, Brandfonbrener, Janson & Kakade, "SOAP:
    Improving and Stabilizing Shampoo using Adam", ICLR 2025 (arXiv 2409.11321).

    For a matrix parameter with gradient G: Shampoo's statistics ``L ← βₛL + (1−βₛ)GGᵀ``,
    ``R ← βₛR + (1−βₛ)GᵀG`` (one per dimension of any tensor), their eigenvectors
    ``Q_L, Q_R``, and Adam in that basis:

    .. math::
        M = β_1 M + (1-β_1) G,\qquad G' = Q_L^\top G Q_R,\qquad V = β_2 V + (1-β_2) G'^2,

        θ \leftarrow \Big(θ - \mathrm{lr}\,\tfrac{\sqrt{1-β_2^{s}}}{1-β_1^{s}}\,
              Q_L \frac{Q_L^\top M Q_R}{\sqrt{V} + ε} Q_R^\top\Big)(1 - \mathrm{lr}\,λ)

    with s = t − 1: the first step only gathers L, R and their first eigenbasis
    (``torch.linalg.eigh``), as the authors' code. Then L and R are updated after each
    step, and every ``precondition_frequency`` steps the basis is refreshed by one power
    iteration and a QR decomposition (computed in float32, as the reference), V's entries
    being re-ordered with the estimated eigenvalues. A dimension larger than
    ``max_precondition_dim``, and a 1-D parameter unless ``precondition_1d``, keeps the
    identity basis (plain Adam there). ``normalize_gradient``: the update divided by its
    RMS + ε. Weight decay is decoupled and applied after the update (as there).

    Checked step for step against ``pytorch-optimizer`` 4.1.0 ``SOAP``, a port of the
    authors' code (nikhilvyas/SOAP publish no package); constructor and defaults are its:
    lr 3e−3, β (0.95, 0.95), ``shampoo_beta`` None (β₂), λ 0.01, frequency 10, max dim
    10000, ε 1e−8.

    ``merge_dims=True`` preconditions a parameter of two or more dimensions as the tensor of
    :func:`merge_small_dims` sizes (consecutive sizes multiplied while ≤
    ``max_precondition_dim``; a 4-D one in (N, C, H, W) order first when ``data_format`` is
    ``"channels_last"``), as the reference: e.g. (2, 3, 4, 5) with 8 as (6, 4, 5), three
    bases. Where the reference fails (a tensor of several elements that fits in one merged
    size, and any vector of several elements up to the maximum: its ``[1]`` cannot be reshaped),
    ours takes one size (the whole tensor, one basis) and leaves vectors unmerged.

    Runs: with ``runs=True`` (the runner sets it) or hyperparameters of shape (R, 1, ...),
    the leading dimension counts runs: each run has its own L, R (stored (R, n, n)) and
    eigendecompositions (batched), so a batched run equals the runs alone (with
    ``merge_dims`` each run's ``p[r]`` is merged as alone).

    Where a (merged) size exceeds the product of the others by two or more, the first L has
    a repeated zero eigenvalue: its eigenvectors there, and so the iterates, depend on the
    last bits of L (a contraction computed in another order than the reference's
    ``tensordot``), so such shapes agree with the reference only roughly (2×10×3: 2e−2
    after one update, 9e−2 after 31).
    """

    runs_layout = "leading"  # how stacked runs are told apart (optimlab.runner.runs_layout)
    hparams = {"betas": Items((Range(0.0, 1.0, hi_open=True), Range(0.0, 1.0, hi_open=True))),
               "shampoo_beta": Range(0.0, 1.0, hi_open=True, optional=True), "eps": Range(0.0),
               "precondition_frequency": Range(1.0), "max_precondition_dim": Range(1.0),
               "precondition_1d": Flag(), "correct_bias": Flag(), "normalize_gradient": Flag(), "runs": Flag(),
               "data_format": Choice(("channels_first", "channels_last")),
               "merge_dims": Flag(),
               "decoupled_weight_decay": Fixed(True, "SOAP's weight decay is decoupled, after the update")}
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),
                    NumbersOnly(("shampoo_beta", "precondition_frequency", "max_precondition_dim"),
                                "they shape the preconditioner, the same for every run"))

    def __init__(self, params: Any, lr: Any = 3e-3, betas: tuple[Any, Any] = (0.95, 0.95),
                 shampoo_beta: float | None = None, weight_decay: Any = 1e-2, precondition_frequency: int = 10,
                 max_precondition_dim: int = 10000, merge_dims: bool = False, precondition_1d: bool = False,
                 correct_bias: bool = True, normalize_gradient: bool = False, data_format: str = "channels_first",
                 eps: Any = 1e-8, *, runs: bool = False, **options: Any) -> None:
        for name, v in (("precondition_frequency", precondition_frequency),
                        ("max_precondition_dim", max_precondition_dim)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        defaults = dict(lr=lr, betas=tuple(betas), shampoo_beta=shampoo_beta, weight_decay=weight_decay,
                        precondition_frequency=precondition_frequency, max_precondition_dim=max_precondition_dim,
                        merge_dims=merge_dims, precondition_1d=precondition_1d, correct_bias=correct_bias,
                        normalize_gradient=normalize_gradient, data_format=data_format, eps=eps, runs=runs)
        super().__init__(params, defaults, decoupled_weight_decay=True, **options)

    # -- the preconditioner ------------------------------------------------------------
    # ``lead``: 1 when the first dimension of every tensor counts runs (runs_dims), else 0
    @staticmethod
    def _work_shape(shape: tuple[int, ...], group: dict[str, Any], lead: int) -> tuple[int, ...] | None:
        """The shape a parameter is preconditioned in with ``merge_dims`` (None: its own)."""
        sizes = tuple(shape[lead:])
        if not group["merge_dims"] or len(sizes) < 2:
            return None
        if group["data_format"] == "channels_last" and len(sizes) == 4:
            sizes = _channels_first(sizes)
        return (*shape[:lead], *merge_small_dims(list(sizes), group["max_precondition_dim"]))

    @staticmethod
    def _to_work(x: Tensor, work: tuple[int, ...] | None, group: dict[str, Any], lead: int) -> Tensor:
        if work is None:
            return x
        if group["data_format"] == "channels_last" and x.dim() - lead == 4:
            x = x.permute(*range(lead), *(lead + i for i in (0, 3, 1, 2)))
        return x.reshape(work)

    @staticmethod
    def _from_work(y: Tensor, shape: tuple[int, ...], group: dict[str, Any], lead: int) -> Tensor:
        if y.shape == shape:
            return y
        if group["data_format"] == "channels_last" and len(shape) - lead == 4:
            y = y.reshape(*shape[:lead], *_channels_first(shape[lead:]))
            return y.permute(*range(lead), *(lead + i for i in (0, 2, 3, 1)))
        return y.reshape(shape)

    @staticmethod
    def _axes(sizes: tuple[int, ...], group: dict[str, Any], lead: int, vector: bool) -> list[int]:
        """The dimensions (after the runs) of the preconditioned shape ``sizes`` that get a basis;
        ``vector``: the parameter has one dimension (a basis only with ``precondition_1d``)."""
        if vector and not group["precondition_1d"]:
            return []
        return [lead + i for i, n in enumerate(sizes[lead:]) if n <= group["max_precondition_dim"]]

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if p.is_complex():
            raise RuntimeError("SOAP does not support complex parameters")
        state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        lead = runs_dims(group)
        sizes = self._work_shape(p.shape, group, lead) or tuple(p.shape)
        for axis in self._axes(sizes, group, lead, p.dim() - lead == 1):
            n = sizes[axis]
            state[_gg(axis - lead + 1)] = torch.zeros(*p.shape[:lead], n, n, dtype=p.dtype, device=p.device)
            state[_q(axis - lead + 1)] = torch.zeros_like(state[_gg(axis - lead + 1)])

    def _project(self, x: Tensor, state: dict[str, Any], axes: list[int], lead: int, backward: bool = False) -> Tensor:
        for axis in axes:
            x = _rotate(x, state[_q(axis - lead + 1)], axis, lead, backward)
        return x

    @staticmethod
    def _gather(g: Tensor, state: dict[str, Any], group: dict[str, Any], axes: list[int], lead: int) -> None:
        """L_i ← βₛL_i + (1−βₛ)·(G contracted with itself over every dimension but i)."""
        beta = group["betas"][1] if group["shampoo_beta"] is None else group["shampoo_beta"]
        runs = g.shape[:lead]
        for axis in axes:
            n = g.shape[axis]
            if axis == g.dim() - 1 and axis != lead:  # (K, n): no moved copy
                flat = g.reshape(*runs, -1, n)
                outer = flat.mT @ flat
            else:
                flat = g.movedim(axis, lead).reshape(*runs, n, -1)
                outer = flat @ flat.mT
            state[_gg(axis - lead + 1)].lerp_(outer, 1 - beta)

    @staticmethod
    def _eigenbases(state: dict[str, Any], axes: list[int], lead: int) -> None:
        """The first basis: the eigenvectors of each L_i, largest eigenvalue first."""
        for axis in axes:
            gg = state[_gg(axis - lead + 1)]
            eye = torch.eye(gg.shape[-1], dtype=gg.dtype, device=gg.device)
            state[_q(axis - lead + 1)].copy_(torch.linalg.eigh(gg + EIGH_SHIFT * eye)[1].flip(-1))

    @staticmethod
    def _refresh(state: dict[str, Any], v: Tensor, axes: list[int], lead: int) -> None:
        """One power iteration L_i Q_i, its columns sorted by the estimated eigenvalues (V's entries,
        ``v`` in the preconditioned shape, re-ordered to match), then QR in float32 (the
        reference's precision)."""
        new = {}
        for axis in axes:
            gg, q = state[_gg(axis - lead + 1)], state[_q(axis - lead + 1)]
            power = gg @ q
            order = torch.argsort((q * power).sum(-2), dim=-1, descending=True)  # (R..., n)
            moved = v.movedim(axis, -1)
            index = order.reshape(*order.shape[:-1], *([1] * (moved.dim() - lead - 1)), order.shape[-1])
            v.copy_(moved.gather(-1, index.expand_as(moved)).movedim(-1, axis))
            power = power.gather(-1, order.unsqueeze(-2).expand_as(power))
            new[axis] = torch.linalg.qr(power.to(torch.float32))[0].to(power.dtype)
        for axis, q in new.items():
            state[_q(axis - lead + 1)].copy_(q)

    # -- the step ----------------------------------------------------------------------
    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        return grads  # decoupled, after the update (in _update), as the reference

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        t = step_value(state)
        lead = runs_dims(group)
        work = self._work_shape(g.shape, group, lead)
        gw = self._to_work(g, work, group, lead)
        axes = self._axes(gw.shape, group, lead, g.dim() - lead == 1)
        if t == 1:  # only the preconditioner's statistics and first basis
            self._gather(gw, state, group, axes, lead)
            self._eigenbases(state, axes, lead)
            return
        beta1, beta2 = group["betas"]
        s = t - 1
        size = lr * (1 - beta2 ** s) ** 0.5 / (1 - beta1 ** s) if group["correct_bias"] else lr
        m, v = state["exp_avg"], state["exp_avg_sq"]
        rotated = self._from_work(self._project(gw, state, axes, lead), g.shape, group, lead)
        m.lerp_(g, 1 - beta1)
        v.lerp_(rotated.square(), 1 - beta2)
        denom = self._to_work(v.sqrt().add_(group["eps"]), work, group, lead)  # then the quotient, written into it
        mw = self._project(self._to_work(m, work, group, lead), state, axes, lead)
        direction = self._from_work(self._project(torch.div(mw, denom, out=denom), state, axes, lead, backward=True),
                                    g.shape, group, lead)
        if group["normalize_gradient"]:
            dims = tuple(range(lead, direction.dim()))  # per run; a run of one number is its own RMS
            rms = direction.square().mean(dim=dims, keepdim=True).sqrt_() if dims else direction.abs()
            direction.div_(rms.add_(group["eps"]))
        add_(p, direction, -size)
        if is_nonzero(group["weight_decay"]):
            p.mul_(1 - lr * group["weight_decay"])
        self._gather(gw, state, group, axes, lead)
        if s % group["precondition_frequency"] == 0:
            vw = self._to_work(v, work, group, lead)
            self._refresh(state, vw, axes, lead)
            back = self._from_work(vw, g.shape, group, lead)
            if back.data_ptr() != v.data_ptr() or back.stride() != v.stride():  # vw was a copy
                v.copy_(back)
