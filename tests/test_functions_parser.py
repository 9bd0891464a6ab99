"""optimlab.functions.parse: the lectures' formulas, precedence, every whitelisted
function against NumPy, LaTeX, and a corpus of hostile inputs rejected quickly with the
position shown."""

from __future__ import annotations

import builtins
import json
import math
import re
import time
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import optimlab.functions as F
from optimlab.functions import parser as P


def test_the_lectures_formulas_equal_the_registered_functions():
    rng = np.random.default_rng(0)
    for text, name in [("(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)", "lecture-nonconvex"),
                       ("5*x**2 + y**2", "lecture-quadratic"), ("5x²+y²".replace("x²", "*x^2").replace("y²", "y^2"),
                                                                "lecture-quadratic"),
                       ("0.5*(x^2 + 10*y^2)", "ill-conditioned"),
                       ("(1.5 - x + x*y)^2 + (2.25 - x + x*y^2)^2 + (2.625 - x + x*y^3)^2", "beale"),
                       ("x**2 − y**2", "saddle")]:
        f, g = F.parse(text), F.get(name)
        X = torch.tensor(rng.uniform(0.1, 4, (6, 2)), dtype=torch.float64)
        torch.testing.assert_close(f(X), g(X), rtol=1e-14, atol=1e-12)
        torch.testing.assert_close(f.grad(X), g.grad(X), rtol=1e-14, atol=1e-12)


def test_precedence_and_associativity_follow_python():
    cases = {
        "-x**2": lambda x: -x ** 2, "2**3**2 * x": lambda x: 2 ** 3 ** 2 * x, "x^-1": lambda x: x ** -1,
        "2^-x": lambda x: 2 ** -x, "x/2/4": lambda x: x / 2 / 4, "x - 1 - 2": lambda x: x - 1 - 2,
        "-(-x)": lambda x: x, "+-+x": lambda x: -x, "x*-3": lambda x: x * -3,
        "1e-3*x + .5 + 2.": lambda x: 1e-3 * x + .5 + 2., "3.5E+2 * x": lambda x: 3.5e2 * x,
        "(x + 1) * (x - 1) / x": lambda x: (x + 1) * (x - 1) / x, "pi*e*x": lambda x: math.pi * math.e * x,
        "x**0.5": lambda x: x ** 0.5, "-x^2^0.5": lambda x: -x ** 2 ** 0.5,
    }
    for text, ref in cases.items():
        f = F.parse(text)
        for v in (0.7, 1.9, 3.0):
            assert float(f([v])) == pytest.approx(ref(v), rel=1e-14), text


FUNCS_1 = {"sin": np.sin, "cos": np.cos, "tan": np.tan, "exp": np.exp, "log": np.log, "ln": np.log,
           "log10": np.log10, "log2": np.log2, "sqrt": np.sqrt, "abs": np.abs, "tanh": np.tanh, "sinh": np.sinh,
           "cosh": np.cosh, "arcsin": np.arcsin, "asin": np.arcsin, "arccos": np.arccos, "acos": np.arccos,
           "arctan": np.arctan, "atan": np.arctan, "sigmoid": lambda v: 1 / (1 + np.exp(-v)),
           "softplus": lambda v: np.log1p(np.exp(v))}
FUNCS_2 = {"min": np.minimum, "max": np.maximum, "atan2": np.arctan2, "hypot": np.hypot}


def test_every_whitelisted_function_equals_numpy_with_finite_difference_gradients():
    x = np.array([0.15, 0.4, 0.85])
    for name, ref in FUNCS_1.items():
        f = F.parse(f"{name}(x)")
        np.testing.assert_allclose(f(x[:, None]), ref(x), rtol=1e-14, err_msg=name)
        h = 1e-6
        np.testing.assert_allclose(f.grad(x[:, None])[:, 0], (ref(x + h) - ref(x - h)) / (2 * h), rtol=1e-6,
                                   err_msg=name)
    X = np.array([[0.3, -0.2], [-1.0, 0.5], [2.0, 2.5]])
    for name, ref in FUNCS_2.items():
        np.testing.assert_allclose(F.parse(f"{name}(x, y)")(X), ref(X[:, 0], X[:, 1]), rtol=1e-14)
    assert math.isnan(float(F.parse("sqrt(x)")([-1.0])))  # outside the domain: NaN as in torch
    assert float(F.parse("SIN(x)")([1.0])) == pytest.approx(math.sin(1.0))  # function names: any case


