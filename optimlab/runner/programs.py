r"""The compiled program of a run: K steps of a function's gradient and an optimizer's update
traced, compiled ahead of time, named, kept on disk and loaded (:mod:`optimlab.runner.compiled`
decides whether and when a run uses one).

How a program is made (once per function, optimizer structure, dtype and dimension):

1. The loop's own optimizer object is *traced* (``torch.export`` in non-strict mode: the
   optimizer's real Python runs, on symbolic tensors) through :data:`CHUNK` steps of the
   loop's rule (:class:`ChunkProgram`): the values and gradient of the function by autograd,
   the runs stopped before the call frozen (their gradient zeroed before the update, their
   point put back after it, as :class:`optimlab.engine.Freezer` does), ``optimizer.step()`` (in ``train()`` mode and
   back to ``eval()`` for a schedule-free method). The per-run hyperparameters, the
   learning rate of each step, the point and every state tensor are inputs, so a new
   learning rate, a moved start point or another grid value never compiles again.
2. The traced graph is compiled by AOTInductor (``torch._inductor.aoti_compile_and_package``,
   C++ through the machine's compiler) into a package file in :func:`cache_dir`, named by a
   hash of everything the graph depends on (:func:`program_key`: the function's definition,
   the optimizer's class and fixed options, the names of the per-run hyperparameters, dtype,
   d, whether there is one run or many, the processor, the versions of torch and of the
   optimlab code it was traced from).
3. A later call, in this process or another, loads the package in milliseconds (no tracing,
   no ``torch._dynamo`` import) and runs it.

A program is refused (:class:`NotCompilable`, with the reason) when it could not be exact:
an optimizer that keeps Python numbers that change with each step (they would be frozen
into the graph), that asks its closure for more than the value and gradient (a Hessian,
residuals), that reads a value on the host or searches a line; a function with
noise (its random numbers would not be the eager ones); a callable without a definition to
key the cache on; a scheduler that needs the loss; no C++ compiler.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import logging
import math
import os
import platform
import shutil
import sys
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch

from ..engine import has_modes
from ..optim import Optimizer as _OptimlabOptimizer

__all__ = ["CHUNK", "CACHE_ENV", "TRACED_SOURCES", "NotCompilable", "cache_dir", "compiler_missing", "program_key",
           "ChunkProgram", "Program", "load_program", "build_program", "loaded_keys", "hyper_layout", "runs_inner"]


CHUNK = 4
"""Steps per program call. A call costs microseconds; K steps unrolled in one graph cost
compile time (about 13 s for Adam at K = 4 on the 2-core machine, cold) and the host reads
the records once per call."""

CACHE_ENV = "OPTIMLAB_CACHE_DIR"
"""Where compiled programs are kept (default ``$XDG_CACHE_HOME/optimlab/compiled``, else
``~/.cache/optimlab/compiled``). Delete the folder to start over; nothing else is kept there."""


class NotCompilable(ValueError):
    """This run cannot be compiled exactly; the message says why."""


@functools.lru_cache(maxsize=1)
def compiler_missing() -> str | None:
    """Why no program can be built here (no C++ compiler on the PATH), or None; looked up once
    per process (every run asks, through :func:`optimlab.runner.compiled.refusal`)."""
    cxx = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    return None if cxx else "no C++ compiler (g++, c++ or clang++) on the PATH: install one (apt-get install g++)"


def cache_dir() -> Path:
    """The folder of compiled programs (:data:`CACHE_ENV`)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "optimlab" / "compiled"


_SOURCE: str | None = None


TRACED_SOURCES = ("optim/**/*.py", "keras/**/*.py", "functions/**/*.py", "_spec.py",
                  "runner/compiled.py", "runner/programs.py")
"""The parts of optimlab whose code a program is traced from (the optimizers, the functions,
its compiled module and this one), relative to the package."""


