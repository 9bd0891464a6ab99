"""The benchmark on Optuna storage: the same configurations and numbers as the built-in
store's one-process protocol, import of a store without recomputing, Optuna's samplers
in the registered ranges, one-line errors without Optuna, and (slow) three workers on a
throw-away PostgreSQL server, one of them SIGKILLed mid-run."""

import importlib.util
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bench_kill
import pytest
from cli_helpers import forked_cli

from optimlab.bench import TrialStore, run_bench
from optimlab.bench.protocol import aggregate, trial_result, tune_configs
from optimlab.optim import registry

HINT = 'pip install "optimlab[optuna]"'
needs_optuna = pytest.mark.skipif(importlib.util.find_spec("optuna") is None,
                                  reason=f"Optuna is not installed ({HINT})")
SUITE, SPECS = "booth,rosenbrock", "sgd,adam"
ARGS = dict(budget=3, seeds=2, steps=30, search="random", search_seed=5)
TOTAL = 2 * 2 * (3 + 2)
CELL_KEYS = ("best_hyper", "runs", "median", "min", "max", "solved", "median_steps", "cost")


def _rows(store):
    with TrialStore(store, readonly=True) as st:
        return st.get_meta("bench"), list(st)


def _numbers(desc, rows):
    """What a report shows, without the measured times: every cell's numbers and the tuning lists."""
    agg = aggregate(rows, desc)
    cells = {(k, s): {key: agg["cells"][k][s][key] for key in CELL_KEYS} for k in agg["problems"]
             for s in agg["optimizers"]}
    return cells, agg["tuning"], agg["targets"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The built-in store's one-process benchmark (random search: the configurations that must reappear)."""
    store = tmp_path_factory.mktemp("ref") / "ref.sqlite"
    run_bench(SUITE, SPECS, store=store, **ARGS)
    return store


def _url(path):
    return f"sqlite:///{path}"


@needs_optuna
def test_grid_and_random_lay_out_the_protocols_configurations(tmp_path):
    from optimlab.bench import optuna_store as os_

    for search in ("grid", "random"):
        desc = os_.describe_search(SUITE, SPECS, 4, 2, search, 7, (1e-3, 0.5), 20, 10_000)
        st = os_.open_storage(_url(tmp_path / f"{search}.db"))
        os_.prepare(st, desc)
        for problem in desc["problems"]:
            for spec in desc["optimizers"]:
                trials = os_.require_optuna().load_study(study_name=os_.study_name(desc, problem, spec),
                                                         storage=st).get_trials()
                tune = sorted((t for t in trials if t.user_attrs["phase"] == "tune"),
                              key=lambda t: t.user_attrs["slot"])
                assert [t.system_attrs["fixed_params"] for t in tune] == tune_configs(spec, 4, search, 7, (1e-3, 0.5))
                assert sorted(t.user_attrs["seed"] for t in trials if t.user_attrs["phase"] == "rerun") == [1, 2]
                assert all(t.state.name == "WAITING" for t in trials) and len(trials) == 6
        # a second layout of the same benchmark joins it; another one is refused and changes nothing
        os_.prepare(st, desc)
        with pytest.raises(ValueError, match="another benchmark.*budget"):
            os_.prepare(st, {**desc, "budget": 5})
        assert len(st.get_all_studies()) == 1 + 4


@needs_optuna
def test_optuna_run_has_the_one_process_numbers(reference, tmp_path):
    from optimlab.bench import optuna_bench
    from optimlab.bench.optuna_store import open_storage, read_rows

    url = _url(tmp_path / "o.db")
    run = optuna_bench(SUITE, SPECS, storage=url, batch=2, **ARGS)  # batches of 2, not of a whole phase
    assert (run.computed, run.reused, run.total) == (TOTAL, 0, TOTAL)
    ref_desc, ref_rows = _rows(reference)
    desc, rows = read_rows(open_storage(url))
    assert desc == ref_desc
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in ref_rows)
    ref_final = {r["id"]: trial_result(r)["final"] for r in ref_rows}
    assert {r["id"]: trial_result(r)["final"] for r in rows} == ref_final
    assert _numbers(desc, rows) == _numbers(ref_desc, ref_rows)
    # the trials carry the protocol as attributes, the hyperparameters as params, the final objective as value
    optuna = pytest.importorskip("optuna")
    study = optuna.load_study(study_name="booth,rosenbrock/booth/adam", storage=url)
    for t in study.get_trials():
        stored = t.user_attrs["stored"]
        assert (t.user_attrs["phase"], t.user_attrs["seed"], t.user_attrs["optimizer"], t.user_attrs["problem"]) == \
            (stored["trial"]["phase"], stored["trial"]["seed"], "adam", "booth")
        assert t.value == ref_final[stored["trial_id"]]
        if t.user_attrs["phase"] == "tune":
            assert t.params == stored["trial"]["hyper"]
    assert optuna_bench(SUITE, SPECS, storage=url, **ARGS).computed == 0


