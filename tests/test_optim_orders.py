"""The function lab's higher-order methods (Newton, BFGS, CG, Levenberg–Marquardt; L-BFGS is
torch's twin) against the closed form, NumPy transcriptions of Nocedal & Wright's algorithms
and ``scipy.optimize``; and the evaluations the runner counts for them.

Stated tolerances against scipy (its defaults: BFGS/CG/Newton-CG stop at ‖∇f‖∞ ≤ 1e-5):
the same minimizer to 1e-4 in every coordinate, and iterations to ‖∇f‖ ≤ 1e-5 within a
factor 4 of scipy's (``(ours + 2) / (scipy + 2)`` in [1/4, 4]): the line searches differ
(scipy: MINPACK's dcsrch; here Algorithms 3.5/3.6 as torch uses them; Newton-CG is a
truncated Newton with a Wolfe search, ours an exact Newton with backtracking), so counts
agree only roughly. Pairs where the methods legitimately end in different basins of a
nonconvex function are left out (see ``DIFFERENT_BASIN``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so
import torch

import optimlab
import optimlab.functions as F
import optimlab.optim as oo
from optimlab.record import EVAL_SERIES, evaluations
from optimlab.runner import run_batch
from optimlab.stopping import Rule


class _GradBelow(Rule):
    """Stop at ‖∇f‖ ≤ 1e-5 (scipy's gtol, absolute)."""

    reason = "grad_below"

    def __call__(self, info):
        return info.grad_norms <= 1e-5

METHODS = {"BFGS": "bfgs", "CG": "cg", "Newton-CG": "newton"}
FUNCTIONS = ["rosenbrock", "beale", "booth", "matyas", "himmelblau", "three-hump-camel", "lecture-quadratic",
             "ill-conditioned", "sphere", "long-valley", "mccormick", "six-hump-camel", "goldstein-price", "branin",
             "styblinski-tang", "rastrigin", "ackley", "lecture-nonconvex"]
# from the functions' first suggested start, one of the two goes to another stationary point
DIFFERENT_BASIN = {("himmelblau", "newton"), ("lecture-nonconvex", "bfgs"), ("lecture-nonconvex", "cg"),
                   ("lecture-nonconvex", "newton"), ("rastrigin", "cg"), ("ackley", "bfgs"), ("ackley", "cg")}


def _scipy(f, x0, method):
    fun = lambda x: float(f(np.asarray(x)))  # noqa: E731
    jac = lambda x: np.asarray(f.grad(np.asarray(x)))  # noqa: E731

    def hess(x):
        return torch.autograd.functional.hessian(lambda v: f(v), torch.tensor(x, dtype=torch.float64)).numpy()

    return so.minimize(fun, x0, jac=jac, hess=hess if method == "Newton-CG" else None, method=method)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_same_minimizer_and_iterations_as_scipy(name):
    f = F.get(name)
    x0 = f.starts[0]
    for method, ours in METHODS.items():
        if (name, ours) in DIFFERENT_BASIN:
            continue
        ref = _scipy(f, x0, method)
        t = optimlab.run(f, ours, start=x0, steps=3 * ref.nit + 20, stop=_GradBelow())
        done = np.flatnonzero(t.grad_norms <= 1e-5)
        assert done.size, f"{ours} on {name}: ‖∇f‖ never reached 1e-5 (last {t.grad_norms[-1]:.3g})"
        np.testing.assert_allclose(t.params[done[0]], ref.x, atol=1e-4, err_msg=f"{ours} on {name}")
        ratio = (done[0] + 2) / (ref.nit + 2)
        assert 0.25 <= ratio <= 4, f"{ours} on {name}: {done[0]} iterations, scipy {method} {ref.nit}"


# ------------------------------------------------------------------ Newton: closed form and Alg. 3.1
def test_newton_reaches_a_quadratics_minimizer_in_one_step():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -2.0])
    quad = F.parse("0.5*(3*x**2 + 2*x*y + 2*y**2) - (x - 2*y)")
    for opts in ("newton", "newton:line_search_fn=none"):
        t = optimlab.run(quad, opts, start=(7.0, -4.0), steps=1)
        np.testing.assert_allclose(t.params[1], np.linalg.solve(A, b), rtol=0, atol=1e-13)
    t = optimlab.run("booth", "newton", start=(-8.0, 5.0), steps=1)
    np.testing.assert_allclose(t.params[1], [1.0, 3.0], rtol=0, atol=1e-13)


