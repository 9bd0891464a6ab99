"""Project habits that a test can hold: the version is written once (pyproject.toml)."""

import importlib.metadata
import re
from pathlib import Path

import optimlab

ROOT = Path(__file__).resolve().parents[1]


def declared_version() -> str:
    m = re.search(r'^\[project\][^\[]*?^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.S | re.M)
    assert m, "pyproject.toml: no version in [project]"
    return m.group(1)


def test_the_version_is_read_from_the_package_metadata():
    assert optimlab.__version__ == importlib.metadata.version("optimlab") == declared_version()


def test_the_version_is_not_written_in_the_code():
    # written as a string ("0.1.0"): a docstring may name another package's equal version
    pattern = re.compile(r"[\"']" + re.escape(declared_version()) + r"[\"']")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "optimlab").rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert not found, f"the version written in code (read it from optimlab.__version__): {found}"