@needs_optuna
def test_a_trial_whose_retry_was_never_added_is_put_back(reference, tmp_path, monkeypatch):
    """A worker that fails a stale trial adds its retry in a second write; killed between
    the two it leaves a FAILED trial and no copy. The next worker puts the slot back (once
    it is older than ORPHAN_AGE), so nothing is lost and nothing is done twice."""
    optuna = pytest.importorskip("optuna")
    from optimlab.bench import workers
    from optimlab.bench.optuna_store import describe_search, open_storage, prepare, read_rows

    url = _url(tmp_path / "o.db")
    st = open_storage(url, heartbeat=1)
    desc = describe_search(SUITE, SPECS, ARGS["budget"], ARGS["seeds"], ARGS["search"], ARGS["search_seed"],
                           (1e-4, 1.0), ARGS["steps"], 100_000)
    prepare(st, desc)
    study = optuna.load_study(study_name="booth,rosenbrock/booth/sgd", storage=st)
    victim = min(t.number for t in study.get_trials() if t.user_attrs["phase"] == "tune")
    tid = st.get_trial_id_from_study_id_trial_number(st.get_study_id_from_name(study.study_name), victim)
    st.set_trial_state_values(tid, optuna.trial.TrialState.RUNNING)
    st.set_trial_state_values(tid, optuna.trial.TrialState.FAIL)  # failed as stale, its retry never written
    monkeypatch.setattr(workers, "ORPHAN_AGE", 0.0)
    run = workers.run_worker(st, batch=4, heartbeat=1)
    assert run.computed == TOTAL  # the failed slot too, and no slot twice
    slots = [(t.user_attrs["phase"], t.user_attrs["slot"]) for t in study.get_trials()
             if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(slots) == len(set(slots)) == ARGS["budget"] + ARGS["seeds"]
    desc_read, rows = read_rows(open_storage(url))
    ref_desc, ref_rows = _rows(reference)
    assert _numbers(desc_read, rows) == _numbers(ref_desc, ref_rows)


@needs_optuna
def test_import_of_a_store_computes_only_what_it_lacks(reference, tmp_path):
    from optimlab.bench import import_store, run_worker
    from optimlab.bench.optuna_store import open_storage, read_rows

    partial = tmp_path / "partial.sqlite"
    shutil.copy(reference, partial)
    with sqlite3.connect(partial) as db:  # a benchmark stopped after adam's tuning on rosenbrock
        db.execute("DELETE FROM trials WHERE json_extract(trial, '$.phase') = 'rerun' AND json_extract(trial, "
                   "'$.optimizer') = 'adam' AND json_extract(trial, '$.problem.name') = 'rosenbrock'")
    kept = _rows(partial)[1]
    st = open_storage(_url(tmp_path / "i.db"), heartbeat=5)
    assert import_store(partial, st) == len(kept) == TOTAL - 2
    with pytest.raises(ValueError, match="already holds a benchmark"):
        import_store(partial, st)
    assert run_worker(st).computed == 2
    desc, rows = read_rows(st)
    ref_desc, ref_rows = _rows(reference)
    assert _numbers(desc, rows) == _numbers(ref_desc, ref_rows)
    by_id = {r["id"]: r for r in rows}
    for r in kept:  # imported as they were: the same trace
        assert by_id[r["id"]]["trace"].values.tolist() == r["trace"].values.tolist()


@needs_optuna
@pytest.mark.parametrize("search", ["tpe", pytest.param("qmc", marks=pytest.mark.slow),
                                    pytest.param("cmaes", marks=pytest.mark.slow)])  # slow: the same path as tpe
def test_samplers_tune_the_registered_ranges(search, tmp_path):
    if search == "cmaes":
        pytest.importorskip("cmaes")
    from optimlab.bench import optuna_bench
    from optimlab.bench.optuna_store import open_storage, read_rows

    url = _url(tmp_path / "s.db")
    optuna_bench("booth", "momentum", storage=url, budget=4, seeds=1, steps=10, search=search, lr_range=(1e-3, 0.1))
    _, rows = read_rows(open_storage(url))
    tune = [r["trial"] for r in rows if r["trial"]["phase"] == "tune"]
    (mu_lo, mu_hi), = registry.tuning("momentum").values()
    assert len(tune) == 4 and len({t["hyper"]["lr"] for t in tune}) == 4
    for t in tune:
        assert set(t["hyper"]) == {"lr", "momentum"}
        assert 1e-3 <= t["hyper"]["lr"] <= 0.1 and mu_lo <= t["hyper"]["momentum"] <= mu_hi
    finals = [trial_result(r)["final"] for r in rows if r["trial"]["phase"] == "tune"]
    rerun, = [r["trial"] for r in rows if r["trial"]["phase"] == "rerun"]
    assert rerun["hyper"] == tune[min(range(4), key=lambda i: (finals[i], i))]["hyper"]


def _cli(*args):
    from typer.testing import CliRunner

    from optimlab.cli import app

    return CliRunner().invoke(app, list(args))


def _one_error_line(p, match):
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    assert p.exit_code == 2 and len(lines) == 1 and "error:" in lines[0] and match in lines[0], p.stderr


def test_without_optuna_the_built_in_store_works_and_optuna_options_say_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "optuna", None)  # `import optuna` fails as when it is not installed
    bench = ["--suite", "booth", "--optimizers", "sgd", "--budget", "2", "--seeds", "1", "--steps", "5"]
    for args in (["bench", *bench, "--storage", _url(tmp_path / "x.db")], ["bench", *bench, "--search", "tpe"],
                 ["bench", "worker", "--storage", _url(tmp_path / "x.db")],
                 ["bench", "report", "--storage", _url(tmp_path / "x.db")]):
        _one_error_line(_cli(*args, "--out", str(tmp_path / "o")) if args[1] != "worker" else _cli(*args), HINT)
    assert not (tmp_path / "x.db").exists()
    p = _cli("bench", *bench, "--store", str(tmp_path / "b.sqlite"), "--out", str(tmp_path / "o"))
    assert p.exit_code == 0, p.output
    assert len(_rows(tmp_path / "b.sqlite")[1]) == 3


