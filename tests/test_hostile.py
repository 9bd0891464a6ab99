"""The lab under hostile input and faults (issue 15): through the command line's real entry
point (``optimlab.cli.app``; a fresh ``python -m optimlab`` where memory is limited), every
bad argument ends with one line on stderr and exit status 2, nothing is lost or overwritten,
files that are not the lab's stay untouched and nothing grows without bound."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from optimlab.bench import TrialStore, run_bench
from optimlab.cli import app
from optimlab.record import History
from optimlab.training import Trainer

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


# ------------------------------------------------------------------ 2. a store holds one benchmark
BENCH = ["--suite", "booth", "--budget", "2", "--seeds", "1", "--steps", "5"]


def test_a_second_benchmark_on_a_store_is_refused_before_it_runs(tmp_path):
    store, out = tmp_path / "b.sqlite", tmp_path / "out"
    assert cli("bench", *BENCH, "-O", "sgd", "--store", str(store), "--out", str(out)).exit_code == 0
    first = (out / "trials.csv").read_text()
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    with TrialStore(store, readonly=True) as st:
        n = len(st)
    r = cli("bench", *BENCH, "-O", "adam", "--store", str(store), "--out", str(tmp_path / "out2"))
    assert_one_line_error(r, "already holds another bench", '["sgd"], not ["adam"]', "another --store")
    with TrialStore(store, readonly=True) as st:
        assert len(st) == n and st.get_meta("bench")["optimizers"] == ["sgd"]
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before
    assert not (tmp_path / "out2").exists()
    # the first suite's page still rebuilds, the same; the same arguments resume (nothing computed)
    assert cli("bench", "--report-only", "--store", str(store), "--out", str(tmp_path / "again")).exit_code == 0
    assert (tmp_path / "again" / "trials.csv").read_text() == first
    r = cli("bench", *BENCH, "-O", "sgd", "--store", str(store), "--out", str(out))
    assert r.exit_code == 0 and f"0 trials computed, {n} found" in r.output, r.output


def test_two_processes_cannot_both_claim_a_store(tmp_path):
    store = tmp_path / "c.sqlite"
    a, b = TrialStore(store), TrialStore(store)  # opened together, claimed in turn
    a.claim_meta("bench", {"suite": "x"})
    with pytest.raises(ValueError, match="already holds another bench"):
        b.claim_meta("bench", {"suite": "y"})
    b.claim_meta("bench", {"suite": "x"})  # the same description is the same benchmark: resumes
    assert b.get_meta("bench") == {"suite": "x"}
    a.close(), b.close()


# ------------------------------------------------------------------ 3. reports read, never write
def _foreign_database(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('ada')")
    sqlite3.connect(path).close()


@pytest.mark.parametrize("report_only", [True, False])
def test_another_applications_database_is_refused_untouched(tmp_path, report_only):
    _foreign_database(tmp_path / "app.sqlite")
    before = digest(tmp_path)
    args = ["--report-only"] if report_only else [*BENCH, "-O", "sgd"]
    r = cli("bench", *args, "--store", str(tmp_path / "app.sqlite"), "--out", str(tmp_path / "out"))
    assert_one_line_error(r, "not an optimlab results store", "tables: users", "untouched")
    assert digest(tmp_path) == before  # no tables added, no journal switched to WAL, no -wal/-shm file
    with sqlite3.connect(tmp_path / "app.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_report_leaves_its_store_byte_for_byte(tmp_path):
    store = tmp_path / "s" / "b.sqlite"
    run_bench("booth", "sgd", budget=2, seeds=1, steps=5, store=store)
    before = digest(store.parent)
    r = cli("bench", "--report-only", "--store", str(store), "--out", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output
    after = digest(store.parent)
    assert after["b.sqlite"] == before["b.sqlite"]
    # SQLite's reader may leave an empty write-ahead log beside the file; it holds nothing
    assert all(name == "b.sqlite" or (store.parent / name).stat().st_size == 0 or name.endswith("-shm")
               for name in after)


@pytest.mark.slow  # a fresh interpreter with torch (about 3 s)
def test_a_store_on_a_read_only_file_system_still_reports(tmp_path):
    """The store's folder mounted read-only (a private mount namespace, as root) or made read-only."""
    store = tmp_path / "s" / "b.sqlite"
    run_bench("booth", "sgd", budget=2, seeds=1, steps=5, store=store)
    report = [sys.executable, "-m", "optimlab", "bench", "--report-only", "--store", str(store),
              "--out", str(tmp_path / "out")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "160"}
    folder = shlex.quote(str(store.parent))
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("needs unshare to mount a folder read-only as root")
        cmd = ["unshare", "-m", "sh", "-c", f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} "
               f"{folder} && ! touch {folder}/probe 2>/dev/null && exec {shlex.join(report)}"]
    else:
        cmd = report
        store.parent.chmod(0o555)
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    finally:
        store.parent.chmod(0o755)
    if "mount" in p.stderr and "permission denied" in p.stderr.lower():
        pytest.skip("this machine does not allow a private read-only mount")
    assert p.returncode == 0, p.stderr
    assert "wrote" in p.stdout and (tmp_path / "out" / "trials.csv").exists()


# ------------------------------------------------------------------ 4. a checkpoint loads whole or not at all
def _snapshot(trainer: Trainer) -> dict:
    return {"model": {k: v.clone() for k, v in trainer.model.state_dict().items()},
            "optimizer": repr(trainer.optimizer.state_dict()), "epoch": trainer.epoch, "step": trainer.step,
            "history": None if trainer.history is None else trainer.history.to_dict()}


def _assert_unchanged(trainer: Trainer, before: dict) -> None:
    after = _snapshot(trainer)
    assert after["model"].keys() == before["model"].keys()
    for k, v in before["model"].items():
        assert torch.equal(after["model"][k], v), k
    assert {k: after[k] for k in ("optimizer", "epoch", "step", "history")} == \
        {k: before[k] for k in ("optimizer", "epoch", "step", "history")}


@pytest.mark.parametrize("case", ["other last layer", "other optimizer"])
def test_a_checkpoint_that_does_not_fit_changes_nothing(tmp_path, case):
    torch.manual_seed(0)
    X, y = torch.randn(12, 3), torch.randn(12, 1)
    saved = Trainer(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)), loss="mse", optimizer="sgd:lr=0.1")
    saved.fit((X, y), batch_size=4, epochs=1, verbose=0)
    saved.save_checkpoint(tmp_path / "ck.pt")
    last = nn.Linear(4, 2) if case == "other last layer" else nn.Linear(4, 1)
    spec = "sgd:lr=0.1" if case == "other last layer" else "adam:lr=0.1"
    t = Trainer(nn.Sequential(nn.Linear(3, 4), nn.Tanh(), last), loss="mse", optimizer=spec)
    t.fit((X, y if case == "other optimizer" else torch.randn(12, 2)), batch_size=4, epochs=1, verbose=0)
    before = _snapshot(t)
    with pytest.raises(ValueError, match=r"path: the checkpoint does not fit this trainer \(.*nothing was loaded"):
        t.load_checkpoint(tmp_path / "ck.pt")
    _assert_unchanged(t, before)
    with pytest.raises(ValueError, match="resume_from: the checkpoint does not fit this trainer"):
        t.fit((X, y if case == "other optimizer" else torch.randn(12, 2)), batch_size=4, epochs=3, verbose=0,
              resume_from=tmp_path / "ck.pt")
    _assert_unchanged(t, before)


# ------------------------------------------------------------------ 5. outputs checked first, user text is text
@pytest.mark.parametrize("command", [
    ["train", "moons-logreg", "-O", "sgd", "-e", "1"],
    ["run", "booth", "-O", "sgd", "--start", "1,1", "--steps", "3"],
    ["sweep", "booth", "--grid", "lr=0.1", "--steps", "3"],
    ["bench", *BENCH, "-O", "sgd", "--store", "{tmp}/b.sqlite"],
    ["demo", "--quick"],
])
@pytest.mark.parametrize("where", ["a file", "under a file"])
def test_an_output_that_cannot_be_written_is_refused_before_computing(tmp_path, command, where):
    (tmp_path / "f").write_text("keep me")
    out = tmp_path / "f" if where == "a file" else tmp_path / "f" / "sub"
    before = digest(tmp_path)
    r = cli(*[a.replace("{tmp}", str(tmp_path)) for a in command], "--out", str(out))
    assert_one_line_error(r, "--out", "is a file" if where == "a file" else "which is a file")
    assert digest(tmp_path) == before  # nothing computed and stored first


