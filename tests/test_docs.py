"""The Python examples of README.md and docs/*.md run as they are written.

Each file's ```python blocks run in order in one namespace (a later block may use what
an earlier one made, as a reader would), in a fresh temporary folder. A block that cannot
run in a test says why on the line before its fence: ``<!-- no-run: <reason> -->``.
Every ``optimlab ...`` command of the other blocks (```bash, ```console, plain ```) is
read by the real parser and its names are looked up (optimizer specs, functions,
problems, suites; :func:`check_command`), without running it: the long ones (the demo,
benchmarks) are run by tests/test_cli_*.py and tests/test_demo.py in small sizes. A
command followed by an ``error: ...`` line is run, and must print that line (``...``
stands for any text). A usage synopsis is marked ``<!-- synopsis: <reason> -->`` before
its fence and skipped. README's ``--stop grad_tol`` example is run as written.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
import typer

from optimlab import problems, runner
from optimlab.bench.suites import get_suite
from optimlab.cli import app, main
from optimlab.cli._common import parse_numbers, spec_list
from optimlab.cli.lab import LISTS, parse_stop
from optimlab.optim.registry import parse_spec
from optimlab.record import Trace
from optimlab.schedules import parse_schedule

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


# --------------------------------------------------------------------------- the commands
FENCE = re.compile(r"^(?:<!-- (?P<marker>[a-z-]+):[^>]*-->\n)?```(?P<lang>[a-z]*)\n(?P<body>.*?)^```", re.S | re.M)


def cli_commands(text: str) -> list[tuple[int, list[str], str | None]]:
    """``(line, argv after "optimlab", the error line shown after it or None)`` for every
    ``optimlab ...`` line of the non-Python blocks (``$ `` prompts and ``# comments`` removed;
    the word after ``optimlab`` is a lower-case command or an option)."""
    out = []
    for m in FENCE.finditer(text):
        if m.group("lang") == "python" or m.group("marker") == "synopsis":
            continue
        first = text.count("\n", 0, m.start("body")) + 1
        lines = m.group("body").splitlines()
        for i, raw in enumerate(lines):
            line = raw.strip().removeprefix("$ ")
            j = i
            while line.endswith("\\") and j + 1 < len(lines):  # a command continued on the next line
                j += 1
                line = line[:-1] + " " + lines[j].strip()
            if not re.match(r"optimlab( [a-z-]|$)", line):  # a command, not printed output ("optimlab Adam vs ...")
                continue
            after = lines[j + 1].strip() if j + 1 < len(lines) else ""
            out.append((first + i, shlex.split(line, comments=True)[1:],
                        after[len("error:"):].strip() if after.startswith("error:") else None))
    return out


COMMANDS = [(f"{f.relative_to(ROOT)}:{line}", argv, error) for f in FILES
            for line, argv, error in cli_commands(f.read_text())]


def check_command(argv: list[str]) -> None:
    """Parse ``optimlab ARGV`` with the command's own parser and look up every name it holds."""
    group = typer.main.get_command(app)
    if argv[0].startswith("-"):
        assert argv in (["--version"], ["--help"]), argv
        return
    ctx = group.commands[argv[0]].make_context(f"optimlab {argv[0]}", argv[1:])
    p = ctx.params
    for spec in spec_list(p.get("optimizer") or p.get("optimizers")):
        parse_spec(spec)
    if p.get("start"):
        parse_numbers(p["start"])
    parse_stop(p.get("stop") or [])
    if p.get("schedule"):
        parse_schedule(p["schedule"], functions=argv[0] != "train")
    if argv[0] == "run" or (argv[0] == "sweep" and not p["problem"].startswith("problem:")):
        runner.resolve_function(p.get("function") or p["problem"])
    elif argv[0] == "train" and p["problem"] and not p["problem"].endswith(".csv"):
        problems.parse_name(p["problem"])
    elif argv[0] == "bench" and p["suite"]:
        get_suite(p["suite"])
    elif argv[0] == "list":
        assert p["what"] in LISTS


def test_the_command_reader():
    text = ("```console\n$ optimlab run beale -O \"adam:lr=0.1,betas=(0.9,0.99)\"  # a comment\nerror: x\n```\n"
            "<!-- synopsis: usage -->\n```\noptimlab sweep F [--seeds K]\n```\n```python\noptimlab = 1\n```\n"
            "```\noptimlab Adam vs torch Adam: 0.9x\noptimlab --version\n```\n")
    assert cli_commands(text) == [(2, ["run", "beale", "-O", "adam:lr=0.1,betas=(0.9,0.99)"], "x"),
                                  (14, ["--version"], None)]


@pytest.mark.parametrize("where,argv,error", COMMANDS, ids=[c[0] for c in COMMANDS])
def test_every_documented_command_parses_and_its_names_exist(where, argv, error, capsys):
    if error is None:
        check_command(argv)
        return
    with pytest.raises(SystemExit) as stop:
        main(argv)
    shown = capsys.readouterr().err.strip()
    assert stop.value.code == 2 and re.fullmatch(re.escape(error).replace(re.escape("..."), ".*"),
                                                 shown.removeprefix("error: ")), (where, shown)


@pytest.mark.slow
def test_the_readme_grad_tol_example_stops_early(tmp_path):
    [argv] = [argv for _, argv, _ in cli_commands((ROOT / "README.md").read_text()) if "grad_tol=1e-6" in argv]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--out", str(tmp_path)])
    assert stop.value.code == 0
    [trace] = [Trace.load(p) for p in tmp_path.glob("*.npz")]
    g = trace.grad_norms
    max_steps = int(argv[argv.index("--steps") + 1])
    first = int(np.argmax(g <= 1e-6 * g[0]))  # the first point where the rule holds, read from the trace
    assert g[first] <= 1e-6 * g[0] and first > 0
    assert trace.stop_reason == "grad_tol" and trace.steps == first < max_steps
