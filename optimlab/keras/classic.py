"""Keras 3's SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax and Nadam as torch optimizers (see optimlab.keras)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from .. import optim
from ..optim.hparams import Flag, Range
from ._args import (
    BETA,
    BETA_1_TUNE,
    COMMON_DOC,
    EPSILON_ARG,
    UNIT,
    checked,
    common_options,
    epsilon_or_default,
    keras_name,
)

__all__ = ['SGD', 'RMSprop', 'Adagrad', 'Adadelta', 'Adam', 'AdamW', 'Adamax', 'Nadam']


# ------------------------------------------------------------------------ optimizers
@keras_name("SGD", tune={"momentum": optim.Tune(0.01, 0.99, only_if_on=True)})
class SGD(optim.SGD):
    __doc__ = r"""Keras' ``SGD``: gradient descent with momentum in the velocity form.

    .. math::
        v_t = μ v_{t-1} - \mathrm{lr}\,g_t,\qquad θ_t = θ_{t-1} + v_t
        \qquad(\text{nesterov: } θ_t = θ_{t-1} + μ v_t - \mathrm{lr}\,g_t)

    ``momentum=0`` is plain gradient descent (with ``nesterov=True`` too, as in Keras).
    Keras defaults: ``learning_rate=0.01, momentum=0.0, nesterov=False``; momentum
    must lie in [0, 1]. Sutskever et al., ICML 2013 (this Nesterov form).

    An :class:`optimlab.optim.SGD` with ``momentum_form="velocity"``.
    """ + COMMON_DOC
    keras_args = {"momentum": UNIT, "nesterov": Flag(hint=" (the order is Keras 3's: learning_rate, momentum, "
                                                           "nesterov, weight_decay; give Keras 2's decay by name)")}

    def __init__(self, params: Any, learning_rate: Any = 0.01, momentum: Any = 0.0, nesterov: bool = False,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        checked({"nesterov": self.keras_args["nesterov"]}, nesterov=nesterov)  # first: a shifted positional
        common = common_options("SGD", 0.01, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        checked(self.keras_args, momentum=momentum)
        nesterov = nesterov and (isinstance(momentum, Tensor) or momentum != 0)
        super().__init__(params, momentum=momentum, nesterov=nesterov, momentum_form="velocity", **common)


@keras_name("RMSprop", tune={"rho": (0.9, 0.999)})
class RMSprop(optim.RMSprop):
    __doc__ = r"""Keras' ``RMSprop`` (Hinton, lecture 6e, 2012; centered: Graves 2013).

    .. math::
        v_t = ρv_{t-1} + (1-ρ)g_t^2,\quad \bar g_t = ρ\bar g_{t-1} + (1-ρ)g_t\;(\text{centered}),\quad
        Δ_t = \frac{\mathrm{lr}\,g_t}{\sqrt{v_t - \bar g_t^2 + ε}}

    ``θ_t = θ_{t−1} − Δ_t``; with momentum μ > 0, ``b_t = μb_{t−1} + Δ_t`` and
    ``θ_t = θ_{t−1} − b_t`` (lr inside the buffer). ε is inside the root.
    Keras defaults: ``learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
    centered=False``.

    An :class:`optimlab.optim.RMSprop` with ``alpha=rho, eps_in_sqrt=True,
    momentum_form="velocity"``.
    """ + COMMON_DOC
    keras_args = {"rho": UNIT, "momentum": Range(0.0), "epsilon": EPSILON_ARG, "centered": Flag()}

    def __init__(self, params: Any, learning_rate: Any = 0.001, rho: Any = 0.9, momentum: Any = 0.0,
                 epsilon: Any = 1e-7, centered: bool = False, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None,
                 **kwargs: Any) -> None:
        common = common_options("RMSprop", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, decay, kwargs)
        checked(self.keras_args, rho=rho, momentum=momentum, epsilon=epsilon, centered=centered)
        super().__init__(params, alpha=rho, momentum=momentum, eps=epsilon_or_default(epsilon), centered=centered,
                         eps_in_sqrt=True, momentum_form="velocity", **common)


@keras_name("Adagrad", tune={"initial_accumulator_value": (0.01, 0.5)})
class Adagrad(optim.Adagrad):
    __doc__ = r"""Keras' ``Adagrad`` (Duchi, Hazan & Singer, JMLR 2011).

    .. math::
        G_0 = a,\quad G_t = G_{t-1} + g_t^2,\quad θ_t = θ_{t-1} - \frac{\mathrm{lr}\,g_t}{\sqrt{G_t + ε}}

    Keras defaults: ``learning_rate=0.001, initial_accumulator_value=0.1 (= a),
    epsilon=1e-7``. An :class:`optimlab.optim.Adagrad` with ``eps_in_sqrt=True``.
    """ + COMMON_DOC
    keras_args = {"initial_accumulator_value": Range(0.0), "epsilon": EPSILON_ARG}

    def __init__(self, params: Any, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: Any = 1e-7, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = common_options("Adagrad", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, decay, kwargs)
        checked(self.keras_args, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon)
        super().__init__(params, initial_accumulator_value=initial_accumulator_value, eps=epsilon_or_default(epsilon),
                         eps_in_sqrt=True, **common)


@keras_name("Adadelta", tune={"rho": (0.85, 0.99)})
class Adadelta(optim.Adadelta):
    __doc__ = r"""Keras' ``Adadelta`` (Zeiler 2012): the same formula as torch's.

    .. math::
        E[g^2]_t = ρE[g^2]_{t-1} + (1-ρ)g_t^2,\quad
        Δ_t = \frac{\sqrt{E[Δ^2]_{t-1} + ε}}{\sqrt{E[g^2]_t + ε}}\,g_t,\quad
        E[Δ^2]_t = ρE[Δ^2]_{t-1} + (1-ρ)Δ_t^2,\quad θ_t = θ_{t-1} - \mathrm{lr}\,Δ_t

    Keras defaults: ``learning_rate=0.001, rho=0.95, epsilon=1e-7`` (the paper's
    Adadelta has no learning rate: ``learning_rate=1.0``).
    """ + COMMON_DOC
    keras_args = {"rho": UNIT, "epsilon": EPSILON_ARG}

    def __init__(self, params: Any, learning_rate: Any = 0.001, rho: Any = 0.95, epsilon: Any = 1e-7,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = common_options("Adadelta", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, decay, kwargs)
        checked(self.keras_args, rho=rho, epsilon=epsilon)
        super().__init__(params, rho=rho, eps=epsilon_or_default(epsilon), **common)


_ADAM_DOC = r"""

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1)g_t,\quad v_t = β_2 v_{t-1} + (1-β_2)g_t^2,\quad
        θ_t = θ_{t-1} - \mathrm{lr}\,\frac{\sqrt{1-β_2^t}}{1-β_1^t}\,\frac{m_t}{\sqrt{v_t} + ε}

    (ε is the paper's "ε-hat", section 2, not torch's ε). ``amsgrad=True`` uses
    ``v̂_t = max(v̂_{t−1}, v_t)`` in place of ``v_t`` (Reddi, Kale & Kumar, ICLR 2018).
    An :class:`optimlab.optim.BASE` with ``eps_hat=True``.
