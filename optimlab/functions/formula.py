r"""The syntax tree of a user formula (:mod:`optimlab.functions.parser` builds it): the
nodes, the table of allowed functions and constants, evaluation with torch operations
(batched, differentiable) and the LaTeX shown in pictures and pages.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

__all__ = ["FUNCTIONS", "FUNCTION_ALIASES", "CONSTANTS", "XYZ", "Node", "Num", "Const", "Var", "Neg", "Sum", "Prod",
           "Pow", "Call", "walk", "evaluate", "latex"]


# ---------------------------------------------------------------------- functions
# name -> (arity, torch implementation, python implementation for constants, latex)
FUNCTIONS: dict[str, tuple[int, Callable[..., Any], Callable[..., float], str]] = {
    "sin": (1, torch.sin, math.sin, r"\sin"),
    "cos": (1, torch.cos, math.cos, r"\cos"),
    "tan": (1, torch.tan, math.tan, r"\tan"),
    "exp": (1, torch.exp, math.exp, r"\exp"),
    "log": (1, torch.log, math.log, r"\log"),
    "log10": (1, torch.log10, math.log10, r"\log_{10}"),
    "log2": (1, torch.log2, math.log2, r"\log_{2}"),
    "sqrt": (1, torch.sqrt, math.sqrt, r"\sqrt"),
    "abs": (1, torch.abs, abs, "abs"),
    "tanh": (1, torch.tanh, math.tanh, r"\tanh"),
    "sinh": (1, torch.sinh, math.sinh, r"\sinh"),
    "cosh": (1, torch.cosh, math.cosh, r"\cosh"),
    "arcsin": (1, torch.asin, math.asin, r"\arcsin"),
    "arccos": (1, torch.acos, math.acos, r"\arccos"),
    "arctan": (1, torch.atan, math.atan, r"\arctan"),
    "sigmoid": (1, torch.sigmoid, lambda v: 1 / (1 + math.exp(-v)), r"\sigma"),
    "softplus": (1, torch.nn.functional.softplus, lambda v: math.log1p(math.exp(v)), r"\operatorname{softplus}"),
    "min": (2, torch.minimum, min, r"\min"),
    "max": (2, torch.maximum, max, r"\max"),
    "atan2": (2, torch.atan2, math.atan2, r"\operatorname{atan2}"),
    "hypot": (2, torch.hypot, math.hypot, r"\operatorname{hypot}"),
}
FUNCTION_ALIASES = {"ln": "log", "asin": "arcsin", "acos": "arccos", "atan": "arctan"}
CONSTANTS = {"pi": (math.pi, r"\pi"), "e": (math.e, "e")}
XYZ = ("x", "y", "z")


# ---------------------------------------------------------------------- syntax tree
@dataclass
class Node:
    pos: int
    const: float | None = field(default=None, init=False)  # value when no variable occurs


@dataclass
class Num(Node):
    value: float = 0.0
    text: str = ""

    def __post_init__(self) -> None:
        self.const = self.value


@dataclass
class Const(Node):
    name: str = ""

    def __post_init__(self) -> None:
        self.const = CONSTANTS[self.name][0]


@dataclass
class Var(Node):
    name: str = ""
    index: int = -1  # coordinate, set once all variables are known


@dataclass
class Neg(Node):
    operand: Node = None  # type: ignore[assignment]


@dataclass
class Sum(Node):
    terms: list[tuple[str, Node]] = field(default_factory=list)  # ("+"|"-", node)


@dataclass
class Prod(Node):
    factors: list[tuple[str, Node]] = field(default_factory=list)  # ("*"|"/", node)


@dataclass
class Pow(Node):
    base: Node = None  # type: ignore[assignment]
    exp: Node = None  # type: ignore[assignment]


@dataclass
class Call(Node):
    name: str = ""
    args: list[Node] = field(default_factory=list)


def walk(node: Node) -> list[Node]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if isinstance(n, Neg):
            stack.append(n.operand)
        elif isinstance(n, Sum):
            stack.extend(c for _, c in n.terms)
        elif isinstance(n, Prod):
            stack.extend(c for _, c in n.factors)
        elif isinstance(n, Pow):
            stack.extend((n.base, n.exp))
        elif isinstance(n, Call):
            stack.extend(n.args)
    return out


# ---------------------------------------------------------------------- evaluation
def evaluate(node: Node, x: torch.Tensor) -> torch.Tensor:
    if node.const is not None:
        return torch.tensor(node.const, dtype=x.dtype, device=x.device)
    if isinstance(node, Var):
        return x[..., node.index]
    if isinstance(node, Neg):
        return -evaluate(node.operand, x)
    if isinstance(node, Sum):
        out = None
        for sign, term in node.terms:
            v = evaluate(term, x)
            out = (v if sign == "+" else -v) if out is None else (out + v if sign == "+" else out - v)
        return out  # type: ignore[return-value]
    if isinstance(node, Prod):
        out = None
        for op, factor in node.factors:
            v = evaluate(factor, x)
            out = v if out is None else (out * v if op == "*" else out / v)
        return out  # type: ignore[return-value]
    if isinstance(node, Pow):
        base = evaluate(node.base, x)
        e = node.exp.const
        if e is not None and e == int(e):
            return base ** int(e)  # integer powers of negative numbers stay real
        return torch.pow(base, evaluate(node.exp, x))
    if isinstance(node, Call):
        return FUNCTIONS[node.name][1](*[evaluate(a, x) for a in node.args])
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


# ---------------------------------------------------------------------- LaTeX
_PREC = {Sum: 1, Prod: 2, Neg: 2, Pow: 4}


def _prec(node: Node) -> int:
    if isinstance(node, Num) and node.value < 0:  # never happens: numbers are unsigned
        return 2  # pragma: no cover
    return _PREC.get(type(node), 5)


def _paren(s: str) -> str:
    return r"\left(" + s + r"\right)"


def _num_latex(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    s = f"{v:.12g}"
    if "e" in s:
        mant, ex = s.split("e")
        ex_i = int(ex)
        return (r"10^{" + str(ex_i) + "}") if mant == "1" else (mant + r" \cdot 10^{" + str(ex_i) + "}")
    return s


def latex(node: Node, names: list[str]) -> str:
    if isinstance(node, Num):
        return _num_latex(node.value)
    if isinstance(node, Const):
        return CONSTANTS[node.name][1]
    if isinstance(node, Var):
        return node.name if node.name in XYZ else f"x_{{{node.name[1:]}}}"
    if isinstance(node, Neg):
        inner = latex(node.operand, names)
        return "-" + (_paren(inner) if _prec(node.operand) <= 2 else inner)
    if isinstance(node, Sum):
        parts = []
        for k, (sign, term) in enumerate(node.terms):
            s = latex(term, names)
            if sign == "-" and _prec(term) <= 1:
                s = _paren(s)
            if isinstance(term, Neg) and k > 0:
                s = _paren(s)
            parts.append(s if k == 0 else f" {sign} {s}")
        return "".join(parts)
    if isinstance(node, Prod):
        num = [f for op, f in node.factors if op == "*"]
        den = [f for op, f in node.factors if op == "/"]

        def chain(fs: list[Node]) -> str:
            out = []
            for k, f in enumerate(fs):
                s = latex(f, names)
                leading_sign = k == 0 and isinstance(f, Neg) and _prec(f.operand) > 2  # -x*y is -x\,y
                out.append(_paren(s) if _prec(f) <= 2 and len(fs) > 1 and not leading_sign else s)
            if not out:
                return "1"
            res = out[0]
            for prev, cur in zip(out, out[1:]):
                res += (r" \cdot " if cur[0].isdigit() or prev[-1].isdigit() and cur[0] == "-" else r"\,") + cur
            return res

        return chain(num) if not den else r"\frac{" + chain(num) + "}{" + chain(den) + "}"
    if isinstance(node, Pow):
        b = latex(node.base, names)
        if _prec(node.base) <= 4 or (isinstance(node.base, Call) and node.base.name != "sqrt"):
            b = _paren(b)
        return b + "^{" + latex(node.exp, names) + "}"
    if isinstance(node, Call):
        args = [latex(a, names) for a in node.args]
        if node.name == "sqrt":
            return r"\sqrt{" + args[0] + "}"
        if node.name == "abs":
            return r"\left|" + args[0] + r"\right|"
        return FUNCTIONS[node.name][3] + _paren(", ".join(args))
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover
