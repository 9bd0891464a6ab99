"""The playground's server (issue 12) through Starlette's test client: every endpoint, bad input
and limits, and that what it answers is exactly what the library computes (``optimlab.run``,
``optimlab.sweep``, the function's formula written out in NumPy)."""

from __future__ import annotations

import io
import json
import shlex
import sys
import warnings

import numpy as np
import pytest
import torch
from typer.main import get_command

import optimlab
from optimlab import cli, demo, schedules, stopping
from optimlab.functions import FormulaError, parse
from optimlab.optim import registry
from optimlab.play import api, compute
from optimlab.play.app import Latest, Superseded, create_app, plotly_js
from optimlab.record import Trace

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its test client; httpx works the same here
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

VIEW = {"function": "beale", "start": [1.0, 1.5], "steps": 25,
        "optimizers": [{"name": "adam", "label": "Adam", "options": {"lr": 0.05, "betas": [0.8, 0.99]}},
                       {"name": "momentum", "options": {"lr": 0.001, "momentum": 0.7, "momentum_form": "velocity"}}]}


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture(scope="module")
def meta(client):
    r = client.get("/api/meta")
    assert r.status_code == 200
    return r.json()


def post(client, path, body, status=200):
    r = client.post(path, json=body)
    assert r.status_code == status, r.text
    return r.json()


def beale_numpy(x, y):
    """Beale's function written out (Beale 1958), independently of optimlab's torch code."""
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


# ------------------------------------------------------------------ pages and lists
def test_the_page_its_files_and_plotly_are_served_locally(client):
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/plotly.min.js">' in page.text
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    js = client.get("/plotly.min.js")
    assert js.status_code == 200 and js.content == plotly_js().read_bytes()
    for name in ("play.js", "play.css"):
        assert client.get(f"/static/{name}").status_code == 200


def test_meta_lists_the_two_d_functions_and_every_registered_optimizer(meta):
    names = [f["name"] for f in meta["functions"]]
    assert names == [n for n in optimlab.functions.names() if optimlab.functions.get(n).dim == 2]
    beale = next(f for f in meta["functions"] if f["name"] == "beale")
    assert beale["minimizers"] == [[3.0, 0.5]] and beale["domain"] == [[-4.5, 4.5], [-4.5, 4.5]]
    assert [o["name"] for o in meta["optimizers"]] == registry.available()
    assert meta["limits"] == api.LIMITS


def test_controls_follow_the_registry_and_the_declared_tables(meta):
    opts = {o["name"]: o for o in meta["optimizers"]}
    adam = {c["name"]: c for c in opts["adam"]["controls"]}
    assert set(adam) == set(registry.options("adam")) - set(api.NO_EFFECT)
    assert adam["lr"]["default"] == 1e-3 and adam["lr"]["log"] and adam["lr"]["slider"] == [1e-3 * 1e-4, 1e-3 * 1e4]
    # betas: Items of Range(0, 1, hi_open=True): two sliders up to just below 1
    assert [i["slider"] for i in adam["betas"]["items"]] == [[0.0, 0.999], [0.0, 0.999]]
    assert adam["amsgrad"]["kind"] == "flag" and adam["amsgrad"]["default"] is False
    sgd = {c["name"]: c for c in opts["sgd"]["controls"]}
    assert sgd["momentum_form"]["kind"] == "choice" and "velocity" in sgd["momentum_form"]["choices"]
    assert sgd["momentum"]["slider"] == [0.0, 0.99]  # the bench's range (0.0, 0.99) from the declared 0
    assert opts["momentum"]["presets"] == {"momentum": 0.9}
    assert {c["name"]: c for c in opts["momentum"]["controls"]}["momentum"]["default"] == 0.9
    keras_adam = {c["name"]: c for c in opts["keras.adam"]["controls"]}
    assert keras_adam["learning_rate"]["log"] and keras_adam["beta_1"]["slider"] == [0.0, 0.999]
    # what Keras' Adam refuses (optimlab's betas reach its signature through **kwargs) gets no control
    with pytest.raises(TypeError, match="unexpected argument 'betas'"):
        registry.create([torch.zeros(2, requires_grad=True)], "keras.adam", betas=(0.9, 0.999))
    assert "betas" not in keras_adam and opts["keras.adam"]["map_axes"] == ["beta_1"]
    assert opts["adam"]["map_axes"][0] == "beta1" and opts["sgd"]["map_axes"][0] == "momentum"
    assert opts["adadelta"]["map_axes"] == ["rho"]


def test_presets_are_the_demo_scenes_with_their_settings(meta):
    scenes = {s.key: s for s in demo.SCENES}
    keys = [p["key"] for p in meta["presets"]]
    assert keys == ["notebook-quadratic", "notebook-nonconvex", "beale", "long-valley", "saddle"]
    for p in meta["presets"]:
        s = scenes[p["key"]]
        assert (p["function"], tuple(p["start"]), p["steps"]) == (s.function, s.start, s.steps)
        got = {o["label"]: (o["name"], {k: tuple(v) if isinstance(v, list) else v for k, v in o["options"].items()})
               for o in p["optimizers"]}
        assert got == s.methods


# ------------------------------------------------------------------ what is computed
def test_paths_are_exactly_the_library_run(client):
    out = post(client, "/api/paths", VIEW)
    assert [t["label"] for t in out["traces"]] == ["Adam", "momentum(lr=0.001, momentum=0.7, momentum_form=velocity)"]
    for t, o in zip(out["traces"], VIEW["optimizers"]):
        options = {k: tuple(v) if isinstance(v, list) else v for k, v in o["options"].items()}
        ref = optimlab.run("beale", (o["name"], options), start=(1.0, 1.5), steps=25)
        assert np.array_equal(np.array(t["params"]), ref.params)
        assert np.array_equal(np.array(t["values"]), ref.values)
        assert np.array_equal(np.array(t["grad_norms"]), ref.grad_norms)
        assert t["stop_reason"] == ref.stop_reason == "max_steps" and t["steps"] == 25


def test_compiled_paths_take_the_sliders_as_inputs_and_match_the_library(monkeypatch, tmp_path):
    from optimlab.runner import compiled, programs

    monkeypatch.setattr(compiled, "BACKEND", "graph")  # the traced program, not a C++ build (tests/test_compiled_runs)
    monkeypatch.setattr(programs, "CHUNK", 1)
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path))
    assert compute.per_run({"lr": 0.05, "betas": (0.8, 0.99), "amsgrad": True, "momentum_form": "velocity"}) == (
        {"amsgrad": True, "momentum_form": "velocity"}, {"lr": [0.05], "betas": [(0.8, 0.99)]})
    with TestClient(create_app(compile=True)) as c:
        out = post(c, "/api/paths", VIEW)
    for t, o in zip(out["traces"], VIEW["optimizers"]):
        options = {k: tuple(v) if isinstance(v, list) else v for k, v in o["options"].items()}
        ref = optimlab.run("beale", (o["name"], options), start=(1.0, 1.5), steps=25)
        np.testing.assert_allclose(np.array(t["params"]), ref.params, rtol=1e-12, atol=0)
        np.testing.assert_allclose(np.array(t["values"]), ref.values, rtol=1e-12, atol=0)
        assert t["stop_reason"] == ref.stop_reason and t["steps"] == ref.steps


def test_auto_builds_each_missing_program_once_in_the_background(monkeypatch, tmp_path):
    from optimlab.runner import compiled, programs

    monkeypatch.setattr(compiled, "BACKEND", "graph")
    monkeypatch.setattr(programs, "CHUNK", 1)
    monkeypatch.setenv(compiled.CACHE_ENV, str(tmp_path))
    monkeypatch.setattr(compute, "_ASKED", set())
    started = []
    monkeypatch.setattr(compute.subprocess, "Popen", lambda cmd, **kw: started.append(cmd))
    req = api.paths_request(VIEW)
    compute.paths(req, None, "auto")
    view2 = {**VIEW, "start": [0.5, 1.0], "optimizers": [{**o, "options": {**o["options"], "lr": 0.01}}
                                                          for o in VIEW["optimizers"]]}
    compute.paths(api.paths_request(view2), None, "auto")  # other values, the same programs: nothing new
    assert len(started) == len(VIEW["optimizers"])
    assert all(cmd[:2] == [sys.executable, "-c"] and cmd[2] == compute.BUILD for cmd in started)
    # the build job is the method's one compiled step: run it here (the traced program) as the child would
    for cmd in started:
        monkeypatch.setattr(sys, "argv", ["-c", cmd[3]])
        exec(compile(cmd[2], "<build>", "exec"), {})


