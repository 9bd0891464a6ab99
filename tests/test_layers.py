"""The import rules of docs/architecture.md, checked on the source with ``ast``.

The layer table is read from the page itself (between its ``<!-- layers`` markers), so
the page and this test cannot drift apart. Every violation is reported as ``file:line``.
The rules (see the page for the why):

1. no import goes up the table (or into a row's "must not import" column);
2. no module uses another module's private name (``_x``), and a private module
   (``_base.py``) is imported only from inside its own package;
3. no import circles among the imports that run at load time;
4. optimlab imports sit at module level before the first ``def``/``class``, unless the
   line carries ``# lazy: <reason>``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "architecture.md"
LAZY = re.compile(r"#\s*lazy:\s*\S")
TABLE = re.compile(r"<!-- layers\b.*?-->(.*?)<!-- /layers -->", re.S)


# --------------------------------------------------------------------------- the table

def read_layers(text: str) -> tuple[dict[str, int], dict[str, list[str]]]:
    """``{module: rank}`` and ``{module: [modules it must not import]}`` from the page."""
    m = TABLE.search(text)
    assert m, f"{PAGE}: no layer table between '<!-- layers' and '<!-- /layers -->'"
    ranks: dict[str, int] = {}
    forbidden: dict[str, list[str]] = {}
    for line in m.group(1).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].isdigit():
            continue  # header, separator, blank
        names = re.findall(r"`([\w.]+)`", cells[1])
        banned = re.findall(r"`([\w.]+)`", cells[3]) if len(cells) > 3 else []
        for name in names:
            assert name not in ranks, f"{PAGE}: {name} is in two rows"
            ranks[name] = int(cells[0])
            forbidden[name] = banned
    assert ranks, f"{PAGE}: the layer table has no rows"
    return ranks, forbidden


def row_of(module: str, ranks: dict[str, int]) -> str | None:
    """The table row a module belongs to: the longest name that is a dotted prefix of it
    (the bare package name matches only the top-level ``__init__.py``)."""
    best = None
    for name in ranks:
        if "." not in name:
            if module == name:
                return name
        elif (module == name or module.startswith(name + ".")) and (best is None or len(name) > len(best)):
            best = name
    return best


# --------------------------------------------------------------------------- the walk

@dataclass
class Edge:
    source: str          # importing module
    target: str          # imported module
    file: str
    line: int
    load_time: bool      # runs when the source module is loaded (not in a function, not TYPE_CHECKING)
    at_top: bool         # module level, before the first def/class
    marked_lazy: bool    # carries '# lazy: <reason>'


@dataclass
class Walk:
    modules: dict[str, Path]
    edges: list[Edge] = field(default_factory=list)
    private: list[str] = field(default_factory=list)   # rule 2 violations, 'file:line: ...'


def find_modules(pkg_dir: Path) -> dict[str, Path]:
    pkg = pkg_dir.name
    out = {}
    for path in sorted(pkg_dir.rglob("*.py")):
        parts = list(path.relative_to(pkg_dir).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join([pkg, *parts])] = path
    return out


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Visitor(ast.NodeVisitor):
    """Collects the import edges and private-name uses of one file."""

    def __init__(self, walk: Walk, module: str, path: Path, rel: str):
        self.walk, self.module, self.rel = walk, module, rel
        self.is_pkg = path.name == "__init__.py"
        self.pkg_name = module.split(".")[0]
        self.lines = path.read_text().splitlines()
        self.tree = ast.parse(path.read_text(), str(path))
        firsts = [min([n.lineno, *(d.lineno for d in n.decorator_list)]) for n in self.tree.body
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
        self.first_def = min(firsts, default=10**9)
        self.seen: set[tuple[int, str]] = set()
        self.bound: dict[str, str] = {}      # local name -> optimlab module it is bound to
        self.depth = 0                       # > 0 inside a def or class
        self.in_function = 0
        self.type_checking = 0

    def run(self) -> None:
        self.visit(self.tree)
        # attribute uses need every binding of the file, wherever the import sits
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Attribute):
                self._attribute(node)

    # -- scopes
    def visit_FunctionDef(self, node):  # noqa: N802 (ast's method names)
        self.depth += 1
        self.in_function += 1
        self.generic_visit(node)
        self.depth -= 1
        self.in_function -= 1

    visit_AsyncFunctionDef = visit_FunctionDef
    visit_Lambda = visit_FunctionDef

    def visit_ClassDef(self, node):  # noqa: N802
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_If(self, node):  # noqa: N802
        if _is_type_checking(node.test):
            self.type_checking += 1
            for child in node.body:
                self.visit(child)
            self.type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    # -- imports
    def _ours(self, name: str) -> bool:
        return name == self.pkg_name or name.startswith(self.pkg_name + ".")

    def _edge(self, node: ast.stmt, target: str) -> None:
        if (node.lineno, target) in self.seen:
            return  # one statement naming several things of one module is one edge
        self.seen.add((node.lineno, target))
        text = "\n".join(self.lines[node.lineno - 1:node.end_lineno])
        self.walk.edges.append(Edge(
            self.module, target, self.rel, node.lineno,
            load_time=self.in_function == 0 and self.type_checking == 0,
            at_top=self.depth == 0 and node.lineno < self.first_def,
            marked_lazy=bool(LAZY.search(text))))
        self._check_private_module(target, node.lineno)

    def _check_private_module(self, target: str, line: int) -> None:
        parts = target.split(".")
        for i, part in enumerate(parts):
            if _is_private(part):
                package = ".".join(parts[:i])
                if not (self.module == package or self.module.startswith(package + ".")):
                    self.walk.private.append(f"{self.rel}:{line}: private module {'.'.join(parts[:i + 1])} "
                                             f"is internal to {package} (imported from {self.module})")
                return

    def visit_Import(self, node):  # noqa: N802
        for alias in node.names:
            if not self._ours(alias.name):
                continue
            self._edge(node, self._existing(alias.name))
            if alias.asname:
                self.bound[alias.asname] = alias.name
            else:
                self.bound[alias.name.split(".")[0]] = alias.name.split(".")[0]

    def visit_ImportFrom(self, node):  # noqa: N802
        if node.level:
            package = self.module if self.is_pkg else self.module.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{node.module}" if node.module else package
        else:
            base = node.module or ""
        if not self._ours(base):
            return
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            if sub in self.walk.modules:
                self._edge(node, sub)
                self.bound[alias.asname or alias.name] = sub
                continue
            self._edge(node, self._existing(base))
            if _is_private(alias.name):
                self.walk.private.append(f"{self.rel}:{node.lineno}: {self.module} imports the private name "
                                         f"{alias.name} of {base}")

    def _existing(self, name: str) -> str:
        while name not in self.walk.modules and "." in name:
            name = name.rpartition(".")[0]
        return name

    # -- private attributes of imported modules
    def _module_of(self, node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return self.bound.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self._module_of(node.value)
            if owner and f"{owner}.{node.attr}" in self.walk.modules:
                return f"{owner}.{node.attr}"
        return None

    def _attribute(self, node: ast.Attribute) -> None:
        owner = self._module_of(node.value)
        if owner is None or owner == self.module:
            return
        sub = f"{owner}.{node.attr}"
        if sub in self.walk.modules:
            self._check_private_module(sub, node.lineno)
        elif _is_private(node.attr):
            self.walk.private.append(f"{self.rel}:{node.lineno}: {self.module} uses the private name "
                                     f"{node.attr} of {owner}")


def walk_package(pkg_dir: Path) -> Walk:
    walk = Walk(find_modules(pkg_dir))
    for module, path in walk.modules.items():
        _Visitor(walk, module, path, str(path.relative_to(pkg_dir.parent))).run()
    return walk


# --------------------------------------------------------------------------- the rules

def upward_edges(walk: Walk, ranks: dict[str, int], forbidden: dict[str, list[str]]) -> list[str]:
    out = []
    for e in walk.edges:
        src, dst = row_of(e.source, ranks), row_of(e.target, ranks)
        if src is None or dst is None or src == dst:
            continue
        if ranks[dst] > ranks[src]:
            out.append(f"{e.file}:{e.line}: {e.source} (rank {ranks[src]}) imports {e.target} "
                       f"(rank {ranks[dst]}): an upward edge")
        elif any(dst == b or dst.startswith(b + ".") for b in forbidden[src]):
            out.append(f"{e.file}:{e.line}: {e.source} imports {e.target}, which its row must not import")
    return out


def unplaced_modules(walk: Walk, ranks: dict[str, int]) -> list[str]:
    return [f"{path}: module {m} is in no row of the layer table" for m, path in walk.modules.items()
            if row_of(m, ranks) is None]


def load_time_graph(walk: Walk) -> dict[str, dict[str, Edge]]:
    """``{source: {target: first edge}}`` of the imports that run at load time; importing
    ``a.b.c`` also loads ``a.b`` (except the importer's own parents, loaded before it)."""
    graph: dict[str, dict[str, Edge]] = {m: {} for m in walk.modules}
    for e in walk.edges:
        if not e.load_time:
            continue
        parts = e.target.split(".")
        for i in range(2, len(parts) + 1):
            target = ".".join(parts[:i])
            if target == e.source or e.source.startswith(target + "."):
                continue  # an ancestor of the importer: already loaded
            graph[e.source].setdefault(target, e)
    return graph


def import_cycles(walk: Walk) -> list[str]:
    graph = load_time_graph(walk)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    out = []
    for comp in components:
        edges = [graph[a][b] for a in comp for b in graph[a] if b in comp]
        where = "; ".join(f"{e.file}:{e.line} ({e.source} -> {e.target})" for e in edges)
        out.append(f"import circle among {', '.join(comp)}: {where}")
    return out


def late_imports(walk: Walk) -> list[str]:
    return [f"{e.file}:{e.line}: {e.source} imports {e.target} below the top of the file without "
            f"'# lazy: <reason>'" for e in walk.edges if not e.at_top and not e.marked_lazy]


# --------------------------------------------------------------------------- the tests

@pytest.fixture(scope="module")
def layers():
    return read_layers(PAGE.read_text())


@pytest.fixture(scope="module")
def walk():
    return walk_package(ROOT / "optimlab")


def _report(violations: list[str], what: str) -> None:
    assert not violations, f"{len(violations)} {what}:\n" + "\n".join(violations)


def test_every_module_has_a_row_and_every_row_a_module(walk, layers):
    ranks, _ = layers
    missing = [f"docs/architecture.md: {name} has a row but no module"
               for name in ranks if not any(row_of(m, ranks) == name for m in walk.modules)]
    _report(unplaced_modules(walk, ranks) + missing, "mismatches between the layer table and the package")


def test_no_upward_imports(walk, layers):
    _report(upward_edges(walk, *layers), "imports against the layer order of docs/architecture.md")


def test_no_private_names_across_modules(walk):
    _report(walk.private, "uses of another module's private name")


def test_no_import_circles(walk):
    _report(import_cycles(walk), "import circles")


def test_optimlab_imports_at_the_top(walk):
    _report(late_imports(walk), "optimlab imports below the top of their file")


# The checker itself, on a small made-up package with one violation of each kind.

FAKE_TABLE = """<!-- layers -->
| rank | modules | job | must not import |
|---|---|---|---|
| 1 | `pkg._util` | | |
| 2 | `pkg.low` | | |
| 3 | `pkg.high`, `pkg.other` | | |
| 4 | `pkg.draw` | | `pkg.high` |
| 5 | `pkg` | | |
<!-- /layers -->"""

FAKE = {
    "__init__.py": "",
    "_util.py": "def helper():\n    from .low import thing  # lazy: a test\n",
    "low/__init__.py": "from ._impl import thing\n",
    "low/_impl.py": "thing = 1\n_secret = 2\n",
    "draw.py": "from pkg import VERSION\ndef f():\n    from .high import g  # lazy: drawing is heavy\n",
    "high.py": ("from . import low\nfrom .low import _impl\nfrom ._util import helper\nimport pkg.other\n"
                "def g():\n    from .low._impl import _secret\n    return low._impl, pkg.other._hidden\n"),
    "other.py": "from pkg import high\nfrom pkg.high import g\n",
}


def test_the_checker_finds_each_kind_of_violation(tmp_path):
    for rel, text in FAKE.items():
        path = tmp_path / "pkg" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    ranks, forbidden = read_layers(FAKE_TABLE)
    w = walk_package(tmp_path / "pkg")
    assert unplaced_modules(w, ranks) == []
    assert upward_edges(w, ranks, forbidden) == [
        "pkg/_util.py:2: pkg._util (rank 1) imports pkg.low (rank 2): an upward edge",
        "pkg/draw.py:1: pkg.draw (rank 4) imports pkg (rank 5): an upward edge",
        "pkg/draw.py:3: pkg.draw imports pkg.high, which its row must not import"]
    assert sorted(w.private) == sorted([
        "pkg/high.py:2: private module pkg.low._impl is internal to pkg.low (imported from pkg.high)",
        "pkg/high.py:6: private module pkg.low._impl is internal to pkg.low (imported from pkg.high)",
        "pkg/high.py:6: pkg.high imports the private name _secret of pkg.low._impl",
        "pkg/high.py:7: private module pkg.low._impl is internal to pkg.low (imported from pkg.high)",
        "pkg/high.py:7: pkg.high uses the private name _hidden of pkg.other"])
    cycles = import_cycles(w)
    assert len(cycles) == 1 and cycles[0].startswith("import circle among pkg.high, pkg.other:")
    assert "pkg/high.py:4 (pkg.high -> pkg.other)" in cycles[0]
    assert "pkg/other.py:1 (pkg.other -> pkg.high)" in cycles[0]
    assert late_imports(w) == ["pkg/high.py:6: pkg.high imports pkg.low._impl below the top of the file "
                               "without '# lazy: <reason>'"]