@pytest.mark.parametrize("args, fragment", [
    (["sweep", "booth", "--grid", "lr=0.1", "--target", "nan"], "--target must be a finite"),
    (["sweep", "booth", "--grid", "lr=0.1", "--target", "inf"], "--target must be a finite"),
    (["train", "moons-logreg", "-O", "sgd", "--reach", "nan"], "--reach must be a finite"),
])
def test_non_finite_levels_are_refused(tmp_path, args, fragment):
    assert_one_line_error(cli(*args, "--out", str(tmp_path / "o")), fragment)
    assert not (tmp_path / "o").exists()


def test_table_text_is_never_rich_markup():
    from rich.console import Console

    from optimlab.report import Table, to_rich

    table = Table(["rate[/s]", "[bold]x"], [["[/x]", 1.5], [":thumbs_down:", 2.0]], title="[red]t",
                  text_columns=("rate[/s]",))
    console = Console(width=120, record=True, color_system=None)
    console.print(to_rich(table))
    text = console.export_text()
    for s in ("rate[/s]", "[bold]x", "[/x]", ":thumbs_down:", "[red]t"):
        assert s in text, (s, text)


@pytest.mark.parametrize("pattern", ["x-{0}.pt", "x-{epoch.__class__}.pt", "x-{epoch[0]}.pt", "x-{step}.pt",
                                     "x-{epoch!r}.pt", "x-{epoch:s}.pt", "x-{.pt", "x-}.pt"])
def test_a_checkpoint_path_pattern_is_checked_when_made(tmp_path, pattern):
    from optimlab.training import ModelCheckpoint

    with pytest.raises(ValueError, match=r"path .*(only field allowed|brace|integer format)"):
        ModelCheckpoint(tmp_path / pattern)


def test_a_checkpoint_path_pattern_with_an_integer_format_and_braces_works(tmp_path):
    from optimlab.training import ModelCheckpoint

    X, y = torch.randn(8, 3), torch.randn(8, 1)
    ck = ModelCheckpoint(str(tmp_path / "e{epoch:03d}-{{x}}.pt"))
    Trainer(nn.Linear(3, 1), loss="mse").fit((X, y), batch_size=4, epochs=2, verbose=0, callbacks=[ck])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e001-{x}.pt", "e002-{x}.pt"]


def test_labels_with_dollars_are_drawn_as_text(tmp_path):
    """``$^$`` in a label stopped the picture with a mathtext ParseSyntaxException."""
    import optimlab
    from optimlab import report
    from optimlab.viz import save_figure
    from optimlab.viz.sweeps import plot_sensitivity

    traces = optimlab.compare("booth", {"$^$": "sgd:lr=0.01", "a $x$ b": "adam:lr=0.1"}, (1, 1.5), 3)
    page = report.run_page("booth", traces, tmp_path / "run", title="$^$ title")
    assert {p.name for p in page.files} >= {"paths.png", "convergence.png"}
    res = optimlab.sweep("booth", "sgd", grid={"lr": [0.01, 0.02]}, steps=3, start=(1, 1))
    fig = plot_sensitivity({"$^$": res}, "lr", title="$^{$")
    texts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    assert r"\$^\$" in texts
    save_figure(fig, tmp_path / "s.png")


# ------------------------------------------------------------------ 14. text is printed and read as written
def test_emoji_codes_in_user_text_are_printed_as_written(tmp_path):
    r = cli("sweep", "booth", "--grid", "lr=log:-1:1:5", "--out", str(tmp_path / "o"))
    line = assert_one_line_error(r, "log:-1:1:5")
    assert "\N{THUMBS DOWN SIGN}" not in line


