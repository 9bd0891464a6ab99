"""How fast the command line answers: wall time of ``optimlab --help``, ``--version`` and
bad-argument commands, each a fresh ``python -m optimlab`` process (median of N runs,
interleaved round-robin so that a busy moment hits every command alike), and the ratio
to ``python -c pass`` (the interpreter's own start) measured the same way.

Target (issue 14): every line below 0.5 s wall. A mistyped optimizer name or option is
answered from the command line's own table of built-in names (optimlab/cli/_index.py),
and so is an unknown function name written as one word; a name with options
(``bael:dim=3``) still loads the function registry, and torch with it: it is listed
separately, as what it costs, not against the target.

    PYTHONPATH=. python benchmarks/cli_latency.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time

FAST = {
    "--help": ["--help"],
    "--version": ["--version"],
    "run --help": ["run", "--help"],
    "missing argument (run)": ["run"],
    "unknown command (rn)": ["rn"],
    "unknown option (run --stpes)": ["run", "beale", "-O", "adam", "--stpes", "3"],
    "bad --start (run)": ["run", "beale", "-O", "adam", "--start", "1,a"],
    "--out under a file (run)": ["run", "beale", "-O", "adam", "--out", __file__ + "/sub"],
    "bad choice (list colours)": ["list", "colours"],
    "missing --suite/-O (bench)": ["bench", "--suite", "beale"],
    "--top 0 (sweep)": ["sweep", "beale", "--top", "0", "--grid", "lr=0.1"],
    "unknown spec option (run -O sgd:foo=1)": ["run", "beale", "-O", "sgd:foo=1"],
    "unknown optimizer (train -O adamm)": ["train", "iris-softmax", "-O", "adamm"],
    "unknown function (run bael)": ["run", "bael", "-O", "adam"],
}
NEEDS_TORCH = {
    "unknown function with options (run bael:dim=3)": ["run", "bael:dim=3", "-O", "adam"],
}


def wall_and_cpu(argv: list[str]) -> tuple[float, float]:
    """Wall seconds of one process, and its CPU seconds (user + system: what a busy machine
    does not inflate as much)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy(), check=False)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="Runs per command (the median is shown).")
    args = ap.parse_args()
    cases = {"python -c pass": [sys.executable, "-c", "pass"]}
    cases.update({k: [sys.executable, "-m", "optimlab", *v] for k, v in {**FAST, **NEEDS_TORCH}.items()})
    times: dict[str, list[float]] = {k: [] for k in cases}
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.repeats):
        for name, argv in cases.items():
            w, c = wall_and_cpu(argv)
            times[name].append(w)
            cpu[name].append(c)
    base = statistics.median(times["python -c pass"])
    print(f"{'command':42} {'median s':>9} {'min s':>7} {'cpu s':>7} {'× python':>9}")
    for name in cases:
        if name in NEEDS_TORCH and name == next(iter(NEEDS_TORCH)):
            print("-- errors that need the function registry (torch loads first):")
        med = statistics.median(times[name])
        flag = "" if name not in FAST or med < 0.5 else "  over 0.5 s"
        print(f"{name:42} {med:9.3f} {min(times[name]):7.3f} {statistics.median(cpu[name]):7.3f} "
              f"{med / base:9.1f}{flag}")
    print(f"{args.repeats} runs each, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
