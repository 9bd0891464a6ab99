"""optimlab.viz: pictures from records (matplotlib only; Pillow writes GIFs).

A plot never re-runs an optimizer: every function here takes :class:`~optimlab.record.Trace`
objects (or a function to draw under them) and returns a matplotlib ``Figure``
(:func:`animate_paths` writes a file and returns its path).

* :func:`plot_contour`: level lines (log-spaced in ``f − min``) with the paths, start and
  known minimizers, a legend with each optimizer's settings;
* :func:`animate_paths`: the same picture as a GIF (Pillow) or MP4 (ffmpeg) with growing paths;
* :func:`plot_surface`: the 3-D surface with the paths lifted onto it;
* :func:`plot_function_1d`: a function of one variable, f(x), with the paths on the curve;
* :func:`plot_convergence`: ``f − f*`` and ``‖∇f‖`` per step on log axes;
* :func:`plot_lr`: the learning rate per step;
* :func:`plot_curves`: any per-step or per-epoch series of several traces.

A method gets the same colour in every picture (:func:`method_color`: Okabe–Ito's
colour-blind-safe palette, by the method behind the optimizer's name, see
:mod:`optimlab.viz._style`); runs of one method differ by line style and shade. The
helpers the pages share with the pictures (``format_options`` for settings,
``known_f_min``, ``function_dim``, ``resolve_function``) are exported too.
"""

from ._common import f_star_text, format_options, function_dim, known_f_min, resolve_function
from ._style import method_color, method_key, run_styles
from .animation import animate_paths, frame_steps
from .convergence import plot_convergence, plot_lr
from .curves import plot_curves, save_figure
from .landscape import contour_levels, plot_contour, plot_surface
from .line import plot_function_1d

__all__ = ["plot_contour", "animate_paths", "plot_surface", "plot_convergence", "plot_lr", "plot_curves",
           "save_figure", "contour_levels", "frame_steps", "format_options", "function_dim", "known_f_min",
           "resolve_function", "method_color", "method_key", "run_styles", "f_star_text",
           "plot_function_1d"]
