"""Muon: momentum orthogonalized by a Newton–Schulz iteration, for the matrices of hidden layers."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .._spec import name_key
from ._base import Optimizer
from ._runs import runs_dims
from .hparams import Choice, Fixed, Flag, Items, NumbersOnly, Range
from .registry import Tune, create, parse_spec, register_optimizer

__all__ = ["Muon", "newton_schulz"]

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
ADJUST_LR_FNS = (None, "original", "match_rms_adamw", "unscaled")
MOMENTUM_FORMS = ("ema", "sgd")  # torch's lerp buffer; B ← μB + g (Keras 3, Jordan's first code)
NS_NORMALIZE = ("max", "add")  # X/max(‖X‖, ε) (torch); X/(‖X‖ + ε) (Keras 3, Jordan's code)
NS_DTYPES = {"bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64}


def newton_schulz(x: Tensor, coefficients: tuple = NS_COEFFICIENTS, steps: int = 5, eps: float = 1e-7,
                  dtype: torch.dtype = torch.bfloat16, normalize: str = "max") -> Tensor:
    """The quintic Newton–Schulz iteration of Muon on the last two dimensions of ``x``
    (leading dimensions are a batch): ``X ← X/‖X‖_F``, then ``steps`` times
    ``A = XXᵀ``, ``X ← aX + (bA + cA²)X``, computed in ``dtype`` on the wide
    orientation (rows ≤ columns); ``normalize="add"`` divides by ``‖X‖_F + eps`` in place
    of ``max(‖X‖_F, eps)``. With torch's coefficients the singular values land
    roughly in [0.7, 1.2] rather than exactly 1 (Jordan et al., 2024)."""
    if steps >= 100:
        raise ValueError("ns_steps must be below 100 (Newton–Schulz steps are expensive)")
    a, b, c = coefficients
    tall = x.size(-2) > x.size(-1)
    y = x.to(dtype)
    if tall:
        y = y.mT
    if normalize == "add":
        y = y / (torch.linalg.vector_norm(y, dim=(-2, -1), keepdim=True) + eps)
    else:
        y = y / torch.linalg.vector_norm(y, dim=(-2, -1), keepdim=True).clamp(min=eps) if y.dim() > 2 else \
            y.div_(y.norm().clamp(min=eps))
    mm = torch.addmm if y.dim() == 2 else torch.baddbmm
    for _ in range(steps):
        gram = y @ y.mT
        y = mm(y, mm(gram, gram, gram, beta=b, alpha=c), y, beta=a)
    return y.mT if tall else y


def _lr_scale(fn: str | None, rows: int, cols: int, rms_rate: float = 0.2) -> float:
    """The factor torch's ``adjust_lr_fn`` applies: Keller Jordan's √max(1, A/B)
    (``None``, ``"original"``) or Moonshot's 0.2·√max(A, B) (``"match_rms_adamw"``,
    Liu et al., "Muon is Scalable for LLM Training", 2025; ``rms_rate`` in place of 0.2);
    ``"unscaled"``: 1."""
    if fn == "unscaled":
        return 1.0
    if fn == "match_rms_adamw":
        return rms_rate * math.sqrt(max(rows, cols))
    return math.sqrt(max(1, rows / cols))


@register_optimizer(tune={"momentum": Tune(0.8, 0.99)})
class Muon(Optimizer):
    r"""Muon: SGD-momentum whose update is orthogonalized, for 2-D weight matrices.

    Jordan, Jin, Boza, You, Cesista, Newhouse & Bernstein, "Muon: An optimizer for
    hidden layers in neural networks", 2024 (kellerjordan.github.io/posts/muon), as
    torch 2.13 implements it. With μ = ``momentum``, λ = ``weight_decay``:

    .. math::
        B_t = μB_{t-1} + (1-μ)g_t,\qquad
        \tilde B_t = (1-μ)g_t + μB_t \text{ (nesterov) or } B_t,\qquad
        O_t = \mathrm{NS}_k(\tilde B_t),

        θ_t = θ_{t-1}(1 - \mathrm{lr}\,λ) - \mathrm{lr}\cdot s(A, B)\, O_t

    (``B`` is an exponential average, ``lerp``, as in torch), where NS is
    :func:`newton_schulz` (``ns_steps`` steps of ``ns_coefficients``, in bfloat16 as
    torch computes it; ``ns_dtype`` chooses another precision) and ``s`` the
    ``adjust_lr_fn`` factor of the A×B matrix. Defaults are torch's: lr 1e−3, λ 0.1,
    μ 0.95, nesterov, coefficients (3.4445, −4.7750, 2.0315), ε 1e−7, 5 steps.

    Muon is for the matrices of hidden layers; torch refuses other parameters, and
    so does this class unless ``fallback`` names the optimizer for them, as torch's
    documentation advises (``fallback="adamw"``, or a spec such as
    ``"adamw:lr=3e-4,weight_decay=0.01"``): then every parameter that is not a
    matrix (biases, gains, 0-d and n-d tensors) is handed to that optimizer, built
    once (``self.fallback``), stepped, zeroed and saved with Muon's state
    (``state_dict()["fallback"]``). LR schedulers change Muon's groups only.

    Runs: with ``runs=True`` (optimlab's option; the runner and the sweeps set it) or a
    hyperparameter tensor of shape (R, 1, 1), the leading dimension counts runs: a
    parameter (R, A, B) is R matrices, each orthogonalized on its own (a batched
    Newton–Schulz), so a batched run equals the runs alone. A point of the function
    lab is a vector, so Muon refuses it (Muon is for matrices).

    Options for the arithmetic of Keras 3's Muon (:class:`optimlab.keras.Muon`):
    ``momentum_form="sgd"`` (``B_t = μB_{t−1} + g_t``, nesterov ``g_t + μB_t``, as
    Jordan's first code) in place of ``"ema"``; ``ns_normalize="add"``
    (``X/(‖X‖_F + ε)``) in place of ``"max"``; ``ns_dtype=None`` (the parameter's
    dtype); ``rms_rate`` (the 0.2 of ``"match_rms_adamw"``) and ``adjust_lr_fn="unscaled"``
    (factor 1). ``fallback`` may also be a callable ``params -> optimizer``.
    """

    runs_layout = "leading"  # how stacked runs are told apart (optimlab.runner.runs_layout)
    hparams = {"lr": Range(0.0, torch="Learning rate should be >= 0 but is"),
               "momentum": Range(0.0, torch="momentum should be >= 0 but is"),
               "weight_decay": Range(0.0, torch="weight decay should be >= 0 but is"),
               "nesterov": Flag(), "eps": Range(0.0),
               "ns_coefficients": Items((Range(), Range(), Range())),
               "ns_steps": Range(0.0, 99.0), "adjust_lr_fn": Choice(ADJUST_LR_FNS),
               "ns_dtype": Choice((*NS_DTYPES, None)), "runs": Flag(),
               "momentum_form": Choice(MOMENTUM_FORMS), "ns_normalize": Choice(NS_NORMALIZE), "rms_rate": Range(0.0),
               "lr_decay": Fixed(0.0, "Muon keeps no step count"),
               "decoupled_weight_decay": Fixed(False, "Muon's weight decay is always decoupled, as torch's")}
    hparam_rules = (NumbersOnly(("ns_coefficients", "eps", "ns_steps"), "the Newton–Schulz iteration takes numbers"),)

    def __init__(self, params: Any, lr: Any = 1e-3, weight_decay: Any = 0.1, momentum: Any = 0.95,
                 nesterov: bool = True, ns_coefficients: tuple = NS_COEFFICIENTS, eps: float = 1e-7,
                 ns_steps: int = 5, adjust_lr_fn: str | None = None, *, ns_dtype: str = "bfloat16",
                 fallback: Any = None, runs: bool = False, momentum_form: str = "ema", ns_normalize: str = "max",
                 rms_rate: float = 0.2, **options: Any) -> None:
        if adjust_lr_fn not in ADJUST_LR_FNS:  # torch's sentence, before anything else is checked
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported; adjust_lr_fn must "
                             f"be one of {', '.join(map(repr, ADJUST_LR_FNS))}")
        if isinstance(ns_steps, bool) or not isinstance(ns_steps, int):
            raise ValueError(f"ns_steps must be an integer in [0, 99], got {ns_steps!r}")
        if fallback is not None and not callable(fallback):
            _fallback_spec(fallback)  # a bad spec is refused even when every parameter is a matrix
        defaults = dict(lr=lr, weight_decay=weight_decay, momentum=momentum, nesterov=nesterov,
                        ns_coefficients=ns_coefficients, eps=eps, ns_steps=ns_steps, adjust_lr_fn=adjust_lr_fn,
                        ns_dtype=ns_dtype, runs=runs, momentum_form=momentum_form, ns_normalize=ns_normalize,
                        rms_rate=rms_rate)
        super().__init__(params, defaults, **options)
        others = [(p, runs_dims(g)) for g in self.param_groups for p in g["params"] if p.dim() - runs_dims(g) != 2]
        self.fallback = None
        if others and fallback is None:
            p, per_run = others[0]
            found = f"{p.size()}" if not per_run else f"{tuple(p.shape[1:])} per run (shape {tuple(p.shape)}, " \
                                                      "the leading dimension counting runs)"
            raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: {found}; "
                             "pass fallback='adamw' (or another optimizer spec) to optimize the other parameters "
                             "with it")
        others = [p for p, _ in others]
        if others:
            kept = {id(p) for p in others}
            for g in self.param_groups:
                g["params"] = [p for p in g["params"] if id(p) not in kept]
            self.param_groups = [g for g in self.param_groups if g["params"]]
            self.fallback = _build(fallback, others)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """torch's ``add_param_group``; a parameter that is not a matrix goes to the fallback
        optimizer (without one it is refused, before anything is added)."""
        if not getattr(self, "_constructed", False):
            return super().add_param_group(param_group)
        group = dict(param_group)
        params = [group["params"]] if isinstance(group["params"], Tensor) else list(group["params"])
        per_run = runs_dims({**self.defaults, **group})
        others = [p for p in params if p.dim() - per_run != 2]
        if others and self.fallback is None:
            raise ValueError(f"Muon only supports 2D parameters whereas we found a parameter with size: "
                             f"{others[0].size()}; build Muon with fallback='adamw' to optimize such parameters")
        matrices = [p for p in params if p.dim() - per_run == 2]
        if matrices:
            super().add_param_group({**group, "params": matrices})
        if others:
            self.fallback.add_param_group({"params": others})

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return False  # torch's Muon keeps only the momentum buffer

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        return grads  # decoupled, in _update (after the momentum, as torch)

    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        if p.is_complex():
            raise RuntimeError("Muon does not support complex parameters")
        state["momentum_buffer"] = torch.zeros_like(p, memory_format=torch.preserve_format)

    def _update(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        mu, buf = group["momentum"], state["momentum_buffer"]
        if group.get("momentum_form", "ema") == "sgd":
            buf.mul_(mu).add_(g)
            update = g + mu * buf if group["nesterov"] else buf
        else:
            buf.lerp_(g, 1 - mu)
            update = g.lerp(buf, mu) if group["nesterov"] else buf
        dtype = p.dtype if group["ns_dtype"] is None else NS_DTYPES[group["ns_dtype"]]
        o = newton_schulz(update, group["ns_coefficients"], group["ns_steps"], group["eps"], dtype,
                          group.get("ns_normalize", "max"))
        scale = _lr_scale(group["adjust_lr_fn"], p.shape[-2], p.shape[-1], group.get("rms_rate", 0.2))
        p.mul_(1 - lr * group["weight_decay"])
        if isinstance(lr, Tensor) and lr.dim() > 0:  # per run
            p.sub_(o.to(p.dtype) * (lr * scale))
        else:
            p.add_(o, alpha=-lr * scale)

    # -- the fallback optimizer travels with Muon --------------------------------------
    def step(self, closure: Any = None) -> Any:
        loss = super().step(closure)
        if self.fallback is not None:
            self.fallback.step()
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        super().zero_grad(set_to_none)
        if getattr(self, "fallback", None) is not None:
            self.fallback.zero_grad(set_to_none)

    def state_dict(self) -> dict[str, Any]:
        sd = super().state_dict()
        if self.fallback is not None:
            sd["fallback"] = self.fallback.state_dict()
        return sd

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        state_dict = dict(state_dict)
        inner = state_dict.pop("fallback", None)
        if (inner is None) != (self.fallback is None):
            raise ValueError("Muon.load_state_dict: the saved state " + ("has" if inner is not None else "lacks")
                             + " a fallback optimizer's state and this Muon " + ("does not" if inner is not None
                                                                                 else "does") + "; nothing was loaded")
        super().load_state_dict(state_dict)
        if inner is not None:
            self.fallback.load_state_dict(inner)


def _fallback_spec(spec: Any) -> tuple[str, dict[str, Any]]:
    """(name, options) of a fallback spec (``"adamw"``, ``"adamw:lr=3e-4"``), checked."""
    if not isinstance(spec, str):
        raise ValueError(f"fallback must be an optimizer spec string such as 'adamw', got {spec!r}")
    name, kwargs = parse_spec(spec)
    if name_key(name) == "muon":
        raise ValueError("fallback='muon' would hand the non-matrix parameters back to Muon; name another optimizer")
    return name, kwargs


def _build(spec: str, params: list[Tensor]) -> torch.optim.Optimizer:
    """The fallback optimizer on ``params`` (``spec`` a spec string or a callable ``params -> optimizer``)."""
    if callable(spec):
        return spec(params)
    name, kwargs = _fallback_spec(spec)
    return create(params, name, **kwargs)