def _rosen(x):
    f = 100 * (x[1] - x[0] ** 2) ** 2 + (1 - x[0]) ** 2
    g = np.array([-400 * x[0] * (x[1] - x[0] ** 2) - 2 * (1 - x[0]), 200 * (x[1] - x[0] ** 2)])
    H = np.array([[1200 * x[0] ** 2 - 400 * x[1] + 2, -400 * x[0]], [-400 * x[0], 200.0]])
    return f, g, H


def _newton_np(x, steps, damping=0.0, c1=1e-4, rho=0.5, beta=1e-3):
    """Nocedal & Wright Alg. 3.1 (backtracking) on the direction of Alg. 3.3 (Cholesky with
    added multiple of the identity), transcribed in NumPy with Rosenbrock's analytic derivatives."""
    out = [x.copy()]
    for _ in range(steps):
        f, g, H = _rosen(x)
        tau = damping
        while True:
            try:
                L = np.linalg.cholesky(H + tau * np.eye(2))
                break
            except np.linalg.LinAlgError:
                tau = max(2 * tau, beta, -H.diagonal().min() + beta) if tau > 0 else max(beta, -H.diagonal().min()
                                                                                          + beta)
        p = -np.linalg.solve(L.T, np.linalg.solve(L, g))
        a = 1.0
        for _ in range(30):
            if _rosen(x + a * p)[0] <= f + c1 * a * g @ p:
                break
            a *= rho
        x = x + a * p
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize("damping", [0.0, 5.0])
def test_newton_step_for_step_as_the_numpy_transcription(damping):
    for start in ([-1.2, 1.0], [0.0, 1.0]):  # the second one starts where the Hessian is indefinite
        t = optimlab.run("rosenbrock", ("newton", {"damping": damping}), start=start, steps=12)
        np.testing.assert_allclose(t.params, _newton_np(np.array(start), 12, damping), rtol=1e-10, atol=1e-12)
    assert np.linalg.eigvalsh(_rosen(np.array([0.0, 1.0]))[2]).min() < 0


# ------------------------------------------------------------------ Levenberg–Marquardt against MINPACK
@pytest.mark.parametrize("spec,start", [("rosenbrock", None), ("booth", None), ("beale", (-2.0, -1.0)),
                                        ("residuals: x - 2; 3*(y - x**2); sin(x*y) - 0.5", (1.0, 1.0)),
                                        ("residuals: 10*(y - x**2); 1 - x; x*y - 1", (0.5, -1.0))])
def test_levenberg_marquardt_as_least_squares_lm(spec, start):
    f = F.resolve(spec)
    x0 = np.asarray(f.starts[0] if start is None else start, dtype=float)
    ref = so.least_squares(lambda v: f.residuals(torch.tensor(v)).numpy(), x0, method="lm", xtol=1e-12,
                           ftol=1e-12, gtol=1e-12)
    t = optimlab.run(f, "levenberg_marquardt", start=x0, steps=60)
    np.testing.assert_allclose(t.params[-1], ref.x, atol=1e-7)
    k = int(np.flatnonzero(np.abs(t.params - t.params[-1]).max(1) <= 1e-8)[0])
    # residual evaluations to convergence within a factor 2 of MINPACK's (+2: its start is counted)
    assert 0.5 <= (evaluations(t, "f")[k] + 2) / (ref.nfev + 2) <= 2, (evaluations(t, "f")[k], ref.nfev)


def test_residual_forms_sum_to_the_functions():
    x = torch.tensor([[0.3, -1.2], [2.0, 0.7], [-1.5, 2.5]], dtype=torch.float64)
    for f in (F.get("rosenbrock"), F.get("beale"), F.get("booth"), F.get("rosenbrock", a=2.0, b=3.0)):
        np.testing.assert_allclose(f.residuals(x).square().sum(-1), f(x), rtol=1e-14)
    x5 = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    r5 = F.get("rosenbrock", dim=5)
    np.testing.assert_allclose(r5.residuals(x5).square().sum(-1), r5(x5), rtol=1e-13)
    u = F.parse_residuals(["y - 1", "2*x"])  # the residuals' own variables map into the whole list's
    assert u.variables == ["x", "y"]
    np.testing.assert_array_equal(u.residuals(torch.tensor([3.0, 5.0])), [4.0, 6.0])
    assert float(u([3.0, 5.0])) == 52.0
    back = F.from_dict(u.to_dict())
    np.testing.assert_array_equal(back.residuals(torch.tensor([3.0, 5.0])), [4.0, 6.0])
    assert F.resolve("residuals: y - 1; 2*x").to_dict()["params"] == {"residuals": ["y - 1", "2*x"]}
    assert F.get("sphere").residuals is None


