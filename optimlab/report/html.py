"""Self-contained HTML pages (figures are embedded as data URIs).

A page is a title plus a list of blocks; each block is a heading, a paragraph, a
table (:class:`optimlab.report.tables.Table`) or a figure. Every page of optimlab (the
demo's ``index.html``, runs, sweeps, training comparisons, benchmarks) is written
through :func:`write_html`, so they look alike.
"""

from __future__ import annotations

import base64
import html
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from .tables import Table, format_number

__all__ = ["Heading", "Text", "Figure", "write_html", "render_html", "PAGE_WIDTH", "FOOTER"]

PAGE_WIDTH = 1100  # px: the width of a page's content; figures meant to fill it are drawn this wide
FOOTER = "Made with optimlab."


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Text:
    text: str


@dataclass
class Figure:
    path: str | Path
    caption: str = ""
    embed: bool = True  # False: link the file relative to the page instead of embedding it
    width: str = "auto"  # its own pixel width (never stretched), shrunk only on a narrower screen


_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:%dpx;color:#222;
     padding:0 1rem}
h1{font-weight:600}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.92rem}
th,td{border:1px solid #ddd;padding:.35rem .7rem;text-align:right}
th{background:#f4f6f8}td:first-child,th:first-child{text-align:left}
tr:nth-child(even) td{background:#fafbfc}
figure{margin:1.2rem 0;text-align:center}figcaption{color:#555;font-size:.9rem;margin-top:.3rem}
img{max-width:100%%;height:auto;border:1px solid #eee;box-sizing:border-box}
td.num{white-space:nowrap}td:not(.num){text-align:left}
.muted{color:#777;font-size:.85rem}
""" % PAGE_WIDTH

# a cell that is a number, a mean ± std, a count a/b or a point (x, y): never broken across lines
_NUMERIC = re.compile(r"[\s(),±/+\-−—∞.0-9eE%]*|[-+−]?\d[\d.eE+\-]*\s*(\(.*\))?")


def _cell(v: Any) -> str:
    text = format_number(v)
    numeric = (isinstance(v, (int, float)) and not isinstance(v, bool)) or bool(_NUMERIC.fullmatch(text))
    return f"<td class='num'>{html.escape(text)}</td>" if numeric else f"<td>{html.escape(text)}</td>"


def _block(b: Any, base: Path | None) -> str:
    if isinstance(b, Heading):
        return f"<h{b.level}>{html.escape(b.text)}</h{b.level}>"
    if isinstance(b, Text):
        return f"<p>{html.escape(b.text)}</p>"
    if isinstance(b, Table):
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in b.columns)
        body = "".join(
            "<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in b.rows
        )
        text = b.caption or b.title
        cap = f"<caption>{html.escape(text)}</caption>" if text else ""
        return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    if isinstance(b, Figure):
        p = Path(b.path)
        if b.embed:
            mime = mimetypes.guess_type(p.name)[0] or "image/png"
            src = f"data:{mime};base64," + base64.b64encode(p.read_bytes()).decode()
        else:
            # a link relative to the page's folder, wherever the path given was relative to
            src = html.escape(Path(os.path.relpath(p.resolve(), base)).as_posix() if base else p.as_posix())
        cap = f"<figcaption>{html.escape(b.caption)}</figcaption>" if b.caption else ""
        return f'<figure><img src="{src}" style="width:{b.width}" alt="{html.escape(b.caption)}">{cap}</figure>'
    if isinstance(b, str):
        return f"<p>{html.escape(b)}</p>"
    raise TypeError(f"unknown report block {type(b).__name__}; use Heading, Text, Table or Figure")


def render_html(title: str, blocks: Sequence[Any], base: Path | None = None, footer: str = FOOTER) -> str:
    """The page's HTML: the title, the blocks and one footer line (``footer``)."""
    parts = "\n".join(_block(b, base) for b in blocks)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>\n{parts}\n"
        f"<footer class='muted'>{html.escape(footer)}</footer></body></html>"
    )


def write_html(path: str | Path, title: str, blocks: Sequence[Any], footer: str = FOOTER) -> Path:
    """Write a self-contained HTML page to ``path`` and return the path; ``footer`` is its one
    footer line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(title, blocks, base=path.parent.resolve(), footer=footer), encoding="utf-8")
    return path