@needs_optuna
def test_cli_errors_on_optuna_storage_are_one_line(tmp_path):
    from optimlab.bench import optuna_store
    from optimlab.cli import bench as cli_bench

    assert cli_bench.SAMPLED == optuna_store.SAMPLED  # the CLI's copy (it keeps --help free of torch)
    url = _url(tmp_path / "e.db")
    _one_error_line(_cli("bench", "report", "--storage", url), "does not exist")
    _one_error_line(_cli("bench", "--suite", "booth", "--optimizers", "sgd", "--storage", url, "--workers", "0",
                         "--out", str(tmp_path / "o")), "workers must be an integer >= 1")
    _one_error_line(_cli("bench", "--suite", "booth", "--optimizers", "sgd", "--storage", url, "--search", "bayes",
                         "--out", str(tmp_path / "o")), "search must be one of grid, random, tpe, qmc, cmaes")
    _one_error_line(_cli("bench", "worker", "--storage", url, "--suite", "booth"),
                    "give both --suite and -O/--optimizer")
    _one_error_line(_cli("bench", "worker", "--storage", "postgresql://nobody@/none?host=/nonexistent"),
                    "cannot be opened")


# ---------------------------------------------------------------- PostgreSQL, three workers, one killed
def _pg_bin(name):
    found = shutil.which(name)
    if found:
        return found
    cands = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(cands[-1]) if cands else None


