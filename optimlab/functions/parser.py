r"""A safe parser for user formulas: ``parse("(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)")``.

The text is read by a tokenizer and a recursive-descent parser into a small syntax
tree that is evaluated with torch operations (batched, differentiable). Nothing of the
text is ever given to ``eval``, ``exec``, ``compile`` or ``ast``; only the names and
operators below exist.

Grammar (EBNF; whitespace between tokens is ignored)::

    formula  := sum END
    sum      := product (("+" | "-") product)*
    product  := unary (("*" | "/") unary)*
    unary    := ("+" | "-") unary | power
    power    := atom (("**" | "^") unary)?          # right-associative: 2**3**2 = 2**9
    atom     := NUMBER | VARIABLE | CONSTANT | FUNCTION "(" sum ("," sum)* ")" | "(" sum ")"
    NUMBER   := digits ["." digits] [("e" | "E") ["+" | "-"] digits]  |  "." digits [...]
    VARIABLE := "x" | "y" | "z" | "x1" | "x2" | ...  (one style per formula)
    CONSTANT := "pi" | "e"

As in Python, ``-x**2`` is ``-(x**2)`` and ``2**-1`` is ``0.5``. ``^`` is a power (not
xor). The Unicode minus ``−``, ``×`` and ``·`` are read as ``-``, ``*`` and ``*``.

Functions: ``sin cos tan exp log (= ln) log10 log2 sqrt abs tanh sinh cosh
arcsin/asin arccos/acos arctan/atan sigmoid softplus`` (one argument), ``min max atan2``
(two arguments), ``hypot`` (two).

Variables: ``x, y, z`` or ``x1 ... xn``. The dimension is the number of distinct
variables used and they are the coordinates in the order x, y, z (or by index): in
``"x1**2 + x3**2"`` the point ``(a, b)`` means ``x1 = a, x3 = b``. ``.variables``
of the result lists them.

Limits (each violation is a ``ValueError`` whose message shows the text with a caret
under the offending position): at most ``MAX_LENGTH`` = 1000 characters; at most
``MAX_DEPTH`` = 100 nested levels (parentheses, signs, powers, calls); a constant
exponent (one without variables) must have magnitude at most ``MAX_EXPONENT`` = 100,
so towers like ``9**9**9`` are rejected before anything is computed; constant
sub-expressions must stay finite (``exp(1000)``, ``1e999``, ``1/0`` are rejected).
Values of a parsed formula are computed in the dtype of the points; outside a
function's domain they are NaN (``sqrt(-1)``, ``log(-1)``) as in torch.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import torch

from .._spec import name_key, parse_options, split_spec
from ._base import TestFunction
from .library import aliases, get

__all__ = ["parse", "resolve", "from_dict", "FormulaError", "MAX_LENGTH", "MAX_DEPTH", "MAX_EXPONENT"]

MAX_LENGTH = 1000
MAX_DEPTH = 100
MAX_EXPONENT = 100.0


class FormulaError(ValueError):
    """A formula that cannot be parsed; ``.position`` is the offending character index."""

    def __init__(self, text: str, pos: int, message: str) -> None:
        self.text, self.position, self.reason = text, pos, message
        super().__init__(f"bad formula at position {pos}: {message}\n{_caret(text, pos)}")


def _caret(text: str, pos: int, width: int = 72) -> str:
    """Two lines: (a window of) the text, and a caret under ``pos``."""
    flat = re.sub(r"\s", " ", text)
    start = max(0, min(pos - width // 2, len(flat) - width))
    snippet = flat[start:start + width]
    prefix = "..." if start > 0 else ""
    suffix = "..." if start + width < len(flat) else ""
    return f"  {prefix}{snippet}{suffix}\n  {' ' * (len(prefix) + pos - start)}^"


# ---------------------------------------------------------------------- functions
# name -> (arity, torch implementation, python implementation for constants, latex)
_FUNCTIONS: dict[str, tuple[int, Callable[..., Any], Callable[..., float], str]] = {
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
_FUNCTION_ALIASES = {"ln": "log", "asin": "arcsin", "acos": "arccos", "atan": "arctan"}
_CONSTANTS = {"pi": (math.pi, r"\pi"), "e": (math.e, "e")}
_XYZ = ("x", "y", "z")


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
        self.const = _CONSTANTS[self.name][0]


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


# ---------------------------------------------------------------------- tokenizer
_TOKEN = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[-+*/^(),])",
    re.ASCII,  # digits are 0-9 only: "x*٣" is not 3x, and "\s" is ASCII space as everywhere else
)
_UNICODE_OPS = {"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*"}
_BAD_CHARS = {
    ".": "attribute access ('.') is not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
    "[": "brackets are not allowed; use parentheses",
    "]": "brackets are not allowed; use parentheses",
    "{": "braces are not allowed; use parentheses",
    "}": "braces are not allowed; use parentheses",
    "=": "'=' is not allowed: write an expression, not an assignment or comparison",
    ";": "';' is not allowed: write one expression",
    ":": "':' is not allowed",
    "%": "'%' is not allowed",
    "@": "'@' is not allowed",
    "!": "'!' is not allowed",
    "<": "comparisons are not allowed",
    ">": "comparisons are not allowed",
    "&": "'&' is not allowed",
    "|": "'|' is not allowed; use abs(...)",
    "~": "'~' is not allowed",
    "#": "comments are not allowed",
    "\\": "backslashes are not allowed",
    "`": "backquotes are not allowed",
}


@dataclass
class Token:
    kind: str  # "num", "name", "op", "end"
    text: str
    pos: int


def _tokenize(text: str) -> list[Token]:
    """Tokens up to the first character that cannot start a token; that one becomes a
    ``bad`` token (its text is the reason), so errors are reported in reading order."""
    tokens: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch in _UNICODE_OPS:
            tokens.append(Token("op", _UNICODE_OPS[ch], pos))
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if m is None:
            tokens.append(Token("bad", _BAD_CHARS.get(ch, f"unexpected character {ch!r}"), pos))
            return tokens
        kind = m.lastgroup
        assert kind is not None
        if kind != "ws":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", n))
    return tokens


# ---------------------------------------------------------------------- parser
def _finite(text: str, pos: int, value: float | None, what: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise FormulaError(text, pos, f"{what} is not finite (overflow or division by zero)")
    return value


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.variables: dict[str, int] = {}  # name -> first position

    # token helpers
    @property
    def tok(self) -> Token:
        t = self.tokens[self.i]
        if t.kind == "bad":
            raise FormulaError(self.text, t.pos, t.text)
        return t

    def error(self, message: str, pos: int | None = None) -> FormulaError:
        return FormulaError(self.text, self.tok.pos if pos is None else pos, message)

    def take(self, *ops: str) -> Token | None:
        t = self.tok
        if t.kind == "op" and t.text in ops:
            self.i += 1
            return t
        return None

    def enter(self, pos: int) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", pos)

    # grammar
    def formula(self) -> Node:
        if self.tok.kind == "end":
            raise self.error("empty formula")
        node = self.sum()
        if self.tok.kind != "end":
            t = self.tok
            if t.kind in ("num", "name") or t.text == "(":
                raise self.error(f"missing operator before {t.text!r} (write '*' for a product)")
            raise self.error(f"unexpected {t.text!r}")
        return node

    def sum(self) -> Node:
        first = self.product()
        terms = [("+", first)]
        while (t := self.take("+", "-")) is not None:
            terms.append((t.text, self.product()))
        if len(terms) == 1:
            return first
        node = Sum(first.pos, terms=terms)
        if all(n.const is not None for _, n in terms):
            try:
                value = math.fsum(v.const if s == "+" else -v.const for s, v in terms)  # type: ignore[operator]
            except OverflowError:
                value = math.inf
            node.const = _finite(self.text, node.pos, value, "constant sum")
        return node

    def product(self) -> Node:
        first = self.unary()
        factors = [("*", first)]
        while (t := self.take("*", "/")) is not None:
            factors.append((t.text, self.unary()))
        if len(factors) == 1:
            return first
        node = Prod(first.pos, factors=factors)
        if all(n.const is not None for _, n in factors):
            value = 1.0
            for op, f in factors:
                if op == "/" and f.const == 0:
                    raise self.error("division by zero", f.pos)
                value = value * f.const if op == "*" else value / f.const  # type: ignore[operator]
            node.const = _finite(self.text, node.pos, value, "constant product")
        return node

    def unary(self) -> Node:
        t = self.take("+", "-")
        if t is None:
            return self.power()
        self.enter(t.pos)
        operand = self.unary()
        self.depth -= 1
        if t.text == "+":
            return operand
        node = Neg(t.pos, operand=operand)
        node.const = None if operand.const is None else -operand.const
        return node

    def power(self) -> Node:
        base = self.atom()
        t = self.take("**", "^")
        if t is None:
            return base
        self.enter(t.pos)
        exp_pos = self.tok.pos
        exp = self.unary()
        self.depth -= 1
        if exp.const is not None and abs(exp.const) > MAX_EXPONENT:
            raise self.error(f"exponent {exp.const:.6g} exceeds the limit |exponent| <= {MAX_EXPONENT:g}", exp_pos)
        node = Pow(base.pos, base=base, exp=exp)
        if base.const is not None and exp.const is not None:
            try:
                value = math.pow(base.const, exp.const)
            except (OverflowError, ValueError, ZeroDivisionError):
                raise self.error("constant power is undefined or overflows", t.pos) from None
            node.const = _finite(self.text, t.pos, value, "constant power")
        return node

    def atom(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.i += 1
            try:
                value = float(t.text)
            except ValueError:  # pragma: no cover - the regex only matches numbers
                raise self.error(f"bad number {t.text!r}") from None
            _finite(self.text, t.pos, value, f"number {t.text}")
            return Num(t.pos, value=value, text=t.text)
        if t.kind == "name":
            self.i += 1
            return self.named(t)
        if self.take("("):
            self.enter(t.pos)
            if self.tok.text == ")":
                raise self.error("empty parentheses")
            node = self.sum()
            if not self.take(")"):
                raise self.error("expected ')' to close the '(' at position %d" % t.pos)
            self.depth -= 1
            return node
        if t.kind == "end":
            raise self.error("formula ends too early: expected a number, a variable or '('")
        if t.text == ")":
            raise self.error("unbalanced ')'")
        if t.text == "**" or t.text == "^" or t.text in "*/":
            raise self.error(f"operator {t.text!r} needs a left operand")
        raise self.error(f"unexpected {t.text!r}")

    def named(self, t: Token) -> Node:
        name = t.text
        if "__" in name:
            raise self.error(f"dunder names like {name!r} are not allowed", t.pos)
        nxt = self.tokens[self.i]  # peek without raising: the name itself is checked first
        if nxt.kind == "op" and nxt.text == "(":
            fname = _FUNCTION_ALIASES.get(name.lower(), name.lower())
            if fname not in _FUNCTIONS:
                raise self.error(f"unknown function {name!r}; allowed: {', '.join(_allowed_functions())}", t.pos)
            return self.call(t, fname)
        if name in _CONSTANTS:
            return Const(t.pos, name=name)
        if name in _XYZ or re.fullmatch(r"x[1-9][0-9]{0,3}", name):
            self.variables.setdefault(name, t.pos)
            return Var(t.pos, name=name)
        low = name.lower()
        if low in _FUNCTIONS or low in _FUNCTION_ALIASES:
            raise self.error(f"function {name!r} needs its argument in parentheses: {name}(...)", t.pos)
        raise self.error(
            f"unknown name {name!r}; variables are x, y, z or x1, x2, ..., constants pi and e, "
            f"functions {', '.join(_allowed_functions())}", t.pos)

    def call(self, t: Token, fname: str) -> Node:
        open_tok = self.tok
        self.i += 1
        self.enter(open_tok.pos)
        args: list[Node] = []
        if self.tok.text == ")":
            raise self.error(f"{t.text}() needs an argument")
        args.append(self.sum())
        while self.take(","):
            args.append(self.sum())
        if not self.take(")"):
            raise self.error(f"expected ',' or ')' in the call of {t.text!r} opened at position {open_tok.pos}")
        self.depth -= 1
        arity = _FUNCTIONS[fname][0]
        if len(args) != arity:
            raise self.error(f"{t.text} takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}", t.pos)
        node = Call(t.pos, name=fname, args=args)
        if all(a.const is not None for a in args):
            try:
                value = float(_FUNCTIONS[fname][2](*[a.const for a in args]))
            except (OverflowError, ValueError, ZeroDivisionError):
                raise self.error(f"{t.text}(...) of this constant is undefined or overflows", t.pos) from None
            node.const = _finite(self.text, t.pos, value, f"{t.text}(...)")
        return node


def _allowed_functions() -> list[str]:
    return sorted(set(_FUNCTIONS) | set(_FUNCTION_ALIASES))


def _order_variables(p: _Parser) -> list[str]:
    used = p.variables
    xyz = [v for v in used if v in _XYZ]
    idx = [v for v in used if v not in _XYZ]
    if xyz and idx:
        a, b = xyz[0], idx[0]
        raise FormulaError(p.text, max(used[a], used[b]),
                           f"do not mix variable styles: {a!r} and {b!r} (use x, y, z or x1, x2, ...)")
    if xyz:
        return [v for v in _XYZ if v in used]
    return sorted(idx, key=lambda v: int(v[1:]))


def _walk(node: Node) -> list[Node]:
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
def _evaluate(node: Node, x: torch.Tensor) -> torch.Tensor:
    if node.const is not None:
        return torch.tensor(node.const, dtype=x.dtype, device=x.device)
    if isinstance(node, Var):
        return x[..., node.index]
    if isinstance(node, Neg):
        return -_evaluate(node.operand, x)
    if isinstance(node, Sum):
        out = None
        for sign, term in node.terms:
            v = _evaluate(term, x)
            out = (v if sign == "+" else -v) if out is None else (out + v if sign == "+" else out - v)
        return out  # type: ignore[return-value]
    if isinstance(node, Prod):
        out = None
        for op, factor in node.factors:
            v = _evaluate(factor, x)
            out = v if out is None else (out * v if op == "*" else out / v)
        return out  # type: ignore[return-value]
    if isinstance(node, Pow):
        base = _evaluate(node.base, x)
        e = node.exp.const
        if e is not None and e == int(e):
            return base ** int(e)  # integer powers of negative numbers stay real
        return torch.pow(base, _evaluate(node.exp, x))
    if isinstance(node, Call):
        return _FUNCTIONS[node.name][1](*[_evaluate(a, x) for a in node.args])
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


def _latex(node: Node, names: list[str]) -> str:
    if isinstance(node, Num):
        return _num_latex(node.value)
    if isinstance(node, Const):
        return _CONSTANTS[node.name][1]
    if isinstance(node, Var):
        return node.name if node.name in _XYZ else f"x_{{{node.name[1:]}}}"
    if isinstance(node, Neg):
        inner = _latex(node.operand, names)
        return "-" + (_paren(inner) if _prec(node.operand) <= 2 else inner)
    if isinstance(node, Sum):
        parts = []
        for k, (sign, term) in enumerate(node.terms):
            s = _latex(term, names)
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
                s = _latex(f, names)
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
        b = _latex(node.base, names)
        if _prec(node.base) <= 4 or (isinstance(node.base, Call) and node.base.name != "sqrt"):
            b = _paren(b)
        return b + "^{" + _latex(node.exp, names) + "}"
    if isinstance(node, Call):
        args = [_latex(a, names) for a in node.args]
        if node.name == "sqrt":
            return r"\sqrt{" + args[0] + "}"
        if node.name == "abs":
            return r"\left|" + args[0] + r"\right|"
        return _FUNCTIONS[node.name][3] + _paren(", ".join(args))
    raise TypeError(f"unknown node {node!r}")  # pragma: no cover


# ---------------------------------------------------------------------- public
def _syntax_tree(text: str) -> tuple[Node, list[str]]:
    if not isinstance(text, str):
        raise TypeError(f"formula must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise FormulaError(text, MAX_LENGTH, f"formula longer than {MAX_LENGTH} characters ({len(text)})")
    p = _Parser(text)
    try:
        tree = p.formula()
    except RecursionError:  # only when the caller's own stack is already very deep
        raise FormulaError(text, 0, "formula nests too deeply for the current call stack") from None
    variables = _order_variables(p)
    if not variables:
        raise FormulaError(text, 0, "formula uses no variable (x, y, z or x1, x2, ...)")
    index = {v: i for i, v in enumerate(variables)}
    for n in _walk(tree):
        if isinstance(n, Var):
            n.index = index[n.name]
    return tree, variables


def parse(text: str, name: str | None = None, *, domain: Any = None, minimizers: Any = None,
          f_min: float = math.nan, starts: Any = None, description: str = "") -> TestFunction:
    r"""A :class:`TestFunction` from a formula typed by a user (grammar: module docstring).

    ``name`` defaults to the formula text. ``domain`` is ``(lo, hi)`` for every
    coordinate or a ``(d, 2)`` array; default :math:`[-5, 5]^d`. Parsed functions know no
    minimizer (empty, or ``minimizers`` if given) and ``f_min`` is NaN unless given;
    ``starts`` are empty unless given. ``.variables`` lists the coordinates in order and
    ``.latex`` is generated from the syntax tree.

    >>> f = parse("(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y)")
    >>> f.dim, f.variables
    (2, ['x', 'y'])
    >>> round(float(f([3.0, 5.0])), 6)  # sqrt(3) + sin(15)
    2.382339
    >>> parse("x.__class__")
    Traceback (most recent call last):
    ...
    optimlab.functions.parser.FormulaError: bad formula at position 1: attribute access ('.') is not allowed
      x.__class__
       ^
    """
    tree, variables = _syntax_tree(text)
    d = len(variables)
    if domain is None:
        dom = [[-5.0, 5.0]] * d
    else:
        import numpy as np

        a = np.asarray(domain, dtype=float)
        dom = np.tile(a, (d, 1)) if a.shape == (2,) else a
    fn = lambda x: _evaluate(tree, x)  # noqa: E731
    f = TestFunction(
        name if name is not None else text.strip(), fn, d, dom, minimizers=minimizers, f_min=f_min,
        latex=_latex(tree, variables), starts=starts,
        description=description or f"user formula in {', '.join(variables)}",
        params={"formula": text},
    )
    f.variables = variables  # type: ignore[attr-defined]
    return f


def resolve(spec: str, **params: Any) -> TestFunction:
    """A registered function by name, or else a formula: what a command line takes.

    ``resolve("beale")`` is ``get("beale")``; ``resolve("x**2 + 3*y**2")`` is
    ``parse(...)``. A name may carry parameters after a colon:
    ``resolve("rosenbrock:dim=10")``, ``resolve("ill-conditioned:condition=100")``
    (values are integers, decimals or true/false). Keyword ``params`` are added.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("function spec is empty: give a function name (see names()) or a formula")
    head, colon, rest = split_spec(spec)
    known = aliases()
    if name_key(head) in known:
        kwargs = parse_options(rest, spec, "function")
        for k, v in kwargs.items():
            if not isinstance(v, (int, float)):  # bool is an int
                raise ValueError(f"parameter {k!r} in {spec!r} must be a number or true/false, got {v!r}")
        return get(head, **{**kwargs, **params})
    if colon:
        raise ValueError(f"unknown function {head.strip()!r} in {spec!r}; "
                         f"known: {', '.join(sorted(set(known.values())))}")
    if re.fullmatch(r"[A-Za-z][A-Za-z\- _]+", spec.strip()):  # a word of letters: a name or e.g. "pi"
        try:
            return parse(spec, **params)
        except ValueError:
            get(head)  # a word that is no formula is a mistyped name: say which names are close
    return parse(spec, **params)


def from_dict(data: dict[str, Any]) -> TestFunction:
    """Rebuild a function from :meth:`TestFunction.to_dict` data (e.g. a trace's config):
    a registered function from its name and params, a parsed one from its formula."""
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"function data must be a dict with a 'name', got {data!r}")
    params = dict(data.get("params") or {})
    noise, seed = params.pop("noise", 0.0), params.pop("seed", 0)
    if "formula" in params:
        f_min = data.get("f_min", math.nan)
        f = parse(params["formula"], name=data["name"], domain=data.get("domain"),
                  minimizers=data.get("minimizers"), f_min=float(f_min))
    else:
        f = get(data["name"], **params)
    return f.with_noise(noise, seed) if noise else f