def _machine() -> str:
    """The processor a package is built for: AOTInductor compiles with ``-march=native``, so a
    package is named by the CPU (its model and torch's vector capability) as well."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{platform.machine()}|{model or platform.processor()}|{torch.backends.cpu.get_cpu_capability()}"


def _source_hash() -> str:
    """A hash of the source files of :data:`TRACED_SOURCES`, torch's and Python's versions and
    the processor (:func:`_machine`): a program is never reused across a change of the code it
    was traced from, nor on another kind of CPU (a shared home folder)."""
    global _SOURCE
    if _SOURCE is None:
        h = hashlib.sha256(f"{torch.__version__}|{sys.version}|{_machine()}".encode())
        root = Path(__file__).resolve().parents[1]
        for path in sorted({p for pattern in TRACED_SOURCES for p in root.glob(pattern)}):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
        _SOURCE = h.hexdigest()
    return _SOURCE


def _value_key(v: Any) -> Any:
    if isinstance(v, torch.Tensor):
        t = v.detach().cpu().contiguous()
        return ["tensor", str(t.dtype), list(t.shape), hashlib.sha256(t.numpy().tobytes()).hexdigest()]
    if isinstance(v, (tuple, list)):
        return [_value_key(u) for u in v]
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    return repr(v)


def program_key(fn: Any, opt: torch.optim.Optimizer, hyper: Sequence[str], runs: int, d: int,
                dtype: torch.dtype) -> str:
    """The name of a program: a hash of everything its graph depends on (see the module docstring)."""
    definition = fn.to_dict() if hasattr(fn, "to_dict") else None
    if definition is None or type(fn).__name__ == "_Callable":
        raise NotCompilable("compile needs a named test function or a formula (a plain callable has no "
                            "definition to name its program by)")
    group = opt.param_groups[0]
    fixed = {k: _value_key(v) for k, v in sorted(group.items()) if k != "params" and k not in hyper and k != "lr"}
    blob = json.dumps({"source": _source_hash(), "function": definition, "class": f"{type(opt).__module__}."
                       f"{type(opt).__qualname__}", "fixed": fixed, "hyper": sorted(hyper), "one_run": runs == 1,
                       "d": d, "dtype": str(dtype), "chunk": CHUNK}, sort_keys=True, default=repr)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


# ---------------------------------------------------------------------- the program
class ChunkProgram(torch.nn.Module):
    """:data:`CHUNK` steps of the runner's loop as a function of tensors only (what is traced).

    ``forward(x, active, lr, factors, hyper, state)``: ``x`` (R, d) points, ``active`` (R,) the
    runs still going, ``lr`` (R, 1) base learning rates, ``factors`` (K,) the learning rate
    factor of each step (the schedule's; ones without one), ``hyper`` the per-run
    hyperparameters (each (R, 1)), ``state`` the optimizer's state tensors. Returns the new
    ``x`` and state, and per step the values (K, R), gradient norms (K, R), points (K, d, R)
    (:class:`Program` hands them on as a (K, R, d) view) and ``tops`` (K, R): the largest of
    |value| and every |coordinate| of each run, NaN when its gradient norm is not finite
    (:func:`_top`); a run stopped before the call has 0 there; and ``low`` (R,), each run's
    lowest value of the call (a ``record="final"`` run keeps its lowest value).

    Divergence and the stopping rules are the host's (:func:`~optimlab.runner.compiled_steps.run_compiled`,
    on these records, by the eager loop's own rule): a run that stops inside a call takes the
    call's remaining steps, whose records are never read, and is frozen from the next call on.
    The host's quick test reads ``tops`` alone (a quarter of what the values, gradient norms
    and points are; the points of a frozen run that diverged are not in it), and only a call
    that fails it is searched step by step. Checking in here cost about half of the program's
    time (its reductions over d kept the loops from fusing; so did one reduction of the whole
    call to a single flag) and changed no record.
    """

    def __init__(self, fn: Any, opt: torch.optim.Optimizer, hyper: Sequence[tuple[str, int | None]],
                 state_names: Sequence[str], closure: bool = False, calls: list[int] | None = None):
        super().__init__()
        self.fn, self.opt, self.hyper, self.state_names = fn, opt, list(hyper), list(state_names)
        self.modes, self.closure_step = has_modes(opt), closure
        # closure calls of each traced step (a traced step's count is fixed); the caller's list,
        # as torch.export puts the module's own attributes back after tracing
        self.calls: list[int] = [] if calls is None else calls

    def closure(self, x: torch.Tensor, keep: torch.Tensor) -> Any:
        """The runner's closure for a method that evaluates the function inside its step (NAG's
        look-ahead gradient): the values' sum after the gradient is left in ``x.grad``, the
        stopped runs' rows zeroed, as :meth:`optimlab.runner.loop` 's closure does."""
        def closure(**kwargs: Any) -> torch.Tensor:
            if kwargs:
                raise NotCompilable(f"{type(self.opt).__name__} asks its closure for {', '.join(kwargs)}: "
                                    "only a plain closure (the value and gradient) is compiled")
            self.calls[-1] += 1
            f, g = self.gradient(x)
            x.grad = torch.where(keep, g, torch.zeros_like(g))
            return f.sum()

        return closure

    def gradient(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The values and gradient at ``x`` (R, d), the gradient taken with respect to ``x.T``:
        autograd's backward makes new buffers in the contiguous layout of the tensor it
        differentiates, so differentiating the (d, R) transpose gives a gradient with the runs
        innermost, as ``x`` has them (:func:`runs_inner`), and no loop of the program runs along
        d = 2 over a row-major copy."""
        with torch.enable_grad():
            xt = x.detach().T.requires_grad_(True)
            f = self.fn(xt.T)
            (gt,) = torch.autograd.grad(f.sum(), xt)
        return f.detach(), gt.T

    def bind(self, x: torch.Tensor, hyper: Sequence[torch.Tensor], state: Sequence[torch.Tensor]) -> None:
        """Make the optimizer's parameter, per-run hyperparameters and state these tensors."""
        group = self.opt.param_groups[0]
        group["params"] = [x]
        values = iter(hyper)
        for name, pair in self.hyper:
            group[name] = (next(values), next(values)) if pair else next(values)
        self.opt.state.clear()
        if self.state_names:
            self.opt.state[x] = dict(zip(self.state_names, state))

    def forward(self, x: torch.Tensor, active: torch.Tensor, lr: torch.Tensor, factors: torch.Tensor,
                hyper: tuple, state: tuple) -> tuple:
        opt, group = self.opt, self.opt.param_groups[0]
        x = _copy(x)
        self.bind(x, hyper, [_copy(s) for s in state])
        keep = active[:, None]
        values, norms, points, tops = [], [], [], []
        for i in range(factors.shape[0]):
            f, g = self.gradient(x)
            gn = torch.linalg.vector_norm(g, dim=1)
            values.append(f), points.append(_copy(x)), norms.append(gn), tops.append(_top(f, x, gn, active))
            if self.modes:
                opt.train()
                g = self.gradient(x)[1]
            before = _copy(x)
            x.grad = torch.where(keep, g, torch.zeros_like(g))
            group["lr"] = lr * factors[i]
            self.calls.append(0)
            opt.step(self.closure(x, keep)) if self.closure_step else opt.step()
            with torch.no_grad():
                x.copy_(torch.where(keep, x, before))
            if self.modes:
                opt.eval()
        st = opt.state.get(x, {})
        # the points as (K, d, R): the runs innermost, as x is (:func:`runs_inner`), so that no
        # step's point is transposed into a row-major record inside the program
        low = functools.reduce(torch.minimum, values)  # each run's lowest value of the call (NaN if any is)
        return (x.detach(), tuple(st[n] for n in self.state_names), torch.stack(values), torch.stack(norms),
                torch.stack([p.T for p in points]), torch.stack(tops), low)