@pytest.fixture
def postgres_url():
    """A throw-away PostgreSQL cluster on a unix socket in a temporary folder (no TCP
    port), run as the ``postgres`` system user when the tests run as root; stopped and
    removed afterwards."""
    pytest.importorskip("optuna")
    pytest.importorskip("psycopg2", reason='the PostgreSQL driver: pip install "optimlab[test]"')
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("PostgreSQL is not installed (.ci/run installs Debian's postgresql when run as root)")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))
    if os.geteuid() == 0:
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres system user to run the server")
        os.chown(folder, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = folder / "data"
    try:
        subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync"], check=True,
                       capture_output=True)
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
                        f"-c listen_addresses='' -k {folder} -c fsync=off", "start"], check=True, capture_output=True)
        yield f"postgresql+psycopg2://postgres@/postgres?host={folder}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _running_pids(optuna, storage, study_ids):
    """The pids of the workers holding RUNNING trials, read from one storage object through
    its own API (a ``load_study`` per look on a URL built a new engine and a sampler: 0.06-0.5 s
    of this process's CPU per look, taken from the workers on two cores)."""
    running = (optuna.trial.TrialState.RUNNING,)
    return {t.user_attrs.get("worker", "").rsplit(" ", 1)[-1]
            for i in study_ids for t in storage.get_all_trials(i, deepcopy=False, states=running)}


@pytest.mark.slow  # three worker processes on a real PostgreSQL server, one killed (about 10-25 s)
def test_three_workers_on_postgresql_one_killed(postgres_url, tmp_path):
    optuna = pytest.importorskip("optuna")
    from optimlab.bench.optuna_store import describe_search, open_storage, prepare, read_rows, study_name
    from optimlab.report import build_report

    # 300 steps: a trial lasts long enough (~50 ms) to be caught running
    args = dict(budget=2, seeds=2, steps=300, search="random", search_seed=1)
    desc = describe_search(SUITE, SPECS, lr_range=(1e-4, 1.0), max_trials=1000, **args)
    laid_out = open_storage(postgres_url)
    prepare(laid_out, desc)
    laid_out.engine.dispose()  # closed: the forked workers share no connection with this process
    names = [study_name(desc, p, s) for p in desc["problems"] for s in desc["optimizers"]]
    logs = [tmp_path / f"worker{i}.log" for i in range(3)]
    procs = [forked_cli(log, "bench", "worker", "--storage", postgres_url, "--batch", "2", "--heartbeat", "1")
             for log in logs]
    victim = procs[1]
    storage = open_storage(postgres_url)
    study_ids = [storage.get_study_id_from_name(n) for n in names]
    deadline, caught = time.time() + 60, False
    while time.time() < deadline and victim.is_alive():  # kill the victim while it holds RUNNING trials
        if str(victim.pid) in _running_pids(optuna, storage, study_ids):
            os.kill(victim.pid, signal.SIGSTOP)  # frozen, it can no longer finish them between the look and the kill
            caught = str(victim.pid) in _running_pids(optuna, storage, study_ids)
            if caught:
                break
            os.kill(victim.pid, signal.SIGCONT)
        time.sleep(0.05)  # a look costs this process ~15 ms of CPU, which the workers need
    victim.kill()
    assert caught, "the victim was never seen holding a trial (its trials take milliseconds: none was caught)"
    for p, log in ((procs[0], logs[0]), (procs[2], logs[2])):
        p.join(120)
        assert p.exitcode == 0, log.read_text()[-2000:]
    victim.join()
    # every trial exactly once; the victim's trials failed and were retried by the others
    total = 2 * 2 * (args["budget"] + args["seeds"])
    failed, ids = [], []
    for n in names:
        trials = optuna.load_study(study_name=n, storage=postgres_url).get_trials()
        ids += [t.user_attrs["stored"]["trial_id"] for t in trials if t.state.name == "COMPLETE"]
        failed += [t for t in trials if t.state.name == "FAIL"]
        assert all(t.state.name in ("COMPLETE", "FAIL") for t in trials)
    assert len(ids) == len(set(ids)) == total
    # each failed trial is the victim's: tagged with its pid, or untagged when it was frozen between
    # a trial's two writes (RUNNING, then the tag: workers._take); the other workers' tags never fail
    victims = [t.user_attrs.get("worker") for t in failed]
    assert any(w is not None for w in victims), "no failed trial is tagged with the victim's pid"
    assert all(w is None or w.endswith(f"pid {victim.pid}") for w in victims), victims
    # the report from the database alone has the one-process run's numbers
    ref = tmp_path / "ref.sqlite"
    run_bench(SUITE, SPECS, store=ref, **args)
    ref_desc, ref_rows = _rows(ref)
    _, rows = read_rows(open_storage(postgres_url))
    assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in ref_rows)
    assert _numbers(desc, rows) == _numbers(ref_desc, ref_rows)
    _, agg = build_report(postgres_url, tmp_path / "page")
    assert {(k, s): agg["cells"][k][s]["cost"] for k in agg["problems"] for s in agg["optimizers"]} == \
        {key: c["cost"] for key, c in _numbers(ref_desc, ref_rows)[0].items()}