@pytest.mark.parametrize("args, fragment", [
    (["run", "x*\u0663 + y**2", "-O", "sgd", "--start", "1,1"], "unexpected character"),
    (["run", "booth", "-O", "sgd", "--start", "\u0663,1"], "--start must be numbers"),
    (["run", "booth", "-O", "sgd", "--start", "1,1", "--stop", "max_steps=\u0663"], "--stop"),
    (["sweep", "booth", "--grid", "lr=lin:0.1:0.2:\u0663", "--start", "1,1"], "N must be an integer"),
    (["sweep", "booth", "--grid", "lr=\uff11", "--start", "1,1"], "is not a number"),
])
def test_digits_of_other_scripts_are_not_numbers(tmp_path, args, fragment):
    assert_one_line_error(cli(*args, "--out", str(tmp_path / "o")), fragment)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ 10. a numeric target stays numeric
@pytest.mark.parametrize("cell", ["", "NA", "nan", "inf", "n/a"])
def test_a_blank_or_na_cell_in_a_numeric_target_is_an_error_naming_its_line(tmp_path, cell):
    rows = ["a,b,y"] + [f"{k * 0.1:.1f},{k % 3},{k * 1.5:.2f}" for k in range(40)]
    rows[8] = rows[8].rsplit(",", 1)[0] + "," + cell  # file line 9 (the header is line 1)
    rows.insert(3, "")  # a blank line is skipped but counted: the bad cell moves to line 10
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    r = cli("train", str(tmp_path / "r.csv"), "--target", "y", "-e", "1", "--out", str(tmp_path / "o"))
    assert_one_line_error(r, "r.csv, line 10, target column 'y'", f"{cell!r} is not a number", "39 of its 40")
    assert not (tmp_path / "o").exists()


def test_a_non_finite_feature_is_an_error_and_word_labels_still_classify(tmp_path):
    from optimlab.problems.data import read_csv

    (tmp_path / "f.csv").write_text("a,y\n1,cat\nnan,dog\n")
    with pytest.raises(ValueError, match=r"f.csv, line 3, column 'a': 'nan' is not a number \(cells must be finite"):
        read_csv(tmp_path / "f.csv", "y")
    (tmp_path / "w.csv").write_text("a,y\n1,cat\n2,dog\n3,cat\n")
    X, y, task, _ = read_csv(tmp_path / "w.csv", "y")
    assert task == "binary" and X[:, 0].tolist() == [1.0, 2.0, 3.0]
    (tmp_path / "m.csv").write_text("a,y\n1,1\n2,NA\n3,2\n")  # asked for labels: read as labels
    assert read_csv(tmp_path / "m.csv", "y", task="multiclass")[2] == "multiclass"


# ------------------------------------------------------------------ 11. damaged or invalid state is refused
def test_a_checkpoint_with_a_flipped_byte_in_a_tensor_is_refused(tmp_path):
    torch.manual_seed(1)
    X, y = torch.randn(12, 3), torch.randn(12, 1)
    t = Trainer(nn.Linear(3, 1), loss="mse", optimizer="adam:lr=0.01")
    t.fit((X, y), batch_size=4, epochs=1, verbose=0)
    path = t.save_checkpoint(tmp_path / "ck.pt")
    Trainer(nn.Linear(3, 1), loss="mse", optimizer="adam:lr=0.01").load_checkpoint(path)  # intact: loads
    data = bytearray(path.read_bytes())
    weight = t.model.weight.detach().numpy().tobytes()
    at = data.find(weight)
    assert at > 0 and data.find(weight, at + 1) < 0  # the weight's bytes, once, uncompressed in the zip
    data[at + 5] ^= 0x10
    path.write_bytes(bytes(data))
    fresh = Trainer(nn.Linear(3, 1), loss="mse", optimizer="adam:lr=0.01")
    before = _snapshot(fresh)
    with pytest.raises(ValueError, match=r"ck.pt' is damaged: its contents do not match the checksum"):
        fresh.load_checkpoint(path)
    with pytest.raises(ValueError, match="is damaged"):
        fresh.fit((X, y), batch_size=4, epochs=3, verbose=0, resume_from=path)
    _assert_unchanged(fresh, before)