"""


@keras_name("Adam", tune=BETA_1_TUNE)
class Adam(optim.Adam):
    __doc__ = ("Keras' ``Adam`` (Kingma & Ba, ICLR 2015). Keras defaults: ``learning_rate=0.001, "
               "beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False``." + _ADAM_DOC.replace("BASE", "Adam")
               + COMMON_DOC)
    keras_args = {"beta_1": BETA, "beta_2": BETA, "epsilon": EPSILON_ARG, "amsgrad": Flag()}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.999,
                 epsilon: Any = 1e-7, amsgrad: bool = False, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None,
                 **kwargs: Any) -> None:
        common = common_options("Adam", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad)
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon_or_default(epsilon), amsgrad=amsgrad, eps_hat=True,
                         **common)


@keras_name("AdamW", tune=BETA_1_TUNE)
class AdamW(optim.AdamW):
    __doc__ = ("Keras' ``AdamW`` (Loshchilov & Hutter, ICLR 2019): Keras' :class:`Adam` with "
               "``weight_decay=0.004`` by default (``None`` is refused, as in Keras). Keras defaults: "
               "``learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, "
               "amsgrad=False``." + _ADAM_DOC.replace("BASE", "AdamW") + COMMON_DOC)
    keras_args = {"beta_1": BETA, "beta_2": BETA, "epsilon": EPSILON_ARG, "amsgrad": Flag()}

    def __init__(self, params: Any, learning_rate: Any = 0.001, weight_decay: Any = 0.004, beta_1: Any = 0.9,
                 beta_2: Any = 0.999, epsilon: Any = 1e-7, amsgrad: bool = False, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None,
                 **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("weight_decay must be a number for AdamW (Keras refuses None too), got None; "
                             "use optimlab.keras.Adam for no weight decay")
        common = common_options("AdamW", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad)
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon_or_default(epsilon), amsgrad=amsgrad, eps_hat=True,
                         **common)


@keras_name("Adamax", tune=BETA_1_TUNE)
class Adamax(optim.Adamax):
    __doc__ = r"""Keras' ``Adamax`` (Kingma & Ba, ICLR 2015, section 7.1).

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1)g_t,\quad u_t = \max(β_2 u_{t-1}, |g_t|),\quad
        θ_t = θ_{t-1} - \frac{\mathrm{lr}}{1-β_1^t}\,\frac{m_t}{u_t + ε}

    Keras defaults: ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``.
    An :class:`optimlab.optim.Adamax` with ``eps_inside_max=False``.
    """ + COMMON_DOC
    keras_args = {"beta_1": BETA, "beta_2": BETA, "epsilon": EPSILON_ARG}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.999,
                 epsilon: Any = 1e-7, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = common_options("Adamax", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon_or_default(epsilon),
                         eps_inside_max=False, **common)


@keras_name("Nadam", tune=BETA_1_TUNE)
class Nadam(optim.NAdam):
    __doc__ = r"""Keras' ``Nadam`` (Dozat, "Incorporating Nesterov Momentum into Adam", 2016).

    With ``μ_t = β₁(1 − ½·0.96ᵗ)`` and ``Π_t = μ_1⋯μ_t``:

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1)g_t,\quad v_t = β_2 v_{t-1} + (1-β_2)g_t^2,\quad
        \hat m_t = \frac{μ_{t+1} m_t}{1 - Π_{t+1}} + \frac{(1-μ_t)\,g_t}{1 - Π_t}

        θ_t = θ_{t-1} - \mathrm{lr}\,\frac{\hat m_t}{\sqrt{v_t/(1-β_2^t)} + ε}

    Keras defaults: ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``.
    An :class:`optimlab.optim.NAdam` with ``momentum_decay=1.0`` (torch's schedule
    is ``0.96^{0.004·t}``).
    """ + COMMON_DOC
    keras_args = {"beta_1": BETA, "beta_2": BETA, "epsilon": EPSILON_ARG}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.999,
                 epsilon: Any = 1e-7, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = common_options("Nadam", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon_or_default(epsilon),
                         momentum_decay=1.0, **common)

    def _init_state(self, p: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        super()._init_state(p, state, group)
        # Keras keeps the product of the momentum schedule in the variables' dtype;
        # torch's NAdam (and optimlab.optim.NAdam) keep it in float32, which in
        # float64 shifts every step by ~1e-8 relative.
        if p.is_floating_point():
            state["mu_product"] = state["mu_product"].to(p.dtype)
