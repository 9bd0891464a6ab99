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

from __future__ import annotations

from numbers import Number
from typing import Any

from torch import Tensor

from . import optim
from .optim.hparams import AtMostOne, Flag, Range, check_values

__all__ = ["SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam", "Lion", "Lamb", "Adafactor",
           "Ftrl", "Muon", "EPSILON"]

EPSILON = 1e-7
"""Keras' default epsilon (``keras.config.epsilon()``), used when ``epsilon=None``."""

# optimlab options a Keras constructor passes on unchanged
_PASSTHROUGH = ("maximize", "nonfinite")
# Keras arguments without a counterpart here -> what to use in torch instead
_KERAS_ONLY = {  # refused unless None, False or 0 (off, as in Keras)
    "use_ema": "average the weights with torch.optim.swa_utils.AveragedModel "
               "(multi_avg_fn=get_ema_multi_avg_fn(...))",
    "loss_scale_factor": "scale the loss yourself or use torch.amp.GradScaler",
    "gradient_accumulation_steps": "call backward() on several batches before step(), "
                                   "dividing the loss by their number",
}
_IGNORED = ("name", "ema_momentum", "ema_overwrite_frequency")  # no effect on the numbers


# ---------------------------------------------------------------------------- checks
# The Keras arguments, declared as the optimizers declare theirs (optimlab.optim.hparams),
# checked by the same validator under Keras' names and ranges.
_UNIT = Range(0.0, 1.0)
_BETA = Range(0.0, 1.0, hi_open=True)
_EPSILON = Range(0.0, optional=True)  # None: Keras' default
_CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")
_COMMON_ARGS = {"learning_rate": Range(0.0), "weight_decay": Range(0.0, optional=True),
                "decay": Range(0.0, optional=True), "clipnorm": Range(0.0, optional=True),
                "clipvalue": Range(0.0, optional=True), "global_clipnorm": Range(0.0, optional=True)}
_COMMON_RULES = (AtMostOne(tuple(_CLIPS), "give at most one of clipnorm, clipvalue and global_clipnorm"),)


