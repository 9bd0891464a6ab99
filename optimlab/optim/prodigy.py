"""Prodigy: Adam whose step size D is estimated as it goes (Mishchenko & Defazio 2024)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch import Tensor

from . import _lists as L
from . import _runs as runs
from ._base import Optimizer
from ._ops import is_nonzero
from ._state import SLICED_STATE, sliced
from .hparams import Choice, Fixed, Flag, Items, Range, SameKind
from .registry import Tune, register_optimizer

__all__ = ["Prodigy"]


@dataclass(frozen=True)
class _PositiveOrInf:
    """A number > 0, or ``float('inf')`` (no limit)."""

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, float) and value == math.inf:
            return value
        return Range(0.0, lo_open=True).check(name, value)


@dataclass(frozen=True)
class _Count:
    """An integer >= 1 (not a bool)."""

    def check(self, name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        return value


def _where(mask: Any, a: Any, b: Any) -> Any:
    """``a`` where ``mask`` else ``b``: for one run a Python choice, for runs ``torch.where``."""
    if isinstance(mask, Tensor):
        return torch.where(mask, torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64))
    return a if mask else b


def _maximum(a: Any, b: Any) -> Any:
    return torch.maximum(torch.as_tensor(a), torch.as_tensor(b)) if isinstance(a + b, Tensor) else max(a, b)


def _minimum(a: Any, b: Any) -> Any:
    return torch.minimum(torch.as_tensor(a), torch.as_tensor(b)) if isinstance(a + b, Tensor) else min(a, b)


def _columns(ps: list[Tensor]) -> Callable[[Any], Any]:
    """A run-wide value for each of ``ps``: per-run tensors (R,) shaped (R, 1, ...) for each
    parameter (a list), a number or a one-element tensor as it is."""
    def col(v: Any) -> Any:
        if isinstance(v, Tensor) and v.dim() == 1 and v.numel() > 1:
            return [runs.column(v, p) for p in ps]
        return v
    return col


@register_optimizer(tune={"d_coef": Tune(0.5, 2.0)},
                    description="Prodigy (Mishchenko & Defazio 2024): Adam that estimates its own step size, "
                                "leave lr=1 (no learning rate to tune)")
class Prodigy(Optimizer):
    r"""Prodigy: Mishchenko & Defazio, "Prodigy: An Expeditiously Adaptive Parameter-Free
    Learner", ICML 2024 (the Adam version of the algorithm).

    Adam whose step is ``d_k·lr`` (``lr`` stays 1, an adjustment factor), d_k an estimate
    of the distance ‖x₀ − x*‖ that only grows. With the step's ``dlr = d_k·lr`` (times
    ``√(1−β₂^{k+1})/(1−β₁^{k+1})`` if ``use_bias_correction``), β₃ = ``beta3`` (default √β₂),
    over every parameter of every group:

    .. math::
        m ← β_1 m + d_k(1-β_1) g,\quad v ← β_2 v + d_k^2(1-β_2) g^2,\quad
        s ← β_3 s + \tfrac{d_k}{d_0}\,\mathrm{dlr}\; g \;(\text{safeguard\_warmup: } \tfrac{d_k}{d_0} d_k\, g)

        r_k = β_3 r_{k-1} + \tfrac{d_k}{d_0}\,\mathrm{dlr}\,⟨g, x_0 - x⟩,\qquad
        \hat d = d_{coef}\, r_k / \textstyle\sum |s|

        d_{max} ← \max(d_{max}, \hat d),\quad d_{k+1} = \min(d_{max},\, d_k·\mathrm{growth\_rate})
        \;(\text{first: } d ← \max(d, \hat d) \text{ while } d = d_0)

        θ ← θ - \mathrm{dlr}\; m / (\sqrt v + d_{k+1} ε)
        \qquad (β_1 = 0:\ θ ← θ - \mathrm{dlr}\,d_{k+1}\, g/(\sqrt v + d_{k+1}ε))

    Weight decay: ``decouple=True`` (default) shrinks ``θ ← θ − wd·dlr·θ`` in the step;
    ``False`` adds ``wd·θ`` to the gradient (L2). If all Σ|s| are 0 (no gradient yet),
    nothing but the moments changes. Groups share d; each group's lr must be the largest
    lr or 0 (a RuntimeError otherwise, as in the reference, raised before anything changes).

    Constructor, defaults and numbers are those of the authors' ``prodigyopt.Prodigy``
    1.1.2 (checked step for step): lr 1.0, β (0.9, 0.999), β₃ None, ε 1e−8, ``d0`` 1e−6,
    ``d_coef`` 1, ``growth_rate`` inf. Group keys as there (``d``, ``d0``, ``d_max``,
    ``d_numerator``, ``d_denom``, ``d_hat``, ``k``). ``slice_p`` = k > 1 keeps ``s`` and
    ``p0`` (and takes the sums ⟨g, x₀ − x⟩, Σ|s|) on every k-th element of the flattened
    parameter only, as there (less memory; an approximation of Prodigy), stored flat as
    there. Not taken: ``fsdp_in_use=True`` (sharded sums, refused); ``lr_decay`` and
    ``decoupled_weight_decay`` (Prodigy's own ``decouple``) are refused.
    ``load_state_dict`` also takes a ``prodigyopt`` checkpoint (its flattened ``s`` and
    ``p0``, a 0-d ``p0`` for a parameter that was all zeros) and resumes it.
    With hyperparameters of shape (R, 1, ...) each run has its own d (sums per run; with
    ``slice_p`` > 1 on every k-th element of each run's ``p[r]`` flattened, state (R, ⌈n/k⌉)).
    """

    hparams = {"betas": Items((Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 0"),
                               Range(0.0, 1.0, hi_open=True, torch="Invalid beta parameter at index 1"))),
               "beta3": Range(0.0, 1.0, optional=True), "eps": Range(0.0, lo_open=True, torch="Invalid epsilon value"),
               "d0": Range(0.0, lo_open=True, torch="Invalid d0 value"), "d_coef": Range(0.0, lo_open=True),
               "growth_rate": _PositiveOrInf(), "decouple": Flag(), "use_bias_correction": Flag(),
               "safeguard_warmup": Flag(), "fsdp_in_use": Choice((False,)), "slice_p": _Count(),
               "lr_decay": Fixed(0.0, "Prodigy estimates its own step size"),
               "decoupled_weight_decay": Fixed(False, "Prodigy's weight decay is decouple=True/False")}
    hparam_rules = (SameKind("betas", torch="betas must be either both floats or both Tensors"),)
    _RUN_NAMES = ("lr", "betas", "beta3", "eps", "weight_decay", "d0", "d_coef", "growth_rate")
    _step_keys = frozenset(("d", "d_max", "d_numerator", "d_denom", "d_hat", "k"))

    def __init__(self, params: Any, lr: Any = 1.0, betas: tuple[Any, Any] = (0.9, 0.999), beta3: Any = None,
                 eps: Any = 1e-8, weight_decay: Any = 0.0, decouple: bool = True, use_bias_correction: bool = False,
                 safeguard_warmup: bool = False, d0: Any = 1e-6, d_coef: Any = 1.0, growth_rate: Any = math.inf,
                 fsdp_in_use: bool = False, slice_p: int = 1, **options: Any) -> None:
        defaults = dict(lr=lr, betas=tuple(betas), beta3=beta3, eps=eps, weight_decay=weight_decay, d=d0, d0=d0,
                        d_max=d0, d_numerator=0.0, d_coef=d_coef, k=0, growth_rate=growth_rate,
                        use_bias_correction=use_bias_correction, decouple=decouple, safeguard_warmup=safeguard_warmup,
                        fsdp_in_use=fsdp_in_use, slice_p=slice_p)
        super().__init__(params, defaults, **options)
        runs.run_count("Prodigy", self.param_groups, self._RUN_NAMES)

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return False  # the groups' k counts steps, as in the reference

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        at = sliced(p.detach(), self._now["runs"], group["slice_p"])
        state["s"] = torch.zeros_like(at, memory_format=torch.preserve_format)
        state["p0"] = at.clone(memory_format=torch.preserve_format)
        if isinstance(self._now["beta1"], Tensor) or self._now["beta1"] > 0:
            state["exp_avg"] = torch.zeros_like(p, memory_format=torch.preserve_format)
        state["exp_avg_sq"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's, and a ``prodigyopt`` checkpoint's ``s`` and ``p0`` (flattened there, where
        ours keep the parameter's shape for ``slice_p=1``) are reshaped to this layout first."""
        super().load_state_dict(self._our_layout(state_dict))

    def _our_layout(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        saved, state = state_dict.get("param_groups"), state_dict.get("state")
        if not isinstance(saved, list) or not isinstance(state, dict) or len(saved) != len(self.param_groups):
            return state_dict  # torch's load_state_dict gives its own error
        n = runs.run_count("Prodigy", saved, self._RUN_NAMES)
        fixed = dict(state)
        for s, g in zip(saved, self.param_groups):
            for pid, p in zip(s.get("params", ()), g["params"]):
                want = sliced(torch.empty(p.shape, device="meta"), n, s.get("slice_p", 1)).shape
                entries = state.get(pid)
                if not isinstance(entries, dict):
                    continue
                changed = {key: v.reshape(want) for key, v in entries.items() if key in SLICED_STATE and
                           isinstance(v, Tensor) and v.dim() > 0 and v.shape != want and v.numel() == want.numel()}
                if changed:
                    fixed[pid] = {**entries, **changed}
        return {**state_dict, "state": fixed}

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        if self.param_groups[0]["decouple"]:
            return grads  # in the step, with dlr (_finish)
        return super()._weight_decay(group, params, grads, lrs)

    # -- the step: statistics over all groups (_update), then d, then the parameters ----
    def _step(self, closure: Callable[[], Any] | None) -> Any:
        self._begin()
        loss = super()._step(closure)
        if self._now["pending"]:
            self._finish()
        return loss

    def _begin(self) -> None:
        """The step's run-wide numbers from the first group (the reference's order); refuses a
        group lr other than the largest or 0 before anything changes."""
        groups = self.param_groups
        n = runs.run_count("Prodigy", groups, self._RUN_NAMES)
        lrs = [runs.flat(g["lr"]) for g in groups]
        lr = lrs[0]
        for x in lrs[1:]:
            lr = _maximum(lr, x)
        for i, x in enumerate(lrs):
            bad = (x != lr) & (x != 0) if isinstance(x - lr, Tensor) else x not in (lr, 0.0)
            if bool(bad if isinstance(bad, bool) else bad.any()):
                raise RuntimeError(f"Prodigy: param group {i} has lr={x!r}; setting different lr values in different "
                                   f"parameter groups is only supported for values of 0")
        g0 = groups[0]
        beta1, beta2 = (runs.flat(b) for b in g0["betas"])
        beta3 = runs.flat(g0["beta3"]) if g0["beta3"] is not None else beta2 ** 0.5
        k, d = g0["k"], runs.flat(g0["d"])
        bias = ((1 - beta2 ** (k + 1)) ** 0.5) / (1 - beta1 ** (k + 1)) if g0["use_bias_correction"] else 1
        self._now = dict(runs=n, lr=lr, beta1=beta1, beta2=beta2, beta3=beta3, d=d, dlr=d * lr * bias,
                         numerator=0.0, denominator=0.0, pending=[])

    _updates_lists = True

    def _update(self, ps: list[Tensor], gs: list[Tensor], states: list[dict[str, Any]], group: dict[str, Any],
                lrs: list[Any]) -> None:
        """Statistics and moments of the parameters (the reference's first loop), over lists."""
        now = self._now
        now["pending"].append((ps, gs, states, group))
        on = runs.flat(group["lr"]) > 0
        if not isinstance(on, Tensor) and not on:
            return
        n, d, dlr = now["runs"], now["d"], now["dlr"]
        scale = d / runs.flat(group["d0"])
        mask = _where(on, 1, 0)
        k = group["slice_p"]
        sgs = [sliced(g, n, k) for g in gs]
        # ⟨g, x₀ − x⟩ of every parameter (x₀ − x: one call, temporaries of this list), summed in float64
        p0s, xs = [state["p0"] for state in states], [sliced(p, n, k) for p in ps]
        diffs = self._kept(0, xs, lambda x, out: torch.add(p0s[0], x, alpha=-1.0, out=out),
                           lambda xs: L.add(p0s, xs, -1.0))
        dots = runs.per_run_dots(sgs, diffs, n)
        now["numerator"] = now["numerator"] + scale * dlr * dots.sum(0) * mask
        col, col_s = _columns(ps), _columns(sgs)
        s_rate = scale * (d if group["safeguard_warmup"] else dlr)
        updates = []
        if "exp_avg" in states[0]:
            updates.append(("exp_avg", lambda ms: L.add_(L.mul_(ms, col(now["beta1"])), gs,
                                                         col(d * (1 - now["beta1"])))))
        updates.append(("exp_avg_sq", lambda vs: L.addcmul_(L.mul_(vs, col(now["beta2"])), gs, gs,
                                                            col(d * d * (1 - now["beta2"])))))
        updates.append(("s", lambda ss: L.add_(L.mul_(ss, col_s(now["beta3"])), sgs, col_s(s_rate))))
        for key, rule in updates:
            ts = [state[key] for state in states]
            if isinstance(on, Tensor):  # runs whose lr is 0 keep their moments
                for t, new in zip(ts, rule([t.clone() for t in ts])):
                    t.copy_(torch.where(runs.column(on, t), new, t))
            else:
                rule(ts)
        ss = [state["s"] for state in states]
        magnitudes = self._kept(1, ss, torch.abs, L.absolute)
        now["denominator"] = now["denominator"] + runs.per_run_sums(magnitudes, n).sum(0) * mask

    _KEPT_MIN = 1 << 18  # elements of a parameter whose temporaries go into kept buffers (CPU)

    def _kept(self, slot: int, ts: list[Tensor], one: Callable[..., Tensor],
              many: Callable[..., list[Tensor]]) -> list[Tensor]:
        """Temporary ``slot`` of a run: ``one(ts[0], out=buffer)`` into a buffer the optimizer keeps
        for a run of one parameter of at least :data:`_KEPT_MIN` elements on the CPU (runs of
        :func:`~optimlab.optim._lists.cache_sized`), else ``many(ts)``, new tensors. A new temporary
        that large cost its page faults at every parameter (glibc gave the pages back); the
        numbers are the same bit for bit."""
        if len(ts) != 1 or ts[0].numel() < self._KEPT_MIN or ts[0].device.type != "cpu":
            return many(ts)
        t = ts[0]
        kept = self.__dict__.setdefault("_kept_buffers", {})
        buf = kept.get((slot, t.dtype))
        if buf is None or buf.numel() < t.numel():
            buf = kept[(slot, t.dtype)] = torch.empty(t.numel(), dtype=t.dtype)
        return [one(t, out=buf[:t.numel()].view(t.shape))]

    def _finish(self) -> None:
        """The new d, then every parameter's step (the reference's second loop)."""
        now, groups = self._now, self.param_groups
        num = groups[0]["d_numerator"] * now["beta3"] + now["numerator"]
        den = now["denominator"]
        if not isinstance(den, Tensor) or den.dim() == 0:
            num, den = float(num), float(den)
            if den == 0:
                return  # no gradient yet: d and the parameters stay
            active = True
        else:
            active = den > 0
        d, d0, d_max = now["d"], groups[-1]["d0"], runs.flat(groups[0]["d_max"])  # d0: the reference's last group
        d_hat = runs.flat(groups[0]["d_coef"]) * num / _where(active, den, 1.0)
        d_new = _where(d == runs.flat(d0), _maximum(d, d_hat), d)
        d_max_new = _maximum(d_max, d_hat)
        d_new = _minimum(d_max_new, d_new * runs.flat(groups[0]["growth_rate"]))
        for group in groups:
            group.update(d_numerator=_where(active, num, group["d_numerator"]), d_denom=den,
                         d=_where(active, d_new, d), d_max=_where(active, d_max_new, d_max),
                         d_hat=_where(active, d_hat, group.get("d_hat", d_hat)))
        dlr = now["dlr"] * _where(active, 1.0, 0.0) if isinstance(active, Tensor) else now["dlr"]
        d, decouple = groups[0]["d"], groups[0]["decouple"]
        for ps, gs, states, group in now["pending"]:
            col = _columns(ps)
            denom = L.add_scalar_(self._kept(2, [state["exp_avg_sq"] for state in states], torch.sqrt, L.sqrt),
                                  col(d * runs.flat(group["eps"])))
            if decouple and is_nonzero(group["weight_decay"]):
                L.add_(ps, ps, col(-runs.flat(group["weight_decay"]) * dlr))
            if "exp_avg" in states[0] and isinstance(now["beta1"], Tensor):  # runs with β₁ = 0 step with g, as alone
                b1_zero, scaled = col(now["beta1"] == 0), col(d)
                ms = [torch.where(z, g * c, state["exp_avg"])
                      for z, c, g, state in zip(b1_zero, scaled, gs, states)]
                L.addcdiv_(ps, ms, denom, col(-dlr))
            elif "exp_avg" in states[0]:
                L.addcdiv_(ps, [state["exp_avg"] for state in states], denom, col(-dlr))
            else:
                L.addcdiv_(ps, gs, denom, col(-dlr * d))
        for group in groups:  # every group counts the step, as in the reference
            group["k"] = group["k"] + (active.to(torch.float64) if isinstance(active, Tensor) else 1)
