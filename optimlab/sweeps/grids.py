"""Grids of a sweep: value ranges, the Cartesian product, seeds, and how swept values reach the optimizer."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence as SequenceABC
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np
import torch

from ..optim import registry

__all__ = ["logspace", "linspace", "expand_grid", "grid_configs", "Grid", "Runs", "RunSlice", "column"]


MAX_RUNS = 100_000
"""The most runs a sweep computes unless told otherwise (``sweep(max_runs=...)``, the CLI's
``--max-runs``): a sweep is one batch held in memory, and 10⁶ runs took 21 min and 14 GB."""


def check_count(n: int, limit: int, what: str, hint: str) -> None:
    """A ValueError when ``n`` (counted before anything is built) exceeds ``limit``."""
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 1:
        raise ValueError(f"the limit on {what} must be an integer >= 1, got {limit!r}")
    if n > limit:
        raise ValueError(f"{n:,} {what} is more than the limit of {limit:,}; {hint}")


def range_count(n: Any, limit: int = MAX_RUNS) -> int:
    """``n``, the length of a value range, checked: an integer >= 1 and at most ``limit``
    (a range longer than a sweep's limit on runs would make a sweep that is refused anyway)."""
    n = positive_int("n", n)
    check_count(n, limit, "values in one range", "a range never needs more values than the sweep has runs: "
                "pass limit= together with the sweep's max_runs= (the CLI's --max-runs) to allow them")
    return n


def logspace(lo: float, hi: float, n: int, *, limit: int = MAX_RUNS) -> list[float]:
    """``n`` values from ``lo`` to ``hi`` (both included) evenly spaced on a log scale;
    ``n`` at most ``limit`` (:func:`range_count`).

    >>> logspace(1e-3, 1, 4)
    [0.001, 0.01, 0.1, 1.0]
    """
    lo_f, hi_f = finite_number("lo", lo), finite_number("hi", hi)
    if lo_f <= 0 or hi_f <= 0:
        raise ValueError(f"logspace needs lo > 0 and hi > 0, got lo={lo!r}, hi={hi!r}")
    n = range_count(n, limit)
    if n == 1:
        return [lo_f]
    vals = np.logspace(math.log10(lo_f), math.log10(hi_f), n)
    vals[0], vals[-1] = lo_f, hi_f
    # 10**k for integer k comes out exact, anything else as numpy computes it
    return [float(v) for v in vals]


def linspace(lo: float, hi: float, n: int, *, limit: int = MAX_RUNS) -> list[float]:
    """``n`` values from ``lo`` to ``hi`` (both included), evenly spaced; ``n`` at most
    ``limit`` (:func:`range_count`)."""
    lo_f, hi_f = finite_number("lo", lo), finite_number("hi", hi)
    n = range_count(n, limit)
    return [lo_f] if n == 1 else [float(v) for v in np.linspace(lo_f, hi_f, n)]


def finite_number(name: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number, got {v!r}")
    return float(v)


def positive_int(name: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {n!r}")
    return int(n)


def expand_grid(grid: Mapping[str, Sequence[Any]] | None, max_configs: int | None = None) -> list[dict[str, Any]]:
    """The Cartesian product of a grid as a list of dicts (first key varies slowest);
    more than ``max_configs`` (counted before any is built) is a ValueError. A sweep
    never calls this: it uses :func:`grid_configs`, which builds no list."""
    return list(grid_configs(grid, max_configs))


def grid_configs(grid: Mapping[str, Sequence[Any]] | Sequence[Mapping] | None,
                 max_configs: int | None = None) -> "Grid | list[dict[str, Any]]":
    """The configurations of a grid: a lazy :class:`Grid` for ``{argument: [values]}``
    (nothing expanded; its length is the product of the list lengths), the checked list
    for an explicit list of configurations, ``[{}]`` for ``None``. More than
    ``max_configs`` is a ValueError."""
    if grid is None:
        return [{}]
    if isinstance(grid, (list, tuple)) and grid and all(isinstance(c, Mapping) for c in grid):
        keys = list(grid[0])
        out = []
        for i, c in enumerate(grid):
            if list(c) != keys:
                raise ValueError(f"grid[{i}] has arguments {list(c)}; every configuration needs {keys}")
            out.append({k: _plain(v, k) for k, v in c.items()})
        if max_configs is not None:
            check_count(len(out), max_configs, "configurations", "pass a larger limit to allow them")
        return out
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid must be a mapping {{argument: [values]}} or a list of configurations "
                        f"(dicts), got {type(grid).__name__}")
    keys, lists = [], []
    for k, vals in grid.items():
        if not isinstance(k, str) or not k.isidentifier():
            raise ValueError(f"grid keys must be optimizer argument names, got {k!r}")
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Iterable):
            raise ValueError(f"grid[{k!r}] must be a list of values, got {vals!r}")
        vals = list(vals)
        if not vals:
            raise ValueError(f"grid[{k!r}] is empty: give at least one value")
        keys.append(k)
        lists.append(vals)
    if max_configs is not None:
        check_count(math.prod(len(v) for v in lists), max_configs, "configurations",
                    f"grid sizes {' × '.join(str(len(v)) for v in lists)}; pass a larger limit to allow them")
    return Grid(keys, [_plain_values(vals, k) for k, vals in zip(keys, lists)])


class _Lazy(SequenceABC):
    """A sequence of dicts computed from their index (``_item``), never stored: ``len``,
    integer and negative indices, slices (a list of just the items named)."""

    _len = 0
    _what = ("item", "sequence")  # how an index error names an item and the whole

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, i: Any) -> Any:
        item, whole = self._what
        if isinstance(i, slice):
            return self._items(range(*i.indices(self._len)))
        if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
            raise TypeError(f"{whole} indices must be integers or slices, got {type(i).__name__}")
        j = int(i) + self._len if i < 0 else int(i)
        if not 0 <= j < self._len:
            raise IndexError(f"{item} {i} is outside the {whole} of {self._len:,}")
        return self._item(j)

    def _item(self, j: int) -> dict[str, Any]:
        raise NotImplementedError

    def _items(self, js: range) -> list[dict[str, Any]]:
        """The items of a slice (a sweep takes its runs a chunk at a time)."""
        return [self._item(j) for j in js]

    def column(self, key: str, idx: np.ndarray) -> list:
        """The value of ``key`` in the items at the indices ``idx`` (``None`` where an item has
        none), in order; what a sweep's batch reads of its runs, without making their dicts."""
        return [self._item(int(j)).get(key) for j in idx]


