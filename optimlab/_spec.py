"""The ``NAME[:KEY=VALUE,...]`` syntax shared by optimizer specs and function specs.

Values are numbers, ``true``/``false``/``none``, tuples in parentheses or brackets,
or bare words (strings). Literals are read with :func:`ast.literal_eval`, which
evaluates no code.
"""

from __future__ import annotations

import ast
import re
from typing import Any

__all__ = ["name_key", "split_spec", "split_top", "parse_options", "parse_value"]

_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def name_key(name: str) -> str:
    """How registered names compare: case-insensitive, spaces, ``_``, ``-`` and Unicode
    dashes ignored (``"Six-Hump Camel"`` and ``"six_hump_camel"`` are one name)."""
    return re.sub(r"[\s_\-\u2010-\u2015]+", "", str(name)).lower()


def split_top(s: str, sep: str = ",") -> list[str]:
    """Split at ``sep`` outside parentheses and brackets."""
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


_split_top = split_top  # the old private name, until optimlab/bench/suites.py imports split_top (issue 9)


def parse_value(text: str, key: str) -> Any:
    """One VALUE of a spec (see the module docstring)."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        v = ast.literal_eval(text)  # literals only: never evaluates code
    except (ValueError, SyntaxError):
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", text):
            return text
        raise ValueError(f"cannot read value {text!r} of {key!r}: use a number, true/false, none, "
                         f"a tuple like (0.9,0.999) or a bare word") from None
    if not isinstance(v, (int, float, bool, tuple, list, str, type(None))):
        raise ValueError(f"value of {key!r} must be a number, bool, tuple or word, got {text!r}")
    return tuple(v) if isinstance(v, list) else v


def parse_options(text: str, spec: str, what: str) -> dict[str, Any]:
    """``KEY=VALUE,...`` into a dict; errors name the whole ``spec`` and ``what`` it is."""
    options: dict[str, Any] = {}
    for item in split_top(text):
        key, eq, val = item.partition("=")
        key = key.strip()
        if not eq or not _KEY.fullmatch(key):
            raise ValueError(f"bad option {item!r} in {what} spec {spec!r}: write KEY=VALUE")
        if key in options:
            raise ValueError(f"option {key!r} given twice in {what} spec {spec!r}")
        options[key] = parse_value(val.strip(), key)
    return options


def split_spec(spec: str) -> tuple[str, str, str]:
    """``NAME[:OPTIONS]`` → ``(name, colon, options text)``."""
    name, colon, rest = spec.strip().partition(":")
    return name.strip(), colon, rest
