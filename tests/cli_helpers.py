"""The command line called in the test process (its exit status, output and one-line errors)
or in a child forked from it."""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import warnings
from multiprocessing.process import BaseProcess
from pathlib import Path

from optimlab.cli import main

# the child runs no thread of this process's and takes no lock that one could hold (it computes,
# writes its log and ends in os._exit), as torch's DataLoader workers, forked the same way
FORK_WARNING = r"This process .* is multi-threaded, use of fork\(\) may lead to deadlocks"


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


def forked_cli(log: Path, *argv: str) -> BaseProcess:
    """``optimlab ARGV`` through its entry point (:func:`optimlab.cli.main`) in a started child
    process forked from this one, its stdout and stderr written to ``log``; its exit status is
    the ``exitcode`` of the process returned. For the tests that kill a command mid-run: forked,
    the child has torch, optimlab and Optuna imported already (``python -m optimlab`` imported
    them again, 2-3 s of CPU per process on the 2-core CI machine). Fork this process before it
    opens a connection that the child could share (a database's, for one)."""
    gc.collect()  # no unreachable object (another test's database connection) is left for the child to finalize
    proc = multiprocessing.get_context("fork").Process(target=_logged_main, args=(list(argv), str(log)))
    with warnings.catch_warnings():  # Python >= 3.12 warns of fork in a threaded process (pytest-xdist's)
        warnings.filterwarnings("ignore", FORK_WARNING, DeprecationWarning)
        proc.start()
    return proc


def _logged_main(argv: list[str], log: str) -> None:
    out = open(log, "w", buffering=1, encoding="utf-8")  # left open: the child ends in os._exit
    os.dup2(out.fileno(), 1)
    os.dup2(out.fileno(), 2)
    sys.stdout = sys.stderr = out
    main(argv)  # its SystemExit is the process's exit status