# ------------------------------------------------------------------ counting evaluations
def _counting(x, f):
    calls = {"f": 0, "hess": 0}

    def closure(create_graph=False, residuals=False):
        calls["f"] += 1
        calls["hess"] += bool(create_graph)
        x.grad = None
        with torch.enable_grad():
            if residuals:
                return f.residuals(x)
            loss = f(x).sum()
            if create_graph:
                x.grad = torch.autograd.grad(loss, x, create_graph=True)[0]
            else:
                loss.backward()
        return loss
    return closure, calls


@pytest.mark.parametrize("name", ["newton", "bfgs", "cg", "levenberg_marquardt", "lbfgs"])
def test_trace_counts_the_closure_calls_and_matches_the_optimizer_alone(name):
    f = F.get("rosenbrock")
    t = optimlab.run(f, name, steps=6)
    x = torch.tensor(f.starts[:1], dtype=torch.float64, requires_grad=True)
    opt = oo.create([x], name)
    closure, calls = _counting(x, f)
    seen_f, seen_h, points = [0], [0], [x.detach().numpy()[0].copy()]
    for _ in range(6):
        opt.step(closure)
        seen_f.append(calls["f"])
        seen_h.append(calls["hess"])
        points.append(x.detach().numpy()[0].copy())
    np.testing.assert_array_equal(t.params, np.array(points))
    np.testing.assert_array_equal(t.series["evals_f"], seen_f)
    np.testing.assert_array_equal(t.series["evals_grad"], seen_f)
    np.testing.assert_array_equal(t.series["evals_hess"], seen_h)
    assert seen_h[-1] == (6 if name == "newton" else 0)
    assert set(EVAL_SERIES) <= set(t.series)


def test_first_order_methods_count_one_gradient_per_step():
    t = optimlab.run("booth", "adam:lr=0.1", steps=4)
    assert not set(EVAL_SERIES) & set(t.series)
    np.testing.assert_array_equal(evaluations(t), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(evaluations(t, "hess"), [0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="kind must be one of 'f', 'grad', 'hess'"):
        evaluations(t, "jac")


# ------------------------------------------------------------------ errors
def test_clear_errors():
    with pytest.raises(ValueError, match="needs a function written as a sum of squares; sphere has no residuals"):
        optimlab.run("sphere", "levenberg_marquardt", steps=2)
    w = torch.zeros(2, requires_grad=True)

    def plain():
        w.grad = None
        loss = (w - 1).square().sum()
        loss.backward()
        return loss

    with pytest.raises(TypeError, match="accepts create_graph=True"):
        oo.Newton([w]).step(plain)
    with pytest.raises(TypeError, match="accepts residuals=True"):
        oo.LevenbergMarquardt([w]).step(plain)
    with pytest.raises(ValueError, match="beta must be one of 'pr\\+', 'fr'"):
        oo.CG([w], beta="hs")
    with pytest.raises(ValueError, match="c1 must be below c2"):
        oo.BFGS([w], c1=0.5, c2=0.1)
    with pytest.raises(ValueError, match="damping"):
        oo.Newton([w], damping=-1.0)
    with pytest.raises(ValueError, match="line_search_fn must be one of None, 'backtracking'"):
        oo.Newton([w], line_search_fn="wolfe")
    with pytest.raises(ValueError, match="max_tries must be an integer >= 1, got 2.5"):
        oo.LevenbergMarquardt([w], max_tries=2.5)
    with pytest.raises(ValueError, match="restart must be an integer >= 1, got 0"):
        oo.CG([w], restart=0)
    with pytest.raises(ValueError, match="no runs dimension"):
        oo.BFGS([torch.zeros(3, 2, requires_grad=True)], lr=torch.ones(3, 1))


def test_cg_variants_and_batched_runs_are_each_run_alone():
    f = F.get("rosenbrock")
    for beta in ("fr", "pr+"):
        t = optimlab.run(f, ("cg", {"beta": beta}), steps=400, stop=_GradBelow())
        assert t.stop_reason == "grad_below", (beta, t.grad_norms[-1])
        np.testing.assert_allclose(t.params[-1], [1.0, 1.0], atol=1e-4)
    starts = np.array([[-1.2, 1.0], [0.5, -0.5]])
    both = run_batch(f, "bfgs", starts, steps=8)
    for i, tr in enumerate(both):
        alone = optimlab.run(f, "bfgs", start=starts[i], steps=8)
        np.testing.assert_array_equal(tr.params, alone.params)
        np.testing.assert_array_equal(tr.series["evals_f"], alone.series["evals_f"])
