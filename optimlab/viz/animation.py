"""Animated paths over the level lines: GIF through Pillow, MP4 through ffmpeg when present.

The background (level lines, legend, start and minimum) is drawn once; each frame
restores it and draws only the growing paths and their head markers, so a
100-frame GIF takes a second or two rather than a hundred full redraws.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np

from .curves import trace_list
from .landscape import plot_contour

__all__ = ["animate_paths", "frame_steps"]


def frame_steps(n_steps: int, stride: int = 1, frames: int | None = None) -> np.ndarray:
    """The step shown by each frame: ``0, stride, 2·stride, …`` and always the last step.

    ``frames`` caps the number of frames: the stride grows to ``ceil(n_steps / (frames − 1))``
    when needed.
    """
    if not isinstance(stride, (int, np.integer)) or stride < 1:
        raise ValueError(f"stride must be an integer >= 1, got {stride!r}")
    if frames is not None and (not isinstance(frames, (int, np.integer)) or frames < 2):
        raise ValueError(f"frames must be an integer >= 2 or None, got {frames!r}")
    if frames is not None and n_steps > 0:
        stride = max(stride, int(np.ceil(n_steps / (frames - 1))))
    steps = np.arange(0, n_steps + 1, stride)
    if steps[-1] != n_steps:
        steps = np.append(steps, n_steps)
    return steps


def animate_paths(function: Any, traces: Any, path: str | Path, *, stride: int = 1, fps: float = 12,
                  frames: int | None = None, dpi: int = 110, hold: int = 6, domain: Any = None,
                  levels: Any = 30, log_levels: bool | None = None, title: str | None = None,
                  figsize: tuple[float, float] | None = None, settings: bool = True,
                  styles: Sequence[dict] | None = None) -> Path:
    """Write an animation of the paths of ``traces`` over the level lines of ``function``.

    One frame per ``stride`` steps (``frames``, when given, caps the count by raising the
    stride; keep GIFs to about 100 frames); each path grows with a head marker at its current point and a step
    counter in the title. The default size (8.4 in × 110 dpi) makes frames 924 px wide, text
    at 110/72 of its point size in pixels, legible on a page. ``hold`` repeats the last frame so the end can be seen
    before the GIF loops.

    ``path`` ending in ``.gif`` is written by Pillow; ``.mp4`` needs ``ffmpeg`` on the
    PATH (``RuntimeError`` otherwise). Arguments ``domain``, ``levels``, ``log_levels``,
    ``settings``, ``styles`` are those of :func:`~optimlab.viz.plot_contour`.

    Returns the path written.
    """
    path = Path(path)
    kind = path.suffix.lower()
    if kind not in (".gif", ".mp4"):
        raise ValueError(f"path must end in .gif or .mp4, got {str(path)!r}")
    if kind == ".mp4" and shutil.which("ffmpeg") is None:
        raise RuntimeError("writing .mp4 needs ffmpeg on the PATH; write a .gif instead (Pillow)")
    if not (isinstance(fps, (int, float)) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    items = trace_list(traces)
    n_steps = max(len(t.params) for t in items) - 1
    shown = frame_steps(n_steps, stride, frames)

    fig = plot_contour(function, items, domain=domain, levels=levels, log_levels=log_levels, title=title,
                       settings=settings, styles=styles, figsize=figsize or (8.4, 4.8))
    ax = fig.axes[0]
    paths = [ln for ln in ax.get_lines() if ln.get_gid() == "path"]
    # the static picture shows the whole path and an end marker: keep the legend, hide the rest
    for ln in ax.get_lines():
        if ln.get_gid() == "path":
            ln.set_animated(True)
        elif ln.get_label().startswith("_"):  # end markers (unlabelled)
            ln.set_visible(False)
    heads = [ax.plot([], [], ls="none", marker=ln.get_marker(), ms=9, color=ln.get_color(), mec="black",
                     mew=0.9, zorder=6, animated=True)[0] for ln in paths]
    counter = ax.text(0.015, 0.975, "", transform=ax.transAxes, ha="left", va="top", fontsize=10, zorder=7,
                      animated=True, bbox=dict(boxstyle="round,pad=0.25", fc="white", ec="0.6", alpha=0.9))
    fig.set_dpi(dpi)
    canvas = fig.canvas
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    data = [np.asarray(t.params, dtype=float) for t in items]

    images = []
    for s in shown:
        canvas.restore_region(background)
        for i, (ln, head, p) in enumerate(zip(paths, heads, data)):
            k = min(int(s), len(p) - 1)
            ln.set_data(p[:k + 1, 0], p[:k + 1, 1])
            every = max(1, int(np.ceil((k + 1) / 25)))
            ln.set_markevery((min(k, (i * every) // len(paths)), every))  # shifted as in plot_contour
            head.set_data(p[k:k + 1, 0], p[k:k + 1, 1])
            ax.draw_artist(ln)
            ax.draw_artist(head)
        counter.set_text(f"step {int(s)}")
        ax.draw_artist(counter)
        canvas.blit(fig.bbox)
        images.append(np.asarray(canvas.buffer_rgba())[..., :3].copy())
    plt.close(fig)
    images.extend([images[-1]] * max(0, int(hold)))
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == ".gif":
        _write_gif(images, path, fps, [ln.get_color() for ln in paths] + ["gold", "black", "white"])
    else:
        _write_mp4(images, path, fps)
    return path


def _write_gif(images: list[np.ndarray], path: Path, fps: float, colors: Sequence[str] = ()) -> None:
    from matplotlib.colors import to_rgb
    from PIL import Image

    # One shared palette keeps colours steady and the file small. It is cut from the last
    # frame plus a swatch of the path colours, so that those get exact palette entries.
    last = images[-1]
    swatch = np.zeros((max(8, last.shape[0] // 6), last.shape[1], 3), dtype=np.uint8)
    rgb = [np.round(np.array(to_rgb(c)) * 255).astype(np.uint8) for c in colors] or [last[0, 0]]
    for j, band in enumerate(np.array_split(np.arange(swatch.shape[1]), len(rgb))):
        swatch[:, band] = rgb[j]
    probe = Image.fromarray(np.concatenate([last, swatch], axis=0))
    palette = probe.quantize(colors=96, method=Image.Quantize.MEDIANCUT)
    indexed = [np.asarray(Image.fromarray(im).quantize(palette=palette, dither=Image.Dither.NONE)) for im in images]
    # Pixels that did not change since the previous frame become transparent: long runs of one
    # index, which LZW packs into almost nothing (the background is drawn only once).
    clear = 255
    frames = []
    for k, idx in enumerate(indexed):
        out = idx.copy()
        if k:
            out[idx == indexed[k - 1]] = clear
        frame = Image.fromarray(out, mode="P")
        frame.putpalette(palette.getpalette())
        frame.info["transparency"] = clear
        frames.append(frame)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=int(round(1000 / fps)), loop=0,
                   optimize=False, disposal=1, transparency=clear)


def _write_mp4(images: list[np.ndarray], path: Path, fps: float) -> None:
    h, w = images[0].shape[:2]
    h2, w2 = h - h % 2, w - w % 2  # yuv420p needs even sizes
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w2}x{h2}",
           "-r", f"{fps:g}", "-i", "-", "-pix_fmt", "yuv420p", "-vcodec", "libx264", str(path)]
    proc = subprocess.run(cmd, input=b"".join(np.ascontiguousarray(im[:h2, :w2]).tobytes() for im in images),
                          capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg failed writing {path}: {proc.stderr.decode(errors='replace').strip()}")
