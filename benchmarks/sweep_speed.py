"""How fast is a 10,000-configuration sweep? optimlab.sweep versus a torch.optim loop
versus a JAX/optax vmap+scan+jit program, timed in one run.

Task: Adam on the 2-D Rosenbrock function from (−1.5, 2), 10,000 learning rates
log-spaced from 1e-4 to 1, 1,000 steps each, float64.

* optimlab: ``optimlab.sweep(..., record_params=False)`` — ONE batched computation
  (parameters (10000, 2), lr (10000, 1)); it still records every run's value and
  gradient norm at every step, checks divergence per run, and returns 10,000 traces.
* torch loop: ``torch.optim.Adam`` on one 2-vector per run, the plain training loop;
  20 runs (learning rates spread over the range) are timed and the time scaled to 10,000.
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

Run:  PYTHONPATH=. python benchmarks/sweep_speed.py [--runs 10000] [--steps 1000] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

T_START = time.perf_counter()

P = argparse.ArgumentParser(description=__doc__.split("\n")[0])
P.add_argument("--runs", type=int, default=10_000)
P.add_argument("--steps", type=int, default=1_000)
P.add_argument("--loop-runs", type=int, default=20, help="torch loop runs timed (then extrapolated)")
P.add_argument("--threads", type=int, default=1)
P.add_argument("--repeat", type=int, default=3, help="best of N for the sweep and both JAX calls")
P.add_argument("--only", choices=["optimlab", "jax", "torch-import"], help=argparse.SUPPRESS)
P.add_argument("--no-process", action="store_true", help="skip the whole-process timings")
ARGS = P.parse_args()

if ARGS.threads == 1:  # XLA reads its flags at import
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

START = (-1.5, 2.0)
LO, HI = 1e-4, 1.0


def rosenbrock_torch(x):
    return (1 - x[..., 0]) ** 2 + 100 * (x[..., 1] - x[..., 0] ** 2) ** 2


def optimlab_sweep(runs: int, steps: int):
    import optimlab

    return optimlab.sweep("rosenbrock", "adam", grid={"lr": optimlab.logspace(LO, HI, runs)}, start=START,
                          steps=steps, record_params=False)


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


def _only() -> None:
    """Child process for the whole-process timings."""
    if ARGS.only == "optimlab":
        import torch

        torch.set_num_threads(ARGS.threads)
        optimlab_sweep(ARGS.runs, ARGS.steps)
    elif ARGS.only == "jax":
        f, lrs = jax_program(ARGS.runs, ARGS.steps)
        p, v = f(lrs)
        p.block_until_ready()
    else:
        import torch  # noqa: F401
        import torch.optim

        torch.optim.Adam([torch.zeros(2, requires_grad=True)])


def _process(kind: str) -> float:
    cmd = [sys.executable, os.path.abspath(__file__), "--only", kind, "--runs", str(ARGS.runs), "--steps",
           str(ARGS.steps), "--threads", str(ARGS.threads)]
    t = time.perf_counter()
    subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    return time.perf_counter() - t


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

    rows = [("optimlab.sweep, one batch", t_sweep),
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
        proc_rows.append(("whole process: optimlab sweep", t_opt_proc))
        proc_rows.append(("whole process: torch loop (import + extrapolated loop)", t_imp + t_loop))
        if have_jax:
            proc_rows.append(("whole process: jax+optax program", _process("jax")))

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
    if have_jax:
        print(f"jax first call is {t_jax1 / t_sweep:.2f}× optimlab.sweep (target > 1); "
              f"compiled second call {t_jax2 / t_sweep:.2f}×")
    print(f"agreement of final points: sweep vs torch loop {diff_loop:.1e}"
          + (f", sweep vs optax (non-diverged, every {max(1, R // 50)}th) {diff_jax:.1e}" if diff_jax is not None
             else ""))
    print(f"diverged runs in the sweep: {int(res.diverged.sum())}")


if __name__ == "__main__":
    if ARGS.only:
        _only()
    else:
        main()
