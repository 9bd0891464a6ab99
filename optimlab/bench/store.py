"""The results store of a benchmark: one SQLite file (stdlib ``sqlite3``, no server).

Every finished trial is written at once in its own transaction (``commit`` per trial,
write-ahead log), keyed by its *trial id*: a hash of the trial's plain-data
description (:func:`trial_id`). A benchmark killed at any moment (Ctrl-C, ``kill -9``)
loses at most the trials that were being computed; started again, it finds the
finished ones by id and computes only the rest. The store also keeps the benchmark's
own description (``meta``) so that a report can be rebuilt from the file alone.

A trial's result is its :class:`~optimlab.record.Trace`, the whole run (every step's
value, time and, on a function, the path), stored as the trace's JSON; the numbers a
report shows are computed from it (:func:`optimlab.bench.protocol.trial_result`).
Stores written by optimlab before this held a summary dict per trial instead; they are
read as they are (``row["result"]``) and still report.

Trials are independent JSON documents, so a store could be filled by several
machines; :class:`TrialStore` is the one interface the protocol uses.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any, Iterator

from ..record import Trace, to_jsonable

__all__ = ["TrialStore", "trial_id", "canonical_json"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trials (
    id TEXT PRIMARY KEY,
    trial TEXT NOT NULL,
    result TEXT NOT NULL,
    finished REAL NOT NULL,
    pid INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_COLUMNS = {"trials": {"id", "trial", "result", "finished", "pid"}, "meta": {"key", "value"}}


def canonical_json(obj: Any) -> str:
    """JSON with sorted keys and no spaces: equal data give equal text."""
    return json.dumps(to_jsonable(obj), sort_keys=True, separators=(",", ":"))


def trial_id(trial: dict) -> str:
    """A deterministic id for a trial: the first 20 hex digits of SHA-256 of its canonical JSON."""
    return hashlib.sha256(canonical_json(trial).encode()).hexdigest()[:20]


class TrialStore:
    """Finished trials in a SQLite file. ``put`` commits immediately.

    Rows (``get``, iteration) are ``{"id", "trial", "trace", "result", "finished", "pid"}``:
    ``trace`` is the stored :class:`~optimlab.record.Trace` (None in an old store),
    ``result`` a plain dict stored instead of a trace (None when there is a trace).

    >>> store = TrialStore(":memory:")
    >>> tid = store.put({"a": 1}, {"final": 0.5})
    >>> store.get(tid)["result"]["final"]
    0.5
    """

    def __init__(self, path: str | Path, *, readonly: bool = False):
        self.path = str(path)
        self.readonly = readonly
        try:
            self._db = self._open_readonly() if readonly else self._open_for_writing()
        except sqlite3.DatabaseError as e:
            raise ValueError(f"store {self.path!r} is not an optimlab results store (SQLite): "
                             f"{' '.join(str(e).split())}") from None
        except OSError as e:
            raise ValueError(f"store {self.path!r} cannot be opened: {e.strerror or e}") from None

    def _open_for_writing(self) -> sqlite3.Connection:
        if self.path != ":memory:":
            parent = Path(self.path).parent
            if parent.exists() and not parent.is_dir():
                raise ValueError(f"store {self.path!r}: {str(parent)!r} is a file, not a folder")
            if Path(self.path).is_dir():
                raise ValueError(f"store {self.path!r} is a folder, not a file")
            parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            self._check_schema(db)  # before anything is written: a foreign file stays untouched
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
        except BaseException:
            db.close()
            raise
        return db

    def _open_readonly(self) -> sqlite3.Connection:
        """Open without writing anything (no schema, no journal mode), on a read-only file system too."""
        path = Path(self.path)
        if not path.is_file():
            raise ValueError(f"store {self.path!r} does not exist" if not path.exists() else
                             f"store {self.path!r} is not a file")
        uri = path.resolve().as_uri()
        try:
            return self._connect_checked(f"{uri}?mode=ro")
        except sqlite3.OperationalError:  # a WAL file on a read-only file system opens only as immutable
            return self._connect_checked(f"{uri}?immutable=1")

    def _connect_checked(self, uri: str) -> sqlite3.Connection:
        db = sqlite3.connect(uri, uri=True, timeout=30.0, isolation_level=None)
        try:
            empty = self._check_schema(db)
        except BaseException:
            db.close()
            raise
        if empty:  # an empty database (a store not yet written) reads as an empty store
            db.close()
            db = sqlite3.connect(":memory:", isolation_level=None)
            db.executescript(_SCHEMA)
        return db

    def _check_schema(self, db: sqlite3.Connection) -> bool:
        """A store is a database with optimlab's two tables, or an empty one (True)."""
        tables = {name: {c[1] for c in db.execute(f"PRAGMA table_info('{name}')")}
                  for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            return True
        if tables.get("trials") != _COLUMNS["trials"] or tables.get("meta") != _COLUMNS["meta"]:
            found = ", ".join(sorted(tables)) or "none"
            raise ValueError(f"store {self.path!r} is not an optimlab results store: it is an SQLite database "
                             f"without optimlab's tables trials and meta (tables: {found}); it was left untouched")
        return False

    # -- trials --------------------------------------------------------------------
    def put(self, trial: dict, result: Trace | dict) -> str:
        """Store a finished trial with its trace (or a plain dict; ignored if its id is
        already stored); returns its id."""
        if isinstance(result, Trace):
            result = {"trace": result.to_dict()}
        elif not isinstance(result, dict):
            raise TypeError(f"result must be a Trace or a dict, got {type(result).__name__}")
        tid = trial_id(trial)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("INSERT OR IGNORE INTO trials (id, trial, result, finished, pid) VALUES (?, ?, ?, ?, ?)",
                             (tid, canonical_json(trial), json.dumps(to_jsonable(result)), time.time(), os.getpid()))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return tid

    def has(self, tid: str) -> bool:
        return self._db.execute("SELECT 1 FROM trials WHERE id = ?", (tid,)).fetchone() is not None

    def ids(self) -> set[str]:
        return {r[0] for r in self._db.execute("SELECT id FROM trials")}

    def get(self, tid: str) -> dict | None:
        row = self._db.execute("SELECT id, trial, result, finished, pid FROM trials WHERE id = ?", (tid,)).fetchone()
        return self._row(row) if row else None

    def __iter__(self) -> Iterator[dict]:
        for row in self._db.execute("SELECT id, trial, result, finished, pid FROM trials ORDER BY finished, id"):
            yield self._row(row)

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])

    def _row(self, row: tuple) -> dict:
        try:
            stored, trial = json.loads(row[2]), json.loads(row[1])
        except (json.JSONDecodeError, TypeError) as e:
            raise ValueError(f"store {self.path!r}: trial {row[0]} is damaged: its JSON does not parse "
                             f"({' '.join(str(e).split())})") from None
        trace = None
        if isinstance(stored, dict) and set(stored) == {"trace"} and isinstance(stored["trace"], dict):
            trace, stored = Trace.from_dict(stored["trace"]), None
        return {"id": row[0], "trial": trial, "trace": trace, "result": stored, "finished": row[3],
                "pid": row[4]}

    # -- the benchmark's description -----------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, canonical_json(value)))

    def claim_meta(self, key: str, value: Any) -> None:
        """Set ``key`` to ``value`` if it is not set; if it holds something else, raise ValueError
        and change nothing. One transaction, so two processes cannot both claim one store."""
        text = canonical_json(value)
        self._db.execute("BEGIN IMMEDIATE")
        try:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is None:
                self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, text))
        finally:
            self._db.execute("COMMIT")
        if row is not None and row[0] != text:
            raise ValueError(f"store {self.path!r} already holds another {key} "
                             f"({_differences(json.loads(row[0]), value)}); a store keeps one: give another "
                             f"--store, or the same arguments to resume")

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "TrialStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _differences(stored: Any, new: Any) -> str:
    """What differs between two descriptions, briefly: ``budget 20, not 5``."""
    new = json.loads(canonical_json(new))
    if not (isinstance(stored, dict) and isinstance(new, dict)):
        return "a different description"
    diff = [f"{k} {_short(stored.get(k))}, not {_short(new.get(k))}" for k in sorted(set(stored) | set(new))
            if stored.get(k) != new.get(k)]
    return "; ".join(diff[:3]) or "a different description"


def _short(v: Any) -> str:
    text = v if isinstance(v, str) else json.dumps(v)
    return text if len(text) <= 60 else text[:57] + "..."