def test_stop_rules_and_schedules_reach_the_runner(client):
    body = {**VIEW, "optimizers": VIEW["optimizers"][:1], "steps": 150, "stop": {"grad_tol": 0.1},
            "schedule": {"kind": "exponential", "gamma": 0.99}}
    out = post(client, "/api/paths", body)
    sched = (torch.optim.lr_scheduler.ExponentialLR, {"gamma": 0.99})
    ref = optimlab.run("beale", ("adam", {"lr": 0.05, "betas": (0.8, 0.99)}), start=(1.0, 1.5), steps=150,
                       stop=[stopping.GradTol(0.1)], schedule=sched)
    t = out["traces"][0]
    assert t["stop_reason"] == ref.stop_reason == "grad_tol" and t["steps"] == ref.steps < 150
    assert np.array_equal(np.array(t["params"]), ref.params)
    assert np.array_equal(np.array(t["lrs"]), ref.lrs) and t["lrs"][1] == pytest.approx(0.05 * 0.99, rel=1e-15)


def test_the_level_grid_is_the_function_and_its_levels_log_spaced(client):
    out = post(client, "/api/landscape", {"function": "beale", "grid": 40, "window": [[-2, 4], [-1, 2]]})
    X, Y = np.meshgrid(np.linspace(-2, 4, 40), np.linspace(-1, 2, 40))
    f = np.array(out["f"])
    np.testing.assert_allclose(f, beale_numpy(X, Y), rtol=1e-13, atol=1e-13)
    levels = np.array(out["levels"])
    assert len(levels) == compute.N_LEVELS and out["log_levels"]
    base = min(f.min(), 0.0)  # log-spaced in f − min(min f, f*): a constant ratio
    ratios = (levels[1:] - base) / (levels[:-1] - base)
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-9)
    assert levels[-1] == pytest.approx(f.max())
    # Plotly's evenly spaced lines at 0, 1, ... of `level` lie where f crosses levels[i]
    level = np.array(out["level"])
    idx = np.searchsorted(levels, f, side="right") - 1
    inside = (f >= levels[0]) & (f <= levels[-1])
    assert np.all(np.floor(level[inside] + 1e-9).clip(max=len(levels) - 1) == idx[inside].clip(max=len(levels) - 1))
    assert out["minimizers"] == [[3.0, 0.5]]
    # the level lines: every vertex lies on a grid-cell edge where the edge's linear interpolation
    # of Beale's NumPy values is that level (marching squares), checked here without contourpy
    xs, ys = np.linspace(-2, 4, 40), np.linspace(-1, 2, 40)
    assert [ln["value"] for ln in out["lines"]] == out["levels"]
    checked = 0
    for ln in out["lines"][::7]:
        for x, y in zip(ln["x"], ln["y"]):
            if x is None:
                continue
            on_x, on_y = np.isclose(xs, x, rtol=0, atol=1e-12), np.isclose(ys, y, rtol=0, atol=1e-12)
            assert on_x.any() or on_y.any(), (x, y)
            if on_x.any():  # a vertical edge: interpolate in y between the nodes around it
                j = min(np.searchsorted(ys, y), len(ys) - 1)
                a, b = ys[max(j - 1, 0)], ys[j]
                fa, fb = beale_numpy(x, a), beale_numpy(x, b)
                fv = fa + (fb - fa) * (y - a) / (b - a) if b > a else fa
            else:
                i = min(np.searchsorted(xs, x), len(xs) - 1)
                a, b = xs[max(i - 1, 0)], xs[i]
                fa, fb = beale_numpy(a, y), beale_numpy(b, y)
                fv = fa + (fb - fa) * (x - a) / (b - a) if b > a else fa
            assert fv == pytest.approx(ln["value"], rel=1e-9, abs=1e-12)
            checked += 1
    assert checked > 100


