"""How fast is a 10,000-configuration sweep? optimlab.sweep versus a torch.optim loop
versus a JAX/optax vmap+scan+jit program, timed in one run.

Task: Adam on the 2-D Rosenbrock function from (−1.5, 2), 10,000 learning rates
log-spaced from 1e-4 to 1, 1,000 steps each, float64.

* optimlab: ``optimlab.sweep(..., record_params=False)`` — ONE batched computation
  (parameters (10000, 2), lr (10000, 1)); it still records every run's value and
  gradient norm at every step, checks divergence per run, and returns 10,000 traces.
* torch loop: ``torch.optim.Adam`` on one 2-vector per run, the plain training loop;
  20 runs (learning rates spread over the range) are timed and the time scaled to 10,000.
* optimlab compiled: the same sweep with ``compile=True`` (the runner's steps as one
  AOTInductor program, optimlab.runner.compiled), timed warm (program built and loaded),
  and in a fresh process whose disk cache holds the program (``--cache-dir``, default a
  folder of this machine's temp dir, so the first run of the script builds it).
* the compiler's floor: the same Adam steps on Rosenbrock written by hand for
  ``torch.compile`` in its best case (runs innermost, the gradient in closed form, nothing
  recorded or checked, 10 steps unrolled per call): what torch's compiler makes of the bare
  computation, next to what optimlab's program adds (records, divergence, stopped runs).
* JAX (when ``jax`` and ``optax`` import): ``optax.inject_hyperparams(optax.adam)`` inside
  ``lax.scan`` over the steps, ``jax.vmap`` over the learning rates, ``jax.jit``; it returns
  the final points and every step's value. The first call includes tracing and
  compilation; the second call reuses the compiled program.

Each is timed in this process after the imports, best of ``--repeat`` (the JAX
first call after ``jax.clear_caches()`` each time; the loop once) (and after torch's one-time
optimizer import, which every torch program pays once). ``--threads`` sets torch's
and XLA's intra-op threads alike (default 1: a per-core comparison that does not
depend on what else runs on the machine). The whole-process rows run a fresh Python
process that imports, computes the sweep once and exits (the loop's row adds its
extrapolated time to a fresh process's import time).

``--growth`` prints instead the compiled sweep's and JAX's warm times against R (10 … 10⁶,
``--growth-steps`` steps) and against steps (R = 1,000), with optimlab's peak memory
(``--record``: what the sweeps keep, default ``final``; ``values`` keeps what JAX returns);
``--six`` the time of 6 optimizers × 500 steps on Rosenbrock (``optimlab.compare``, one run
each): eager with each optimizer alone (``share=False``) and with the function evaluated once
per step for all six (the default), as a ratio, and compiled (the playground's request;
``--six-eager`` leaves the compiled row out).

Run:  PYTHONPATH=. python benchmarks/sweep_speed.py [--runs 10000] [--steps 1000] [--threads 1]
      PYTHONPATH=. python benchmarks/sweep_speed.py --growth     (or --six)
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

T_START = time.perf_counter()

P = argparse.ArgumentParser(description=__doc__.split("\n")[0])
P.add_argument("--runs", type=int, default=10_000)
P.add_argument("--steps", type=int, default=1_000)
P.add_argument("--loop-runs", type=int, default=20, help="torch loop runs timed (then extrapolated)")
P.add_argument("--threads", type=int, default=1)
P.add_argument("--repeat", type=int, default=3, help="best of N for the sweep and both JAX calls")
P.add_argument("--only", choices=["optimlab", "optimlab-compiled", "jax", "torch-import"], help=argparse.SUPPRESS)
P.add_argument("--cache-dir", default=os.path.join(tempfile.gettempdir(), "optimlab-bench-cache"),
               help="where the compiled programs are kept (OPTIMLAB_CACHE_DIR)")
P.add_argument("--growth", action="store_true", help="time against R and against steps, compiled vs JAX")
P.add_argument("--growth-steps", type=int, default=100)
P.add_argument("--max-runs", type=int, default=1_000_000, help="largest R of --growth")
P.add_argument("--record", choices=["all", "values", "final"], default="final",
               help="what --growth's sweeps keep of each step ('values' keeps what the JAX program returns)")
P.add_argument("--six", action="store_true", help="6 optimizers x 500 steps on one function")
P.add_argument("--six-eager", action="store_true", help="--six without the compiled row (no program built)")
P.add_argument("--no-process", action="store_true", help="skip the whole-process timings")
ARGS = P.parse_args()
os.environ["OPTIMLAB_CACHE_DIR"] = ARGS.cache_dir  # read when a program is looked up

if ARGS.threads == 1:  # XLA reads its flags at import
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

HAVE_JAX = all(importlib.util.find_spec(m) is not None for m in ("jax", "optax"))  # imported only where used

START = (-1.5, 2.0)
LO, HI = 1e-4, 1.0


def rosenbrock_torch(x):
    return (1 - x[..., 0]) ** 2 + 100 * (x[..., 1] - x[..., 0] ** 2) ** 2


def optimlab_sweep(runs: int, steps: int, compile=False, record="all"):
    import optimlab

    return optimlab.sweep("rosenbrock", "adam", grid={"lr": optimlab.logspace(LO, HI, runs)}, start=START,
                          steps=steps, record_params=False, compile=compile, record=record)


def jax_program(runs: int, steps: int):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import optax
    from jax import lax

    def rosen(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    def one(lr):
        opt = optax.inject_hyperparams(optax.adam)(learning_rate=lr)
        p = jnp.array(START, dtype=jnp.float64)
        state = opt.init(p)

        def body(carry, _):
            p, s = carry
            v, g = jax.value_and_grad(rosen)(p)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s), v

        (p, _), values = lax.scan(body, (p, state), None, length=steps)
        return p, values

    lrs = jnp.asarray(10 ** jnp.linspace(jnp.log10(LO), jnp.log10(HI), runs), dtype=jnp.float64)
    return jax.jit(jax.vmap(one)), lrs


def compiler_floor(runs: int, steps: int, unroll: int = 10):
    """The compiler's floor: Adam on Rosenbrock written by hand for ``torch.compile`` in its best
    case (the runs innermost, a (2, R) layout; the gradient in closed form; no records, no
    divergence check, no stopped runs), ``unroll`` steps per compiled call. Returns the
    function that runs all the steps and its result's final points (R, 2)."""
    import torch

    lr = torch.logspace(math.log10(LO), math.log10(HI), runs, dtype=torch.float64)
    b1, b2, eps = 0.9, 0.999, 1e-8

    @torch.compile(fullgraph=True, dynamic=False)
    def chunk(x, m, v, t):
        for _ in range(unroll):
            t = t + 1
            a, b = x[0], x[1]
            g = torch.stack([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            x = x - lr * (m / (1 - b1 ** t)) / ((v / (1 - b2 ** t)).sqrt() + eps)
        return x, m, v, t

    def run():
        x = torch.tensor(START, dtype=torch.float64)[:, None].repeat(1, runs)
        m, v, t = torch.zeros_like(x), torch.zeros_like(x), torch.zeros((), dtype=torch.float64)
        for _ in range(steps // unroll):
            x, m, v, t = chunk(x, m, v, t)
        return x.T

    return run


def _only() -> None:
    """Child process for the whole-process timings."""
    if ARGS.only in ("optimlab", "optimlab-compiled"):
        import torch

        import optimlab.sweeps  # noqa: F401 -- imports are not part of the call's time (nor are jax's)

        torch.set_num_threads(ARGS.threads)
        t = time.perf_counter()
        optimlab_sweep(ARGS.runs, ARGS.steps, compile="auto" if ARGS.only == "optimlab-compiled" else False)
        print(f"sweep call {time.perf_counter() - t:.3f}")
    elif ARGS.only == "jax":
        f, lrs = jax_program(ARGS.runs, ARGS.steps)
        p, v = f(lrs)
        p.block_until_ready()
    else:
        import torch  # noqa: F401
        import torch.optim

        torch.optim.Adam([torch.zeros(2, requires_grad=True)])


def _process(kind: str) -> tuple[float, float | None]:
    """(whole process seconds, the sweep call's own seconds when the child reports it)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--only", kind, "--runs", str(ARGS.runs), "--steps",
           str(ARGS.steps), "--threads", str(ARGS.threads), "--cache-dir", ARGS.cache_dir]
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}).stdout
    whole = time.perf_counter() - t
    call = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("sweep call")]
    return whole, (call[0] if call else None)


def _best(f, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def _jax_warm(runs: int, steps: int) -> float:
    f, lrs = jax_program(runs, steps)
    f(lrs)[0].block_until_ready()
    return _best(lambda: f(lrs)[0].block_until_ready(), ARGS.repeat)


def growth() -> None:
    """Warm seconds against R and against steps: compiled optimlab vs JAX, peak memory."""
    import torch

    torch.set_num_threads(ARGS.threads)
    optimlab_sweep(10, 2, compile=True)  # builds (or loads) the program once
    kept = {"final": "start, last point, final and best value per run", "values": "every step's value and the "
            "last point per run, as the JAX program returns", "all": "every step's value, gradient norm and lr"}
    print(f"Adam on Rosenbrock, float64, {ARGS.threads} thread(s), warm, best of {ARGS.repeat}; "
          f"record={ARGS.record!r} ({kept[ARGS.record]})\n")
    print(f"{'R':>9} {'steps':>6} {'optimlab compiled [s]':>22} {'jax warm [s]':>13} {'× jax':>7} "
          f"{'peak RSS [GiB]':>15}")
    rows = [(10 ** e, ARGS.growth_steps) for e in range(1, 7) if 10 ** e <= ARGS.max_runs]
    rows += [(1000, s) for s in (100, 1000, 10_000) if s != ARGS.growth_steps]
    # every optimlab row first, then every JAX row: XLA's worker threads keep spinning for a while
    # after each call, which slowed a sweep timed next to them (by up to a third on this 2-core machine)
    mine = []
    for runs, steps in rows:
        t_o = _best(lambda runs=runs, steps=steps: optimlab_sweep(runs, steps, compile=True, record=ARGS.record),
                    ARGS.repeat)
        mine.append((t_o, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20))
    for (runs, steps), (t_o, rss) in zip(rows, mine):
        t_j = _jax_warm(runs, steps) if HAVE_JAX else float("nan")
        print(f"{runs:>9,} {steps:>6} {t_o:>22.3f} {t_j:>13.3f} {t_o / t_j:>7.2f} {rss:>15.2f}", flush=True)


def six() -> None:
    """6 optimizers × 500 steps on one function: eager with each optimizer alone, eager with
    the function's evaluations shared (compare's default), and compiled, warm. The two eager
    ways alternate, repeat by repeat (best of each), so that the machine's load hits both alike."""
    import torch

    import optimlab

    torch.set_num_threads(ARGS.threads)
    specs = ["sgd:lr=0.001", "momentum:lr=0.001", "nesterov:lr=0.001", "rmsprop:lr=0.01", "adagrad:lr=0.5",
             "adam:lr=0.05"]
    eager = {"each optimizer alone": dict(compile=False, share=False),
             "evaluations shared": dict(compile=False, share=True)}
    best = dict.fromkeys(eager, float("inf"))
    for kw in eager.values():
        optimlab.compare("rosenbrock", specs, steps=500, **kw)  # warm
    for _ in range(ARGS.repeat):
        for name, kw in eager.items():
            best[name] = min(best[name], _best(lambda kw=kw: optimlab.compare("rosenbrock", specs, steps=500, **kw), 1))
    for name in eager:
        print(f"6 optimizers × 500 steps on rosenbrock, compile=False, {name}: {best[name] * 1000:.1f} ms")
    print(f"evaluations shared / each optimizer alone: "
          f"{best['evaluations shared'] / best['each optimizer alone']:.2f}")
    if ARGS.six_eager:
        return
    optimlab.compare("rosenbrock", specs, steps=500, compile=True)  # builds/loads the programs
    t = _best(lambda: optimlab.compare("rosenbrock", specs, steps=500, compile=True), ARGS.repeat)
    print(f"6 optimizers × 500 steps on rosenbrock, compile=True: {t * 1000:.1f} ms (target ≤ 50 ms warm)")


def main() -> None:
    import numpy as np
    import torch

    import optimlab.sweeps  # noqa: F401 -- imports are not part of the timings

    torch.set_num_threads(ARGS.threads)
    torch.optim.Adam([torch.zeros(2, requires_grad=True)])  # torch's one-time optimizer import
    try:
        import jax  # noqa: F401
        import optax  # noqa: F401
        have_jax = True
    except ImportError:
        have_jax = False
    t_imports = time.perf_counter() - T_START
    R, S = ARGS.runs, ARGS.steps

    # optimlab: one batched computation (best of --repeat)
    t_sweep = float("inf")
    for _ in range(ARGS.repeat):
        t = time.perf_counter()
        res = optimlab_sweep(R, S)
        t_sweep = min(t_sweep, time.perf_counter() - t)

    # torch.optim loop: a spread of learning rates, scaled to R runs
    lrs = np.asarray(res.grid["lr"])
    pick = np.linspace(0, R - 1, min(ARGS.loop_runs, R)).round().astype(int)
    finals = {}
    t = time.perf_counter()
    for i in pick:
        x = torch.tensor(START, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([x], lr=float(lrs[i]))
        for _ in range(S):
            opt.zero_grad()
            loss = rosenbrock_torch(x)
            loss.backward()
            opt.step()
        finals[int(i)] = x.detach().numpy().copy()
    t_loop_part = time.perf_counter() - t
    t_loop = t_loop_part * R / len(pick)
    # the same runs agree (the sweep's last recorded point is after S updates)
    diff_loop = max(float(np.abs(res.traces[i].params[-1] - finals[i]).max()) for i in finals)

    # optimlab compiled: built (or loaded from --cache-dir) once, then best of --repeat
    t = time.perf_counter()
    res_c = optimlab_sweep(R, S, compile=True)
    t_comp_first = time.perf_counter() - t
    t_comp = _best(lambda: optimlab_sweep(R, S, compile=True), ARGS.repeat)
    diff_comp = max(float(np.abs(a.params[-1] - b.params[-1]).max() / max(np.abs(a.params[-1]).max(), 1e-300))
                    for a, b in zip(res.traces, res_c.traces) if a.stop_reason != "diverged")

    # the compiler's floor: the same computation by hand for torch.compile, nothing recorded
    floor = compiler_floor(R, S)
    t = time.perf_counter()
    x_floor = floor()
    t_floor_first = time.perf_counter() - t
    t_floor = _best(floor, ARGS.repeat)
    ok = [i for i, tr in enumerate(res.traces) if tr.stop_reason != "diverged"]
    diff_floor = float(np.abs(x_floor.numpy()[ok] - np.array([res.traces[i].params[-1] for i in ok])).max())

    rows = [("optimlab.sweep, one batch", t_sweep),
            ("optimlab.sweep compile=True, warm", t_comp),
            ("hand-written torch.compile, 10 unrolled steps, warm", t_floor),
            (f"torch.optim.Adam loop ({len(pick)} runs timed, × {R / len(pick):g})", t_loop)]
    diff_jax = None
    if have_jax:
        t_jax1 = t_jax2 = float("inf")
        for _ in range(ARGS.repeat):
            jax.clear_caches()  # a fresh first call: trace + compile again
            f, jlrs = jax_program(R, S)
            t = time.perf_counter()
            p, v = f(jlrs)
            p.block_until_ready()
            t_jax1 = min(t_jax1, time.perf_counter() - t)
            t = time.perf_counter()
            p2, v2 = f(jlrs)
            p2.block_until_ready()
            t_jax2 = min(t_jax2, time.perf_counter() - t)
        rows += [("jax+optax vmap/scan/jit, 1st call (with compile)", t_jax1),
                 ("jax+optax vmap/scan/jit, 2nd call (compiled)", t_jax2)]
        pj = np.asarray(p)
        ok = [i for i in range(0, R, max(1, R // 50)) if res.traces[i].stop_reason != "diverged"]
        diff_jax = max(float(np.abs(res.traces[i].params[-1] - pj[i]).max()) for i in ok)
    proc_rows = []
    if not ARGS.no_process:
        t_opt_proc = _process("optimlab")
        t_imp = _process("torch-import")
        proc_rows.append(("whole process: optimlab sweep", t_opt_proc[0]))
        t_comp_proc = _process("optimlab-compiled")
        proc_rows.append(("whole process: optimlab compiled, cache filled", t_comp_proc[0]))
        proc_rows.append(("whole process: torch loop (import + extrapolated loop)", t_imp[0] + t_loop))
        if have_jax:
            proc_rows.append(("whole process: jax+optax program", _process("jax")[0]))

    print(f"\nAdam on Rosenbrock from {START}, {R} learning rates log-spaced {LO:g}…{HI:g}, {S} steps, float64, "
          f"{ARGS.threads} thread(s); torch {torch.__version__}"
          + (f", jax {jax.__version__}, optax {optax.__version__}" if have_jax else ", jax/optax not installed"))
    print(f"imports of this process: {t_imports:.2f} s\n")
    w = max(len(r[0]) for r in rows + proc_rows) + 2
    print(f"{'':{w}}{'wall [s]':>12}{'× optimlab':>13}")
    for name, sec in rows:
        print(f"{name:{w}}{sec:12.3f}{sec / t_sweep:13.1f}")
    for name, sec in proc_rows:
        ref = proc_rows[0][1]
        print(f"{name:{w}}{sec:12.3f}{sec / ref:13.1f}")
    print(f"\ntorch loop is {t_loop / t_sweep:.0f}× slower than optimlab.sweep (target ≥ 1000×)")
    print(f"hand-written torch.compile: first call {t_floor_first:.1f} s (compile), final points against the "
          f"sweep's (non-diverged) {diff_floor:.1e}")
    print(f"compiled sweep: first call in this process {t_comp_first:.2f} s (build or load), warm "
          f"{t_comp:.3f} s = {t_sweep / t_comp:.1f}× faster than the eager sweep; largest relative difference of "
          f"the final points (non-diverged) {diff_comp:.1e}")
    if have_jax:
        print(f"jax first call is {t_jax1 / t_sweep:.2f}× optimlab.sweep (target > 1); "
              f"compiled second call {t_jax2 / t_sweep:.2f}×")
        print(f"compiled warm ÷ jax warm: {t_comp / t_jax2:.2f} (target ≤ 1.5); the compiler's floor (Adam on "
              f"Rosenbrock by hand, nothing recorded) ÷ jax warm: {t_floor / t_jax2:.2f}")
        if not ARGS.no_process and t_comp_proc[1] is not None:
            print(f"a new process with the cache filled: its sweep call took {t_comp_proc[1]:.3f} s "
                  f"= {t_comp_proc[1] / t_jax1:.2f}× jax's first call (target < 1)")
    print(f"agreement of final points: sweep vs torch loop {diff_loop:.1e}"
          + (f", sweep vs optax (non-diverged, every {max(1, R // 50)}th) {diff_jax:.1e}" if diff_jax is not None
             else ""))
    print(f"diverged runs in the sweep: {int(res.diverged.sum())}")


if __name__ == "__main__":
    if ARGS.only:
        _only()
    elif ARGS.growth:
        growth()
    elif ARGS.six or ARGS.six_eager:
        six()
    else:
        main()
