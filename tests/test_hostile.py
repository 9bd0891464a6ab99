"""The lab under hostile input and faults (issue 15): through the command line's real entry
point (``optimlab.cli.app``; a fresh ``python -m optimlab`` where memory is limited), every
bad argument ends with one line on stderr and exit status 2, nothing is lost or overwritten,
files that are not the lab's stay untouched and nothing grows without bound."""

from __future__ import annotations

import hashlib
from pathlib import Path

from typer.testing import CliRunner

from optimlab.cli import app
from optimlab.record import History

ROOT = Path(__file__).resolve().parents[1]


def cli(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "160"})


def assert_one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the SHA-256 of its bytes: equal digests, untouched files."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ 1. one file per run
def test_train_keeps_every_run_of_repeated_specs(tmp_path):
    r = cli("train", "moons-logreg", "-O", "sgd:lr=0.1", "-O", "sgd:lr=0.1", "-O", "SGD:lr=0.1", "-e", "1",
            "-o", str(tmp_path))
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in (tmp_path / "histories").glob("*.npz"))
    assert len(files) == 3, files
    labels = {History.load(tmp_path / "histories" / f).label for f in files}
    assert labels == {"sgd:lr=0.1", "sgd:lr=0.1 #2", "SGD:lr=0.1"}
    for label in labels:
        assert label in r.output