def test_the_stability_map_is_one_sweep_and_each_cell_the_run_alone(client):
    body = {"function": "beale", "start": [1.0, 1.5], "steps": 30, "optimizer": {"name": "sgd", "options": {}},
            "lr": [1e-4, 1e-2], "y": [0.0, 0.9], "n": [3, 4]}
    out = post(client, "/api/map", body)
    assert out["axis"] == "momentum" and out["lr"] == optimlab.logspace(1e-4, 1e-2, 3)
    assert np.array(out["z"]).shape == (4, 3)
    lr, mom = out["lr"][2], out["y"][1]
    alone = optimlab.run("beale", ("sgd", {"lr": lr, "momentum": mom}), start=(1.0, 1.5), steps=30)
    assert out["final"][1][2] == pytest.approx(alone.values[-1], rel=1e-12)
    assert out["z"][1][2] == pytest.approx(np.log10(alone.values[-1]), rel=1e-12)  # f* = 0
    assert out["z_label"] == "log10(f − f*)" and out["lr_option"] == "lr"
    # a Keras constructor: its learning_rate is swept (its lr is Keras 2's alias), the map is the runs alone
    keras = post(client, "/api/map", {**body, "optimizer": {"name": "keras.sgd", "options": {"learning_rate": 0.5}}})
    assert keras["lr_option"] == "learning_rate" and keras["axis"] == "momentum"
    alone = optimlab.run("beale", ("keras.sgd", {"learning_rate": keras["lr"][0], "momentum": keras["y"][3]}),
                         start=(1.0, 1.5), steps=30)
    assert keras["final"][3][0] == pytest.approx(alone.values[-1], rel=1e-12)
    # a formula knows no f*: the map shows f less its lowest final value
    formula = post(client, "/api/map", {**body, "function": "(x-1)**2 + 3*y**2 + 2"})
    final = np.array(formula["final"])
    assert formula["z_label"] == "log10(f − lowest f of the map)"
    np.testing.assert_allclose(np.array(formula["z"]), np.log10(np.maximum(final - final.min(), compute.GAP_FLOOR)))


def test_code_export_reproduces_the_view(client, capsys):
    body = {**VIEW, "stop": {"f_tol": 1e-9}}
    page = post(client, "/api/paths", body)
    code = post(client, "/api/code", body)
    scope: dict = {}
    exec(compile(code["python"], "<playground code>", "exec"), scope)  # the generated script, as a user runs it
    capsys.readouterr()
    for t in page["traces"]:
        assert np.array_equal(scope["traces"][t["label"]].params, np.array(t["params"]))
    # the command line parses with the real parser into the same settings
    words = shlex.split(code["cli"])
    group = get_command(cli.app)
    ctx = group.make_context("optimlab", words[1:], resilient_parsing=False)
    run_cmd = group.get_command(ctx, words[1])
    params = run_cmd.make_context("run", words[2:], parent=ctx).params
    assert params["function"] == "beale" and params["steps"] == 25 and params["stop"] == ["f_tol=1e-09"]
    assert [registry.parse_spec(s) for s in params["optimizer"]] == [
        (o["name"], {k: tuple(v) if isinstance(v, list) else v for k, v in o["options"].items()})
        for o in VIEW["optimizers"]]
    assert [float(v) for v in params["start"].split(",")] == [1.0, 1.5]


def test_a_schedules_command_line_computes_the_pages_traces(client):
    # inverse_time: the page's kind whose argument was misnamed ('rate'), so every such view failed
    body = {**VIEW, "schedule": {"kind": "inverse_time", "decay_steps": 2, "decay_rate": 0.3}}
    page = post(client, "/api/paths", body)
    code = post(client, "/api/code", body)
    assert "optimlab.schedules.InverseTimeDecay, {'decay_steps': 2, 'decay_rate': 0.3}" in code["python"]
    words = shlex.split(code["cli"])
    group = get_command(cli.app)
    ctx = group.make_context("optimlab", words[1:], resilient_parsing=False)
    params = group.get_command(ctx, words[1]).make_context("run", words[2:], parent=ctx).params
    assert params["schedule"] == "inverse_time:decay_steps=2,decay_rate=0.3"
    schedule = schedules.parse_schedule(params["schedule"], functions=True)  # what optimlab run does with it
    start = [float(v) for v in params["start"].split(",")]
    for spec, t in zip(params["optimizer"], page["traces"]):
        ref = optimlab.run(params["function"], spec, start, params["steps"], schedule=schedule)
        assert np.array_equal(np.array(t["params"]), ref.params) and np.array_equal(np.array(t["lrs"]), ref.lrs)
    assert page["traces"][0]["lrs"][5] == pytest.approx(0.05 / (1 + 0.3 * 5 / 2), rel=1e-15)


