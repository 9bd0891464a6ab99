r"""The training lab: mini-batch training with a Keras-style ``compile``/``fit``.

Vocabulary (lecture 002): the *batch size* B is the number of examples per update;
one *iteration* is one update on one batch; one *epoch* is one pass over the N
training examples, :math:`\lceil N / B \rceil` iterations (50000 examples, B = 128 →
391). B = N is full-batch gradient descent, B = 1 is pure SGD. The loss of a batch is
the *mean* over its examples (lecture 003), so the update is

.. math::  θ_{t+1} = \mathrm{step}\Big(θ_t,\ \frac{1}{|B_t|}\sum_{i∈B_t} ∇ J_i(θ_t)\Big).

>>> import optimlab, optimlab.problems as P
>>> p = P.get("digits-mlp", seed=0)
>>> trainer = optimlab.Trainer(p.model, loss=p.loss, optimizer="adam:lr=0.001", metrics=["accuracy"])
>>> h = trainer.fit(p.train, batch_size=32, epochs=20, validation_data=p.val, seed=0, verbose=0)
>>> round(h.history["val_accuracy"][-1], 3), h.iterations_per_epoch, h.stop_reason
(0.967, 34, 'epochs_done')

A :class:`History` is an :class:`optimlab.record.Trace`: the per-iteration training
loss is ``history.values`` (``series["loss"]``), so the function lab's plots and
reports draw it unchanged; per-epoch quantities are in ``history.epochs`` and, as
Keras' dict of lists, in ``history.history``.
"""

from ..record import History
from .callbacks import Callback, EarlyStopping, LambdaCallback, ModelCheckpoint, ReduceLROnPlateau, StopWhen
from .compare import TrainingComparison, compare_training
from .losses import LOSSES, METRICS, make_optimizer
from .trainer import Trainer

__all__ = ["Trainer", "History", "Callback", "EarlyStopping", "ReduceLROnPlateau", "ModelCheckpoint",
           "StopWhen", "LambdaCallback", "compare_training", "TrainingComparison", "make_optimizer",
           "LOSSES", "METRICS"]
