"""optimlab.viz: pictures from records (matplotlib only; Pillow writes GIFs).

A plot never re-runs an optimizer: every function here takes :class:`~optimlab.record.Trace`
objects (or a function to draw under them) and returns a matplotlib ``Figure``.
"""

from .curves import plot_curves, save_figure

__all__ = ["plot_curves", "save_figure"]