def test_variables_dimension_and_order():
    f = F.parse("z + 10*x")
    assert f.dim == 2 and f.variables == ["x", "z"]
    assert float(f([1.0, 2.0])) == 12.0
    g = F.parse("x3 - x1 + 0*x10")
    assert g.dim == 3 and g.variables == ["x1", "x3", "x10"]
    assert float(g([1.0, 5.0, 9.0])) == 4.0
    h = F.parse("x*y*z")
    assert h.dim == 3 and h(torch.ones(4, 5, 3)).shape == (4, 5)
    assert F.parse("sin(x)").dim == 1


def test_dtype_batch_and_gradients():
    f = F.parse("x^2 * y + exp(-y)")
    for dtype in (torch.float32, torch.float64):
        X = torch.tensor([[1.0, 2.0], [3.0, 0.5]], dtype=dtype, requires_grad=True)
        v = f(X)
        assert v.dtype == dtype
        v.sum().backward()
        x, y = X.detach().double().numpy().T
        np.testing.assert_allclose(X.grad.double().numpy(), np.stack([2 * x * y, x ** 2 - np.exp(-y)], -1), rtol=1e-6)


def test_metadata_of_parsed_functions():
    f = F.parse("(x-1)**2 + (y+2)**2")
    assert f.name == "(x-1)**2 + (y+2)**2" and f.dim == 2
    np.testing.assert_array_equal(f.domain, [[-5, 5], [-5, 5]])
    assert f.minimizers.shape == (0, 2) and math.isnan(f.f_min) and f.starts.shape == (0, 2)
    g = F.parse("(x-1)**2 + (y+2)**2", name="bowl", domain=(-3, 3), minimizers=[[1, -2]], f_min=0.0,
                starts=[[2, 2]])
    assert g.name == "bowl" and g.f_min == 0.0
    np.testing.assert_array_equal(g.domain, [[-3, 3], [-3, 3]])
    np.testing.assert_array_equal(F.parse("x+y", domain=[[0, 1], [2, 3]]).domain, [[0, 1], [2, 3]])
    d = json.loads(json.dumps(g.to_dict()))
    assert d["params"] == {"formula": "(x-1)**2 + (y+2)**2"} and d["minimizers"] == [[1.0, -2.0]]
    assert F.parse("x").to_dict()["f_min"] == "nan"
    # noise works on parsed functions as on registered ones
    noisy = f.with_noise(0.3, seed=4)
    gen = torch.Generator().manual_seed(4)
    X = torch.zeros(2, 2, dtype=torch.float64)
    torch.testing.assert_close(noisy.grad(X), f.grad(X) + 0.3 * torch.randn(2, 2, generator=gen, dtype=torch.float64))


def test_latex_is_generated_from_the_tree():
    assert F.parse("(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)").latex == \
        r"\left(x - 3\right)^{2} + 8\,\left(y - 5\right)^{4} + \sqrt{x} + \sin\left(x\,y\right)"
    assert F.parse("x/(y+1)").latex == r"\frac{x}{y + 1}"
    assert F.parse("-x^2 - (y - 1)").latex == r"-x^{2} - \left(y - 1\right)"
    assert F.parse("abs(x1) + 1e-3*x2").latex == r"\left|x_{1}\right| + 0.001\,x_{2}"
    assert F.parse("1e-7*x + 2.5e20").latex == r"10^{-7}\,x + 2.5 \cdot 10^{20}"
    assert F.parse("-x*y/(-z)").latex == r"\frac{-x\,y}{-z}"
    assert F.parse("x*(-y)*(y+1)").latex == r"x\,\left(-y\right)\,\left(y + 1\right)"
    assert F.parse("pi*x**2.5").latex == r"\pi\,x^{2.5}"


