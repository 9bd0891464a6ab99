"""optimlab.functions: values and gradients against hand formulas, every f* and
minimizer checked numerically (grid search + Newton, L-BFGS from nearby starts), the
TestFunction API, and the seeded gradient noise."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import optimlab.functions as F

PI = np.pi
TWO_D = ["lecture-quadratic", "lecture-nonconvex", "ill-conditioned", "beale", "rosenbrock", "long-valley",
         "saddle", "monkey-saddle", "himmelblau", "booth", "matyas", "mccormick", "three-hump-camel",
         "six-hump-camel", "goldstein-price", "branin", "sphere", "rastrigin", "ackley", "styblinski-tang"]
ANY_D = ["ill-conditioned", "rosenbrock", "sphere", "rastrigin", "ackley", "styblinski-tang"]


# ---------------------------------------------------------------------- hand formulas
def _gp(x, y):
    a, c = x + y + 1, 2 * x - 3 * y
    B = 19 - 14 * x + 3 * x ** 2 - 14 * y + 6 * x * y + 3 * y ** 2
    D = 18 - 32 * x + 12 * x ** 2 + 48 * y - 36 * x * y + 27 * y ** 2
    A, C = 1 + a ** 2 * B, 30 + c ** 2 * D
    Bd = -14 + 6 * x + 6 * y                       # dB/dx = dB/dy
    Ax = Ay = 2 * a * B + a ** 2 * Bd
    Cx = 4 * c * D + c ** 2 * (-32 + 24 * x - 36 * y)
    Cy = -6 * c * D + c ** 2 * (48 - 36 * x + 54 * y)
    return A * C, np.stack([Ax * C + A * Cx, Ay * C + A * Cy], -1)


def _branin(x, y):
    b, c, r, s, t = 5.1 / (4 * PI ** 2), 5 / PI, 6, 10, 1 / (8 * PI)
    u = y - b * x ** 2 + c * x - r
    grad = np.stack([2 * u * (c - 2 * b * x) - s * (1 - t) * np.sin(x), 2 * u], -1)
    return u ** 2 + s * (1 - t) * np.cos(x) + s, grad


def _beale(x, y):
    t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y ** 2, 2.625 - x + x * y ** 3
    gx = 2 * t1 * (y - 1) + 2 * t2 * (y ** 2 - 1) + 2 * t3 * (y ** 3 - 1)
    gy = 2 * t1 * x + 4 * t2 * x * y + 6 * t3 * x * y ** 2
    return t1 ** 2 + t2 ** 2 + t3 ** 2, np.stack([gx, gy], -1)


def _him(x, y):
    p, q = x ** 2 + y - 11, x + y ** 2 - 7
    return p ** 2 + q ** 2, np.stack([4 * x * p + 2 * q, 2 * p + 4 * y * q], -1)


HAND_2D = {
    "lecture-quadratic": lambda x, y: (5 * x ** 2 + y ** 2, np.stack([10 * x, 2 * y], -1)),
    "lecture-nonconvex": lambda x, y: (
        (x - 3) ** 2 + 8 * (y - 5) ** 4 + np.sqrt(x) + np.sin(x * y),
        np.stack([2 * (x - 3) + 0.5 / np.sqrt(x) + y * np.cos(x * y), 32 * (y - 5) ** 3 + x * np.cos(x * y)], -1)),
    "ill-conditioned": lambda x, y: (0.5 * (x ** 2 + 10 * y ** 2), np.stack([x, 10 * y], -1)),
    "beale": _beale,
    "rosenbrock": lambda x, y: (100 * (y - x ** 2) ** 2 + (1 - x) ** 2,
                                np.stack([-400 * x * (y - x ** 2) - 2 * (1 - x), 200 * (y - x ** 2)], -1)),
    "long-valley": lambda x, y: (np.sqrt(1 + x ** 2) - 1 + 10 * y ** 2,
                                 np.stack([x / np.sqrt(1 + x ** 2), 20 * y], -1)),
    "saddle": lambda x, y: (x ** 2 - y ** 2, np.stack([2 * x, -2 * y], -1)),
    "monkey-saddle": lambda x, y: (x ** 3 - 3 * x * y ** 2, np.stack([3 * x ** 2 - 3 * y ** 2, -6 * x * y], -1)),
    "himmelblau": _him,
    "booth": lambda x, y: ((x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
                           np.stack([2 * (x + 2 * y - 7) + 4 * (2 * x + y - 5),
                                     4 * (x + 2 * y - 7) + 2 * (2 * x + y - 5)], -1)),
    "matyas": lambda x, y: (0.26 * (x ** 2 + y ** 2) - 0.48 * x * y,
                            np.stack([0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x], -1)),
    "mccormick": lambda x, y: (np.sin(x + y) + (x - y) ** 2 - 1.5 * x + 2.5 * y + 1,
                               np.stack([np.cos(x + y) + 2 * (x - y) - 1.5, np.cos(x + y) - 2 * (x - y) + 2.5], -1)),
    "three-hump-camel": lambda x, y: (2 * x ** 2 - 1.05 * x ** 4 + x ** 6 / 6 + x * y + y ** 2,
                                      np.stack([4 * x - 4.2 * x ** 3 + x ** 5 + y, x + 2 * y], -1)),
    "six-hump-camel": lambda x, y: ((4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2,
                                    np.stack([8 * x - 8.4 * x ** 3 + 2 * x ** 5 + y, x - 8 * y + 16 * y ** 3], -1)),
    "goldstein-price": _gp,
    "branin": _branin,
}


def _hand_nd(name, X):
    d = X.shape[-1]
    if name == "ill-conditioned":  # default condition 10
        lam = 10.0 ** (np.arange(d) / (d - 1)) if d > 1 else np.ones(1)
        return 0.5 * (lam * X ** 2).sum(-1), lam * X
    if name == "rosenbrock":
        u, v = X[..., :-1], X[..., 1:]
        g = np.zeros_like(X)
        g[..., :-1] += -400 * u * (v - u ** 2) - 2 * (1 - u)
        g[..., 1:] += 200 * (v - u ** 2)
        return (100 * (v - u ** 2) ** 2 + (1 - u) ** 2).sum(-1), g
    if name == "sphere":
        return (X ** 2).sum(-1), 2 * X
    if name == "rastrigin":
        return 10 * d + (X ** 2 - 10 * np.cos(2 * PI * X)).sum(-1), 2 * X + 20 * PI * np.sin(2 * PI * X)
    if name == "ackley":
        r = np.sqrt((X ** 2).mean(-1, keepdims=True))
        A, B = np.exp(-0.2 * r), np.exp(np.cos(2 * PI * X).mean(-1, keepdims=True))
        f = -20 * A - B + 20 + np.e
        return f[..., 0], 4 * A * X / (d * r) + (2 * PI / d) * B * np.sin(2 * PI * X)
    if name == "styblinski-tang":
        return 0.5 * (X ** 4 - 16 * X ** 2 + 5 * X).sum(-1), 0.5 * (4 * X ** 3 - 32 * X + 5)
    raise KeyError(name)


def _hand(name, X):
    if name in HAND_2D and X.shape[-1] == 2:
        return HAND_2D[name](X[..., 0], X[..., 1])
    return _hand_nd(name, X)


def _sample(f, n, rng):
    lo, hi = f.domain[:, 0], f.domain[:, 1]
    return lo + (hi - lo) * rng.random((n, f.dim))


def test_the_registry_has_every_function_the_issue_asks_for():
    assert set(TWO_D) <= set(F.names())
    assert F.names() == sorted(F.names())


@pytest.mark.parametrize("name", TWO_D)
def test_2d_values_and_gradients_equal_the_hand_formulas(name):
    f = F.get(name)
    rng = np.random.default_rng(1)
    X = _sample(f, 50, rng).reshape(5, 10, 2)
    if name == "lecture-nonconvex":
        X[..., 0] = np.maximum(X[..., 0], 0.05)  # sqrt(x) needs x > 0
    v_ref, g_ref = _hand(name, X)
    v, g = f.value_and_grad(torch.tensor(X))
    assert v.shape == (5, 10) and g.shape == (5, 10, 2)
    np.testing.assert_allclose(v.numpy(), v_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g.numpy(), g_ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(f(X), v_ref, rtol=1e-12, atol=1e-12)  # NumPy in, NumPy out


@pytest.mark.parametrize("name", ANY_D)
@pytest.mark.parametrize("dim", [1, 3, 7])
def test_nd_values_and_gradients_equal_the_hand_formulas(name, dim):
    if name == "rosenbrock" and dim == 1:
        with pytest.raises(ValueError, match="dim"):
            F.get(name, dim=dim)
        return
    f = F.get(name, dim=dim)
    assert f.dim == dim and f.domain.shape == (dim, 2) and f.starts.shape[1] == dim
    X = _sample(f, 40, np.random.default_rng(dim))
    v_ref, g_ref = _hand(name, X)
    v, g = f.value_and_grad(X)
    np.testing.assert_allclose(v, v_ref, rtol=1e-12, atol=1e-11)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-10)


def test_rosenbrock_parameters_and_ill_conditioned_spectrum():
    f = F.get("rosenbrock", a=2.0, b=50)
    np.testing.assert_array_equal(f.minimizers, [[2.0, 4.0]])
    assert float(f([0.5, 1.0])) == pytest.approx(50 * (1.0 - 0.25) ** 2 + (2 - 0.5) ** 2, rel=1e-15)
    for kappa, d in [(10, 2), (100, 2), (1000, 5)]:
        g = F.get("ill-conditioned", condition=kappa, dim=d)
        H = torch.autograd.functional.hessian(g, torch.zeros(d, dtype=torch.float64))
        np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(H.numpy())), np.logspace(0, np.log10(kappa), d),
                                   rtol=1e-12)
    with pytest.raises(ValueError, match="condition"):
        F.get("ill-conditioned", condition=-1)


# ---------------------------------------------------------------------- minimizers
def _batched_newton(f, X, steps=60):
    """Newton's method on many 2-D points at once (Hessians by autograd); returns the
    points, their gradient norms and smallest Hessian eigenvalues."""
    X = X.clone()
    for _ in range(steps + 1):
        P = X.detach().requires_grad_(True)
        (g,) = torch.autograd.grad(f(P).sum(), P, create_graph=True)
        H = torch.stack([torch.autograd.grad(g[:, j].sum(), P, retain_graph=True)[0] for j in range(2)], 1)
        g, H = g.detach(), H.detach()
        done = g.norm(dim=1) < 1e-12
        step = torch.linalg.solve(H + 1e-300 * torch.eye(2), g.unsqueeze(-1)).squeeze(-1)
        X = torch.where(done.unsqueeze(-1) | ~torch.isfinite(step), X, X - step)
    return X, g.norm(dim=1), torch.linalg.eigvalsh(H)[:, 0]


def _grid_local_minima(f, n=601):
    (x0, x1), (y0, y1) = f.domain
    xs, ys = np.linspace(x0, x1, n), np.linspace(y0, y1, n)
    Xg, Yg = np.meshgrid(xs, ys, indexing="ij")
    V = f(np.stack([Xg, Yg], -1))
    c = V[1:-1, 1:-1]
    is_min = np.ones_like(c, dtype=bool)
    for dx in (-1, 0, 1):
        for dy in (-1, 0, 1):
            if dx or dy:
                is_min &= c < V[1 + dx:n - 1 + dx, 1 + dy:n - 1 + dy]
    i, j = np.nonzero(is_min)
    return np.stack([xs[i + 1], ys[j + 1]], -1), np.nanmin(V)


def _distinct(points, tol=1e-6):
    out = []
    for p in points:
        if all(np.abs(p - q).max() > tol for q in out):
            out.append(p)
    return np.array(out).reshape(-1, 2)


@pytest.mark.parametrize("name", TWO_D)
def test_global_minimizers_and_f_min_are_found_by_grid_search_and_newton(name):
    """Every grid local minimum is refined by Newton's method; the refined points with
    the least value must be exactly the listed minimizers and their value f_min."""
    f = F.get(name)
    cand, grid_min = _grid_local_minima(f)
    if name in ("saddle", "monkey-saddle"):
        assert f.minimizers.shape == (0, 2) and f.f_min == -math.inf
        assert len(cand) == 0  # no local minimum anywhere in the window
        return
    assert grid_min >= f.f_min - 1e-9
    X, gnorm, lam_min = _batched_newton(f, torch.tensor(cand))
    inside = np.all((X.numpy() >= f.domain[:, 0] - 1e-9) & (X.numpy() <= f.domain[:, 1] + 1e-9), axis=1)
    ok = (gnorm.numpy() < 1e-8) & inside & (lam_min.numpy() > 0)
    if name == "ackley":  # not differentiable at 0: Newton stops there with the subgradient 0
        ok = (gnorm.numpy() < 1e-8) & inside
    mins = X.numpy()[ok]
    vals = f(mins)
    best = vals.min()
    assert best == pytest.approx(f.f_min, abs=1e-11, rel=1e-12)
    found = _distinct(mins[vals <= f.f_min + 1e-9 * max(1, abs(f.f_min))])
    assert len(found) == len(f.minimizers), (found, f.minimizers)
    for m in f.minimizers:
        assert np.abs(found - m).max(axis=1).min() < 1e-7
    if len(f.local_minimizers):  # the documented other local minima are all that exist
        others = _distinct(mins[vals > best + 1e-6])
        assert len(others) == len(f.local_minimizers)
        for m in f.local_minimizers:
            assert np.abs(others - m).max(axis=1).min() < 1e-7


@pytest.mark.parametrize("name,dim", [(n, 2) for n in TWO_D] + [(n, d) for n in ANY_D for d in (1, 3, 6)
                                                                 if not (n == "rosenbrock" and d == 1)])
def test_minimizers_are_stationary_and_lbfgs_from_nearby_does_not_go_lower(name, dim):
    f = F.get(name, dim=dim)
    assert f.minimizers.shape[1] == dim
    for m in f.minimizers:
        assert abs(float(f(m)) - f.f_min) <= 1e-12 * max(1.0, abs(f.f_min))
        assert np.abs(f.grad(m)).max() < 1e-9
        if name != "ackley":
            H = torch.autograd.functional.hessian(lambda x: f(x), torch.tensor(m))
            assert torch.linalg.eigvalsh(H).min() > 0  # a strict local minimum
        gen = torch.Generator().manual_seed(3)
        for _ in range(3):
            p = (torch.tensor(m) + 0.02 * torch.randn(dim, generator=gen, dtype=torch.float64)).requires_grad_(True)
            opt = torch.optim.LBFGS([p], lr=1, max_iter=200, tolerance_grad=1e-14, tolerance_change=1e-16,
                                    line_search_fn="strong_wolfe")

            def closure(opt=opt, p=p):  # bound now: LBFGS calls it within this iteration
                opt.zero_grad()
                loss = f(p)
                loss.backward()
                return loss

            opt.step(closure)
            assert float(f(p.detach())) >= f.f_min - 1e-12 * max(1.0, abs(f.f_min))


def test_closed_forms_written_independently():
    # Styblinski-Tang: the 1-D minimizer is the smallest real root of 4t^3 - 32t + 5
    t = min(r.real for r in np.roots([4, 0, -32, 5]) if abs(r.imag) < 1e-12)
    for d in (1, 2, 10):
        f = F.get("styblinski-tang", dim=d)
        np.testing.assert_allclose(f.minimizers, [[t] * d], rtol=1e-14)
        assert f.f_min == pytest.approx(d * 0.5 * (t ** 4 - 16 * t ** 2 + 5 * t), rel=1e-14)
    assert F.get("styblinski-tang").f_min / 2 == pytest.approx(-39.16616570377, abs=1e-10)
    # McCormick: x - y = 1, cos(x + y) = -1/2; minimizer has both coordinates negative
    f = F.get("mccormick")
    np.testing.assert_allclose(f.minimizers, [[0.5 - PI / 3, -0.5 - PI / 3]], rtol=1e-15)
    assert f.f_min == pytest.approx(-np.sqrt(3) / 2 - PI / 3, rel=1e-15)
    assert float(f([-50.0, -50.0])) < f.f_min  # unbounded below outside the box (documented)
    # Branin: minima where cos x = -1 and the square vanishes, f* = 5 / (4 pi)
    f = F.get("branin")
    np.testing.assert_allclose(f.minimizers, [[-PI, 12.275], [PI, 2.275], [3 * PI, 2.475]], rtol=1e-14)
    assert f.f_min == pytest.approx(5 / (4 * PI), rel=1e-15)
    assert F.get("goldstein-price")([0.0, -1.0]) == 3.0
    assert F.get("beale")([3.0, 0.5]) == 0.0


def test_lecture_nonconvex_facts():
    f = F.get("lecture-nonconvex")
    assert np.isnan(f([-1.0, 2.0]))  # sqrt(x) for x < 0 (documented)
    np.testing.assert_array_equal(f.domain, [[0, 10], [-5, 10]])
    np.testing.assert_array_equal(f.starts[0], [5, -2])
    # gradient descent with the notebook's lr 2e-4 from (5, -2), hand gradient in NumPy
    p = np.array([5.0, -2.0])
    for _ in range(30000):
        x, y = p
        p = p - 2e-4 * np.array([2 * (x - 3) + 0.5 / np.sqrt(x) + y * np.cos(x * y),
                                 32 * (y - 5) ** 3 + x * np.cos(x * y)])
    np.testing.assert_allclose(p, f.local_minimizers[1], atol=1e-6)
    assert float(f(p)) > f.f_min + 2


# ---------------------------------------------------------------------- API
def test_lookup_is_case_and_separator_insensitive():
    for spelling in ["Six-Hump Camel", "six_hump_camel", "SIXHUMPCAMEL", "six hump-camel"]:
        assert F.get(spelling).name == "six-hump-camel"
    assert F.get("Ill Conditioned", condition=10).name == "ill-conditioned"
    assert F.get("Goldstein–Price").name == "goldstein-price"  # en dash


def test_unknown_names_and_parameters_are_clear_errors():
    with pytest.raises(ValueError, match=r"unknown function 'rosenbrok'.*'rosenbrock'"):
        F.get("rosenbrok")
    with pytest.raises(ValueError, match=r"himmelblau.*Available"):
        F.get("himmelblaw")
    with pytest.raises(ValueError, match=r"unknown parameter.*'condition'.*allowed: dim"):
        F.get("beale", condition=3)
    with pytest.raises(ValueError, match="dim=2 only"):
        F.get("beale", dim=3)
    with pytest.raises(ValueError, match="dim must be an integer"):
        F.get("rastrigin", dim=0)
    with pytest.raises(TypeError):
        F.get(3)


def test_inputs_dtypes_and_shapes():
    f = F.get("himmelblau")
    for dtype in (torch.float32, torch.float64):
        x = torch.tensor([[1.0, 2.0], [3.0, -1.0]], dtype=dtype, requires_grad=True)
        v = f(x)
        assert v.dtype == dtype and v.shape == (2,)
        v.sum().backward()
        assert x.grad.dtype == dtype
        np.testing.assert_allclose(x.grad.numpy(), _him(*x.detach().double().numpy().T)[1], rtol=1e-5)
    assert f(torch.tensor([3, 2])).dtype == torch.get_default_dtype()  # integer tensor
    assert isinstance(f([3, 2]), np.ndarray) and f([3, 2]).shape == () and float(f([3, 2])) == 0.0
    assert f(np.zeros((4, 5, 2), dtype=np.float32)).dtype == np.float32
    assert f((1.0, 1.0)).dtype == np.float64
    g = f.grad([[0.0, 0.0]])
    assert isinstance(g, np.ndarray) and g.shape == (1, 2)
    gt = f.grad(torch.zeros(3, 2, dtype=torch.float64))
    assert isinstance(gt, torch.Tensor) and not gt.requires_grad and gt.shape == (3, 2)
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        f(np.zeros(3))
    with pytest.raises(ValueError, match=r"shape"):
        f(torch.tensor(1.0))
    with pytest.raises(TypeError):
        f(["a", "b"])


def test_metadata_shapes_and_starts_inside_domain():
    for name in F.names():
        f = F.get(name)
        assert isinstance(f.latex, str) and f.latex and f.description
        assert f.domain.shape == (f.dim, 2) and np.all(f.domain[:, 0] < f.domain[:, 1])
        assert f.minimizers.ndim == 2 and f.minimizers.shape[1] == f.dim
        assert len(f.starts) >= 1 and f.starts.shape[1] == f.dim
        assert np.all((f.starts >= f.domain[:, 0]) & (f.starts <= f.domain[:, 1])), name
        assert np.all(np.isfinite(f(f.starts))), name
        assert "math::" in F.library._FACTORIES[name].__doc__ or "math:`" in F.library._FACTORIES[name].__doc__
        d = f.to_dict()
        back = json.loads(json.dumps(d))
        assert back["name"] == name and back["dim"] == f.dim and back["params"]["dim"] == f.dim
        assert np.array_equal(np.array(back["minimizers"]).reshape(-1, f.dim), f.minimizers)
        assert float(back["f_min"]) == f.f_min or (np.isnan(f.f_min) and back["f_min"] == "nan")
    assert F.get("saddle").to_dict()["f_min"] == "-inf"
    assert F.get("rosenbrock", dim=4).to_dict()["params"] == {"dim": 4, "a": 1.0, "b": 100.0}


# ---------------------------------------------------------------------- noise
def test_noisy_gradient_is_the_exact_gradient_plus_seeded_gaussian_noise():
    f = F.get("beale")
    noisy = F.get("beale", noise=0.1, seed=7)
    assert noisy.noise == 0.1 and noisy.seed == 7 and f.noise == 0.0
    X = torch.tensor([[1.0, 1.5], [0.0, 0.0], [2.0, -1.0]], dtype=torch.float64)
    gen = torch.Generator().manual_seed(7)
    for _ in range(3):  # one draw per gradient evaluation, shape of the points
        expected = f.grad(X) + 0.1 * torch.randn(X.shape, generator=gen, dtype=torch.float64)
        torch.testing.assert_close(noisy.grad(X), expected, rtol=0, atol=1e-15)
    torch.testing.assert_close(noisy(X), f(X), rtol=0, atol=0)  # values untouched
    noisy.reset()
    gen.manual_seed(7)
    torch.testing.assert_close(noisy.grad(X), f.grad(X) + 0.1 * torch.randn(X.shape, generator=gen,
                                                                              dtype=torch.float64))
    # two objects with one seed agree; another seed differs; the original stays exact
    a, b, c = f.with_noise(0.5, seed=1), f.with_noise(0.5, seed=1), f.with_noise(0.5, seed=2)
    torch.testing.assert_close(a.grad(X), b.grad(X))
    assert not torch.allclose(a.grad(X), c.grad(X))
    torch.testing.assert_close(f.grad(X), F.get("beale").grad(X))
    assert f.with_noise(0.0).noise == 0.0 and F.get("beale", noise=0.1, seed=7).to_dict()["params"]["seed"] == 7
    with pytest.raises(ValueError, match="noise"):
        f.with_noise(-1.0)


def test_noise_reaches_an_optimizer_through_autograd_and_is_unbiased():
    f = F.get("lecture-quadratic").with_noise(2.0, seed=0)
    p = torch.tensor([5.0, 5.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.01)
    gen = torch.Generator().manual_seed(0)
    q = np.array([5.0, 5.0])
    for _ in range(20):
        opt.zero_grad()
        f(p).backward()
        opt.step()
        noise = 2.0 * torch.randn(2, generator=gen, dtype=torch.float64).numpy()
        q = q - 0.01 * (np.array([10 * q[0], 2 * q[1]]) + noise)
    np.testing.assert_allclose(p.detach().numpy(), q, rtol=1e-13)
    # mean of many noisy gradients ~ the exact gradient (standard error 2/sqrt(n))
    f.reset()
    X = torch.ones(20000, 2, dtype=torch.float64)
    G = f.grad(X)
    np.testing.assert_allclose(G.mean(0).numpy(), [10.0, 2.0], atol=5 * 2.0 / np.sqrt(20000))
    np.testing.assert_allclose(G.std(0).numpy(), [2.0, 2.0], rtol=0.05)
