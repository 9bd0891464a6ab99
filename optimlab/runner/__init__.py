"""Drive optimizers on test functions: :func:`run`, :func:`compare`, :func:`run_batch`.

Every run gives a :class:`~optimlab.record.Trace`. Many runs of one optimizer go as
ONE batched computation (the *runs dimension*): the parameters are an (R, d)
tensor, each hyperparameter that differs between runs is an (R, 1) tensor, and one
optimizer step updates all runs. Trace i equals run i done alone. With ``compile=``
the steps run as a program compiled ahead of time (:mod:`optimlab.runner.compiled`).

>>> import optimlab
>>> t = optimlab.run("beale", "adam:lr=0.05", start=(1.0, 1.5), steps=300)
>>> t.stop_reason, t.params.shape
('max_steps', (301, 2))
"""


from .compiled import NotCompilable, check_compile
from .loop import prepare_batch, run, run_batch
from .resolve import (
    make_scheduler,
    needs_closure,
    resolve_function,
    resolve_optimizer,
    run_label,
    runs_layout,
    runs_options,
    suggested_start,
    takes_tensor_hyper,
)
from .shared import compare

__all__ = ["run", "compare", "run_batch", "prepare_batch", "resolve_function", "resolve_optimizer", "needs_closure",
           "make_scheduler", "suggested_start", "runs_layout", "runs_options", "takes_tensor_hyper", "run_label",
           "NotCompilable", "check_compile"]
