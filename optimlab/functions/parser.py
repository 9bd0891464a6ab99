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
from dataclasses import dataclass
from typing import Any

from .._spec import name_key, parse_options, split_spec
from ._base import TestFunction
from .formula import (
    CONSTANTS,
    FUNCTION_ALIASES,
    FUNCTIONS,
    XYZ,
    Call,
    Const,
    Neg,
    Node,
    Num,
    Pow,
    Prod,
    Sum,
    Var,
    evaluate,
    latex,
    walk,
)
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
            fname = FUNCTION_ALIASES.get(name.lower(), name.lower())
            if fname not in FUNCTIONS:
                raise self.error(f"unknown function {name!r}; allowed: {', '.join(_allowed_functions())}", t.pos)
            return self.call(t, fname)
        if name in CONSTANTS:
            return Const(t.pos, name=name)
        if name in XYZ or re.fullmatch(r"x[1-9][0-9]{0,3}", name):
            self.variables.setdefault(name, t.pos)
            return Var(t.pos, name=name)
        low = name.lower()
        if low in FUNCTIONS or low in FUNCTION_ALIASES:
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
        arity = FUNCTIONS[fname][0]
        if len(args) != arity:
            raise self.error(f"{t.text} takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}", t.pos)
        node = Call(t.pos, name=fname, args=args)
        if all(a.const is not None for a in args):
            try:
                value = float(FUNCTIONS[fname][2](*[a.const for a in args]))
            except (OverflowError, ValueError, ZeroDivisionError):
                raise self.error(f"{t.text}(...) of this constant is undefined or overflows", t.pos) from None
            node.const = _finite(self.text, t.pos, value, f"{t.text}(...)")
        return node


def _allowed_functions() -> list[str]:
    return sorted(set(FUNCTIONS) | set(FUNCTION_ALIASES))


def _order_variables(p: _Parser) -> list[str]:
    used = p.variables
    xyz = [v for v in used if v in XYZ]
    idx = [v for v in used if v not in XYZ]
    if xyz and idx:
        a, b = xyz[0], idx[0]
        raise FormulaError(p.text, max(used[a], used[b]),
                           f"do not mix variable styles: {a!r} and {b!r} (use x, y, z or x1, x2, ...)")
    if xyz:
        return [v for v in XYZ if v in used]
    return sorted(idx, key=lambda v: int(v[1:]))


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
    for n in walk(tree):
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
    fn = lambda x: evaluate(tree, x)  # noqa: E731
    f = TestFunction(
        name if name is not None else text.strip(), fn, d, dom, minimizers=minimizers, f_min=f_min,
        latex=latex(tree, variables), starts=starts,
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
    if colon and name_key(head) == "residuals":  # residual formulas: "residuals: r1; r2; ..."
        from .residuals import parse_residuals  # lazy: residuals.py builds on this module's parse
        return parse_residuals(rest, **params)
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
    if "residuals" in params:
        from .residuals import parse_residuals  # lazy: residuals.py builds on this module's parse
        f = parse_residuals(params["residuals"], name=data["name"], domain=data.get("domain"),
                            minimizers=data.get("minimizers"), f_min=float(data.get("f_min", math.nan)))
    elif "formula" in params:
        f_min = data.get("f_min", math.nan)
        f = parse(params["formula"], name=data["name"], domain=data.get("domain"),
                  minimizers=data.get("minimizers"), f_min=float(f_min))
    else:
        f = get(data["name"], **params)
    return f.with_noise(noise, seed) if noise else f