@pytest.mark.parametrize("name, change, fragment", [
    ("adam", {"lr": float("nan")}, "lr must be finite"),
    ("adam", {"betas": (1.5, -3.0)}, "betas[0] must be in [0, 1)"),
    ("sgd", {"momentum": -1.0}, "momentum"),
])
def test_loaded_hyperparameters_are_validated_like_constructed_ones(name, change, fragment):
    from optimlab.optim.registry import create

    p = nn.Parameter(torch.ones(3))
    saved = create([p], name, lr=0.1)
    sd = saved.state_dict()
    sd["param_groups"][0].update(change)
    target = create([p], name, lr=0.1)
    before = repr(target.state_dict())
    with pytest.raises(ValueError, match=r"load_state_dict: param_groups\[0\]: .*nothing was loaded") as info:
        target.load_state_dict(sd)
    assert fragment in str(info.value)
    assert repr(target.state_dict()) == before


# ------------------------------------------------------------------ 12. levels and windows must be finite
@pytest.mark.parametrize("suite, fragment", [
    ("booth:target=nan", "target must be a finite number, got nan in problem 'booth'"),
    ("booth:noise=nan", "noise must be a finite number >= 0, got nan"),
    ("booth:noise=-1", "noise must be a finite number >= 0, got -1"),
    ("problem:moons-logreg:target=inf", "target must be a finite number, got inf"),
])
def test_a_benchmark_problem_needs_finite_levels(tmp_path, suite, fragment):
    r = cli("bench", "--suite", suite, "-O", "sgd", "--budget", "2", "--seeds", "1", "--store",
            str(tmp_path / "b.sqlite"), "--out", str(tmp_path / "o"))
    assert_one_line_error(r, fragment)
    assert not (tmp_path / "b.sqlite").exists()


def test_library_levels_and_domains_must_be_finite():
    import optimlab
    from optimlab.functions import TestFunction

    with pytest.raises(ValueError, match="target must be a finite number .* got nan"):
        optimlab.compare_training("moons-logreg", {"a": "sgd"}, epochs=1, target=float("nan"))
    with pytest.raises(ValueError, match="domain rows must be \\[lo, hi\\] with finite lo < hi"):
        TestFunction("f", lambda x: (x ** 2).sum(-1), 2, [(float("nan"), 1.0), (0.0, 1.0)])


# ------------------------------------------------------------------ 13. damaged files: one line naming the file
def test_a_store_path_under_a_file_or_with_a_foreign_trials_table_is_one_line(tmp_path):
    (tmp_path / "f").write_text("x")
    r = cli("bench", *BENCH, "-O", "sgd", "--store", str(tmp_path / "f" / "b.sqlite"), "--out", str(tmp_path / "o"))
    assert_one_line_error(r, "is a file, not a folder")
    with sqlite3.connect(tmp_path / "t.sqlite") as db:  # a table named trials with other columns
        db.execute("CREATE TABLE trials (x INTEGER)")
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    before = digest(tmp_path)
    for args in (["--report-only"], [*BENCH, "-O", "sgd"]):
        r = cli("bench", *args, "--store", str(tmp_path / "t.sqlite"), "--out", str(tmp_path / "o"))
        assert_one_line_error(r, "not an optimlab results store", "tables: meta, trials")
    assert digest(tmp_path) == before


def test_damaged_records_are_one_line_naming_the_file(tmp_path):
    import optimlab
    from optimlab.record import Trace
    from optimlab.sweeps import SweepResult
    from optimlab.training import TrainingComparison

    res = optimlab.sweep("booth", "sgd", grid={"lr": [0.01, 0.02]}, steps=3, start=(1, 1))
    good = res.save(tmp_path / "sweep.json").read_text()
    (tmp_path / "cut.json").write_text(good[:200] + good[230:])
    with pytest.raises(ValueError, match=r"cut.json' is not a valid sweep result \(sweep.json from SweepResult.save\)"
                                         r": its JSON is damaged at line 1 column \d+"):
        SweepResult.load(tmp_path / "cut.json")
    d = json.loads(good)
    del d["grid"]
    (tmp_path / "nogrid.json").write_text(json.dumps(d))
    with pytest.raises(ValueError, match=r"nogrid.json' is not a valid sweep result: the sweep result lacks 'grid'"):
        SweepResult.load(tmp_path / "nogrid.json")
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"a.npy' is not an optimlab trace: it holds one NumPy array \(.npy\)"):
        Trace.load(tmp_path / "a.npy")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"list.json' is not a trace .*: it holds a JSON list, not an object"):
        Trace.load(tmp_path / "list.json")
    with pytest.raises(ValueError, match=r"trace file '.*none.npz' does not exist"):
        Trace.load(tmp_path / "none.npz")
    (tmp_path / "cmp").mkdir()
    (tmp_path / "cmp" / "comparison.json").write_text('{"kind": "training-comparison", "problem": "p"}')
    with pytest.raises(ValueError, match=r"comparison.json' lacks 'labels', 'files'"):
        TrainingComparison.load(tmp_path / "cmp")