def _sqlite_states(path):
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return dict(db.execute("SELECT state, COUNT(*) FROM trials GROUP BY state").fetchall())
    except sqlite3.Error:
        return {}


@pytest.mark.slow  # test_bench's kill-and-resume, on an Optuna SQLite storage (about 10-20 s)
def test_killed_benchmark_on_optuna_storage_resumes(tmp_path, kill_bench_reference):
    pytest.importorskip("optuna")
    from optimlab.bench import optuna_bench
    from optimlab.bench.optuna_store import open_storage, read_rows

    db = tmp_path / "k.db"
    proc = forked_cli(tmp_path / "bench.log", "bench", *bench_kill.cli_args(), "--storage", _url(db), "--batch", "2",
                      "--heartbeat", "1", "--out", str(tmp_path / "o"))
    deadline = time.time() + 60

    def mid_run() -> bool:
        states = _sqlite_states(db)
        return states.get("COMPLETE", 0) >= 8 and bool(states.get("RUNNING", 0))

    while time.time() < deadline and proc.is_alive():  # kill it while it holds RUNNING trials
        if mid_run():
            os.kill(proc.pid, signal.SIGSTOP)  # frozen, it can no longer finish them between the look and the kill
            if mid_run():
                break
            os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.01)
    proc.kill()
    proc.join()
    total, args = bench_kill.TOTAL, bench_kill.ARGS
    before = {r["id"]: (r["finished"], r["pid"]) for r in read_rows(open_storage(_url(db)))[1]}
    assert 0 < len(before) < total, f"kill missed the run: {len(before)} of {total} finished"
    run = optuna_bench(bench_kill.SUITE, args["optimizers"], storage=_url(db), budget=args["budget"],
                       seeds=args["seeds"], steps=args["steps"], heartbeat=1)
    assert (run.total, run.computed, run.reused) == (total, total - len(before), len(before))
    _, rows = read_rows(open_storage(_url(db)))
    assert len(rows) == total == len({r["id"] for r in rows})
    for r in rows:
        if r["id"] in before:  # untouched: same finishing time and worker
            assert (r["finished"], r["pid"]) == before[r["id"]]
    assert _sqlite_states(db).get("FAIL", 0) >= 1  # the killed batch, failed as stale and retried
    ref_desc, ref_rows = _rows(kill_bench_reference)
    assert {r["id"]: trial_result(r)["final"] for r in ref_rows} == {r["id"]: trial_result(r)["final"] for r in rows}
    # what a page from the database alone would show: the one-process store's numbers (the page
    # itself, drawn from a storage URL, is the PostgreSQL test's)
    desc, rows = read_rows(open_storage(_url(db)))
    assert _numbers(desc, rows)[0] == _numbers(ref_desc, ref_rows)[0]
