"""``optimlab demo``: the lectures' experiments, run and drawn in under a minute.

Seven scenes, each a set of optimizers started from one point of a 2-D function:

1. **notebook-quadratic** and 2. **notebook-nonconvex** reproduce the two experiments of
   the course notebook (lecture 001) with its exact settings and arithmetic: Momentum in
   the velocity form ``v ← μv − η∇f, x ← x + v`` (``momentum_form="velocity"``), ε under
   the root for Adagrad and RMSProp (``eps_in_sqrt=True``), the same starts, step counts
   and plot windows. One deliberate difference: the notebook's Adam computes the
   bias-corrected moments and then steps with the uncorrected ones; here Adam is the
   correct, bias-corrected method of Kingma & Ba (2015) with the notebook's β₁ = 0.9,
   β₂ = 0.9 (the notebook's ``beta`` and ``mu``), ε = 1e−6 outside the root.
3. **beale**, 4. **long-valley** and 5. **saddle** are the scenes of Ruder's overview
   ("An overview of gradient descent optimization algorithms", 2016) shown in the
   lectures (000, 004), with all seven lecture methods: SGD, Momentum, NAG, Adagrad,
   RMSProp, Adadelta, Adam. Their hyperparameters are chosen so that each picture
   shows its lesson; they are listed in :data:`SCENES` and on the HTML page.
6. **orders-long-valley** and 7. **orders-rosenbrock**: the "orders of methods" of
   lecture 004 (GD, Momentum, Adam; CG and BFGS; Newton) with gradient evaluations on
   the convergence picture's x-axis (line-search trials counted), so that cost is compared.

Then one training scene (:data:`TRAINING_SCENES`), the methods after Adam on a bundled
problem: 8. **after-adam**, Adam against AdamW, Lion, AdaBelief, schedule-free AdamW,
Prodigy and ADOPT on ``spirals-mlp``, with the loss curves.

:func:`run_demo` writes, per scene, the level lines with the paths (PNG), an animation
(GIF), ``f − f*`` and ``‖∇f‖`` per step (PNG), a 3-D surface for Beale and the saddle,
every trace (``traces/*.npz``), and an ``index.html`` with all of it and a table of
results. It returns what it did, including the table rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ._spec import slug
from .functions import get as get_function
from .report import Figure, Heading, Table, Text, trace_table, write_html
from .runner import compare
from .training import compare_training
from .viz import (
    animate_paths,
    f_star_text,
    format_options,
    plot_contour,
    plot_convergence,
    plot_curves,
    plot_surface,
    save_figure,
)

__all__ = ["Scene", "SCENES", "NOTEBOOK_SCENES", "ORDERS_METHODS", "RESULT_COLUMNS", "run_demo", "run_scene",
           "result_rows", "TrainingScene", "TRAINING_SCENES", "AFTER_ADAM", "AFTER_ADAM_METHODS", "TRAINING_COLUMNS",
           "run_training_scene", "training_rows"]


@dataclass(frozen=True)
class Scene:
    """One picture: optimizers ``{label: (optimizer name, options)}`` from ``start`` on ``function``."""

    key: str
    title: str
    function: str
    start: tuple[float, float]
    steps: int
    methods: dict[str, tuple[str, dict[str, Any]]]
    window: tuple[tuple[float, float], tuple[float, float]] | None = None
    log_levels: bool | None = None  # None: log-spaced unless f is unbounded below
    lesson: str = ""
    surface: bool = False
    surface_log_z: bool = False
    per: str = "step"  # the convergence picture's x-axis: "step" or "evals" (gradient evaluations)


# ------------------------------------------------------------------ the notebook (001)
def _notebook_methods(sgd_lr: float) -> dict[str, tuple[str, dict[str, Any]]]:
    """The notebook's methods and settings (SEEDS_DIGEST §7); only SGD/Momentum's lr differ."""
    return {
        "SGD": ("sgd", {"lr": sgd_lr}),
        "Momentum μ=0.9": ("sgd", {"lr": sgd_lr, "momentum": 0.9, "momentum_form": "velocity"}),
        "Momentum μ=0.7": ("sgd", {"lr": sgd_lr, "momentum": 0.7, "momentum_form": "velocity"}),
        "Adagrad": ("adagrad", {"lr": 0.1, "eps": 1e-6, "eps_in_sqrt": True}),
        "RMSProp": ("rmsprop", {"lr": 0.1, "alpha": 0.9, "eps": 1e-6, "eps_in_sqrt": True}),
        "Adam": ("adam", {"lr": 0.1, "betas": (0.9, 0.9), "eps": 1e-6}),
    }


NOTEBOOK_QUADRATIC = Scene(
    key="notebook-quadratic",
    title="Notebook experiment 1: f = 5x² + y² from (5, 5), 100 iterations",
    function="lecture-quadratic",
    start=(5.0, 5.0),
    steps=100,
    methods=_notebook_methods(0.01),
    window=((-7.0, 7.0), (-7.0, 7.0)),
    lesson=("SGD with lr 0.01 contracts x by 1 − 10·0.01 = 0.9 and y by 1 − 2·0.01 = 0.98 per step: fast "
            "across the steep direction, slow along the flat one. Momentum 0.9 overshoots and spirals in, "
            "0.7 is better damped. RMSProp and Adam scale each coordinate by its own "
            "gradient size and head almost diagonally to the minimum; Adagrad does too, but its steps "
            "shrink like lr/√t and it is still far away after 100 steps (it needs a larger lr)."),
)

NOTEBOOK_NONCONVEX = Scene(
    key="notebook-nonconvex",
    title="Notebook experiment 2: f = (x−3)² + 8(y−5)⁴ + √x + sin(xy) from (5, −2), 100 iterations",
    function="lecture-nonconvex",
    start=(5.0, -2.0),
    steps=100,
    methods=_notebook_methods(2e-4),
    window=((0.0, 10.0), (-5.0, 10.0)),
    lesson=("The quartic term makes the gradient at the start about 11 000 in y: SGD and Momentum need "
            "lr 2·10⁻⁴ not to explode; they shoot up to the valley y ≈ 5 and then barely move in x "
            "(Momentum 0.9 first leaves the window). The adaptive methods take steps of about lr per "
            "coordinate whatever the gradient's size: RMSProp and Adam slide diagonally into a basin of "
            "the sin(xy) ripples at the left, Adagrad's shrinking steps stop it halfway. None reaches the "
            "global minimum ★ in 100 steps: a non-convex function has several basins."),
)


# ------------------------------------------------------------------ Ruder's scenes
LECTURE_METHODS = ("SGD", "Momentum", "NAG", "Adagrad", "RMSProp", "Adadelta", "Adam")


def _seven(sgd: float, momentum: float, adagrad: float, rmsprop: float, adadelta: dict[str, Any],
           adam: float) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        "SGD": ("sgd", {"lr": sgd}),
        "Momentum": ("sgd", {"lr": momentum, "momentum": 0.9}),
        # the lectures' NAG: the gradient at the look-ahead point θ − γν (optimlab.optim.NAG)
        "NAG": ("nag", {"lr": momentum, "momentum": 0.9}),
        "Adagrad": ("adagrad", {"lr": adagrad}),
        "RMSProp": ("rmsprop", {"lr": rmsprop, "alpha": 0.9}),
        "Adadelta": ("adadelta", dict(adadelta)),
        "Adam": ("adam", {"lr": adam}),
    }


BEALE = Scene(
    key="beale",
    title="Beale's function from (1, 1.5)",
    function="beale",
    start=(1.0, 1.5),
    steps=300,
    methods=_seven(sgd=1e-3, momentum=1e-3, adagrad=0.5, rmsprop=0.01, adadelta={"lr": 1.0, "rho": 0.99,
                                                                                    "eps": 1e-4}, adam=0.1),
    window=((-1.5, 4.5), (-2.0, 2.5)),
    lesson=("A curved, flat-bottomed valley leads to the minimum at (3, 0.5). SGD's step follows the "
            "gradient's size and slows in the flat part; Momentum and NAG build speed but swing out of "
            "the curve (NAG less); Adagrad and Adam take nearly constant-length steps and arrive first."),
    surface=True,
    surface_log_z=True,
)

LONG_VALLEY = Scene(
    key="long-valley",
    title="A long narrow valley: f = √(1 + x²) − 1 + 10y² from (−9, 1)",
    function="long-valley",
    start=(-9.0, 1.0),
    steps=150,
    methods=_seven(sgd=0.05, momentum=0.01, adagrad=0.5, rmsprop=0.05, adadelta={"lr": 1.0, "rho": 0.9,
                                                                                   "eps": 1e-3}, adam=0.1),
    lesson=("The walls are steep (curvature 20 across) and the floor falls with slope about 1 towards the "
            "minimum at the origin. SGD's lr is capped by the walls (it diverges above 2/20 = 0.1), so it "
            "drops to the floor and then crawls at 0.05 per step and is still far away after 150 steps. "
            "Momentum and NAG (lr 0.01, μ 0.9) swing between the walls at first but build a speed of "
            "lr/(1 − μ) = 0.1 per step along the floor; NAG's look-ahead damps the swing. Adagrad, "
            "RMSProp, Adadelta and Adam rescale each coordinate and move along the floor at once."),
)

SADDLE = Scene(
    key="saddle",
    title="A saddle point: f = x² − y² from (1, 10⁻³)",
    function="saddle",
    start=(1.0, 1e-3),
    steps=60,
    methods=_seven(sgd=0.05, momentum=0.02, adagrad=0.1, rmsprop=0.02, adadelta={"lr": 1.0, "rho": 0.9,
                                                                                   "eps": 1e-4}, adam=0.05),
    window=((-1.5, 1.5), (-1.5, 1.5)),
    log_levels=False,
    lesson=("The start lies almost on the ridge y = 0, where the gradient points at the saddle. SGD, "
            "Momentum and NAG run into the saddle and leave it only slowly, as y grows by a factor "
            "1 + 2·lr per step from 10⁻³; Adagrad, RMSProp, Adadelta and Adam divide by the size of each "
            "coordinate's gradient, so the tiny y-gradient gives a full step and they escape at once."),
    surface=True,
)

# ------------------------------------------------------------------ the orders of methods (lecture 004)
ORDERS_METHODS = ("GD", "Momentum", "Adam", "CG", "BFGS", "Newton")
_ORDERS_LESSON = ("First order (GD, Momentum, Adam: one gradient per step), \"1.5 order\" (nonlinear CG and BFGS: "
                  "gradients only, but a line search and directions built from past gradients) and second order "
                  "(Newton: the exact Hessian, here with backtracking). The convergence picture counts gradient "
                  "evaluations, line-search trials included, so the methods are compared at equal cost; Newton's "
                  "Hessian (one per step) costs as much as d = 2 more gradients on top.")


def _orders(gd: float, momentum: float, adam: float) -> dict[str, tuple[str, dict[str, Any]]]:
    return {"GD": ("sgd", {"lr": gd}), "Momentum": ("sgd", {"lr": momentum, "momentum": 0.9}),
            "Adam": ("adam", {"lr": adam}), "CG": ("cg", {}), "BFGS": ("bfgs", {}), "Newton": ("newton", {})}


ORDERS_VALLEY = Scene(
    key="orders-long-valley",
    title="The orders of methods on the long valley from (−9, 1)",
    function="long-valley",
    start=(-9.0, 1.0),
    steps=30,
    methods=_orders(gd=0.05, momentum=0.01, adam=0.1),
    lesson=_ORDERS_LESSON + (" Far from the minimum the floor is nearly straight (curvature about 1/730), so "
                             "Newton's full step overshoots and backtracking halves it several times; BFGS "
                             "learns the curvature from its steps and arrives with the fewest gradients."),
    per="evals",
)

ORDERS_ROSENBROCK = Scene(
    key="orders-rosenbrock",
    title="The orders of methods on Rosenbrock's function from (−1.2, 1)",
    function="rosenbrock",
    start=(-1.2, 1.0),
    steps=40,
    methods=_orders(gd=1e-3, momentum=2e-4, adam=0.05),
    window=((-2.0, 2.0), (-1.0, 3.0)),
    lesson=_ORDERS_LESSON + (" In the curved valley the first-order methods creep along the floor; CG, BFGS and "
                             "Newton follow the curve and reach (1, 1) within a few dozen gradients."),
    per="evals",
)

# ------------------------------------------------------------------ after Adam (a training problem)
@dataclass(frozen=True)
class TrainingScene:
    """One training comparison: optimizers ``{label: (optimizer name, options)}`` train
    ``problem`` (a bundled name) for ``epochs`` with mini-batches of ``batch_size``, from the
    initial weights and shuffling of ``seed`` (:func:`optimlab.training.compare_training`)."""

    key: str
    title: str
    problem: str
    epochs: int
    batch_size: int
    seed: int
    methods: dict[str, tuple[str, dict[str, Any]]]
    lesson: str = ""


AFTER_ADAM_METHODS = ("Adam", "AdamW", "Lion", "AdaBelief", "AdamW schedule-free", "Prodigy", "ADOPT")

# Settings: each method's lr is the best of a small grid (mean validation loss after the scene's 8
# epochs over seeds 1-4; the scene shows seed 0, which was not used to choose), the other knobs the
# authors' advice: Adam {0.01, 0.02, 0.03, 0.05} → 0.03; AdamW at Adam's lr with torch's decay 0.01, so
# that the pictures show what decoupled decay alone changes; Lion (Chen et al. 2023: lr 3-10x below
# AdamW's, decay 3-10x above) {0.003, 0.005, 0.01, 0.02} → 0.01 with decay 0.1; AdaBelief (its
# authors' eps 1e-16) {0.03, 0.05, 0.1, 0.2} → 0.1; schedule-free AdamW (Defazio et al. 2024: a larger
# lr than scheduled AdamW, a short warm-up) {0.03, 0.05, 0.1, 0.2} → 0.1 with one epoch (10 steps) of
# warm-up; Prodigy lr 1.0, untuned, as its authors advise (Mishchenko & Defazio 2024: it estimates the
# step size itself); ADOPT {0.005, 0.01, 0.02, 0.03} → 0.01. Batches of 64 keep the scene near 1 s.
AFTER_ADAM = TrainingScene(
    key="after-adam",
    title="After Adam: seven methods train an MLP on three spirals (8 epochs, batches of 64)",
    problem="spirals-mlp",
    epochs=8,
    batch_size=64,
    seed=0,
    methods={
        "Adam": ("adam", {"lr": 0.03}),
        "AdamW": ("adamw", {"lr": 0.03, "weight_decay": 0.01}),
        "Lion": ("lion", {"lr": 0.01, "weight_decay": 0.1}),
        "AdaBelief": ("adabelief", {"lr": 0.1}),
        "AdamW schedule-free": ("adamw_schedulefree", {"lr": 0.1, "warmup_steps": 10}),
        "Prodigy": ("prodigy", {"lr": 1.0}),
        "ADOPT": ("adopt", {"lr": 0.01}),
    },
    lesson=("Every method starts from the same weights and sees the same batches, at a constant learning rate. "
            "Adam descends quickly and then jumps back up in the last epoch; AdamW with the decay 0.01 "
            "follows its curve closely (80 steps shrink the weights by 2.4%). Schedule-free AdamW, which "
            "averages its iterates instead of needing a decaying schedule, descends steadily and ends far below; "
            "Lion's sign update comes next. AdaBelief (dividing by the gradient's spread around its mean) and "
            "ADOPT (normalising before the momentum, by the previous second moment) descend more slowly and "
            "steadily; Prodigy, with no learning rate tuned, gets as far, with a bump while its step-size "
            "estimate grows."),
)

TRAINING_SCENES = (AFTER_ADAM,)
TRAINING_COLUMNS = ("scene", "optimizer", "settings", "train loss", "val loss", "val accuracy", "steps", "stop reason")

NOTEBOOK_SCENES = (NOTEBOOK_QUADRATIC, NOTEBOOK_NONCONVEX)
SCENES = (NOTEBOOK_QUADRATIC, NOTEBOOK_NONCONVEX, BEALE, LONG_VALLEY, SADDLE, ORDERS_VALLEY, ORDERS_ROSENBROCK)

RESULT_COLUMNS = ("scene", "optimizer", "settings", "final f", "f − f*", "‖∇f‖", "steps", "stop reason")


# ------------------------------------------------------------------ running and drawing
def run_scene(scene: Scene) -> dict[str, Any]:
    """Run every method of ``scene``; ``{label: Trace}`` (through :func:`optimlab.compare`)."""
    return compare(scene.function, dict(scene.methods), scene.start, scene.steps)


def result_rows(scene: Scene, traces: dict[str, Any]) -> list[list[Any]]:
    """One table row per run: see :data:`RESULT_COLUMNS` (built by :func:`optimlab.report.trace_table`).
    ``f − f*`` is NaN when f* is unknown."""
    table = trace_table(traces).select(RESULT_COLUMNS[1:])
    return [[scene.key, *row] for row in table.rows]


def _draw_scene(scene: Scene, traces: dict[str, Any], out: Path, quick: bool) -> list[tuple[Path, str]]:
    fn = get_function(scene.function)
    grid = 140 if quick else 300
    styles = None  # each method's colour (optimlab.viz.method_color), the same in every picture
    pictures = []
    fig = plot_contour(fn, traces, domain=scene.window, log_levels=scene.log_levels, grid=grid,
                       title=scene.title, styles=styles, settings=False)
    pictures.append((save_figure(fig, out / f"{scene.key}_paths.png", dpi=100),
                     "Level lines (log-spaced in f − min) with every method's path; ○ start, ★ known minimum."))
    gif = animate_paths(fn, traces, out / f"{scene.key}.gif", frames=20 if quick else 100, fps=15,
                        dpi=60 if quick else 110, domain=scene.window, log_levels=scene.log_levels,
                        title=scene.title, settings=False, styles=styles)
    pictures.append((gif, "The same paths, animated."))
    fig = plot_convergence(traces, function=fn, title=scene.title, styles=styles, per=scene.per)
    pictures.append((save_figure(fig, out / f"{scene.key}_convergence.png", dpi=100),
                     "f − f* and ‖∇f‖ per " + ("gradient evaluation" if scene.per == "evals" else "step")
                     + " (log scale)."))
    if scene.surface:
        fig = plot_surface(fn, traces, domain=scene.window, log_z=scene.surface_log_z, grid=60 if quick else 120,
                           title=scene.title, styles=styles)
        pictures.append((save_figure(fig, out / f"{scene.key}_surface.png", dpi=90),
                         "The surface in 3-D" + (" (height log10(f − min))" if scene.surface_log_z else "")
                         + " with the paths on it."))
    return pictures


def run_training_scene(scene: TrainingScene) -> dict[str, Any]:
    """Train with every method of ``scene``; ``{label: History}`` (one seed, through
    :func:`optimlab.training.compare_training`: every method starts from the same weights)."""
    cmp = compare_training(scene.problem, dict(scene.methods), epochs=scene.epochs, seeds=[scene.seed],
                           batch_size=scene.batch_size)
    return {label: hs[0] for label, hs in cmp.histories.items()}


def training_rows(scene: TrainingScene, histories: dict[str, Any]) -> list[list[Any]]:
    """One table row per run: see :data:`TRAINING_COLUMNS` (losses and accuracy of the last epoch)."""
    def last(h: Any, key: str) -> float:
        v = h.epochs.get(key)
        return float(v[-1]) if v is not None and len(v) else float("nan")

    return [[scene.key, label, format_options(scene.methods[label][1]), last(h, "loss"), last(h, "val_loss"),
             last(h, "val_accuracy"), h.steps, h.stop_reason] for label, h in histories.items()]


def _draw_training_scene(scene: TrainingScene, histories: dict[str, Any], out: Path) -> list[tuple[Path, str]]:
    pictures = []
    for key, per, what, caption in (
            ("loss", "step", "training loss per iteration", "Training loss of each mini-batch, per iteration."),
            ("val_loss", "epoch", "validation loss per epoch",
             "Validation loss after each epoch (at the evaluation point x for schedule-free AdamW).")):
        fig = plot_curves(histories, key, per=per, title=f"{scene.problem}: {what}",
                          xlabel="iteration" if per == "step" else None, figsize=(7.0, 4.0))
        pictures.append((save_figure(fig, out / f"{scene.key}_{key}.png", dpi=100), caption))
    return pictures


def _scene_table(scene: Scene | TrainingScene, rows: list[list[Any]]) -> Table:
    """A scene's results table on the page (the scene column dropped)."""
    if isinstance(scene, TrainingScene):
        return Table(TRAINING_COLUMNS[1:], [r[1:] for r in rows])
    note = f_star_text(get_function(scene.function))
    return Table(RESULT_COLUMNS[1:], [r[1:] for r in rows], caption=f"{note}: f − f* is not defined" if "−∞" in note
                 else "")


