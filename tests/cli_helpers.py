"""The command line called in the test process: its exit status, output and one-line errors."""

from __future__ import annotations

from optimlab.cli import main


def call(capsys, *argv: str) -> tuple[int, str, str]:
    """``optimlab ARGV`` in this process: (exit status, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 0
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(capsys, *argv: str) -> str:
    code, out, err = call(capsys, *argv)
    text = err.strip()
    assert code == 2, (argv, code, out, err)
    assert text.startswith("error: ") and len(text.splitlines()) == 1, text
    assert "Traceback" not in out + err
    return text
