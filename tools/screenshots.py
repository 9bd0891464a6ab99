"""Screenshots of the pages a new user meets, taken in headless Chromium (Debian's ``chromium``).

Writes the demo page, a run page and a training page, opens each in headless Chromium
at 1280 px wide and saves a PNG of it, reduced to a 256-colour palette so that each stays
small enough for the docs (< 300 KB). Look at the PNGs before resolving a picture issue;
``docs/img/`` holds the last ones.

    python tools/screenshots.py [OUT]          # default OUT: docs/img

Not a test: it takes about a minute (the full demo) and needs ``chromium`` on the PATH
(``apt-get install chromium``). Every command is the real command line (``python -m optimlab``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image

WIDTH, HEIGHT = 1280, 2000
LIMIT = 300_000  # bytes per PNG

PAGES = {
    "demo": (["demo"], "index.html"),
    "run": (["run", "lecture-quadratic", "-O", "adam:lr=0.1", "-O", "rmsprop:lr=0.1", "-O", "sgd:lr=0.01",
             "-O", "sgd:lr=0.05", "--start", "5,5", "--steps", "100"], "index.html"),
    "train": (["train", "moons-mlp", "-O", "sgd:lr=0.1", "-O", "momentum:lr=0.05", "-O", "adam:lr=0.01",
               "--epochs", "12", "--seeds", "2"], "index.html"),
}


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    sys.exit("error: no chromium on the PATH; install it with: apt-get install chromium")


def render(page: Path, png: Path, height: int = HEIGHT) -> Path:
    """Screenshot ``page`` (an HTML file) into ``png`` at WIDTH × ``height``, then shrink the file."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={WIDTH},{height}",
                        page.resolve().as_uri()], check=True, capture_output=True, timeout=120)
    with Image.open(png) as im:
        # octree keeps small patches of colour (median cut turned the gold star orange)
        small = im.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    small.save(png, optimize=True)
    return png


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        for name, (args, index) in PAGES.items():
            folder = Path(work) / name
            subprocess.run([sys.executable, "-m", "optimlab", *args, "--out", str(folder)], check=True,
                           capture_output=True, timeout=600)
            png = render(folder / index, out / f"screenshot-{name}.png")
            size = png.stat().st_size
            print(f"{png}: {Image.open(png).size[0]} px wide, {size // 1000} KB"
                  + ("  (over the 300 KB limit!)" if size > LIMIT else ""))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img"))