def _checked(table: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Check Keras arguments against ``table``; errors name the Keras argument."""
    return check_values(table, values)


def _keras_name(name: str, tune: dict[str, Any] | None = None) -> Any:
    """Register a Keras constructor as ``keras.<name>`` (the bare class names are optimlab.optim's);
    ``tune``: its random-search ranges, under its Keras argument names."""
    return optim.register_optimizer(f"keras.{name.lower()}", class_name=False, tune=tune,
                                    description=f"Keras 3 {name}: Keras' argument names, defaults and arithmetic")


_BETA_1_TUNE = {"beta_1": (0.5, 0.99)}


def _epsilon(value: Any) -> Any:
    return EPSILON if value is None else value


def _common(cls: str, default_lr: float, learning_rate: Any, lr: Any, weight_decay: Any, clipnorm: Any,
            clipvalue: Any, global_clipnorm: Any, decay: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """The optimlab options every Keras constructor shares, from Keras' arguments."""
    if lr is not None:  # Keras 2's alias: it wins over a default learning_rate, as it did there
        explicit = isinstance(learning_rate, Tensor) or learning_rate != default_lr
        if explicit and not (isinstance(lr, Number) and isinstance(learning_rate, Number) and learning_rate == lr):
            raise ValueError(f"give learning_rate or its old name lr, not both (learning_rate={learning_rate!r}, "
                             f"lr={lr!r})")
        learning_rate = lr
    if callable(learning_rate) and not isinstance(learning_rate, Tensor):
        raise ValueError(f"learning_rate must be a number or a tensor, got the callable {learning_rate!r}; Keras "
                         f"schedules become torch.optim.lr_scheduler objects (e.g. LambdaLR) stepped after each "
                         f"step()")
    clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
    check_values(_COMMON_ARGS, dict(learning_rate=learning_rate, weight_decay=weight_decay, decay=decay, **clips),
                 rules=_COMMON_RULES)
    weight_decay = 0.0 if weight_decay is None else weight_decay
    for k, v in clips.items():
        if v is not None and not isinstance(v, Tensor) and v == 0:
            clips[k] = None  # Keras: a clip of 0 is no clipping
    options: dict[str, Any] = {}
    for k, v in extra.items():
        if k in _PASSTHROUGH:
            options[k] = v
        elif k in _KERAS_ONLY:
            instead = _KERAS_ONLY[k]
            if not (v is None or v is False or (isinstance(v, Number) and v == 0)):
                raise ValueError(f"{k}={v!r} is not supported by optimlab.keras.{cls}: {instead}")
        elif k not in _IGNORED:
            raise TypeError(f"optimlab.keras.{cls}() got an unexpected argument {k!r}; its arguments are Keras' "
                            f"(see help(optimlab.keras.{cls})) plus {', '.join(_PASSTHROUGH)}. For other "
                            f"variants use optimlab.optim.{cls if cls != 'Nadam' else 'NAdam'}")
    return dict(lr=learning_rate, weight_decay=weight_decay, decoupled_weight_decay=True,
                lr_decay=0.0 if decay is None else decay, **clips, **options)


_COMMON_DOC = """
    Common arguments (see :mod:`optimlab.keras`): ``weight_decay`` (decoupled,
    ``θ ← θ − θ·wd·lr`` before the update), ``clipnorm``, ``clipvalue``,
    ``global_clipnorm``, and keyword-only ``decay`` (Keras 2: ``lr_t = lr/(1 + decay·t)``,
    t = updates before this one) and ``lr`` (Keras 2's name of ``learning_rate``).
"""


# ------------------------------------------------------------------------ optimizers
@_keras_name("SGD", tune={"momentum": optim.Tune(0.0, 0.99, only_if_on=True)})
class SGD(optim.SGD):
    __doc__ = r"""Keras' ``SGD``: gradient descent with momentum in the velocity form.

    .. math::
        v_t = μ v_{t-1} - \mathrm{lr}\,g_t,\qquad θ_t = θ_{t-1} + v_t
        \qquad(\text{nesterov: } θ_t = θ_{t-1} + μ v_t - \mathrm{lr}\,g_t)

    ``momentum=0`` is plain gradient descent (with ``nesterov=True`` too, as in Keras).
    Keras defaults: ``learning_rate=0.01, momentum=0.0, nesterov=False``; momentum
    must lie in [0, 1]. Sutskever et al., ICML 2013 (this Nesterov form).

    An :class:`optimlab.optim.SGD` with ``momentum_form="velocity"``.
    """ + _COMMON_DOC
    keras_args = {"momentum": _UNIT, "nesterov": Flag(hint=" (the order is Keras 3's: learning_rate, momentum, "
                                                           "nesterov, weight_decay; give Keras 2's decay by name)")}

    def __init__(self, params: Any, learning_rate: Any = 0.01, momentum: Any = 0.0, nesterov: bool = False,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        _checked({"nesterov": self.keras_args["nesterov"]}, nesterov=nesterov)  # first: a shifted positional
        common = _common("SGD", 0.01, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        _checked(self.keras_args, momentum=momentum)
        nesterov = nesterov and (isinstance(momentum, Tensor) or momentum != 0)
        super().__init__(params, momentum=momentum, nesterov=nesterov, momentum_form="velocity", **common)


@_keras_name("RMSprop", tune={"rho": (0.9, 0.999)})
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
    """ + _COMMON_DOC
    keras_args = {"rho": _UNIT, "momentum": Range(0.0), "epsilon": _EPSILON, "centered": Flag()}

    def __init__(self, params: Any, learning_rate: Any = 0.001, rho: Any = 0.9, momentum: Any = 0.0,
                 epsilon: Any = 1e-7, centered: bool = False, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None,
                 **kwargs: Any) -> None:
        common = _common("RMSprop", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, decay, kwargs)
        _checked(self.keras_args, rho=rho, momentum=momentum, epsilon=epsilon, centered=centered)
        super().__init__(params, alpha=rho, momentum=momentum, eps=_epsilon(epsilon), centered=centered,
                         eps_in_sqrt=True, momentum_form="velocity", **common)


@_keras_name("Adagrad")
class Adagrad(optim.Adagrad):
    __doc__ = r"""Keras' ``Adagrad`` (Duchi, Hazan & Singer, JMLR 2011).

    .. math::
        G_0 = a,\quad G_t = G_{t-1} + g_t^2,\quad θ_t = θ_{t-1} - \frac{\mathrm{lr}\,g_t}{\sqrt{G_t + ε}}

    Keras defaults: ``learning_rate=0.001, initial_accumulator_value=0.1 (= a),
    epsilon=1e-7``. An :class:`optimlab.optim.Adagrad` with ``eps_in_sqrt=True``.
    """ + _COMMON_DOC
    keras_args = {"initial_accumulator_value": Range(0.0), "epsilon": _EPSILON}

    def __init__(self, params: Any, learning_rate: Any = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: Any = 1e-7, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = _common("Adagrad", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, decay, kwargs)
        _checked(self.keras_args, initial_accumulator_value=initial_accumulator_value, epsilon=epsilon)
        super().__init__(params, initial_accumulator_value=initial_accumulator_value, eps=_epsilon(epsilon),
                         eps_in_sqrt=True, **common)


@_keras_name("Adadelta")
class Adadelta(optim.Adadelta):
    __doc__ = r"""Keras' ``Adadelta`` (Zeiler 2012): the same formula as torch's.

    .. math::
        E[g^2]_t = ρE[g^2]_{t-1} + (1-ρ)g_t^2,\quad
        Δ_t = \frac{\sqrt{E[Δ^2]_{t-1} + ε}}{\sqrt{E[g^2]_t + ε}}\,g_t,\quad
        E[Δ^2]_t = ρE[Δ^2]_{t-1} + (1-ρ)Δ_t^2,\quad θ_t = θ_{t-1} - \mathrm{lr}\,Δ_t

    Keras defaults: ``learning_rate=0.001, rho=0.95, epsilon=1e-7`` (the paper's
    Adadelta has no learning rate: ``learning_rate=1.0``).
    """ + _COMMON_DOC
    keras_args = {"rho": _UNIT, "epsilon": _EPSILON}

    def __init__(self, params: Any, learning_rate: Any = 0.001, rho: Any = 0.95, epsilon: Any = 1e-7,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = _common("Adadelta", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, decay, kwargs)
        _checked(self.keras_args, rho=rho, epsilon=epsilon)
        super().__init__(params, rho=rho, eps=_epsilon(epsilon), **common)


_ADAM_DOC = r"""

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1)g_t,\quad v_t = β_2 v_{t-1} + (1-β_2)g_t^2,\quad
        θ_t = θ_{t-1} - \mathrm{lr}\,\frac{\sqrt{1-β_2^t}}{1-β_1^t}\,\frac{m_t}{\sqrt{v_t} + ε}

    (ε is the paper's "ε-hat", section 2, not torch's ε). ``amsgrad=True`` uses
    ``v̂_t = max(v̂_{t−1}, v_t)`` in place of ``v_t`` (Reddi, Kale & Kumar, ICLR 2018).
    An :class:`optimlab.optim.BASE` with ``eps_hat=True``.
"""


@_keras_name("Adam", tune=_BETA_1_TUNE)
class Adam(optim.Adam):
    __doc__ = ("Keras' ``Adam`` (Kingma & Ba, ICLR 2015). Keras defaults: ``learning_rate=0.001, "
               "beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False``." + _ADAM_DOC.replace("BASE", "Adam")
               + _COMMON_DOC)
    keras_args = {"beta_1": _BETA, "beta_2": _BETA, "epsilon": _EPSILON, "amsgrad": Flag()}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.999,
                 epsilon: Any = 1e-7, amsgrad: bool = False, weight_decay: Any = None, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None,
                 **kwargs: Any) -> None:
        common = _common("Adam", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        _checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad)
        super().__init__(params, betas=(beta_1, beta_2), eps=_epsilon(epsilon), amsgrad=amsgrad, eps_hat=True,
                         **common)


@_keras_name("AdamW", tune=_BETA_1_TUNE)
class AdamW(optim.AdamW):
    __doc__ = ("Keras' ``AdamW`` (Loshchilov & Hutter, ICLR 2019): Keras' :class:`Adam` with "
               "``weight_decay=0.004`` by default (``None`` is refused, as in Keras). Keras defaults: "
               "``learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7, "
               "amsgrad=False``." + _ADAM_DOC.replace("BASE", "AdamW") + _COMMON_DOC)
    keras_args = {"beta_1": _BETA, "beta_2": _BETA, "epsilon": _EPSILON, "amsgrad": Flag()}

    def __init__(self, params: Any, learning_rate: Any = 0.001, weight_decay: Any = 0.004, beta_1: Any = 0.9,
                 beta_2: Any = 0.999, epsilon: Any = 1e-7, amsgrad: bool = False, clipnorm: Any = None,
                 clipvalue: Any = None, global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None,
                 **kwargs: Any) -> None:
        if weight_decay is None:
            raise ValueError("weight_decay must be a number for AdamW (Keras refuses None too), got None; "
                             "use optimlab.keras.Adam for no weight decay")
        common = _common("AdamW", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        _checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, amsgrad=amsgrad)
        super().__init__(params, betas=(beta_1, beta_2), eps=_epsilon(epsilon), amsgrad=amsgrad, eps_hat=True,
                         **common)


@_keras_name("Adamax", tune=_BETA_1_TUNE)
class Adamax(optim.Adamax):
    __doc__ = r"""Keras' ``Adamax`` (Kingma & Ba, ICLR 2015, section 7.1).

    .. math::
        m_t = β_1 m_{t-1} + (1-β_1)g_t,\quad u_t = \max(β_2 u_{t-1}, |g_t|),\quad
        θ_t = θ_{t-1} - \frac{\mathrm{lr}}{1-β_1^t}\,\frac{m_t}{u_t + ε}

    Keras defaults: ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``.
    An :class:`optimlab.optim.Adamax` with ``eps_inside_max=False``.
    """ + _COMMON_DOC
    keras_args = {"beta_1": _BETA, "beta_2": _BETA, "epsilon": _EPSILON}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.999,
                 epsilon: Any = 1e-7, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = _common("Adamax", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        _checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(params, betas=(beta_1, beta_2), eps=_epsilon(epsilon),
                         eps_inside_max=False, **common)


@_keras_name("Nadam", tune=_BETA_1_TUNE)
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
    """ + _COMMON_DOC
    keras_args = {"beta_1": _BETA, "beta_2": _BETA, "epsilon": _EPSILON}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.999,
                 epsilon: Any = 1e-7, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = _common("Nadam", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        _checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(params, betas=(beta_1, beta_2), eps=_epsilon(epsilon),
                         momentum_decay=1.0, **common)

    def _init_state(self, p: Any, state: dict[str, Any], group: dict[str, Any]) -> None:
        super()._init_state(p, state, group)
        # Keras keeps the product of the momentum schedule in the variables' dtype;
        # torch's NAdam (and optimlab.optim.NAdam) keep it in float32, which in
        # float64 shifts every step by ~1e-8 relative.
        if p.is_floating_point():
            state["mu_product"] = state["mu_product"].to(p.dtype)



# ------------------------------------------------------- Keras 3's other optimizers
def _native_decay(common: dict[str, Any], cls: str) -> dict[str, Any]:
    """``common`` for a class that applies its own (decoupled) weight decay and keeps no step count."""
    common = dict(common)
    common.pop("decoupled_weight_decay")
    if common.pop("lr_decay") not in (0, 0.0):
        raise ValueError(f"decay must be 0 for optimlab.keras.{cls} (Keras 3 has no decay argument); use a "
                         f"torch.optim.lr_scheduler (e.g. LambdaLR(opt, lambda t: 1 / (1 + d * t)))")
    return common


@_keras_name("Lion", tune={"beta_1": (0.8, 0.99)})
class Lion(optim.Lion):
    __doc__ = r"""Keras' ``Lion`` (Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023).

    .. math::
        θ_t = θ_{t-1} - \mathrm{lr}\,\operatorname{sign}(β_1 m_{t-1} + (1-β_1)g_t),\qquad
        m_t = β_2 m_{t-1} + (1-β_2)g_t

    Keras defaults: ``learning_rate=0.001, beta_1=0.9, beta_2=0.99``; β₁ must lie in
    (0, 1]. An :class:`optimlab.optim.Lion` (its weight decay is Keras' ``θ(1 − lr·wd)``).
    """ + _COMMON_DOC
    keras_args = {"beta_1": Range(0.0, 1.0, lo_open=True), "beta_2": _UNIT}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.99,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = _common("Lion", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        _checked(self.keras_args, beta_1=beta_1, beta_2=beta_2)
        common["decoupled_weight_decay"] = False  # Lion's own θ(1 − lr·λ), not lion_pytorch's λ/lr₀
        super().__init__(params, betas=(beta_1, beta_2), **common)


@_keras_name("Lamb", tune=_BETA_1_TUNE)
class Lamb(optim.LAMB):
    __doc__ = r"""Keras' ``Lamb`` (You et al., "Large Batch Optimization for Deep Learning", ICLR 2020).

    .. math::
        u_t = \frac{m_t/(1-β_1^t)}{\sqrt{v_t/(1-β_2^t)} + ε},\qquad
        θ_t = θ_{t-1} - \mathrm{lr}\,\frac{‖θ_{t-1}‖}{‖u_t‖}\,u_t

    (m, v Adam's; the trust ratio is 1 where a norm is 0, unclamped; weight decay is
    Keras' ``θ(1 − lr·wd)`` before the step, not part of u). Keras defaults:
    ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``. An
    :class:`optimlab.optim.LAMB` with ``clamp_value=None, decoupled_weight_decay=True``.
    """ + _COMMON_DOC
    keras_args = {"beta_1": _BETA, "beta_2": _BETA, "epsilon": _EPSILON}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.999,
                 epsilon: Any = 1e-7, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = _common("Lamb", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        _checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(params, betas=(beta_1, beta_2), eps=_epsilon(epsilon), clamp_value=None, **common)


@_keras_name("Adafactor")
class Adafactor(optim.Adafactor):
    __doc__ = r"""Keras' ``Adafactor`` (Shazeer & Stern, ICML 2018, Algorithms 4 and 5).

    With ``ρ_t = min(lr, 1/√t)``, ``α_t = max(ε₂, RMS(θ))·ρ_t``, ``1 − β̂_t = t^τ``
    (τ = ``beta_2_decay``): the moments of ``G² + ε₁`` (factored over the last two
    dimensions of a matrix: ``V̂ = R C / mean(R)``), ``U = G/√V̂``,
    ``θ ← θ − α_t U / max(1, RMS(U)/clip_threshold)``. Keras defaults:
    ``learning_rate=0.001, beta_2_decay=-0.8, epsilon_1=1e-30, epsilon_2=1e-3,
    clip_threshold=1.0, relative_step=True``. ``relative_step`` changes nothing in
    Keras 3's numbers (ρ_t is always ``min(lr, 1/√t)`` there) and is accepted as a flag.
    Weight decay shrinks θ before α_t reads RMS(θ), as in Keras. An
    :class:`optimlab.optim.Adafactor` with ``eps1_on="squared_gradient", decay_first=True``.
    """ + _COMMON_DOC
    keras_args = {"beta_2_decay": Range(None, 0.0), "epsilon_1": Range(0.0), "epsilon_2": Range(0.0),
                  "clip_threshold": Range(1.0), "relative_step": Flag()}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_2_decay: Any = -0.8, epsilon_1: Any = 1e-30,
                 epsilon_2: Any = 1e-3, clip_threshold: Any = 1.0, relative_step: bool = True,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = _common("Adafactor", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, decay, kwargs)
        _checked(self.keras_args, beta_2_decay=beta_2_decay, epsilon_1=epsilon_1, epsilon_2=epsilon_2,
                 clip_threshold=clip_threshold, relative_step=relative_step)
        common.pop("decoupled_weight_decay")
        super().__init__(params, beta2_decay=beta_2_decay, eps=(epsilon_1, epsilon_2), d=clip_threshold,
                         eps1_on="squared_gradient", decay_first=True, **common)


@_keras_name("Ftrl")
class Ftrl(optim.Ftrl):
    __doc__ = r"""Keras' ``Ftrl`` (McMahan et al., KDD 2013): FTRL-Proximal with TensorFlow's extensions.

    An :class:`optimlab.optim.Ftrl` (the formula is there) with ``lr_power =
    learning_rate_power``, ``l1``, ``l2``, ``l2_shrinkage`` = the three
    ``*_regularization_strength`` arguments. Keras defaults: ``learning_rate=0.001,
    learning_rate_power=-0.5, initial_accumulator_value=0.1,
    l1_regularization_strength=0.0, l2_regularization_strength=0.0,
    l2_shrinkage_regularization_strength=0.0, beta=0.0``.
    """ + _COMMON_DOC
    keras_args = {"learning_rate_power": Range(None, 0.0), "initial_accumulator_value": Range(0.0),
                  "l1_regularization_strength": Range(0.0), "l2_regularization_strength": Range(0.0),
                  "l2_shrinkage_regularization_strength": Range(0.0), "beta": Range(0.0)}

    def __init__(self, params: Any, learning_rate: Any = 0.001, learning_rate_power: Any = -0.5,
                 initial_accumulator_value: Any = 0.1, l1_regularization_strength: Any = 0.0,
                 l2_regularization_strength: Any = 0.0, l2_shrinkage_regularization_strength: Any = 0.0,
                 beta: Any = 0.0, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = _common("Ftrl", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        _checked(self.keras_args, learning_rate_power=learning_rate_power,
                 initial_accumulator_value=initial_accumulator_value,
                 l1_regularization_strength=l1_regularization_strength,
                 l2_regularization_strength=l2_regularization_strength,
                 l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength, beta=beta)
        super().__init__(params, lr_power=learning_rate_power, initial_accumulator_value=initial_accumulator_value,
                         l1=l1_regularization_strength, l2=l2_regularization_strength,
                         l2_shrinkage=l2_shrinkage_regularization_strength, beta=beta, **common)


@_keras_name("Muon", tune={"momentum": (0.8, 0.99)})
class Muon(optim.Muon):
    __doc__ = r"""Keras' ``Muon`` (Jordan et al. 2024; Liu et al., "Muon is Scalable for LLM Training", 2025).

    For a matrix A×B, with μ = ``momentum``: ``B_t = μB_{t−1} + g_t``, ``O_t =
    NS(g_t + μB_t)`` (nesterov; else ``NS(B_t)``: ``ns_steps`` quintic steps with
    ``(muon_a, muon_b, muon_c)`` after ``X/(‖X‖_F + 1e−7)``, in the parameter's dtype),
    ``θ ← θ(1 − lr·wd) − lr·rms_rate·√max(A, B)·O_t`` (``rms_rate=None``: factor 1).
    Every other parameter (not 2-D) goes to Keras' AdamW (:class:`Adam`'s arithmetic)
    with ``lr·adam_lr_ratio``, ``adam_beta_1``, ``adam_beta_2``, ``epsilon`` and decay
    ``θ(1 − lr·adam_weight_decay)``, built once as ``self.fallback``. Keras defaults:
    ``learning_rate=0.001, adam_beta_1=0.9, adam_beta_2=0.999, adam_weight_decay=0.004,
    epsilon=1e-7, weight_decay=0.004, muon_a=3.4445, muon_b=-4.7750, muon_c=2.0315,
    adam_lr_ratio=1, momentum=0.95, ns_steps=5, nesterov=True, rms_rate=0.2``.

    An :class:`optimlab.optim.Muon` with ``momentum_form="sgd", ns_normalize="add",
    ns_dtype=None, adjust_lr_fn="match_rms_adamw"``. Differences: torch parameters have
    no paths, so ``exclude_embeddings`` cannot select embeddings (accepted, no effect:
    every 2-D parameter is a matrix for Muon) and ``exclude_layers`` is refused; an LR
    scheduler changes Muon's groups only; ``global_clipnorm`` and ``decay`` are refused
    (two optimizers step the parameters; Muon keeps no step count); ``adam_lr_ratio``
    must be > 0.
    """
    keras_args = {"adam_beta_1": _BETA, "adam_beta_2": _BETA, "adam_weight_decay": Range(0.0, optional=True),
                  "epsilon": _EPSILON, "momentum": Range(0.0), "nesterov": Flag(), "exclude_embeddings": Flag(),
                  "adam_lr_ratio": Range(0.0, lo_open=True), "rms_rate": Range(0.0, optional=True)}

    def __init__(self, params: Any, learning_rate: Any = 0.001, adam_beta_1: Any = 0.9, adam_beta_2: Any = 0.999,
                 adam_weight_decay: Any = 0.004, epsilon: Any = 1e-7, weight_decay: Any = 0.004,
                 clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None, *, use_ema: Any = False,
                 name: Any = None, exclude_layers: Any = None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.7750, muon_c: float = 2.0315, adam_lr_ratio: Any = 1,
                 momentum: Any = 0.95, ns_steps: int = 5, nesterov: bool = True, rms_rate: Any = 0.2,
                 decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        if global_clipnorm:
            raise ValueError(f"global_clipnorm={global_clipnorm!r} is not supported by optimlab.keras.Muon (the "
                             "matrices and the other parameters are stepped by two optimizers); use clipnorm, or "
                             "torch.nn.utils.clip_grad_norm_ before step()")
        if exclude_layers:
            raise ValueError(f"exclude_layers={exclude_layers!r} is not supported by optimlab.keras.Muon: torch "
                             "parameters have no paths; give those parameters to another optimizer")
        common = _native_decay(_common("Muon", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, None,
                                       decay, {"use_ema": use_ema, **kwargs}), "Muon")
        _checked(self.keras_args, adam_beta_1=adam_beta_1, adam_beta_2=adam_beta_2,
                 adam_weight_decay=adam_weight_decay, epsilon=epsilon, momentum=momentum, nesterov=nesterov,
                 exclude_embeddings=exclude_embeddings, adam_lr_ratio=adam_lr_ratio, rms_rate=rms_rate)
        lr0, eps, clips = common["lr"], _epsilon(epsilon), {k: common[k] for k in ("clipnorm", "clipvalue")}
        # Keras decays the AdamW part by θ·wd·lr, not θ·wd·lr·ratio
        adam_wd = None if adam_weight_decay is None else adam_weight_decay / adam_lr_ratio

        def adamw(ps: list) -> Adam:
            return Adam(ps, learning_rate=lr0 * adam_lr_ratio, beta_1=adam_beta_1, beta_2=adam_beta_2, epsilon=eps,
                        weight_decay=adam_wd, **clips, **{k: common[k] for k in _PASSTHROUGH if k in common})

        super().__init__(params, momentum=momentum, nesterov=nesterov, ns_coefficients=(muon_a, muon_b, muon_c),
                         ns_steps=ns_steps, ns_dtype=None, momentum_form="sgd", ns_normalize="add",
                         adjust_lr_fn="unscaled" if rms_rate is None else "match_rms_adamw",
                         rms_rate=0.2 if rms_rate is None else rms_rate, fallback=adamw, **common)