def test_exports_json_npz_gif(client):
    ref = optimlab.run("beale", ("adam", {"lr": 0.05, "betas": (0.8, 0.99)}), start=(1.0, 1.5), steps=25)
    r = client.post("/api/export/json", json=VIEW)
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    data = r.json()
    assert data["view"]["function"] == "beale" and len(data["traces"]) == 2
    assert np.array_equal(Trace.from_dict(data["traces"][0]).params, ref.params)
    r = client.post("/api/export/npz", json=VIEW)
    npz = np.load(io.BytesIO(r.content))
    assert list(npz["labels"]) == [t["label"] for t in data["view"]["optimizers"]]
    assert np.array_equal(npz["params_0"], ref.params)
    assert json.loads(str(npz["view"]))["steps"] == 25
    r = client.post("/api/export/gif", json={**VIEW, "steps": 4})
    assert r.status_code == 200 and r.headers["content-type"] == "image/gif" and r.content[:4] == b"GIF8"
    assert post(client, "/api/export/pdf", VIEW, 400)["error"].startswith("export kind must be json, npz or gif")


# ------------------------------------------------------------------ bad input and limits
def test_a_formula_error_comes_back_with_its_caret(client):
    text = "(x-3)**2 + 8*(y-5)**4 + sqrt(x) + sin(x*y"
    out = post(client, "/api/landscape", {"function": text}, 400)
    with pytest.raises(FormulaError) as e:
        parse(text)
    assert out["field"] == "function" and out["position"] == e.value.position
    assert out["detail"] == str(e.value) and out["detail"].splitlines()[-1].strip() == "^"
    assert "Traceback" not in json.dumps(out)


@pytest.mark.parametrize("body,field,message", [
    ({"function": "x" * 501}, "function", "the formula has 501 characters; the playground takes at most 500"),
    ({"function": "x**2 + 1"}, "function", "the playground draws functions of two variables (x, y); 'x**2 + 1' has 1"),
    ({"function": "beale", "steps": 5001}, "steps", "steps must be an integer in [0, 5000], got 5001"),
    ({"function": "beale", "steps": 2.5}, "steps", "steps must be an integer in [0, 5000], got 2.5"),
    ({"function": "beale", "start": [1, "a"]}, "start", "start must be a finite number, got 'a'"),
    ({"function": "beale", "window": [[1, 0], [0, 1]]}, "window", "window must have x0 < x1 and y0 < y1"),
    ({"function": "beale", "optimizers": [{"name": "sgd"}] * 13}, "optimizers",
     "13 optimizers: the playground draws at most 12 at once"),
    ({"function": "beale", "stop": {"x_tol": 1}}, "stop", "stop rule 'x_tol' is not one of f_tol, rel_f_tol, grad_tol"),
    ({"function": "beale", "schedule": {"kind": "warp"}}, "schedule", "schedule kind must be one of none, exponential"),
])
def test_bad_requests_are_one_json_error_naming_the_field(client, body, field, message):
    out = post(client, "/api/paths", {"optimizers": [], **body}, 400)
    assert out["field"] == field and out["error"].startswith(message), out


@pytest.mark.parametrize("optimizer,library", [
    ({"name": "adamm"}, lambda: registry.lookup("adamm")),
    ({"name": "sgd", "options": {"foo": 1}}, lambda: registry.check_options("sgd", {"foo": 1})),
    ({"name": "adam", "options": {"lr": -1}}, lambda: registry.create([torch.zeros(2, requires_grad=True)],
                                                                      "adam", lr=-1)),
])
def test_optimizer_errors_carry_the_library_message(client, optimizer, library):
    with pytest.raises(ValueError) as e:
        library()
    out = post(client, "/api/paths", {"function": "beale", "optimizers": [{"name": "sgd"}, optimizer]}, 400)
    assert out["field"] == "optimizers[1]" and out["error"] == f"{optimizer['name']}: {e.value}"


def test_an_optimizer_that_cannot_take_a_point_is_named_before_computing(client):
    out = post(client, "/api/paths", {"function": "beale", "optimizers": [{"name": "adam"}, {"name": "muon"}]}, 400)
    with pytest.raises(ValueError) as e:  # how the runner builds it for one run of a point
        optimlab.run("beale", "muon", steps=1)
    assert out["field"] == "optimizers[1]" and out["error"] == f"muon: {e.value}"


def test_map_limits_and_axes(client):
    base = {"function": "beale", "optimizer": {"name": "sgd"}}
    assert post(client, "/api/map", {**base, "n": [65, 2]}, 400)["error"] == "n must be an integer in [2, 64], got 65"
    assert post(client, "/api/map", {**base, "steps": 2001}, 400)["field"] == "steps"
    assert post(client, "/api/map", {**base, "axis": "beta1"}, 400)["error"] == \
        "axis for sgd must be one of momentum; got 'beta1'"
    assert post(client, "/api/map", {**base, "optimizer": {"name": "lbfgs"}}, 400)["error"].startswith(
        "axis for lbfgs must be one of (none")


