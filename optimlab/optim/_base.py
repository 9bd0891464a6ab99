"""The base class every optimlab optimizer derives from.

What lives here, once, for every method:

* validation of hyperparameters against each class's declared table (``hparams``,
  ``hparam_rules``; :mod:`optimlab.optim.hparams`), with errors that name the
  argument, the value and the allowed range, and torch's own sentence;
* hyperparameters that are tensors and broadcast against the parameter (the *runs
  dimension*): a parameter of shape ``(R, ...)`` with ``lr`` of shape ``(R, 1, ...)``
  is R independent runs in one computation (a one-element tensor of any shape is one
  value, as in torch; the exact rule is in :mod:`optimlab.optim.hparams`);
* the gradient pipeline shared by all methods, in this order:
  ``maximize`` (negate), Keras clipping (``clipvalue``, ``clipnorm``,
  ``global_clipnorm``), weight decay (L2 added to the gradient, or decoupled
  ``θ ← θ(1 − lr·wd)``), inverse-time decay of the learning rate
  ``lr_t = lr / (1 + lr_decay·(t − 1))`` (torch's Adagrad ``lr_decay``, Keras 2's
  ``decay``);
* the policy for non-finite gradients (``nonfinite``), checked for every
  parameter *before* any state changes, in one reduction and one host read per
  device (:mod:`optimlab.optim._guard`);
* a fast path through torch's own fused kernels where the arithmetic is the same.

A subclass writes only its update rule in :meth:`Optimizer._update`, one readable
function per method: on one parameter tensor, or (``_updates_lists = True``) once over
the lists of a group's tensors with :mod:`optimlab.optim._lists`, which runs it on
torch's multi-tensor operations.
"""

from __future__ import annotations

import sys
import warnings
from operator import is_
from typing import Any, Callable

import torch
from torch import Tensor

from . import _lists as lists
from ._fused import check_fused_device, fused_mask
from ._guard import all_finite
from ._ops import is_nonzero, is_tensor_hparam, scalar_dtype, step_value
from ._state import check_loaded_state, real_view_update, tensorize_scalars
from .hparams import (
    AtMostOne,
    Choice,
    Flag,
    Range,
    check_choice,
    check_range,
    check_tensors,
    check_values,
)

__all__ = ["Optimizer", "check_range", "check_choice", "HParam"]

HParam = "float | Tensor"

NONFINITE_POLICIES = ("raise", "skip", "ignore")


def _without_dynamo(name: str) -> Callable[..., Any]:
    """torch.optim.Optimizer's method ``name`` without its ``torch._disable_dynamo`` wrapper
    while ``torch._dynamo`` is not loaded. The wrapper imports ``torch._dynamo`` at its first
    call (2–3 s per process) only to keep dynamo from tracing the method; when dynamo is not
    loaded nothing can be tracing, so the plain method does the same. Once something has
    loaded dynamo (``torch.compile``), torch's wrapped method runs, as in torch."""
    wrapped = getattr(torch.optim.Optimizer, name)
    plain = getattr(wrapped, "__wrapped__", wrapped)

    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return (wrapped if "torch._dynamo" in sys.modules else plain)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``torch.optim.Optimizer.{name}`` (see its documentation), without importing "
                      "``torch._dynamo`` while nothing compiles.")
    return method