def test_resolve_takes_names_with_parameters_or_formulas():
    assert F.resolve("beale").name == "beale"
    f = F.resolve("Rosenbrock:dim=5,b=10.5")
    assert f.dim == 5 and f.params["b"] == 10.5
    assert F.resolve("ill-conditioned:condition=100").params["condition"] == 100
    assert F.resolve("x**2 + y**2").dim == 2
    with pytest.raises(ValueError, match="unknown function 'nope'"):
        F.resolve("nope:dim=3")
    with pytest.raises(ValueError, match="must be a number"):
        F.resolve("rosenbrock:dim=abc")
    with pytest.raises(ValueError, match="Did you mean 'rosenbrock'"):
        F.resolve("rosenbrok")  # one word that is no formula is a mistyped name
    assert F.resolve("x").dim == 1 and F.resolve("x1").dim == 1
    with pytest.raises(ValueError, match="empty"):
        F.resolve("  ")


# ---------------------------------------------------------------------- hostile input
HOSTILE = [
    ("x.__class__", 1, "attribute"),
    ("().__class__.__bases__[0].__subclasses__()", 1, "empty parentheses"),
    ("__import__('os').system('ls')", 0, "dunder"),
    ("__builtins__", 0, "dunder"),
    ("x.real", 1, "attribute"),
    ("exec('1')", 0, "unknown function 'exec'"),
    ("eval(x)", 0, "unknown function 'eval'"),
    ("open('/etc/passwd')", 0, "unknown function 'open'"),
    ("getattr(x, 'y')", 0, "unknown function"),
    ("globals()", 0, "unknown function"),
    ("lambda: 0", 0, "unknown name 'lambda'"),
    ("lambda x: x", 0, "unknown name 'lambda'"),
    ("'abc'", 0, "strings"),
    ('"x" * 10', 0, "strings"),
    ("x[0]", 1, "brackets"),
    ("[x for x in y]", 0, "brackets"),
    ("{1: x}", 0, "braces"),
    ("x; import os", 1, "';'"),
    ("x = 1", 2, "'='"),
    ("x == y", 2, "'='"),
    ("x if y else z", 2, "missing operator"),
    ("9**9**9", 3, "exponent"),
    ("x**9**9", 3, "exponent"),
    ("2**(10**10)*x", 3, "exponent"),
    ("x**1e308", 3, "exponent"),
    ("x ** -101", 5, "exponent"),
    ("exp(exp(exp(10)))*x", 4, "overflows"),  # exp(exp(10)) is the first to overflow
    ("1e999*x", 0, "not finite"),
    ("x/0 + 1/0", 8, "division by zero"),
    ("(1e308 + 1e308) * x", 1, "not finite"),
    ("sin", 0, "needs its argument"),
    ("sin()", 4, "needs an argument"),
    ("min(x)", 0, "takes 2 arguments"),
    ("x +", 3, "ends too early"),
    ("(x + y", 6, "expected ')'"),
    ("x + y)", 5, "unexpected ')'"),
    ("* x", 0, "left operand"),
    ("2x", 1, "missing operator"),
    ("x y", 2, "missing operator"),
    ("", 0, "empty formula"),
    ("   ", 3, "empty formula"),
    ("3 + 4", 0, "no variable"),
    ("x + x1", 4, "mix"),
    ("w + 1", 0, "unknown name 'w'"),
    ("x0", 0, "unknown name 'x0'"),
    ("x @ y", 2, "'@'"),
    ("x % 2", 2, "'%'"),
    ("x | y", 2, "abs"),
    ("x & y", 2, "'&'"),
    ("~x", 0, "'~'"),
    ("x # comment", 2, "comments"),
    ("x\\\ny", 1, "backslash"),
    ("`x`", 0, "backquotes"),
    ("x\x00", 1, "unexpected character"),
    ("ｘ + 1", 0, "unexpected character"),
    ("x" + " + x" * 300, 1000, "longer than 1000"),
    ("(" * 101 + "x" + ")" * 101, 100, "deeper than 100"),
    ("-" * 200 + "x", 100, "deeper than 100"),
    ("sin(" * 101 + "x" + ")" * 101, 403, "deeper than 100"),
    ("x" + "**x" * 101, 301, "deeper than 100"),
]


