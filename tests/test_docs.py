"""The Python examples of README.md and docs/*.md run as they are written.

Each file's ```python blocks run in order in one namespace (a later block may use what
an earlier one made, as a reader would), in a fresh temporary folder. A block that cannot
run in a test says why on the line before its fence: ``<!-- no-run: <reason> -->``.
The ```bash / ```console blocks are not run: they install packages or start long CLI
runs (the demo, benchmarks); the CLI is tested in tests/test_cli_*.py and
tests/test_demo.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^(?:<!-- no-run:(?P<reason>[^>]*)-->\n)?```python\n(?P<code>.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str, str]]:
    """``(line of the fence, code, no-run reason or "")`` for every ```python block."""
    out = []
    for m in BLOCK.finditer(text):
        fence = text.count("\n", 0, m.start("code"))  # 1-based line of the opening fence
        out.append((fence, m.group("code"), (m.group("reason") or "").strip()))
    return out


def test_the_block_reader():
    text = "intro\n```python\na = 1\n```\n<!-- no-run: needs torchrun -->\n```python\nb\n```\n```bash\nls\n```\n"
    assert python_blocks(text) == [(2, "a = 1\n", ""), (6, "b\n", "needs torchrun")]


@pytest.mark.slow
@pytest.mark.parametrize("path", [f for f in FILES if python_blocks(f.read_text())], ids=lambda p: p.name)
def test_python_examples_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__docs__"}
    rel = path.relative_to(ROOT)
    try:
        for line, code, reason in python_blocks(path.read_text()):
            if reason:
                continue
            try:
                exec(compile(code, f"{rel}:{line}", "exec"), namespace)
            except Exception as e:  # name the block, keep the traceback
                raise AssertionError(f"{rel}:{line}: the example fails: {type(e).__name__}: {e}") from e
    finally:
        plt.close("all")


def test_no_run_markers_give_a_reason():
    empty = [f"{f.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
             for f in FILES for text in [f.read_text()] for m in re.finditer(r"<!-- no-run:\s*-->", text)]
    assert not empty, f"no-run markers without a reason: {empty}"
