r"""Hyperparameter sweeps: every configuration of a grid, on several seeds, as ONE batch.

``sweep(problem, optimizer, grid, seeds, steps)`` takes the grid (the Cartesian
product of its value lists, a lazy :class:`~optimlab.sweeps.grids.Grid` that is never
expanded) times the seeds as R runs and computes them together (a chunk of runs at a
time when they are many: ``chunk_size=``, ``record=``; see ``docs/sweeps.md``) on the
*runs dimension*: the parameters are one (R, d) tensor and each swept
hyperparameter one (R, 1) tensor that broadcasts in the optimizer
(:func:`optimlab.runner.run_batch`). Run i of the sweep is the same computation as
that configuration run alone with :func:`optimlab.run` (tested to 1e-12).

>>> import optimlab
>>> res = optimlab.sweep("rosenbrock", "adam", grid={"lr": optimlab.logspace(1e-3, 1, 20)},
...                      start=(-1.5, 2.0), steps=500)
>>> best = res.best()
>>> best.config["lr"], best.value            # doctest: +SKIP

Problems
--------
* A **test function** (an ``optimlab.functions`` object, a registered name, a formula,
  or a callable on tensors (..., d)). What a *seed* means there:

  - on a function with gradient noise (``get(name, noise=σ)`` / ``.with_noise``), seed
    ``s`` is the noise stream: run i with seed s equals ``optimlab.run(f.with_noise(σ,
    seed=s), ...)`` exactly; the start point is the given one;
  - on a noiseless function, seed ``s`` moves the start point to
    ``start + start_spread · ξ``, ``ξ ~ N(0, I)`` drawn from ``torch.Generator().manual_seed(s)``
    (the start each run used is in ``trace.config["start"]``);
  - ``seeds=None`` (default): one run per configuration from the given start (on a
    noisy function, with the function's own noise seed).

* A **training problem** (``optimlab.problems.get(name)``, or any object with
  ``.model``, ``.loss`` and ``.train`` — a dataset of ``(x, y)`` pairs — and
  optionally ``.val``): R copies of the model are stacked
  (:func:`torch.func.stack_module_state`) and trained together through
  :func:`torch.func.functional_call` + :func:`torch.func.vmap`; the optimizer acts on
  the stacked (R, ...) parameters with hyperparameters of shape (R, 1, ...). Seed s
  draws the model copy's initial weights (``problem.new_model(s)``, else
  ``torch.manual_seed(s)`` + every module's ``reset_parameters()``) and shuffles its
  mini-batches (``torch.Generator().manual_seed(s)``); ``steps`` counts mini-batch
  updates.

Grids
-----
``grid`` maps an optimizer argument to its list of values, e.g. ``{"lr":
logspace(1e-4, 1, 50), "momentum": [0, 0.5, 0.9, 0.99]}``. Numeric values go on the runs
dimension; ``"beta1"``/``"beta2"`` set one entry of Adam's ``betas``; values that are
not numbers (``nesterov=[False, True]``, ``amsgrad``) split the sweep into one batched
computation per such combination.
"""

from .api import sweep
from .grids import Grid, expand_grid, linspace, logspace
from .result import BY, Best, SweepResult  # noqa: F401  (BY: what viz.sweeps ranks by)

__all__ = ["sweep", "logspace", "linspace", "SweepResult", "Best", "expand_grid", "Grid"]