@pytest.mark.parametrize("text,pos,reason", HOSTILE)
def test_hostile_input_is_rejected_with_the_position(text, pos, reason):
    with pytest.raises(ValueError) as info:
        F.parse(text)
    err = info.value
    assert isinstance(err, P.FormulaError)
    assert reason.lower() in str(err).lower(), str(err)
    assert err.position == pos, str(err)
    lines = str(err).split("\n")
    assert lines[0].startswith(f"bad formula at position {pos}:")
    assert lines[2].strip() == "^" and len(lines) == 3  # the caret under the text


def test_the_caret_points_at_the_offending_character():
    err = pytest.raises(ValueError, F.parse, "(x-3)**2 + foo(x)").value
    text_line, caret_line = str(err).split("\n")[1:]
    assert text_line[caret_line.index("^"):].startswith("foo")
    err = pytest.raises(ValueError, F.parse, "x + " * 150 + "y.__class__" + " + x" * 20).value
    text_line, caret_line = str(err).split("\n")[1:]
    assert len(text_line) < 90 and text_line[caret_line.index("^")] == "."  # a window around the position


def test_the_whole_hostile_corpus_is_rejected_fast():
    """A generous guard against runaway work (e.g. computing 9**9**9), not a benchmark."""
    start = time.process_time()
    for _ in range(3):
        for text, _, _ in HOSTILE:
            with pytest.raises(ValueError):
                F.parse(text)
    assert time.process_time() - start < 2.0


def test_the_parser_never_calls_eval_exec_or_compile(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("the parser must not use eval/exec/compile")

    # each path runs once unpatched first, so that what it imports lazily is loaded
    # whatever tests ran before in this process (the check is about eval, not imports)
    F.parse("(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)")([3.0, 5.0])
    with pytest.raises(ValueError):
        F.parse("__import__('os')")
    # warnings are silenced while the builtins are patched: recording one makes pytest
    # import a module, which the patched __import__ would refuse (under pytest-xdist it
    # takes the worker down)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in ("eval", "exec", "compile", "__import__"):
            monkeypatch.setattr(builtins, name, forbidden)
        f = F.parse("(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)")
        value = float(f([3.0, 5.0]))
        with pytest.raises(ValueError):
            F.parse("__import__('os')")
        monkeypatch.undo()
    assert value == pytest.approx(math.sqrt(3) + math.sin(15))
    source = open(P.__file__).read()
    assert not re.search(r"(?<![.\w])(eval|exec|compile)\(|literal_eval|import ast|getattr\(", source)


def test_limits_are_inclusive():
    assert F.parse("(" * 100 + "x" + ")" * 100).dim == 1
    assert F.parse("x**100")([1.0]) == 1.0 and F.parse("x**-100")([1.0]) == 1.0
    assert F.parse("x" + " " * 999).dim == 1  # exactly 1000 characters
    f = F.parse("sin(" * 99 + "x" + ")" * 99)
    assert abs(float(f.grad([0.3])[0])) > 0


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="xyz12e.+-*/^()_ ,sincoqrtpa\"'[]=;", max_size=40))
def test_fuzz_any_text_parses_or_raises_formula_error(text):
    try:
        f = F.parse(text)
    except P.FormulaError:
        return
    with np.errstate(all="ignore"):
        v = f(np.full((2, f.dim), 0.5))
    assert v.shape == (2,)


def test_to_dict_round_trips_through_from_dict():
    X = torch.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=torch.float64)
    for f in [F.get("rosenbrock", dim=2, b=20), F.get("ill-conditioned", condition=100),
              F.get("beale", noise=0.2, seed=5), F.parse("x*y + sin(x)", name="mine", domain=(-2, 1), f_min=-3)]:
        d = json.loads(json.dumps(f.to_dict()))
        g = F.from_dict(d)
        assert g.to_dict() == d
        torch.testing.assert_close(g(X), f(X))
        f.reset()
        torch.testing.assert_close(g.grad(X), f.grad(X))


def test_docstring_examples_run():
    import doctest

    import optimlab.functions._base as base
    import optimlab.functions.library as library

    for module in (F, base, library, P):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(P).attempted >= 4

