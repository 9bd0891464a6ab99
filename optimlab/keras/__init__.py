r"""Keras 3 optimizers as torch optimizers: Keras names, Keras defaults, Keras numbers.

``optimlab.keras.Adam(model.parameters(), learning_rate=1e-3)`` is a
``torch.optim.Optimizer`` (an :class:`optimlab.optim.Adam`) whose iterates are those
of ``keras.optimizers.Adam(learning_rate=1e-3)``: Keras' argument names and
defaults (``epsilon=1e-7`` everywhere, Adagrad's accumulator starting at 0.1, ...)
and Keras' arithmetic, which differs from torch's in several places:

=========  =================================================================
Adam       "ε-hat": ``θ ← θ − lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m/(√v + ε)`` (torch: ε added
           to ``√v̂``); AMSGrad keeps the maximum of the raw ``v``.
RMSprop    ε inside the root, ``√(v + ε)``; momentum keeps lr inside its buffer.
Adagrad    ε inside the root; the accumulator starts at 0.1.
SGD        the velocity keeps lr inside: ``v ← μv − lr·g``, ``θ ← θ + v``.
Adamax     ``u ← max(β₂u, |g|)``, ``θ ← θ − lr/(1−β₁ᵗ)·m/(u + ε)``.
Nadam      Dozat's momentum schedule ``μ_t = β₁(1 − ½·0.96ᵗ)``.
=========  =================================================================

Keras 3's other optimizers are here too (:mod:`optimlab.keras.more`): ``Lion``, ``Lamb``,
``Adafactor`` (moments of ``g² + ε₁``), ``Ftrl`` (FTRL-Proximal, :class:`optimlab.optim.Ftrl`)
and ``Muon`` (Keras' Newton–Schulz normalisation and momentum, Keras' AdamW for the
parameters that are not matrices); docs/keras.md lists their options and differences.

Every constructor takes, after ``params``, the Keras 3 arguments in Keras' order
and then the common ones:

* ``weight_decay``: decoupled weight decay for every optimizer, as Keras applies it:
  ``θ ← θ − θ·wd·lr`` before the update (``None``, Keras' default, means none);
* ``clipnorm`` (each gradient tensor to norm ≤ c), ``clipvalue`` (each element to
  ``[−c, c]``), ``global_clipnorm`` (all gradients of a param group together to
  norm ≤ c), applied to the gradient before weight decay and the update; at most
  one of them; ``None`` or 0 means off, as in Keras;
* ``decay`` (keyword only): the legacy Keras 2 learning-rate decay,
  ``lr_t = lr / (1 + decay·t)`` with t the number of updates done before this one
  (Keras 3 ignores it; it equals Keras 3's
  ``InverseTimeDecay(lr, decay_steps=1, decay_rate=decay)``);
* ``lr`` (keyword only): Keras 2's old name of ``learning_rate``;
* ``epsilon=None`` means Keras' default 1e-7 (Keras 2's ``K.epsilon()``).

Any number may also be a tensor broadcasting against the parameters (the runs
dimension of :mod:`optimlab.optim`). The optimlab options ``maximize`` and
``nonfinite`` pass through. Keras' ``name`` is accepted and ignored; ``use_ema``,
``loss_scale_factor`` and ``gradient_accumulation_steps`` exist in torch in other
forms and are refused with a pointer to them.

Learning-rate schedules: use any ``torch.optim.lr_scheduler`` stepped once per
``optimizer.step()``; weight decay then uses the current learning rate, as in Keras.

Step counts are kept per parameter (torch's convention); Keras counts the
optimizer's iterations. They agree whenever every parameter gets a gradient at
every step.

Example:
    >>> import torch, optimlab.keras as K
    >>> w = torch.nn.Parameter(torch.ones(3))
    >>> opt = K.Adam([w], learning_rate=0.01, weight_decay=0.004, clipnorm=1.0)
    >>> (w ** 2).sum().backward(); opt.step()
"""

from ._args import EPSILON
from .classic import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop
from .more import Adafactor, Ftrl, Lamb, Lion, Muon

__all__ = ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam", "Lion", "Lamb", "Adafactor",
           "Ftrl", "Muon", "EPSILON"]
