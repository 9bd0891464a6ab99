"""The playground's web app (Starlette): the page, its static files, plotly.js from the
installed ``plotly`` package, and the JSON endpoints.

Endpoints (all answers JSON unless said; a bad request gets status 400 and
``{"error", "field", ...}``, never a traceback, and never stops the server):

* ``GET /api/meta``: functions, optimizers (with their controls), presets, limits, schedules;
* ``POST /api/landscape``: the level-line grid of a function in a window;
* ``POST /api/paths``: every optimizer's path from one start (``optimlab.compare``);
* ``POST /api/map``: the stability map (``optimlab.sweep``);
* ``POST /api/code``: the Python code and the command line of the view;
* ``POST /api/export/json``, ``/api/export/npz``, ``/api/export/gif``: downloads.

**Superseding.** ``paths`` and ``map`` requests carry a ``client`` id; a newer request of
the same client and kind supersedes the older one: the older stops at its next step and
is answered with status 409 (``{"superseded": true}``), so a dragged slider never leaves
a queue of stale work. "Newer" is the client's own request number ``seq`` when it sends
one (the page does): requests sent in parallel may arrive, or be parsed, out of order, and
the page's last one must never be the one stopped; without ``seq``, the order of arrival.
A paths request with ``"map_follows": true`` (the page's map follows
the view live and is asked for again after the paths) supersedes that client's map too,
so a slider move never waits for a map of the previous view. One computation runs at a time.
"""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from pathlib import Path
from typing import Any, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import api, codegen, compute

__all__ = ["create_app", "plotly_js", "STATIC", "Superseded", "Latest", "Playground"]

STATIC = Path(__file__).parent / "static"


def plotly_js() -> Path:
    """plotly.min.js as the installed ``plotly`` wheel ships it."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("No module named 'plotly'", name="plotly")
    path = Path(spec.origin).parent / "package_data" / "plotly.min.js"
    if not path.is_file():
        raise FileNotFoundError(f"the plotly package has no {path.name} at {path}")
    return path


class Superseded(Exception):
    """A newer request of the same client and kind arrived: this one stops."""


class Latest:
    """The newest request number of each (client, kind), and the one lock computations take."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[tuple[str, str], int] = {}
        self._stopped: dict[tuple[str, str], int] = {}  # requests numbered up to this one are stopped
        self.compute = threading.Lock()

    def begin(self, key: tuple[str, str], seq: Any = None) -> Callable[[], None]:
        """Register a request under ``key`` with the client's number ``seq`` (None: one more than
        the newest so far); returns its check, which raises :class:`Superseded` once a request
        with a higher number is registered (at once, for a request older than one seen already)."""
        with self._lock:
            latest = self._latest.get(key, 0)
            n = latest + 1 if seq is None or isinstance(seq, bool) or not isinstance(seq, int) else seq
            self._latest[key] = max(latest, n)

        def check() -> None:
            if self._latest.get(key, 0) > n or n <= self._stopped.get(key, 0):
                raise Superseded()

        return check

    def stop(self, key: tuple[str, str]) -> None:
        """Supersede every request registered under ``key`` so far (the next one goes on)."""
        with self._lock:
            self._stopped[key] = self._latest.get(key, 0)


def _error(status: int, data: dict) -> JSONResponse:
    return JSONResponse(data, status_code=status)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if len(raw) > api.LIMITS["body_bytes"]:
        raise api.RequestError("body", f"the request has {len(raw)} bytes; at most {api.LIMITS['body_bytes']}")
    try:
        return json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError) as e:
        raise api.RequestError("body", f"the request is not JSON: {api.first_line(e)}") from None


def _guarded(handler: Callable) -> Callable:
    """Every failure as a JSON answer: a bad request 400, a superseded one 409, a library
    error while computing 400 with its message, anything else 500 (the server goes on)."""
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except api.RequestError as e:
            return _error(400, e.to_json())
        except Superseded:
            return _error(409, {"superseded": True, "error": "superseded by a newer request"})
        except (ValueError, TypeError, FloatingPointError, RuntimeError, NotImplementedError) as e:
            return _error(400, {"error": api.first_line(e), "field": "compute"})
        except Exception as e:  # noqa: BLE001 - the page gets a message, the server keeps serving
            return _error(500, {"error": f"internal error: {type(e).__name__}: {api.first_line(e)}"})

    return endpoint