# ------------------------------------------------------------------ 6-9. nothing grows without bound
MEMORY_LIMIT = 3 * 2 ** 30  # address space of a fresh `python -m optimlab` (torch itself needs about 1 GiB)


LIMITED = """
import contextlib, io, json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from optimlab.cli import main
out = []
for argv in json.loads(sys.stdin.read()):
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
            code = 0
        except SystemExit as e:
            code = e.code
        except MemoryError:
            code = "MemoryError"
    out.append([code, err.getvalue()])
print(json.dumps(out))
"""


@pytest.mark.slow  # one fresh interpreter with torch for all cases (about 5 s)
def test_huge_arguments_end_in_one_line_within_a_memory_limit(tmp_path):
    """Each command runs in a process whose address space is limited: an unbounded list or
    buffer ends in MemoryError (or the process is killed) instead of one line and exit 2."""
    o = str(tmp_path / "o")
    cases = [  # (argv, exit code, fragments of the one line)
        (["run", "sphere:dim=1000000000", "-O", "sgd", "--start", "1,1", "--out", o], 2,
         ["dim must be at most 100,000", "got 1,000,000,000"]),  # item 6: lists of dim rows
        (["sweep", "booth", "-O", "sgd", "--grid", "lr=log:1e-4:1:1000", "--grid", "momentum=lin:0:0.9:1000",
          "--grid", "dampening=lin:0:0.5:1000", "--out", o], 2,
         ["1,000,000,000 runs", "1000 × 1000 × 1000", "--max-runs 100,000"]),  # item 7: 10⁹ dicts
        (["train", "moons-logreg", "-O", "sgd", "-e", "1", "--threads", "100000", "--out", o], 2,
         ["--threads must be at most the", "got 100000"]),  # item 9: torch segfaulted
        (["run", "booth", "-O", "sgd:lr=0.01", "--start", "1,1.5", "--steps", "1000000000000", "--stop",
          "f_tol=1e-3", "--out", str(tmp_path / "run")], 0, []),  # item 8: 14.6 TiB up front
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "160", "MPLBACKEND": "Agg"}
    p = subprocess.run([sys.executable, "-c", LIMITED.format(limit=MEMORY_LIMIT)], env=env, text=True,
                       input=json.dumps([c[0] for c in cases]), capture_output=True, timeout=120)
    assert p.returncode == 0, p.stderr[-3000:]
    for (argv, code, fragments), (got, err) in zip(cases, json.loads(p.stdout.splitlines()[-1])):
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert got == code, (argv[:2], got, err[-2000:])
        if code:
            assert len(lines) == 1 and lines[0].startswith("error:"), (argv[:2], err)
            assert all(f in lines[0] for f in fragments), (fragments, lines[0])
    assert not (tmp_path / "o").exists()
    assert (tmp_path / "run" / "sgd_lr=0.01.npz").exists()


