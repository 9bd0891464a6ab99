"""Lookahead: k fast steps of any optimizer, then one step of the slow weights (Zhang et al. 2019)."""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Any, Callable

import torch
from torch import Tensor

from . import registry
from .hparams import Choice, Range, check_values
from .registry import Tune, register_optimizer

__all__ = ["Lookahead"]

PULLBACK = ("none", "reset", "pullback")


@register_optimizer(tune={"alpha": Tune(0.3, 0.8)},
                    description="Lookahead (Zhang et al. 2019): wraps any optimizer, every k steps pulls the weights "
                                "back towards a slow average, steadier training")
class Lookahead(torch.optim.Optimizer):
    r"""Lookahead: Zhang, Lucas, Hinton & Ba, "Lookahead Optimizer: k steps forward, 1 step
    back", NeurIPS 2019 (Algorithm 1).

    The inner ("fast") optimizer steps as usual; after every k of its steps the slow
    weights φ move towards the fast weights θ and the fast weights restart from them:

    .. math::
        φ ← φ + α(θ - φ),\qquad θ ← φ

    (φ₀ = θ₀). ``pullback_momentum``: what the inner optimizer's ``momentum_buffer``
    does at that moment: ``"none"`` (kept), ``"reset"`` (zeroed) or ``"pullback"``
    (interpolated the same way with its own slow copy).

    ``Lookahead(optimizer, k=5, alpha=0.5, pullback_momentum="none")`` wraps an optimizer
    instance; ``Lookahead(OptimizerClass, params=..., lr=...)`` builds one; and, for the
    registry, the command line and sweeps, ``Lookahead(params, base="adam", **inner)``
    builds the inner optimizer by its registered name (``lookahead:base=sgd,lr=0.1,k=10``).
    The authors published no package: constructor, defaults, ``state_dict`` layout and
    numbers are those of ``pytorch_optimizer.Lookahead`` (pytorch-optimizer 4.1.0; checked
    step for step), including ``backup_and_load_cache()``/``clear_and_load_backup()`` to
    evaluate the slow weights. ``param_groups`` are the inner optimizer's (each keeps a
    ``counter``), so schedulers and tensor hyperparameters (the runs dimension) act on the
    inner optimizer; ``alpha`` may be a tensor of shape (R, 1, ...) too.
    """

    hparams = {"k": Range(1.0), "alpha": Range(0.0, 1.0), "pullback_momentum": Choice(PULLBACK)}

    # built by name (``create(params, "lookahead", base="sgd", lr=0.1)``), the arguments
    # Lookahead does not take go to the inner optimizer: the registry checks them as its options
    inner_optimizer_option = ("base", "adam")
    runs_layout = "elementwise"  # per-run (R, 1) hyperparameters reach the inner optimizer (runner.takes_tensor_hyper)

    def __init__(self, optimizer: Any, k: int = 5, alpha: Any = 0.5, pullback_momentum: str = "none",
                 base: str | None = None, **kwargs: Any) -> None:
        if isinstance(k, bool) or not isinstance(k, int):
            raise ValueError(f"k must be a whole number of steps >= 1, got {k!r}")
        checked = check_values(self.hparams, dict(k=k, alpha=alpha, pullback_momentum=pullback_momentum))
        if isinstance(optimizer, torch.optim.Optimizer):
            if kwargs or base is not None:
                raise ValueError(f"Lookahead: an optimizer instance takes no further arguments, got "
                                 f"{sorted(kwargs) + (['base'] if base is not None else [])}")
            inner = optimizer
        elif isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
            inner = optimizer(**kwargs)
        else:  # parameters, with the inner optimizer's registered name
            inner = registry.create(optimizer, base or "adam", **kwargs)
        self.optimizer = inner
        self.k, self.alpha, self.pullback_momentum = k, checked["alpha"], pullback_momentum
        self.state: defaultdict = defaultdict(dict)
        self.defaults = {"lookahead_alpha": alpha, "lookahead_k": k, "lookahead_pullback_momentum": pullback_momentum,
                         **inner.defaults}
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()
        for group in self.param_groups:
            self._init_group(group)

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    @property
    def requires_closure(self) -> bool:
        return bool(getattr(self.optimizer, "requires_closure", False))

    def __getstate__(self) -> dict[str, Any]:
        return {"state": self.state, "optimizer": self.optimizer, "alpha": self.alpha, "k": self.k,
                "pullback_momentum": self.pullback_momentum}

    def __repr__(self) -> str:
        return f"Lookahead(k={self.k}, alpha={self.alpha}, pullback_momentum={self.pullback_momentum!r}) of " \
               f"{self.optimizer!r}"

    def _init_group(self, group: dict[str, Any]) -> None:
        group.setdefault("counter", 0)
        for p in group["params"]:
            state = self.state[p]
            if "slow_params" not in state:
                state["slow_params"] = p.detach().clone()
                if self.pullback_momentum == "pullback":
                    state["slow_momentum"] = torch.zeros_like(p)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        self.optimizer.add_param_group(param_group)
        self._init_group(self.param_groups[-1])

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One step of the inner optimizer; every k-th, the slow step."""
        loss = self.optimizer.step(closure)
        for group in self.param_groups:
            group["counter"] += 1
            if group["counter"] >= self.k:
                group["counter"] = 0
                self._slow_step(group)
        return loss

    @torch.no_grad()
    def _slow_step(self, group: dict[str, Any]) -> None:
        weight = 1.0 - self.alpha
        inner_state = self.optimizer.state
        for p in (p for p in group["params"] if p.grad is not None):
            w = weight.to(p.dtype) if isinstance(weight, Tensor) else weight  # per-run α (complex p: as complex)
            slow = self.state[p]["slow_params"]
            p.lerp_(slow, w)  # θ + (1 − α)(φ − θ) = φ + α(θ − φ)
            slow.copy_(p)
            if self.pullback_momentum == "pullback":
                buf = inner_state[p].setdefault("momentum_buffer", torch.zeros_like(p))
                buf.lerp_(self.state[p]["slow_momentum"], w)
                self.state[p]["slow_momentum"].copy_(buf)
            elif self.pullback_momentum == "reset":
                inner_state[p]["momentum_buffer"] = torch.zeros_like(p)

    def backup_and_load_cache(self) -> None:
        """Put the slow weights into the parameters (keeping the fast ones), e.g. to evaluate."""
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["backup_params"] = p.detach().clone()
                p.data.copy_(self.state[p]["slow_params"])

    def clear_and_load_backup(self) -> None:
        """Put the fast weights back after :meth:`backup_and_load_cache`."""
        for group in self.param_groups:
            for p in group["params"]:
                p.data.copy_(self.state[p].pop("backup_params"))

    def state_dict(self) -> dict[str, Any]:
        """``{"lookahead_state": {(group, index): {...}}, "base_optimizer": inner.state_dict()}``."""
        slow = {(gi, pi): dict(self.state[p]) for gi, group in enumerate(self.param_groups)
                for pi, p in enumerate(group["params"]) if p in self.state}
        return {"lookahead_state": slow, "base_optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict["lookahead_state"]
        params = [(key, p) for gi, group in enumerate(self.param_groups) for key, p in
                  (((gi, pi), p) for pi, p in enumerate(group["params"]))]
        if set(saved) != {key for key, _ in params}:
            raise ValueError("Lookahead.load_state_dict: the saved slow weights do not match the parameters "
                             f"({len(saved)} saved, {len(params)} parameters); nothing was loaded")
        for key, p in params:
            for name, v in saved[key].items():
                if isinstance(v, Tensor) and v.shape != p.shape:
                    raise ValueError(f"Lookahead.load_state_dict: lookahead_state[{key}][{name!r}] has shape "
                                     f"{tuple(v.shape)}, the parameter {tuple(p.shape)}; nothing was loaded")
        self.optimizer.load_state_dict(state_dict["base_optimizer"])
        self.state = defaultdict(dict, {p: {n: v.to(device=p.device, dtype=p.dtype).clone() if isinstance(v, Tensor)
                                            else v for n, v in saved[key].items()} for key, p in params})