def _top(f: torch.Tensor, x: torch.Tensor, gn: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
    """max(|f|, |x₁|, …, |x_d|) of each active run, 0 for a stopped one; NaN when any of them or
    the gradient norm ``gn`` is not finite (``gn · 0`` is 0 or NaN: the norm is tested for being
    finite, not against the bound). For a few coordinates a chain of elementwise maxima (it
    fuses with the step), else one reduction over d."""
    top = torch.maximum(f.abs(), gn * 0)
    for c in ([x[:, j] for j in range(x.shape[1])] if x.shape[1] <= 8 else [x.abs().amax(dim=1)]):
        top = torch.maximum(top, c.abs())
    return torch.where(active, top, 0)


_TORCH_FLAGS = {"_opt_called"}  # torch.optim.Optimizer's own "step was called" flag


def _snapshot(opt: torch.optim.Optimizer) -> dict:
    group = opt.param_groups[0]
    out = {k: repr(v) for k, v in group.items() if k != "params" and not isinstance(v, (torch.Tensor, tuple))}
    out.update({f"self.{k}": repr(v) for k, v in vars(opt).items()
                if isinstance(v, (int, float, bool)) and k not in _TORCH_FLAGS})
    return out


def runs_inner(t: torch.Tensor, runs: int) -> torch.Tensor:
    """``t`` (R, ...) laid out with the runs dimension innermost in memory (stride 1), the layout
    every program is traced with: the compiled loops then run along the runs and vectorize
    (with R × 2 points in the usual row-major layout they would run along d = 2). Other
    tensors (0-d, not per run) are returned as they are. No copy when already so laid out."""
    if t.dim() < 2 or t.shape[0] != runs or runs == 1:  # one run: one layout
        return t
    # the strides of that layout: the runs 1, each other dimension the runs times the sizes after it
    if t.stride() == (1, *(runs * math.prod(t.shape[j + 1:]) for j in range(1, t.dim()))):
        return t  # already so (a program's own output, handed back to it)
    return t.movedim(0, -1).contiguous().movedim(-1, 0)


def _copy(t: torch.Tensor) -> torch.Tensor:
    """A copy of ``t`` with the runs innermost (:func:`runs_inner`), inside a traced program: the
    compiler lays out a plain ``clone`` row-major whatever its input's strides, and every later
    loop over it would then run along d."""
    return t.movedim(0, -1).clone().movedim(-1, 0) if t.dim() >= 2 else t.clone()


class Program:
    """A compiled chunk program, loaded: call it with the inputs of :class:`ChunkProgram`.
    A package runs with the strides it was compiled for, so every per-run input is put in
    that layout first (:func:`runs_inner`)."""

    def __init__(self, run: Any, state_names: list[str], chunk: int, path: Path | None = None, calls: int = 0):
        self._run, self.state_names, self.chunk, self.path = run, state_names, chunk, path
        self.calls = calls  # closure calls per step (one value and one gradient each)

    def __call__(self, x: torch.Tensor, active: torch.Tensor, lr: torch.Tensor, factors: torch.Tensor,
                 hyper: Sequence[torch.Tensor], state: Sequence[torch.Tensor]) -> tuple:
        """``(x, state, values, gradient norms, points, tops, low)`` after ``len(factors)`` steps."""
        n, R = len(state), x.shape[0]
        out = self._run([runs_inner(x, R), active, lr, factors, *hyper, *(runs_inner(t, R) for t in state)])
        V, G, P, tops, low = out[1 + n:]
        return out[0], list(out[1:1 + n]), V, G, P.transpose(1, 2), tops, low


_LOADED: dict[str, Program] = {}
_LOCK = threading.Lock()


def _loader(path: Path) -> Any:
    """The package's runner: AOTInductor's C++ loader when torch exposes it (no import of the
    compiler stack: milliseconds), else ``torch._inductor.aoti_load_package``."""
    aoti = getattr(torch._C, "_aoti", None)
    if aoti is not None and hasattr(aoti, "AOTIModelPackageLoader"):
        runner = aoti.AOTIModelPackageLoader(str(path), "model", False, 1, -1)
        return runner.boxed_run
    from torch import _inductor  # lazy: the compiler stack costs seconds to import; only this fallback needs it

    return _inductor.aoti_load_package(str(path)).loader.boxed_run


def loaded_keys() -> list[str]:
    """The keys of the programs this process has loaded (or built)."""
    return list(_LOADED)


def hyper_layout(hyper_t: dict[str, Any]) -> tuple[list[tuple[str, bool]], list[torch.Tensor]]:
    """The per-run hyperparameters other than ``lr`` as the program takes them: their names
    (with True for a pair, ``betas``) and the tensors in that order."""
    names = [(k, isinstance(v, tuple)) for k, v in sorted(hyper_t.items()) if k != "lr"]
    flat = [t for k, pair in names for t in (hyper_t[k] if pair else (hyper_t[k],))]
    return names, flat


def load_program(key: str, state_names: list[str]) -> Program | None:
    """The program ``key`` if this process or the disk cache has it, else None."""
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        path = cache_dir() / f"{key}.pt2"
        if not path.is_file():
            return None
        try:
            meta = json.loads(path.with_suffix(".json").read_text())
            prog = Program(_loader(path), state_names, int(meta["chunk"]), path, int(meta["closure_calls"]))
        except (RuntimeError, OSError, ValueError, KeyError):  # a damaged, foreign or half-written one: build again
            return None
        _LOADED[key] = prog
        return prog


def build_program(key: str, fn: Any, opt: _OptimlabOptimizer, hyper_t: dict[str, Any], state_names: list[str],
                  backend: str = "aoti", closure: bool = False) -> Program:
    """Trace and compile the program ``key`` and keep it (``backend="aoti"``: in the disk cache;
    ``"graph"``: the traced graph run by torch without compiling, for tests of the tracing)."""
    missing = compiler_missing() if backend == "aoti" else None
    if missing:
        raise NotCompilable(missing)
    ep, calls = _export(fn, opt, hyper_t, state_names, closure)
    if backend == "graph":
        module = ep.module()
        n_h = len(hyper_layout(hyper_t)[1])

        def run(flat: list) -> list:
            out = module(*flat[:4], tuple(flat[4:4 + n_h]), tuple(flat[4 + n_h:]))
            return [out[0], *out[1], *out[2:]]

        return Program(run, state_names, CHUNK, calls=calls)
    from torch import _inductor  # lazy: the compiler stack costs seconds to import; only a build needs it

    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp, _quiet():
        part = Path(tmp) / f"{key}.pt2"
        _inductor.aoti_compile_and_package(ep, package_path=str(part))
        meta = Path(tmp) / f"{key}.json"
        meta.write_text(json.dumps({"chunk": CHUNK, "closure_calls": calls}))
        os.replace(meta, folder / meta.name)
        os.replace(part, folder / part.name)  # atomic, and last: a reader never sees half a program
    prog = load_program(key, state_names)
    if prog is None:
        raise NotCompilable(f"the compiled program {folder / (key + '.pt2')} could not be loaded")
    return prog


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch's tracer and compiler without their log lines and warnings (graphs printed on a
    refusal, "profiler record function will be ignored", deprecations of their own code): a
    refusal is reported as one :class:`NotCompilable` message instead."""
    loggers = [logging.getLogger(n) for n in ["torch", *logging.root.manager.loggerDict] if n.startswith("torch")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _export(fn: Any, opt: _OptimlabOptimizer, hyper_t: dict[str, Any], state_names: list[str],
            closure: bool = False) -> tuple[Any, int]:
    """``torch.export`` of :class:`ChunkProgram` on the optimizer itself; its parameter, state
    and hyperparameters are put back afterwards. Refused when the trace changed a Python
    number of the optimizer (it would be frozen into the program)."""
    group = opt.param_groups[0]
    x = group["params"][0]
    saved_group = dict(group)
    saved_state = {k: v for k, v in opt.state.get(x, {}).items()}
    names, flat_h = hyper_layout(hyper_t)
    R = x.shape[0]
    lr = hyper_t.get("lr")
    lr = lr if isinstance(lr, torch.Tensor) else torch.full((R, 1), float(group["lr"]), dtype=x.dtype)
    inputs = (runs_inner(x.detach().clone(), R), torch.ones(R, dtype=torch.bool), lr,
              torch.ones(CHUNK, dtype=x.dtype), tuple(flat_h),
              tuple(runs_inner(saved_state[n], R) for n in state_names))
    dynamic = None
    if R > 1:
        runs = torch.export.Dim("runs", min=2)
        dynamic = ({0: runs}, {0: runs}, {0: runs}, None, tuple({0: runs} for _ in flat_h),
                   tuple({0: runs} if saved_state[n].dim() and saved_state[n].shape[0] == R else None
                         for n in state_names))
    before = _snapshot(opt)
    try:
        calls: list[int] = []
        with _quiet():
            ep = torch.export.export(ChunkProgram(fn, opt, names, state_names, closure, calls), inputs, strict=False,
                                     dynamic_shapes=dynamic)
        changed = [] if len(set(calls)) <= 1 else [f"closure calls per step {calls}"]
        changed += [k for k, v in _snapshot(opt).items() if before.get(k) != v]
        changed += [f"new state {k}" for k in opt.state.get(opt.param_groups[0]["params"][0], {})
                    if k not in state_names]
    except NotCompilable:
        raise
    except Exception as e:  # whatever the tracer met: a host read, data-dependent control flow, ...
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NotCompilable(f"{type(opt).__name__} on {getattr(fn, 'name', 'this function')} could not be traced: "
                            f"{first[:300]}") from e
    finally:
        group.clear()
        group.update(saved_group)
        opt.state.clear()
        if saved_state:
            opt.state[x] = saved_state
    if changed:
        raise NotCompilable(f"{type(opt).__name__} changes Python values at each step ({', '.join(changed)}): "
                            "a compiled program would freeze them")
    return ep, (calls[0] if calls else 0)
