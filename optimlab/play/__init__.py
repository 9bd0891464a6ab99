"""The browser playground, ``optimlab play``: optimizers moving on a surface, live.

A local web app (Starlette on uvicorn, bound to 127.0.0.1 by default) whose page draws
the level lines of a test function or of the user's own formula, the paths of any
number of optimizers from a clicked start, their loss, gradient-norm and learning-rate
curves, an animation, and a stability map (final value over a learning-rate ×
momentum-or-β grid, one batched sweep). Everything the page shows is computed by the
library itself: the paths are :func:`optimlab.compare`'s traces, the map is
:func:`optimlab.sweep`'s, the level lines the function's own batched values.

Files by job:

* :mod:`optimlab.play.api`: the JSON answers (functions, optimizers and their
  hyperparameters from the registry's declared tables, presets) and the validation
  of every request, with its limits;
* :mod:`optimlab.play.compute`: the one place that turns a validated request into
  records by calling the library (runner, sweep, viz);
* :mod:`optimlab.play.codegen`: the Python code and the command line that reproduce a view;
* :mod:`optimlab.play.app`: the Starlette routes, static files, superseding of stale requests;
* ``static/``: the page (HTML, JS, CSS); plotly.js is served from the installed
  ``plotly`` package, nothing from the network.

Needs the ``play`` extra (``pip install 'optimlab[play]'``) for the web server; the
modules ``api``, ``compute`` and ``codegen`` need only optimlab itself.
"""