# ------------------------------------------------------------------------ the class
class Optimizer(torch.optim.Optimizer):
    """Base class: the shared gradient pipeline around one method's ``_update``.

    Subclasses declare their arguments in ``hparams`` (and refused combinations in
    ``hparam_rules``; see :mod:`optimlab.optim.hparams`), implement ``_init_state`` and
    ``_update``, and may implement ``_fused_step``. ``requires_closure = True`` says
    that ``step`` must be given a closure (the runner and the trainer then pass one).

    Options common to every optimlab optimizer (keyword-only):

    ``maximize``: maximize the objective (the gradient is negated).

    ``decoupled_weight_decay``: ``False`` adds ``weight_decay·θ`` to the gradient
    (L2, torch's default); ``True`` shrinks the parameter before the update,
    ``θ ← θ(1 − lr_t·wd)`` (Loshchilov & Hutter, "Decoupled Weight Decay
    Regularization", ICLR 2019; AdamW and every Keras 3 optimizer).

    ``lr_decay``: inverse-time decay ``lr_t = lr / (1 + lr_decay·(t − 1))`` where t
    counts this parameter's updates including the current one (Keras 2 ``decay``).

    ``clipvalue``, ``clipnorm``, ``global_clipnorm``: Keras' gradient clipping,
    applied before weight decay: each element to ``[−v, v]``; each tensor to norm at
    most ``c`` (``g·c / max(‖g‖, c)``); all gradients of the group together.

    ``nonfinite``: what a NaN or ±inf gradient does. ``"raise"`` (default): a
    ``FloatingPointError`` naming the parameter, raised before any parameter or
    state changes, so nothing already computed is lost. ``"skip"``: the whole step
    is skipped (no parameter, state or step count changes) with a warning.
    ``"ignore"``: no check, exactly torch's behaviour (NaN propagates into the
    parameters and the state).

    ``foreach`` and ``fused``: accepted for drop-in compatibility. ``fused=None``
    uses torch's fused kernel where the arithmetic is identical to the readable
    formula and every hyperparameter is a Python number; ``fused=False`` always
    runs the readable formula; ``fused=True`` requires the fused path and raises
    if the options cannot use it (a one-element tensor ``lr`` can). In both cases a
    parameter reaches a kernel only when the kernel is known to be right for it
    (:mod:`optimlab.optim._fused`); the others take the readable formula.

    ``differentiable``: record the step with autograd, as torch's option does.
    Complex parameters are updated as (real, imaginary) pairs, as in torch.
    """

    _has_fused: bool = False
    requires_closure: bool = False

    # every optimizer's arguments (a subclass's table adds to these; see hparam_table)
    hparams: dict[str, Any] = {
        "lr": Range(0.0, torch="Invalid learning rate"),
        "weight_decay": Range(0.0, torch="Invalid weight_decay value"),
        "lr_decay": Range(0.0, torch="Invalid lr_decay value"),
        "clipvalue": Range(0.0, lo_open=True, optional=True),
        "clipnorm": Range(0.0, lo_open=True, optional=True),
        "global_clipnorm": Range(0.0, lo_open=True, optional=True),
        "maximize": Flag(), "decoupled_weight_decay": Flag(), "differentiable": Flag(),
        "foreach": Flag(optional=True), "fused": Flag(optional=True),
        "nonfinite": Choice(NONFINITE_POLICIES),
    }
    hparam_rules: tuple = (AtMostOne(("clipvalue", "clipnorm", "global_clipnorm"),
                                     "give at most one of clipvalue, clipnorm and global_clipnorm"),)

    def __init__(self, params: Any, defaults: dict[str, Any], *, maximize: bool = False,
                 decoupled_weight_decay: bool = False, lr_decay: Any = 0.0,
                 clipvalue: float | None = None, clipnorm: float | None = None,
                 global_clipnorm: float | None = None, nonfinite: str = "raise",
                 foreach: bool | None = None, fused: bool | None = None,
                 differentiable: bool = False, capturable: bool = False) -> None:
        if differentiable and fused:
            raise RuntimeError("`fused` does not support `differentiable`")
        if capturable:
            raise NotImplementedError("capturable=True (CUDA graph capture) is not supported by optimlab optimizers")
        defaults = dict(defaults)
        defaults.update(maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
                        lr_decay=lr_decay, clipvalue=clipvalue, clipnorm=clipnorm,
                        global_clipnorm=global_clipnorm, nonfinite=nonfinite,
                        foreach=foreach, fused=fused, differentiable=differentiable)
        defaults = self._validate(defaults)
        if fused and not self._has_fused:
            raise ValueError(f"fused=True: {type(self).__name__} has no fused kernel; use fused=None or False")
        if params is None:  # torch refuses a tensor lr of several elements before it finds no parameters
            self._validate({**defaults, "params": []})
        super().__init__(params, defaults)
        for group in self.param_groups:
            self._validate(group)
        self._constructed = True

    # -- validation ----------------------------------------------------------------
    @classmethod
    def hparam_table(cls) -> tuple[dict[str, Any], tuple]:
        """The declared specs and rules of this class and its bases (a subclass's entry wins)."""
        table: dict[str, Any] = {}
        rules: list = []
        for klass in reversed(cls.__mro__):
            table.update(vars(klass).get("hparams", {}))
            rules += [r for r in vars(klass).get("hparam_rules", ()) if r not in rules]
        return table, tuple(rules)

    def _validate(self, group: dict[str, Any]) -> dict[str, Any]:
        """Check one param group (or the defaults) against the declared table, in place:
        refused values raise ``ValueError``; one-element tensors become 0-d. The
        defaults have no ``params``; a group's tensors must broadcast against them."""
        table, rules = self.hparam_table()
        checked = check_values(table, {k: v for k, v in group.items() if k != "params"}, rules,
                               params=group.get("params"))
        group.update(checked)
        return group

    _torch_add_param_group = _without_dynamo("add_param_group")
    zero_grad = _without_dynamo("zero_grad")
    state_dict = _without_dynamo("state_dict")
    _torch_load_state_dict = _without_dynamo("load_state_dict")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        self._torch_add_param_group(param_group)
        if getattr(self, "_constructed", False):  # __init__ validates the first groups itself
            try:
                self._validate(self.param_groups[-1])
            except (ValueError, TypeError):
                self.param_groups.pop()  # a rejected group leaves the optimizer as it was
                raise

    def __setstate__(self, state: dict[str, Any]) -> None:
        # also called by load_state_dict: a state saved by the torch twin lacks our
        # options, so they take this optimizer's defaults; a plain-number step (older
        # torch, other tools) becomes a tensor, as torch's classes convert it.
        super().__setstate__(state)
        self.__dict__.pop("_fusable_checked", None)  # the state tensors it vouched for may be gone
        self.__dict__.pop("_plans", None)
        for group in self.param_groups:
            for k, v in self.defaults.items():
                group.setdefault(k, v)
        tensorize_scalars(self.state, scalar_dtype())

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's ``load_state_dict``, after checking that every saved state tensor fits its
        parameter (same shape; complex only for a complex parameter): a mismatch raises
        ``RuntimeError`` naming the entry and nothing is loaded; the saved groups' options
        are checked like constructed ones (ValueError). torch then casts the state
        to each parameter's dtype and device, as its own classes do."""
        check_loaded_state(type(self).__name__, state_dict, self.param_groups)
        table, rules = self.hparam_table()
        for i, g in enumerate(state_dict.get("param_groups") or ()):  # a loaded lr=nan is refused like a given one
            try:
                check_values(table, {k: v for k, v in g.items() if k in table}, rules)
            except (ValueError, TypeError) as e:
                raise type(e)(f"{type(self).__name__}.load_state_dict: param_groups[{i}]: {e}; "
                              f"nothing was loaded") from None
        self._torch_load_state_dict(state_dict)

    # -- the step ----------------------------------------------------------------------
    _supports_sparse: bool = False  # torch's SGD and Adagrad take sparse gradients
    # group keys the method itself rewrites at every step (step counters, running sums, as its
    # reference keeps them in the group): no hyperparameters, so :meth:`_plan` does not start
    # over when they change, and no verdict of it rests on them
    _step_keys: frozenset[str] = frozenset()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one update of every parameter that has a gradient.

        ``closure`` re-evaluates the model and returns the loss (as in torch). With
        ``differentiable=True`` the update is recorded by autograd, as in torch.
        """
        if self.defaults["differentiable"]:
            with torch.enable_grad():
                return self._step(closure)
        with torch.no_grad():
            return self._step(closure)

    def _step(self, closure: Callable[[], Any] | None) -> Any:
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        work = []
        for gi, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            if not self._supports_sparse and any(g.is_sparse for g in grads):
                raise RuntimeError(f"{type(self).__name__} does not support sparse gradients")
            blockers = self._plan(gi, group)
            if group["fused"] and self._has_fused:  # refused before anything changes, in any group
                check_fused_device(params)
                if blockers:
                    raise ValueError(f"fused=True is not possible here: {'; '.join(blockers)}")
            work.append((gi, group, params, grads, blockers))
        if not self._grads_ok(work):
            return loss
        for _, group, params, grads, blockers in work:
            self._group_step(group, params, grads, blockers)
        return loss

    def _plan(self, gi: int, group: dict[str, Any]) -> list[str]:
        """What a step needs from a group's options, worked out once per set of values: the
        group's tensor hyperparameters checked as the constructor checks them (a user or a
        scheduler may have replaced one) and the reasons it cannot take the fused kernel.
        A steady-state step only sees that every value is still the very object it was (a
        number lr may change freely: no verdict depends on its value) and every tensor
        value keeps its shape; ``add_param_group``, ``load_state_dict`` or a replaced value
        start over."""
        if torch.compiler.is_compiling():  # checked when the step was traced; bookkeeping breaks graphs
            return self._fused_blockers(group)
        plans = self.__dict__.setdefault("_plans", {})
        values = _snapshot(group, self._step_keys)
        seen = plans.get(gi)
        if (seen is not None and seen[0] is group and len(values) == len(seen[1]) and all(map(is_, values, seen[1]))
                and len(group["params"]) == seen[2] and (seen[3] is None or seen[3] == _tensor_shapes(values))):
            return seen[4]
        check_tensors(self.hparam_table()[0], group, group["params"])  # may make one-element tensors 0-d views
        blockers = self._fused_blockers(group)
        values = _snapshot(group, self._step_keys)
        shapes = _tensor_shapes(values)
        plans[gi] = (group, values, len(group["params"]), shapes or None, blockers)
        return blockers

    def _grads_ok(self, work: list) -> bool:
        """Apply the non-finite policy; True means go on with the step."""
        pending = [w for w in work if w[1]["nonfinite"] != "ignore"]
        if not pending:
            return True
        if torch.compiler.is_compiling():
            return True  # a data-dependent check would break the graph; torch semantics apply
        # one reduction per device, one host read each (a finite sum that overflows only
        # sends us to the exact check below)
        if all_finite(pending[0][3] if len(pending) == 1 else [g for w in pending for g in w[3]]):
            return True
        for gi, group, params, _, _ in pending:  # a sum can overflow: find the culprit exactly
            for pi, p in enumerate(params):
                values = p.grad._values() if p.grad.is_sparse else p.grad
                if not values.is_meta and not bool(torch.isfinite(values).all()):  # the error path: exact
                    msg = (f"{type(self).__name__}: non-finite gradient (NaN or inf) in parameter {pi} of "
                           f"param group {gi} (shape {tuple(p.shape)})")
                    if group["nonfinite"] == "raise":
                        raise FloatingPointError(msg + "; no parameter or state was changed. Pass nonfinite='skip' "
                                                 "to skip such steps or 'ignore' for torch's behaviour")
                    warnings.warn(msg + "; the step was skipped (nonfinite='skip')", RuntimeWarning, stacklevel=3)
                    return False
        return True

    def _group_step(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                    blockers: list[str]) -> None:
        stateless = self._stateless(group)
        if stateless:  # nothing to read or keep: torch's SGD without momentum touches no state
            states: list[dict[str, Any]] = [{} for _ in params]
        else:
            states = [self.state[p] for p in params]
            for p, state in zip(params, states):
                if not state:
                    self._init_state(p, state, group)
        fused = self._fused_mask(group, params, grads, states, blockers)
        if all(fused):  # the usual fused case, without copying the lists
            self._fused_step(group, params, grads, states)
        elif not any(fused):  # the usual readable case, likewise
            self._eager_step(group, params, grads, states)
        else:
            self._fused_step(group, *([t for t, f in zip(seq, fused) if f] for seq in (params, grads, states)))
            self._eager_step(group, *([t for t, f in zip(seq, fused) if not f] for seq in (params, grads, states)))
        if not stateless:
            for p, state in zip(params, states):
                if not state:  # torch keeps no entry for a parameter without state
                    del self.state[p]

    def _eager_step(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                    states: list[dict[str, Any]]) -> None:
        """The readable path: shared gradient pipeline, then the method's ``_update``: on the
        lists of the group's tensors when the class writes its rule over lists
        (``_updates_lists``, :mod:`optimlab.optim._lists`), else parameter by parameter."""
        grads = self._preprocess(group, params, grads)
        if self._counts_steps(group):
            self._count_steps(states)
        lrs = self._lrs(group, states)
        grads = self._weight_decay(group, params, grads, lrs)
        if not self._updates_lists:
            for p, g, state, lr in zip(params, grads, states, lrs):
                if p.is_complex():
                    real_view_update(self._update, p, g, state, group, lr)
                else:
                    self._update(p, g, state, group, lr)
            return
        complex_ = any(map(Tensor.is_complex, params))
        real = [i for i, p in enumerate(params) if not p.is_complex()] if complex_ else range(len(params))
        runs = (lists.cache_sized(real, params, self._chunk_elements) if self._in_cache_runs(group)
                else [real] if len(real) else [])
        held = None  # the previous run's temporaries (see _update), dropped once the next run is done
        for chunk in runs:
            if len(chunk) == len(params):
                held = self._update(params, grads, states, group, lrs)
            else:
                held = self._update([params[i] for i in chunk], [grads[i] for i in chunk],
                                    [states[i] for i in chunk], group, [lrs[i] for i in chunk])
        del held
        if not complex_:
            return
        for p, g, state, lr in zip(params, grads, states, lrs):
            if p.is_complex():  # on the (real, imaginary) views, a list of one
                real_view_update(self._update_one, p, g, state, group, lr)

    def _update_one(self, p: Tensor, g: Tensor, state: dict[str, Any], group: dict[str, Any], lr: Any) -> None:
        self._update([p], [g], [state], group, [lr])

    def _weight_decay(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                      lrs: list[Any]) -> list[Tensor]:
        """Decoupled: θ ← θ(1 − lr·wd) now; L2: the gradients plus wd·θ (new tensors)."""
        wd = group.get("weight_decay", 0.0)
        if not is_nonzero(wd):
            return grads
        if group["decoupled_weight_decay"]:
            lists.mul_(params, [1 - lr * wd for lr in lrs])
            return grads
        if is_tensor_hparam(wd):
            return [g.add(p * wd) for p, g in zip(params, grads)]
        return [g.add(p, alpha=wd) for p, g in zip(params, grads)]

    def _preprocess(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor]) -> list[Tensor]:
        """maximize and Keras clipping; never modifies ``p.grad``."""
        if group["maximize"]:
            grads = [-g for g in grads]
        clipping = [n for n in ("clipvalue", "clipnorm", "global_clipnorm") if group[n] is not None]
        if clipping and any(g.is_sparse for g in grads):
            raise RuntimeError(f"{clipping[0]} does not support sparse gradients")
        if group["clipvalue"] is not None:
            c = group["clipvalue"]
            grads = [torch.view_as_complex(torch.view_as_real(g).clamp(-c, c)) if g.is_complex()
                     else g.clamp(-c, c) for g in grads]
        elif group["clipnorm"] is not None:
            c = group["clipnorm"]
            grads = [g * (c / torch.clamp(torch.linalg.vector_norm(g), min=c)) for g in grads]
        elif group["global_clipnorm"] is not None:
            c = group["global_clipnorm"]
            norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
            grads = [g * (c / torch.clamp(norm, min=c)) for g in grads]
        return grads

    @staticmethod
    def _count_steps(states: list[dict[str, Any]]) -> None:
        """Add 1 to each parameter's step count t (1 at the first update), in one call as torch does."""
        for state in states:
            if "step" not in state:  # SGD and NAG count steps only when lr_decay needs t
                state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
        lists.add_scalar_([state["step"] for state in states], 1.0)

    def _lrs(self, group: dict[str, Any], states: list[dict[str, Any]]) -> list[Any]:
        """The learning rate of each parameter's update: ``lr``, with inverse-time decay in its
        step count t."""
        lr, decay = group["lr"], group["lr_decay"]
        if not is_nonzero(decay):
            return [lr] * len(states)
        return [lr / (1 + (step_value(state) - 1) * decay) for state in states]

    def _counts_steps(self, group: dict[str, Any]) -> bool:
        return True

    def _in_cache_runs(self, group: dict[str, Any]) -> bool:
        """True when this group's rule makes several passes over the same tensors, so that it pays
        to run it on cache-sized runs of them (:func:`lists.cache_sized`, ``_chunk_elements``); a
        one-pass rule takes the whole list in one call per operation."""
        return True

    def _stateless(self, group: dict[str, Any]) -> bool:
        """True when this group's update reads and writes no per-parameter state."""
        return False

    # -- to implement ----------------------------------------------------------------
    def _init_state(self, p: Tensor, state: dict[str, Any], group: dict[str, Any]) -> None:
        raise NotImplementedError

    _updates_lists: bool = False  # True: _update(params, grads, states, group, lrs) takes lists
    # the most elements of one call of a list rule on CPU (lists.cache_sized); a rule of few
    # passes and no temporaries takes more, where Python per call would cost more than the cache saves
    _chunk_elements: int = lists.CHUNK_ELEMENTS

    def _update(self, p: Any, g: Any, state: Any, group: dict[str, Any], lr: Any) -> Any:
        """The rule. Over lists it may return its temporaries: the loop holds them until the
        next cache-sized run has made its own, so that on the CPU the allocator reuses their
        pages instead of giving them back and faulting them in again (Adadelta at 10M/10:
        1.31 → 1.02× torch's default, docs/optimizers.md, Speed)."""
        raise NotImplementedError

    # -- fused fast path ---------------------------------------------------------------
    _fused_incompatible: dict[str, Any] = {}  # option -> value the fused kernel needs

    _fused_bad_cpu_dtypes: tuple = ()  # dtypes the class's CPU kernel gets wrong

    def _fused_mask(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                    states: list[dict[str, Any]], blockers: list[str]) -> list[bool]:
        """Which of ``params`` go to the fused kernel: the group's options must allow it
        (``blockers`` empty; with ``fused=True``, ``_step`` has refused them if not), and
        each parameter must be one the kernel is known to get right
        (:func:`optimlab.optim._fused.fused_mask`); the others take the readable formula."""
        if not self._has_fused or group["fused"] is False or blockers:
            return [False] * len(params)
        auto = group["fused"] is None
        checked = self.__dict__.setdefault("_fusable_checked", {}).setdefault(auto, ({}, {}))  # not saved
        return fused_mask(params, grads, states, auto, self._fused_bad_cpu_dtypes, *checked)

    def _fused_blockers(self, group: dict[str, Any]) -> list[str]:
        reasons = []
        for k, v in group.items():
            if k in self._step_keys:
                continue
            if k == "lr" and isinstance(v, Tensor) and v.numel() == 1 and group["fused"]:
                continue  # fused=True takes a one-element tensor lr, as torch does
            if k != "params" and isinstance(v, Tensor):
                reasons.append(f"{k} is a tensor" + (" with more than one element" if k == "lr" else ""))
            if k == "betas" and any(isinstance(b, Tensor) for b in v):
                reasons.append("betas hold tensors")
        for k, need in self._fused_incompatible.items():
            v = group.get(k, need)
            if not isinstance(v, Tensor) and v != need:  # a tensor is reported above
                reasons.append(f"{k}={group.get(k)!r}")
        if any(group.get(k) is not None for k in ("clipvalue", "clipnorm", "global_clipnorm")):
            reasons.append("gradient clipping")
        if group["differentiable"]:
            reasons.append("differentiable=True")
        if torch.compiler.is_compiling():
            reasons.append("inside torch.compile")
        return reasons

    def _fused_step(self, group: dict[str, Any], params: list[Tensor], grads: list[Tensor],
                    states: list[dict[str, Any]]) -> None:
        raise NotImplementedError


def _snapshot(group: dict[str, Any], skip: frozenset[str]) -> tuple:
    """A group's values for :meth:`Optimizer._plan` to compare by identity, without the keys
    in ``skip`` (the method's own step keys); a number lr as ``float`` (every number lr has
    the same verdicts)."""
    return tuple(float if k == "lr" and not isinstance(v, Tensor) else v for k, v in group.items() if k not in skip)


def _tensor_shapes(values: tuple) -> tuple:
    return tuple(t.shape for v in values for t in (v if isinstance(v, tuple) else (v,)) if isinstance(t, Tensor))