class Grid(_Lazy):
    """The Cartesian product of value lists as a lazy, indexable sequence of dicts.

    ``len`` is the product of the list lengths (nothing is built); item i is decoded
    from i in mixed radix (the last key varies fastest, the order of
    :func:`itertools.product`); iteration walks the product one dict at a time; a slice
    is a list of just the dicts it names. A grid of 10⁹ configurations costs its value
    lists, not 10⁹ dicts.

    >>> g = Grid(["lr", "momentum"], [[0.1, 0.01], [0.0, 0.9, 0.99]])
    >>> len(g), g[4]
    (6, {'lr': 0.01, 'momentum': 0.9})
    """

    _what = ("configuration", "grid")

    def __init__(self, keys: Sequence[str], lists: Sequence[Sequence[Any]]):
        if len(keys) != len(lists):
            raise ValueError(f"a grid needs one value list per key, got {len(keys)} keys and {len(lists)} lists")
        self.keys, self.lists = list(keys), [list(v) for v in lists]
        self._len = math.prod(len(v) for v in self.lists)


    def _item(self, j: int) -> dict[str, Any]:
        picks = []
        for vals in reversed(self.lists):  # mixed radix: the last key is the lowest digit
            j, r = divmod(j, len(vals))
            picks.append(vals[r])
        return dict(zip(self.keys, reversed(picks)))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(zip(self.keys, combo)) for combo in itertools.product(*self.lists))

    def _items(self, js: range) -> list[dict[str, Any]]:
        """A forward slice walks the product from its start (in C) instead of decoding each
        index: 100,000 configurations cost a tenth of the time. A slice far into a huge grid
        (more to skip than to make) decodes its indices."""
        if js.step != 1 or not js or js.start > 8 * len(js) + 4096:
            return super()._items(js)
        return [dict(zip(self.keys, combo)) for combo in itertools.islice(itertools.product(*self.lists), js.start,
                                                                          js.stop)]

    def column(self, key: str, idx: np.ndarray) -> list:
        """:meth:`_Lazy.column` from the key's digit of each index (mixed radix), no dict made."""
        if key not in self.keys:
            return [None] * len(idx)
        j = self.keys.index(key)
        vals = self.lists[j]
        below = math.prod(len(v) for v in self.lists[j + 1:])
        return [vals[p] for p in ((np.asarray(idx, dtype=np.int64) // below) % len(vals)).tolist()]

    def axes(self) -> dict[str, list]:
        """``{argument: its values}``, as given."""
        return dict(zip(self.keys, self.lists))

    def __repr__(self) -> str:
        return f"Grid({len(self):,} configurations: {' × '.join(f'{k}[{len(v)}]' for k, v in self.axes().items())})"


class Runs(_Lazy):
    """The runs of a sweep, lazily: every configuration × every seed (seed fastest),
    each a dict with ``"seed"`` when seeded. Run i is configuration ``i // S`` with seed
    ``i % S``; nothing is expanded."""

    _what = ("run", "sweep")

    def __init__(self, configs: Sequence[dict], seeds: Sequence[int] | None):
        self.configs, self.seeds = configs, (list(seeds) if seeds is not None else None)
        self._per = len(self.seeds) if self.seeds is not None else 1
        self._len = len(configs) * self._per


    def _item(self, j: int) -> dict[str, Any]:
        c, s = divmod(j, self._per)
        cfg = dict(self.configs[c])
        if self.seeds is not None:
            cfg["seed"] = self.seeds[s]
        return cfg

    def _items(self, js: range) -> list[dict[str, Any]]:
        """A forward slice: its configurations sliced at once (:meth:`Grid._items`), then the seeds."""
        if js.step != 1 or not js:
            return super()._items(js)
        per, seeds = self._per, self.seeds
        first, last = js.start // per, (js.stop - 1) // per
        out = []
        for c, cfg in enumerate(self.configs[first:last + 1], first):
            if seeds is None:
                out.append(dict(cfg))
                continue
            for s in range(max(js.start - c * per, 0), min(js.stop - c * per, per)):
                out.append({**cfg, "seed": seeds[s]})
        return out

    def column(self, key: str, idx: np.ndarray) -> list:
        """:meth:`_Lazy.column`: a seed from the run's place among its configuration's seeds,
        any other key from its configuration's column (no dict made of a :class:`Grid`'s)."""
        idx = np.asarray(idx, dtype=np.int64)
        if key == "seed" and self.seeds is not None:
            return [self.seeds[s] for s in (idx % self._per).tolist()]
        configs = idx // self._per
        if isinstance(self.configs, _Lazy):
            return self.configs.column(key, configs)
        return [self.configs[c].get(key) for c in configs.tolist()]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for c in self.configs:
            for s in (self.seeds if self.seeds is not None else [None]):
                yield {**c, **({"seed": s} if s is not None else {})}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SequenceABC) and len(other) == len(self) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Runs({len(self):,}: {len(self.configs):,} configurations × {self._per} seeds)"


class RunSlice(_Lazy):
    """Runs ``start`` .. ``stop`` − 1 of a :class:`Runs` (a sweep's chunk), lazily: items and
    columns read from the runs when asked."""

    _what = ("run", "chunk")

    def __init__(self, runs: _Lazy, start: int, stop: int):
        self.runs, self.start = runs, start
        self._len = max(0, stop - start)

    def _item(self, j: int) -> dict[str, Any]:
        return self.runs[self.start + j]

    def _items(self, js: range) -> list[dict[str, Any]]:
        if js.step != 1 or not js:
            return super()._items(js)
        return self.runs[self.start + js.start:self.start + js.stop]  # in bulk (Runs._items)

    def column(self, key: str, idx: np.ndarray) -> list:
        return self.runs.column(key, np.asarray(idx, dtype=np.int64) + self.start)


def column(rows: Sequence[dict], key: str) -> list:
    """Every row's value of ``key`` (``None`` where a row has none); a lazy sequence's
    (:class:`Grid`, :class:`Runs`, :class:`RunSlice`) without making its dicts."""
    if isinstance(rows, _Lazy):
        return rows.column(key, np.arange(len(rows)))
    return [r.get(key) for r in rows]


def _plain_values(vals: list, key: str) -> list:
    """:func:`_plain` of every value; a list of Python floats (a range of 100,000 learning
    rates) is checked in one pass."""
    if _only_floats(vals) and np.isfinite(np.asarray(vals)).all():
        return vals
    return [_plain(v, key) for v in vals]


def _only_floats(vals: Sequence) -> bool:
    return isinstance(vals, list) and set(map(type, vals)) == {float}


def _plain(v: Any, key: str) -> Any:
    if isinstance(v, torch.Tensor):
        v = v.item() if v.numel() == 1 else v.tolist()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, (list, tuple)):
        return tuple(_plain(x, key) for x in v)
    if isinstance(v, float) and not math.isfinite(v):
        raise ValueError(f"grid[{key!r}] contains {v!r}; values must be finite")
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise ValueError(f"grid[{key!r}] holds {v!r}; values must be numbers, booleans, strings or tuples")



def is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def with_options(optimizer: Any, extra: Mapping[str, Any]) -> Any:
    """The same optimizer (name, class or factory) with ``extra`` fixed options added."""
    if not extra:
        return optimizer
    if isinstance(optimizer, str):
        name, kwargs = registry.parse_spec(optimizer)
        return name, {**kwargs, **extra}
    if isinstance(optimizer, tuple) and len(optimizer) == 2 and isinstance(optimizer[1], Mapping):
        return optimizer[0], {**optimizer[1], **extra}
    if isinstance(optimizer, type):
        return optimizer, dict(extra)
    raise TypeError(f"a factory optimizer cannot take swept options ({', '.join(extra)}); pass a name, "
                    f"(name, kwargs) or an Optimizer class")


def grid_axes(configs: Sequence[dict]) -> dict[str, list]:
    """Each swept argument's distinct values in order of first appearance (a
    :class:`Grid`'s own value lists, deduplicated, without walking the product)."""
    def distinct(vals: Iterable) -> list:
        if _only_floats(vals):  # one type: the values themselves are the keys
            return list(dict.fromkeys(vals))
        seen: dict = {}
        for v in vals:
            seen.setdefault((type(v).__name__, v), v)
        return list(seen.values())

    if isinstance(configs, Grid):
        return {k: distinct(vals) for k, vals in configs.axes().items()}
    keys = list(configs[0]) if len(configs) else []
    return {k: distinct(c[k] for c in configs) for k in keys}


def split_hyper(axes: Mapping[str, Sequence[Any]]) -> tuple[list[str], list[str]]:
    """Split swept arguments (``{argument: its values}``, :func:`grid_axes`) into numeric
    per-run values (runs dimension) and structural ones (a separate batch per distinct value)."""
    numeric, structural = [], []
    for k, vals in axes.items():
        if k in ("beta1", "beta2") or _only_floats(vals) or all(is_number(v) for v in vals) or \
                (k == "betas" and all(isinstance(v, tuple) and len(v) == 2 and all(map(is_number, v)) for v in vals)):
            numeric.append(k)
        else:
            structural.append(k)
    return numeric, structural


def hyper_values(rows: Sequence[dict], numeric: list[str], options: Mapping[str, Any]) -> dict[str, list]:
    """``{name: one float per row}`` of the swept number arguments (``"betas"``: one pair per
    row, from ``betas``, ``beta1`` and ``beta2`` over the options' or the default pair), read
    by :func:`column`."""
    hyper: dict[str, list] = {}
    for k in numeric:
        if k not in ("beta1", "beta2", "betas"):
            hyper[k] = [float(v) for v in column(rows, k)]
    if any(k in numeric for k in ("beta1", "beta2", "betas")):
        default = options.get("betas", (0.9, 0.999))
        hyper["betas"] = []
        for pair, b1, b2 in zip(column(rows, "betas"), column(rows, "beta1"), column(rows, "beta2")):
            p1, p2 = pair if pair is not None else default
            hyper["betas"].append((float(p1 if b1 is None else b1), float(p2 if b2 is None else b2)))
    return hyper
