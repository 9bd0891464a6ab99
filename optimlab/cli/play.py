"""``optimlab play``: the browser playground (:mod:`optimlab.play`) on a local web server."""

from __future__ import annotations

import importlib.util
import socket
import threading
import webbrowser

import typer

from ._common import CLIError, compile_choice, err_console, fail

PLAY_EXTRA = ("starlette", "uvicorn", "plotly")


def missing_extra() -> list[str]:
    """The packages of the ``play`` extra that are not installed."""
    return [m for m in PLAY_EXTRA if importlib.util.find_spec(m) is None]


def port_problem(host: str, port: int) -> str | None:
    """Why the server could not listen on ``host:port`` (taken, or no such address), or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        return f"--host {host!r}: {e.strerror or e}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closed port in TIME_WAIT is free
        try:
            s.bind(address)
        except OSError as e:
            if e.errno in (98, 48, 10048):  # EADDRINUSE on Linux, macOS, Windows
                return f"port {port} on {host} is taken (another server listens there): choose another with --port"
            return f"cannot listen on {host}:{port}: {e.strerror or e}"
    return None


def play(port: int = typer.Option(8765, "--port", "-p", min=1, max=65535, help="Port to listen on."),
         host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (default: this machine only)."),
         open_browser: bool = typer.Option(True, "--open/--no-open", help="Open the page in the browser."),
         compile: str = typer.Option("auto", "--compile", help="auto (default: each method's compiled program once "
                                     "it exists, built in the background the first time a view uses it, 10-60 s, "
                                     "then kept; eager meanwhile), on (build before answering), off (always eager: "
                                     "exactly optimlab.run's numbers); compiled paths equal those within 1e-12."),
         ) -> None:
    """Start the playground: optimizers moving on a surface in the browser, live.

    Pick a function or type a formula, click the start, move the sliders: every path is computed by optimlab's own
    optimizers. Presets hold the lectures' scenes, the URL holds the view; export PNG, GIF, the traces (JSON, NPZ)
    and the code that reproduces the view. Needs the play extra: pip install 'optimlab\\[play]'. Ctrl-C stops it.
    """
    try:
        compiled = compile_choice(compile)
    except CLIError as e:
        fail(str(e))
    missing = missing_extra()
    if missing:
        fail(f"optimlab play needs the play extra (missing: {', '.join(missing)}): pip install 'optimlab[play]'")
    problem = port_problem(host, port)
    if problem:
        fail(problem)
    import uvicorn  # lazy: the play extra, only for this command

    from ..play.app import create_app  # lazy: starlette and the library load only for this command

    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/"
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"note: listening on {host}: other machines can reach the playground", highlight=False)
    err_console.print(f"optimlab playground at {url} (Ctrl-C stops it)", highlight=False, soft_wrap=True)
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(create_app(compiled), host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add ``play`` to the optimlab command line."""
    app.command("play")(play)