class Playground:
    """The endpoints, around the one :class:`Latest` and the lists built once (``meta``)."""

    def __init__(self, compile: Any = False) -> None:
        self.latest = Latest()
        self.meta: dict[str, Any] = {}
        self.compile = compile  # the paths' compile= (compute.paths)

    def meta_data(self) -> dict:
        """Functions, optimizers, presets, limits: plot-independent setup, built on the first request."""
        if not self.meta:
            meta = dict(functions=api.function_list(), optimizers=api.optimizer_list(), presets=api.presets(),
                        limits=api.LIMITS, stop_rules=list(api.STOP_RULES),
                        schedules={k: args for k, (_, args) in api.SCHEDULES.items()})
            self.meta.update(api.nulls(meta))
        return self.meta

    async def computed(self, request: Request, parse: Callable, kind: str, work: Callable) -> Any:
        """Parse the body, then run ``work(req, check)`` in a worker thread, one computation at a
        time; ``check`` raises :class:`Superseded` once a newer request of this page and kind came."""
        body = await _body(request)
        req = parse(body)
        client = str(body.get("client", ""))[:64] if isinstance(body, dict) else ""
        check = self.latest.begin((client, kind), body.get("seq") if isinstance(body, dict) else None)
        if kind == "paths" and isinstance(body, dict) and body.get("map_follows") is True:
            self.latest.stop((client, "map"))  # the page asks for the map again after these paths

        def job() -> Any:
            with self.latest.compute:
                check()
                t0 = time.perf_counter()
                out = work(req, check)
                return out, time.perf_counter() - t0

        return await run_in_threadpool(job)

    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    async def plotly(self, request: Request) -> Response:
        return FileResponse(plotly_js(), media_type="text/javascript")

    async def meta_endpoint(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self.meta_data))

    async def landscape(self, request: Request) -> Response:
        out, seconds = await self.computed(request, api.landscape_request, "landscape",
                                           lambda req, check: compute.landscape(req))
        return JSONResponse({**out, "compute_ms": 1e3 * seconds})

    async def paths(self, request: Request) -> Response:
        out, seconds = await self.computed(request, api.paths_request, "paths",
                                           lambda req, check: compute.trace_answers(
                                               req, compute.paths(req, check, self.compile)))
        return JSONResponse({**out, "compute_ms": 1e3 * seconds})

    async def stability(self, request: Request) -> Response:
        out, seconds = await self.computed(request, api.map_request, "map", compute.stability_map)
        return JSONResponse({**out, "compute_ms": 1e3 * seconds})

    async def code(self, request: Request) -> Response:
        req = api.paths_request(await _body(request))
        cli, note = codegen.cli_line(req)
        return JSONResponse({"python": codegen.python_code(req), "cli": cli, "cli_note": note})

    async def export(self, request: Request) -> Response:
        kind = request.path_params["kind"]
        if kind not in EXPORTS:
            raise api.RequestError("kind", f"export kind must be json, npz or gif; got {kind!r}")

        def work(req: api.PathsRequest, check: Callable) -> Any:
            traces = compute.paths(req, check, self.compile)
            if kind == "json":
                return json.dumps(compute.json_export(req, traces)).encode()
            return compute.npz_bytes(req, traces) if kind == "npz" else compute.gif_bytes(req, traces)

        data, _ = await self.computed(request, api.paths_request, f"export-{kind}", work)
        return Response(data, media_type=EXPORTS[kind],
                        headers={"Content-Disposition": f'attachment; filename="optimlab-play.{kind}"'})


EXPORTS = {"json": "application/json", "npz": "application/octet-stream", "gif": "image/gif"}


def create_app(compile: Any = False) -> Starlette:
    """The playground's ASGI app. ``compile``: how the paths are computed (``False``: eager,
    exactly ``optimlab.run``'s numbers; ``True``/``"auto"``: compiled programs, see
    :func:`optimlab.play.compute.paths`)."""
    play = Playground(compile)
    routes = [
        Route("/", play.index),
        Route("/plotly.min.js", play.plotly),
        Route("/favicon.ico", lambda request: Response(status_code=204)),
        Route("/api/meta", _guarded(play.meta_endpoint)),
        Route("/api/landscape", _guarded(play.landscape), methods=["POST"]),
        Route("/api/paths", _guarded(play.paths), methods=["POST"]),
        Route("/api/map", _guarded(play.stability), methods=["POST"]),
        Route("/api/code", _guarded(play.code), methods=["POST"]),
        Route("/api/export/{kind}", _guarded(play.export), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    return Starlette(routes=routes)
