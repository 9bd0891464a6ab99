"""The playground in a real browser (issue 12): Debian's Chromium driven by Playwright, the server
on 127.0.0.1 in a thread. What is drawn is read from the Plotly graphs' data in the page and
compared with the library's own traces (``optimlab.run``, ``optimlab.compare``), exactly."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from urllib.parse import quote

import numpy as np
import pytest

import optimlab
from optimlab import demo
from optimlab.functions import FormulaError, parse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.slow,  # end to end: a browser, a server, the page's own requests
              pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (.ci/run installs Debian's "
                                                          "chromium; locally: apt-get install chromium)")]

# a small view (few steps, a small map) so the whole module stays at a few seconds
START_VIEW = {"fname": "beale", "formula": "", "window": [[-4.5, 4.5], [-4.5, 4.5]], "start": [1.0, 1.5],
              "steps": 40, "surface": False, "stop": {}, "schedule": {"kind": "none"},
              "map": {"opt": 1, "axis": "momentum", "n": 6, "live": False},
              "optimizers": [{"name": "adam", "label": "Adam", "options": {"lr": 0.1}},
                             {"name": "momentum", "label": "Momentum", "options": {"lr": 0.001}}],
              "colors": ["#000000", "#e69f00"], "visible": [True, True]}

PATHS_JS = """() => document.getElementById('landscape').data.filter(t => t.meta === 'path')
                   .map(t => ({name: t.name, x: Array.from(t.x), y: Array.from(t.y)}))"""
STATE_JS = "() => JSON.parse(JSON.stringify(window.playground.state))"


@pytest.fixture(scope="module")
def server():
    import uvicorn

    from optimlab.play.app import create_app

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/"
    srv.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.goto(server + "#" + quote(json.dumps(START_VIEW)))
        settle(pg)
        yield pg
        assert errors == []
        browser.close()


def settle(pg) -> None:
    """Wait until the page has no request in flight (and has drawn what came back)."""
    pg.wait_for_timeout(30)
    pg.wait_for_function("window.playground && window.playground.idle() && window.playground.paths !== null",
                         timeout=30000)


def assert_drawn_paths_are_the_library_runs(pg) -> dict:
    state = pg.evaluate(STATE_JS)
    drawn = pg.evaluate(PATHS_JS)
    function = state["formula"].strip() or state["function"]
    assert [d["name"] for d in drawn] == [o["label"] for o in state["optimizers"] if o["visible"]]
    visible = [o for o in state["optimizers"] if o["visible"]]
    for d, o in zip(drawn, visible):
        options = {k: tuple(v) if isinstance(v, list) else v for k, v in o["options"].items()}
        ref = optimlab.run(function, (o["name"], options), start=state["start"], steps=state["steps"])
        assert np.array_equal(np.column_stack([d["x"], d["y"]]), ref.params), o
    return state


def click_at(pg, div: str, x: float, y: float) -> None:
    """A mouse click where the graph ``div`` draws the data point (x, y) (log axes: log10 positions)."""
    cx, cy = pg.evaluate("""([div, x, y]) => { const gd = document.getElementById(div), L = gd._fullLayout;
        gd.scrollIntoView({block: "center"});
        const r = gd.getBoundingClientRect();
        return [r.left + L._size.l + L.xaxis.l2p(x), r.top + L._size.t + L.yaxis.l2p(y)]; }""", [div, x, y])
    pg.mouse.click(cx, cy)


def test_load_click_slider_and_formula(page, tmp_path_factory):
    state = assert_drawn_paths_are_the_library_runs(page)
    assert state["start"] == [1.0, 1.5] and state["steps"] == 40
    # click a start point: the paths start there and are the library's runs from it
    click_at(page, "landscape", 2.0, -1.0)
    settle(page)
    state = assert_drawn_paths_are_the_library_runs(page)
    assert state["start"] == pytest.approx([2.0, -1.0], abs=0.05)  # one pixel is about 0.012 here
    assert page.evaluate(PATHS_JS)[0]["x"][0] == state["start"][0]
    # move Adam's learning-rate slider with the keyboard: a new lr, new paths, still the library's
    slider = page.locator('.opt[data-index="0"] input[type=range][data-option="lr"]')
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowLeft")
    settle(page)
    state = assert_drawn_paths_are_the_library_runs(page)
    assert state["optimizers"][0]["options"]["lr"] < 0.1
    assert float(page.locator('.opt[data-index="0"] input.val[data-option="lr"]').input_value()) == \
        state["optimizers"][0]["options"]["lr"]
    # a formula with an error: shown under the box with its caret; then a good one
    bad = "x**2 + 3*(y"
    page.fill("#formula", bad)
    page.press("#formula", "Tab")
    page.wait_for_selector("#formula-error:not([hidden])")
    with pytest.raises(FormulaError) as e:
        parse(bad)
    assert page.inner_text("#formula-error") == str(e.value)
    page.fill("#formula", "x**2 + 3*y**2")
    page.press("#formula", "Tab")
    page.wait_for_selector("#formula-error", state="hidden")
    settle(page)
    state = assert_drawn_paths_are_the_library_runs(page)
    assert state["formula"] == "x**2 + 3*y**2" and state["window"] == [[-5, 5], [-5, 5]]
    assert state["start"] == [3, 3]  # a formula suggests no start: 80 % across the window
    page.screenshot(path=str(tmp_path_factory.mktemp("play") / "formula.png"))


def test_add_remove_map_click_preset_and_reload(page, tmp_path_factory):
    shots = tmp_path_factory.mktemp("play-shots")
    n = len(page.evaluate(STATE_JS)["optimizers"])
    page.select_option("#add-name", "rmsprop")
    page.click("#add")
    settle(page)
    state = assert_drawn_paths_are_the_library_runs(page)
    assert [o["name"] for o in state["optimizers"]][-1] == "rmsprop" and len(page.evaluate(PATHS_JS)) == n + 1
    page.locator(f'.opt[data-index="{n}"] button.remove').click()
    settle(page)
    assert len(assert_drawn_paths_are_the_library_runs(page)["optimizers"]) == n
    # the stability map (computed on request: live is off here): clicking a cell sets that optimizer's lr and momentum
    page.click("#map-go")
    page.wait_for_function("window.playground.map !== null && window.playground.idle()")
    m = page.evaluate("() => window.playground.map")
    assert m["axis"] == "momentum" and len(m["lr"]) == 6
    click_at(page, "map", float(np.log10(m["lr"][4])), m["y"][2])
    settle(page)
    state = assert_drawn_paths_are_the_library_runs(page)
    assert state["optimizers"][1]["options"]["lr"] == m["lr"][4]
    assert state["optimizers"][1]["options"]["momentum"] == m["y"][2]
    # a preset: the demo's saddle scene, drawn as optimlab.compare computes it
    page.select_option("#preset", "saddle")
    settle(page)
    ref = optimlab.compare(demo.SADDLE.function, dict(demo.SADDLE.methods), demo.SADDLE.start, demo.SADDLE.steps)
    drawn = page.evaluate(PATHS_JS)
    assert [d["name"] for d in drawn] == list(ref)
    for d in drawn:
        assert np.array_equal(np.column_stack([d["x"], d["y"]]), ref[d["name"]].params)
    page.screenshot(path=str(shots / "saddle.png"))
    # the URL holds the view: a reload draws the same
    before = page.evaluate(STATE_JS)
    page.reload()
    settle(page)
    assert page.evaluate(STATE_JS)["optimizers"] == before["optimizers"]
    assert page.evaluate(PATHS_JS) == drawn