def test_a_huge_step_limit_reserves_nothing_up_front(monkeypatch):
    """``--steps 1e12`` was a 14.6 TiB allocation; the records now grow as steps are taken."""
    import optimlab
    from optimlab.runner import loop
    from optimlab.stopping import FTol

    RECORD_CHUNK = 256  # the records' chunk (engine.RECORD_CHUNK, 4096), small: the same rule in fewer steps
    monkeypatch.setattr(loop, "RECORD_CHUNK", RECORD_CHUNK)
    small = optimlab.run("booth", "sgd:lr=0.01", (1.0, 1.5), RECORD_CHUNK + 10)
    huge = optimlab.run("booth", "sgd:lr=0.01", (1.0, 1.5), 10 ** 12, stop=FTol(1e-3))
    n = huge.steps
    assert huge.stop_reason == "f_tol" and 0 < n < RECORD_CHUNK
    np.testing.assert_array_equal(huge.values, small.values[: n + 1])  # the same run, cut where it stopped
    np.testing.assert_array_equal(huge.params, small.params[: n + 1])
    assert small.steps == RECORD_CHUNK + 10 and small.values.shape == (small.steps + 1,)
    for series in (huge.values, huge.params, small.values):
        base = series.base if series.base is not None else series
        assert base.nbytes <= 2 * 2 * RECORD_CHUNK * 8 * 4  # the buffer, not steps + 1 rows