def _options_text(scene: Scene | TrainingScene) -> str:
    return "; ".join(f"{label}: {name}({format_options(opts)})" for label, (name, opts) in scene.methods.items())


def run_demo(out_dir: str | Path = "optimlab-out", *, quick: bool = False,
             progress: Callable[[int, int, str], None] | None = None,
             scenes: tuple[Scene, ...] | None = None,
             training_scenes: tuple[TrainingScene, ...] | None = None) -> dict[str, Any]:
    """Run the demo's scenes and write pictures, traces and ``index.html`` into ``out_dir``.

    Args:
        out_dir: folder to write into (created).
        quick: smaller animations and coarser grids (for tests); the runs are the same.
        progress: called as ``progress(done, total, what)`` after each unit of work.
        scenes: the function scenes to run (default: all of :data:`SCENES`).
        training_scenes: the training scenes to run after them (default: :data:`TRAINING_SCENES`).

    Returns ``{"out_dir", "index", "files", "columns", "rows", "training_columns", "training_rows",
    "traces", "seconds"}``: ``traces`` is ``{scene key: {label: Trace}}`` (a training scene's
    are Histories), ``rows`` the function scenes' results table, ``training_rows`` the training scenes'.
    """
    t0 = time.perf_counter()
    scenes = SCENES if scenes is None else tuple(scenes)
    training_scenes = TRAINING_SCENES if training_scenes is None else tuple(training_scenes)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "traces").mkdir(exist_ok=True)
    total, done = 2 * (len(scenes) + len(training_scenes)) + 1, 0

    def tick(what: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, what)

    all_traces, files = {}, []
    rows: dict[bool, list[list[Any]]] = {False: [], True: []}  # function scenes, training scenes
    blocks: list[Any] = [Text(
        "Every method starts from the same point of a 2-D function; the pictures show where each goes. "
        "The first two scenes are the course notebook's experiments with its exact settings "
        "(Momentum in the velocity form, ε under the root for Adagrad and RMSProp). The notebook's "
        "Adam steps with the uncorrected moments m and v, a bug: this demo runs the correct "
        "bias-corrected Adam (Kingma & Ba, 2015) with the notebook's β₁ = β₂ = 0.9, ε = 1e−6. "
        "The next three scenes are those of Ruder's overview of gradient descent methods; the two after "
        "them set first-order methods against conjugate gradient, BFGS and Newton, per gradient evaluation; "
        "the last one trains a small network with the methods that came after Adam.")]
    for scene in (*scenes, *training_scenes):
        training = isinstance(scene, TrainingScene)
        traces = run_training_scene(scene) if training else run_scene(scene)
        all_traces[scene.key] = traces
        for label, t in traces.items():
            files.append(t.save(out / "traces" / f"{scene.key}_{slug(label)}.npz"))
        scene_rows = training_rows(scene, traces) if training else result_rows(scene, traces)
        rows[training].extend(scene_rows)
        tick(f"ran {scene.key}")
        pictures = _draw_training_scene(scene, traces, out) if training else _draw_scene(scene, traces, out, quick)
        files.extend(p for p, _ in pictures)
        tick(f"drew {scene.key}")
        blocks += [Heading(scene.title), Text(scene.lesson), Text("Settings — " + _options_text(scene))]
        blocks += [Figure(p, caption, width="auto") for p, caption in pictures]
        blocks.append(_scene_table(scene, scene_rows))
    blocks += [Heading("All results"), Table(RESULT_COLUMNS, rows[False])]
    seconds = time.perf_counter() - t0
    index = write_html(out / "index.html", "optimlab demo: optimizers on 2-D functions and a training problem",
                       blocks, footer=f"Made by optimlab demo in {seconds:.1f} s.")
    tick("wrote index.html")
    return {"out_dir": out, "index": index, "files": files, "columns": RESULT_COLUMNS, "rows": rows[False],
            "training_columns": TRAINING_COLUMNS, "training_rows": rows[True], "traces": all_traces,
            "seconds": time.perf_counter() - t0}
