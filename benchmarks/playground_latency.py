"""The playground's latency in a real browser (issue 12): a slider move answered (request sent
to paths drawn) for 6 optimizers × 500 steps, and the 32 × 32 × 300 stability map, printed
against the targets (150 ms and 1 s).

    PYTHONPATH=. python benchmarks/playground_latency.py [--repeats 10] [--chromium /usr/bin/chromium]
        [--compile off|on|auto]

``--compile on`` serves the paths from compiled programs (``optimlab play --compile on``); the
first move of each method builds its program (10-60 s, kept in the disk cache), so the
script moves the slider once before it measures.

The server (``optimlab.play.app`` on uvicorn) runs in this process on a free port of
127.0.0.1; Chromium (Debian's, through Playwright) loads the page with the view below and
the script moves Adam's learning-rate slider with the keyboard, as a user does. The page
itself measures each round trip (``performance.now()`` from the request to the end of
``Plotly.react`` of the paths; the loss and gradient curves are drawn after it, printed
on their own line) and the server's computing time, which are printed separately: the
difference is transfer, JSON and drawing. Timings on a shared machine are noisy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import threading
import time
from typing import Any
from urllib.parse import quote

import uvicorn
from playwright.sync_api import sync_playwright

from optimlab.play.app import create_app

SIX = [("sgd", {"lr": 1e-3}), ("momentum", {"lr": 1e-3}), ("nag", {"lr": 1e-3, "momentum": 0.9}),
       ("adagrad", {"lr": 0.5}), ("rmsprop", {"lr": 0.01}), ("adam", {"lr": 0.1})]
VIEW = {"fname": "beale", "formula": "", "window": None, "start": [1.0, 1.5], "steps": 500, "surface": False,
        "stop": {}, "schedule": {"kind": "none"}, "map": {"opt": 1, "axis": "momentum", "n": 32, "live": False},
        "optimizers": [{"name": n, "label": n, "options": o} for n, o in SIX],
        "colors": ["#000000", "#e69f00", "#cc79a7", "#0072b2", "#009e73", "#56b4e9"], "visible": [True] * 6}
TARGETS = {"paths": 150.0, "map": 1000.0}


def start_server(compile: Any = False) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(compile), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}/", server, thread


def idle(page) -> None:
    page.wait_for_timeout(20)
    page.wait_for_function("window.playground && window.playground.idle() && window.playground.paths !== null",
                           timeout=1_800_000)  # with --compile on, the first view builds six programs


def timings(page, kind: str) -> list[dict]:
    return [t for t in page.evaluate("() => window.playground.timings") if t["kind"] == kind]


def measure(chromium: str, repeats: int, map_steps: int, compile: Any = False) -> dict:
    url, server, thread = start_server(compile)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url + "#" + quote(json.dumps(VIEW)))
            idle(page)
            slider = page.locator('.opt[data-index="5"] input[type=range][data-option="lr"]')
            for i in range(repeats + 1):  # the first move is a warm-up, not counted
                slider.focus()
                page.keyboard.press("ArrowLeft" if i % 2 else "ArrowRight")
                idle(page)
            paths = timings(page, "paths")[-repeats:]
            page.fill("#steps", str(map_steps))
            page.press("#steps", "Tab")
            idle(page)
            for _ in range(max(2, repeats // 3) + 1):
                page.click("#map-go")
                page.wait_for_function("window.playground.map !== null && window.playground.idle()",
                                       timeout=120000)
            maps = timings(page, "map")[1:]
            browser.close()
    finally:
        server.should_exit = True
        thread.join(10)
    return {"paths": paths, "map": maps}


def report(kind: str, what: str, rows: list[dict]) -> None:
    wall = statistics.median(r["ms"] for r in rows)
    computing = statistics.median(r["server"] for r in rows)
    target = TARGETS[kind]
    verdict = "met" if wall <= target else "MISSED"
    print(f"{what:<44} {wall:9.0f} {computing:11.0f} {wall - computing:9.0f} {target:8.0f}  {verdict}"
          f"   (n={len(rows)}, spread {min(r['ms'] for r in rows):.0f}-{max(r['ms'] for r in rows):.0f} ms)")
    if "with_curves" in rows[0]:
        print(f"{'  the same with the loss and gradient curves':<44} "
              f"{statistics.median(r['with_curves'] for r in rows):9.0f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    ap.add_argument("--compile", choices=["off", "on", "auto"], default="off")
    args = ap.parse_args()
    if not args.chromium:
        raise SystemExit("error: no chromium found: apt-get install chromium, or give --chromium PATH")
    out = measure(args.chromium, args.repeats, 300, {"off": False, "on": True, "auto": "auto"}[args.compile])
    print(f"{'median of the round trips (ms)':<44} {'drawn':>9} {'computing':>11} {'rest':>9} {'target':>8}")
    report("paths", "slider: 6 optimizers x 500 steps (Beale)", out["paths"])
    report("map", "stability map: 32 x 32 x 300 steps (momentum)", out["map"])


if __name__ == "__main__":
    main()