def test_a_changing_lr_is_recorded_past_the_first_chunk(monkeypatch):
    import optimlab
    from optimlab.runner import loop

    monkeypatch.setattr(loop, "RECORD_CHUNK", 256)  # engine.RECORD_CHUNK (4096): the same growth, fewer steps
    steps = 256 + 300
    sched = (torch.optim.lr_scheduler.StepLR, {"step_size": 100, "gamma": 0.5})
    t = optimlab.run("x**2 + y**2", "sgd:lr=1e-4", (1.0, 1.0), steps, schedule=sched)
    np.testing.assert_array_equal(t.lrs, 1e-4 * 0.5 ** (np.arange(steps) // 100))
    # x_k = x_{k-1} (1 - 2 lr_k), by hand from the same lrs
    np.testing.assert_allclose(t.params[:, 0], np.concatenate([[1.0], np.cumprod(1 - 2 * t.lrs)]), rtol=1e-12)


def test_a_training_sweep_with_a_huge_step_limit_reserves_nothing_up_front():
    import optimlab

    huge = optimlab.sweep("problem:linreg-synthetic", "sgd", grid={"lr": [1e3, 1e4]}, steps=10 ** 12)
    short = optimlab.sweep("problem:linreg-synthetic", "sgd", grid={"lr": [1e3, 1e4]}, steps=50)
    assert [t.stop_reason for t in huge.traces] == ["diverged", "diverged"]
    for a, b in zip(huge.traces, short.traces):  # the same runs: both diverge long before either limit
        assert a.steps == b.steps < 50
        np.testing.assert_array_equal(a.values, b.values)


def test_sweep_and_bench_sizes_are_limited_and_the_limits_can_be_raised(tmp_path):
    import optimlab
    from optimlab.sweeps import linspace, logspace

    grid = {"lr": logspace(1e-3, 1e-1, 400), "momentum": linspace(0, 0.9, 300)}
    with pytest.raises(ValueError, match="120,000 configurations is more than the limit of 100,000; grid sizes 4"):
        optimlab.sweep("booth", "sgd", grid=grid, steps=0, start=(1, 1))
    with pytest.raises(ValueError, match="more than the limit of 5; .*2 configurations × 3 seeds"):
        optimlab.sweep("booth", "sgd", grid={"lr": [0.1, 0.2]}, seeds=3, steps=0, max_runs=5)
    assert len(optimlab.sweep("booth", "sgd", grid={"lr": [0.1, 0.2]}, seeds=3, steps=1, max_runs=6)) == 6
    with pytest.raises(ValueError, match="values in one range"):
        logspace(1e-3, 1.0, 10 ** 9)
    r = cli("sweep", "booth", "--grid", "lr=0.1,0.2,0.3", "--seeds", "2", "--max-runs", "5",
            "--out", str(tmp_path / "s"))
    assert_one_line_error(r, "the sweep has 6 runs (3 configurations × 2 seeds), more than --max-runs 5")
    r = cli("bench", "--suite", "functions-2d", "-O", "sgd,adam", "--budget", "1000000", "--store",
            str(tmp_path / "b.sqlite"), "--out", str(tmp_path / "o"))
    assert_one_line_error(r, "18,000,054 trials is more than the limit of 100,000",
                          "9 problems × 2 optimizers × (1000000 budget + 3 seeds)", "--max-trials")
    r = cli("bench", *BENCH, "-O", "sgd", "--max-trials", "2", "--store", str(tmp_path / "b.sqlite"),
            "--out", str(tmp_path / "o"))
    assert_one_line_error(r, "3 trials is more than the limit of 2")
    assert not (tmp_path / "b.sqlite").exists() and not (tmp_path / "o").exists()
    assert not (tmp_path / "s").exists()


def test_long_spec_values_are_refused_quickly(tmp_path):
    from optimlab._spec import parse_value

    for value in ("+".join(["1"] * 150), "(" + ",".join(["0.5"] * 100) + ")"):
        r = cli("run", "booth", "-O", f"sgd:lr={value}", "--start", "1,1", "--out", str(tmp_path / "o"))
        assert_one_line_error(r, "characters long; at most 200")
    for value in ("+".join(["1"] * 100_000), "(" + ",".join(["0.5"] * 500_000) + ")"):  # 200 kB, 2 MB
        r = cli("run", "booth", "-O", f"sgd:lr={value}", "--start", "1,1", "--out", str(tmp_path / "o"))
        line = assert_one_line_error(r, "optimizer spec is", "characters long; at most 2,000")
        assert len(line) < 400  # the message shows the spec's beginning, not all of it
    with pytest.raises(ValueError, match="cannot read value"):
        parse_value("+".join(["1"] * 99), "lr")  # short: literal_eval refuses it, no RecursionError
    assert not (tmp_path / "o").exists()


def test_a_trace_that_would_unpack_past_the_limit_is_not_loaded(tmp_path, monkeypatch):
    import optimlab.record as record

    t = record.Trace(label="z", series={"values": np.zeros(100_000)})
    path = t.save(tmp_path / "z.npz")
    assert path.stat().st_size < 10_000  # zeros: a small file that unpacks to 800 kB
    monkeypatch.setattr(record, "MAX_TRACE_BYTES", 100_000)
    with pytest.raises(ValueError, match=r"z.npz' would unpack to 8\d\d,\d{3} bytes, more than MAX_TRACE_BYTES"):
        record.Trace.load(path)
    monkeypatch.setattr(record, "MAX_TRACE_BYTES", 10 ** 6)
    np.testing.assert_array_equal(record.Trace.load(path).series["values"], np.zeros(100_000))




def test_an_output_folder_that_is_not_writable_is_refused_before_computing(tmp_path, monkeypatch):
    """Root may write anywhere, so the folder's permission is what ``os.access`` answers."""
    import optimlab.cli._common as common

    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(common.os, "access", lambda path, mode: Path(path) != tmp_path / "ro")
    r = cli("train", "moons-logreg", "-O", "sgd", "-e", "1", "--out", str(tmp_path / "ro" / "new" / "out"))
    assert_one_line_error(r, "the folder", "/ro' is not writable")
    assert list((tmp_path / "ro").iterdir()) == []


def test_top_must_be_positive(tmp_path):
    assert_one_line_error(cli("sweep", "booth", "--grid", "lr=0.1", "--top", "-1", "--out", str(tmp_path / "o")),
                          "--top must be >= 1")


@pytest.mark.parametrize("command", [
    ["run", "booth", "-O", "sgd", "--start", "1,1", "--steps", "2"],
    ["sweep", "booth", "--grid", "lr=0.1", "--steps", "2"],
])
def test_an_output_path_with_markup_is_printed_as_written(tmp_path, command):
    out = tmp_path / "r[/x][bold]"
    r = cli(*command, "--out", str(out))
    assert r.exit_code == 0, r.output
    assert "r[/x][bold]" in r.output.replace("\n", "") and (out / "index.html").exists()


def test_a_damaged_trial_in_a_store_is_one_line_naming_it(tmp_path):
    store = tmp_path / "b.sqlite"
    run_bench("booth", "sgd", budget=2, seeds=1, steps=5, store=store)
    with sqlite3.connect(store) as db:
        tid, text = db.execute("SELECT id, result FROM trials LIMIT 1").fetchone()
        db.execute("UPDATE trials SET result = ? WHERE id = ?", (text[: len(text) // 2], tid))
    r = cli("bench", "--report-only", "--store", str(store), "--out", str(tmp_path / "o"))
    assert_one_line_error(r, f"trial {tid} is damaged: its JSON does not parse")
