"""The ``NAME[:KEY=VALUE,...]`` syntax shared by optimizer specs and function specs.

Values are numbers, ``true``/``false``/``none``, tuples in parentheses or brackets,
or bare words (strings). Literals are read with :func:`ast.literal_eval`, which
evaluates no code.
"""

from __future__ import annotations

import ast
import difflib
import re
from typing import Any, Iterable, Mapping

__all__ = ["name_key", "split_spec", "parse_options", "parse_value", "format_value", "slug", "unique_slugs",
           "split_top", "split_items", "did_you_mean", "run_labels", "unknown_name", "unknown_option"]

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


def split_items(text: str) -> list[str]:
    """Split a comma-separated list whose items may carry ``KEY=VALUE`` options:
    ``"adam,momentum:lr=0.01,momentum=0.7,sgd"`` → ``["adam", "momentum:lr=0.01,momentum=0.7", "sgd"]``.

    The rule: a comma starts a new item unless the part after it is a ``KEY=VALUE``
    option (an ``=`` with no ``:`` before it); commas inside ``()``/``[]`` never split
    (``"adam:betas=(0.9,0.99),sgd"``). A name never holds ``=`` and an option always
    does, so the split is unambiguous. Empty parts are dropped. Used for optimizer specs
    (``-O`` on the command line, the bench) and for problem lists alike."""
    parts: list[str] = []
    for piece in split_top(text):
        if parts and "=" in piece and ":" not in piece.split("=")[0]:
            parts[-1] += "," + piece
        else:
            parts.append(piece)
    return parts


def did_you_mean(word: str, names: Iterable[str]) -> str:
    """``" (did you mean 'lr'?)"`` for the names closest to ``word`` (difflib, case-insensitive), else ``""``."""
    names = list(names)
    by_key = {name_key(n): n for n in names}
    close = difflib.get_close_matches(name_key(word), list(by_key), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(by_key[c]) for c in close)}?)" if close else ""


def unknown_name(kind: str, name: str, known: Mapping[str, str], available: Iterable[str], n: int = 3) -> str:
    """``unknown optimizer 'adamm'. Did you mean 'adam'? Available: ...``: ``known`` maps each
    accepted name (as :func:`name_key` writes it) to the name the hint shows."""
    close = difflib.get_close_matches(name_key(name), list(known), n=n, cutoff=0.5)
    shown = list(dict.fromkeys(known[c] for c in close))
    hint = f" Did you mean {', '.join(repr(c) for c in shown)}?" if shown else ""
    return f"unknown {kind} {name!r}.{hint} Available: {', '.join(available)}"


def unknown_option(name: str, key: str, accepted: Iterable[str]) -> str:
    """``unknown option 'foo' for sgd; accepted: lr, momentum, ... (did you mean ...)``."""
    accepted = list(accepted)
    return f"unknown option {key!r} for {name}; accepted: {', '.join(accepted)}{did_you_mean(str(key), accepted)}"


MAX_VALUE_LENGTH = 200
"""The longest VALUE a spec may hold: ``ast.literal_eval`` of a 2 MB tuple took 13.5 s and of
``1+1+...`` raised RecursionError; no option of the lab needs more than a short tuple."""
MAX_SPEC_LENGTH = 2000
"""The longest ``NAME:KEY=VALUE,...`` spec."""


def parse_value(text: str, key: str) -> Any:
    """One VALUE of a spec (see the module docstring)."""
    if len(text) > MAX_VALUE_LENGTH:
        raise ValueError(f"value of {key!r} is {len(text):,} characters long; at most {MAX_VALUE_LENGTH} are "
                         f"allowed (a number, true/false, none, a short tuple or a word)")
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        v = ast.literal_eval(text)  # literals only: never evaluates code
    except (ValueError, SyntaxError, RecursionError, MemoryError):
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
    if len(spec) > MAX_SPEC_LENGTH:
        raise ValueError(f"{what} spec is {len(spec):,} characters long; at most {MAX_SPEC_LENGTH:,} are allowed "
                         f"(it begins {spec[:40]!r})")
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


def format_value(v: Any, digits: int | None = None) -> str:
    """A VALUE written back in the spec syntax (the inverse of :func:`parse_value`):
    ``true``/``false``/``none``, tuples in parentheses, floats with ``%g`` (``digits``
    significant digits when given). Legends, settings columns and tick labels use it."""
    if isinstance(v, bool) or v is None:
        return str(v).lower()
    if isinstance(v, float):
        return f"{v:g}" if digits is None else f"{v:.{digits}g}"
    if isinstance(v, (list, tuple)):
        return "(" + ", ".join(format_value(x, digits) for x in v) + ")"
    return str(v)


def slug(text: str) -> str:
    """A file-name stem from a label or spec: ``"adam:lr=0.1"`` → ``"adam_lr=0.1"``,
    ``"Momentum μ=0.9"`` → ``"momentum_mu=0.9"``; letters, digits, ``.`` and ``=`` kept,
    every other run of characters one ``_``; ``"run"`` when nothing is left."""
    return re.sub(r"[^A-Za-z0-9.=]+", "_", str(text).replace("μ", "mu")).strip("_").lower() or "run"


def unique_slugs(labels: list[str]) -> list[str]:
    """:func:`slug` of each label, made distinct (``adam``, ``adam_2``, ...) so that files
    named by them never overwrite each other (``"SGD"`` and ``"sgd"`` share a slug)."""
    seen: set[str] = set()
    out = []
    for label in labels:
        base = s = slug(label)
        n = 1
        while s in seen:
            n += 1
            s = f"{base}_{n}"
        seen.add(s)
        out.append(s)
    return out


def run_labels(specs: list[str]) -> list[str]:
    """One label per run, distinct: a spec given twice is run twice (``adam``, ``adam #2``),
    never folded into one run whose files and table row the other would overwrite."""
    seen: dict[str, int] = {}
    out = []
    for s in specs:
        seen[s] = seen.get(s, 0) + 1
        out.append(s if seen[s] == 1 else f"{s} #{seen[s]}")
    return out
