"""Whether and when a run is compiled: ``compile="auto" | True | False``, what cannot be
compiled exactly and why, and the moment a run switches to its program
(:mod:`optimlab.runner.programs` makes, names, keeps and loads the programs; docs/sweeps.md,
"Compiled runs").
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
from torch.optim import optimizer as torch_optimizer  # torch's module of the step hooks

from ..engine import hessian_refresh
from ..optim import Optimizer as _OptimlabOptimizer
from .programs import (
    CACHE_ENV,
    NotCompilable,
    Program,
    build_program,
    cache_dir,
    compiler_missing,
    load_program,
    loaded_keys,
    program_key,
)
from .resolve import needs_closure
from .run_schedule import RunSchedule, known_proportional

__all__ = ["COMPILE_CHOICES", "check_compile", "BACKEND", "SWITCH_AFTER", "refusal", "choose", "switch_now", "obtain",
           "NotCompilable", "CACHE_ENV", "loaded_keys"]

COMPILE_CHOICES = ("auto", True, False)

def check_compile(value: Any) -> Any:
    """``"auto"``, ``True`` or ``False`` (also ``"on"``/``"off"``), else a ValueError naming ``compile``."""
    if isinstance(value, str) and value.strip().lower() in ("on", "true", "off", "false", "auto"):
        v = value.strip().lower()
        return "auto" if v == "auto" else v in ("on", "true")
    if value is True or value is False:
        return value
    raise ValueError(f"compile must be 'auto', True or False, got {value!r}")


# ---------------------------------------------------------------------- the choice
BACKEND = "aoti"
"""How :func:`choose` builds a missing program (:func:`build_program`'s ``backend``)."""

SWITCH_AFTER = 30.0
"""``compile="auto"`` builds a missing program only for a run that has stepped eagerly this
many seconds and, at its pace so far, has at least as long to go to its step limit (building
takes 10-60 s; a stopping rule may still end the run sooner, so the run itself is the
measure, not an estimate). A program already built (in this process or on disk) is used
from the second step on."""


def _observed() -> bool:
    """Whether something watches every ``optimizer.step()``: a global step hook
    (``torch.optim.optimizer.register_optimizer_step_pre_hook`` / ``_post_hook``) or the
    autograd profiler."""
    hooks = (getattr(torch_optimizer, "_global_optimizer_pre_hooks", {}),
             getattr(torch_optimizer, "_global_optimizer_post_hooks", {}))
    return any(len(h) for h in hooks) or torch.autograd.profiler._is_profiler_enabled


def refusal(fn: Any, opt: torch.optim.Optimizer, *, tensor_hyper: bool, schedule: Any) -> str | None:
    """Why this run cannot be compiled, before anything is traced (None: it may be)."""
    if not isinstance(opt, _OptimlabOptimizer):
        return f"compile needs an optimlab optimizer, not {type(opt).__module__}.{type(opt).__name__}"
    if hessian_refresh(opt) is not None:
        return (f"{type(opt).__name__} refreshes its curvature every k steps (update_hessian, as Sophia's "
                f"authors' loop): it runs eagerly")
    if not tensor_hyper or len(opt.param_groups) != 1 or len(opt.param_groups[0]["params"]) != 1:
        return f"{type(opt).__name__} does not take the runs as one (R, d) parameter here"
    if _observed():
        return ("optimizer step hooks are registered or the profiler is on: they would not see the steps of a "
                "compiled program")
    if float(getattr(fn, "noise", 0.0) or 0.0) > 0:
        return "a noisy function draws random numbers that a compiled program would not draw the same way"
    if isinstance(schedule, RunSchedule):  # one schedule over the runs' own learning rates
        if not known_proportional(schedule.schedule):
            return ("the schedule is not known to scale with the base lr (absolute values, eta_min > 0, max_lr, "
                    "or a factory), and a program takes each run's lr as its base times one factor per step: "
                    "per-run learning rates with it run eagerly")
        schedule = schedule.scheduler
    if schedule is not None and isinstance(schedule, torch.optim.lr_scheduler.ReduceLROnPlateau):
        return "ReduceLROnPlateau needs the loss at each step"
    return compiler_missing() if BACKEND == "aoti" else None


def choose(choice: Any, fn: Any, opt: _OptimlabOptimizer | torch.optim.Optimizer, hyper: Sequence[str], *,
           tensor_hyper: bool, schedule: Any = None) -> tuple[str, bool] | None:
    """``(key, ready)`` of the program this run may switch to (None: it runs eagerly) for
    ``compile=choice`` (see :func:`check_compile`); ``ready``: built already (this process or
    the disk cache). ``False`` never; ``True`` always (a :class:`NotCompilable` says why not);
    ``"auto"`` whenever it could be compiled (the loop decides when: :data:`SWITCH_AFTER`)."""
    choice = check_compile(choice)
    if choice is False:
        return None
    why = refusal(fn, opt, tensor_hyper=tensor_hyper, schedule=schedule)
    try:
        if why is not None:
            raise NotCompilable(why)
        x = opt.param_groups[0]["params"][0]
        key = program_key(fn, opt, list(hyper), x.shape[0], x[0].numel(), x.dtype)
    except NotCompilable:
        if choice is True:
            raise
        return None
    return key, key in loaded_keys() or (BACKEND == "aoti" and (cache_dir() / f"{key}.pt2").is_file())


def switch_now(choice: Any, ready: bool, k: int, steps: int, elapsed: float) -> bool:
    """Whether a run that has taken ``k`` steps in ``elapsed`` seconds switches to its program
    now: after the first step when ``compile=True`` or the program is ready; under ``"auto"``
    otherwise once :data:`SWITCH_AFTER` seconds have passed with as long again to go."""
    if k == 1 and (choice is True or ready):
        return True
    return choice == "auto" and not ready and elapsed >= SWITCH_AFTER and (steps - k) * elapsed / k >= SWITCH_AFTER


def obtain(key: str, choice: Any, fn: Any, opt: _OptimlabOptimizer, hyper_t: dict[str, Any]) -> Program | None:
    """The program ``key`` for an optimizer that has taken its first step (so that its state
    exists): loaded, or built (:data:`BACKEND`). None (run on eagerly) when it cannot be built
    and ``choice`` is ``"auto"``; with ``True`` the :class:`NotCompilable` is raised."""
    x = opt.param_groups[0]["params"][0]
    state = opt.state.get(x, {})
    try:
        bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
        if bad:
            raise NotCompilable(f"{type(opt).__name__} keeps Python values in its state ({', '.join(bad)}): "
                                "a compiled program would freeze them")
        names = sorted(state)
        prog = load_program(key, names) if BACKEND == "aoti" else None
        return prog if prog is not None else build_program(key, fn, opt, hyper_t, names, BACKEND,
                                                           closure=needs_closure(opt))
    except NotCompilable:
        if check_compile(choice) is True:
            raise
        return None