def test_not_json_too_big_and_internal_errors_never_stop_the_server(client, monkeypatch):
    r = client.post("/api/paths", content=b"{nope")
    assert r.status_code == 400 and r.json()["error"].startswith("the request is not JSON")
    big = {"function": "beale", "pad": "x" * (api.LIMITS["body_bytes"] + 1)}
    assert post(client, "/api/paths", big, 400)["error"].startswith("the request has ")

    def broken(req):
        raise KeyError("boom")

    monkeypatch.setattr(compute, "landscape", broken)
    assert post(client, "/api/landscape", {"function": "beale"}, 500)["error"] == "internal error: KeyError: boom"
    monkeypatch.undo()
    assert post(client, "/api/landscape", {"function": "beale", "grid": 10})["window"] == [[-4.5, 4.5], [-4.5, 4.5]]


def test_a_newer_request_supersedes_the_running_one():
    latest = Latest()
    req = api.paths_request({**VIEW, "steps": 1000})
    first = latest.begin(("page", "paths"))
    calls = []

    def check():
        calls.append(1)
        if len(calls) == 10:  # a newer request of the same page arrives while this one computes
            latest.begin(("page", "paths"))
        first()

    with pytest.raises(Superseded):
        compute.paths(req, check)
    assert len(calls) == 10  # stopped at once (the check of that very step), not after 2000 steps
    latest.begin(("other page", "paths"))()  # another client is not superseded


def test_the_page_s_last_request_wins_whatever_order_its_requests_arrive_in():
    latest = Latest()
    key = ("page", "paths")
    fifth = latest.begin(key, 5)  # the page's fifth slider move arrives (or is parsed) first
    fourth = latest.begin(key, 4)
    fifth()
    with pytest.raises(Superseded):
        fourth()
    # a paths request stops the maps asked for so far; the page's next map (its next number) runs
    old_map = latest.begin(("page", "map"), 2)
    latest.stop(("page", "map"))
    with pytest.raises(Superseded):
        old_map()
    latest.begin(("page", "map"), 3)()
    # without numbers (other clients of the API): the order of arrival, as before
    first = latest.begin(("api", "paths"))
    latest.begin(("api", "paths"))()
    with pytest.raises(Superseded):
        first()


def test_new_paths_stop_the_map_of_the_old_view_over_http(client, monkeypatch):
    import threading
    import time

    started, answers = threading.Event(), {}

    def slow_map(req, check):  # a map that takes as long as it is let
        started.set()
        deadline = time.time() + 10
        while time.time() < deadline:
            check()
            time.sleep(0.005)
        return {"timed_out": True}

    monkeypatch.setattr(compute, "stability_map", slow_map)
    body = {"function": "beale", "optimizer": {"name": "sgd"}, "client": "page-1"}
    worker = threading.Thread(target=lambda: answers.update(map=client.post("/api/map", json=body)))
    worker.start()
    assert started.wait(10)
    # a paths request of another page, or one whose map does not follow, leaves the map alone
    paths = {**VIEW, "steps": 1}
    other = threading.Thread(target=lambda: client.post("/api/paths", json={**paths, "client": "page-2",
                                                                            "map_follows": True}))
    other.start()
    time.sleep(0.1)
    assert "map" not in answers
    assert client.post("/api/paths", json={**paths, "client": "page-1", "map_follows": True}).status_code == 200
    worker.join(10)
    other.join(10)
    assert answers["map"].status_code == 409 and answers["map"].json()["superseded"] is True


# ------------------------------------------------------------------ the command
def test_play_command_errors_are_one_line(capsys, monkeypatch):
    import socket

    from optimlab.cli import play as play_cli

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(SystemExit) as e:
            cli.main(["play", "--port", str(port), "--no-open"])
        assert e.value.code == 2
        assert capsys.readouterr().err.strip() == (f"error: port {port} on 127.0.0.1 is taken (another server listens "
                                                   f"there): choose another with --port")
    monkeypatch.setattr(play_cli, "PLAY_EXTRA", ("starlette", "no_such_package_here"))
    with pytest.raises(SystemExit):
        cli.main(["play", "--no-open"])
    assert capsys.readouterr().err.strip() == ("error: optimlab play needs the play extra (missing: "
                                               "no_such_package_here): pip install 'optimlab[play]'")
