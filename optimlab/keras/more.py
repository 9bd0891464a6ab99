"""Keras 3's Lion, Lamb, Adafactor, Ftrl and Muon as torch optimizers (see optimlab.keras)."""

from __future__ import annotations

from typing import Any

from .. import optim
from ..optim.hparams import Flag, Range
from ._args import (
    BETA,
    BETA_1_TUNE,
    COMMON_DOC,
    EPSILON_ARG,
    PASSTHROUGH,
    UNIT,
    checked,
    common_options,
    epsilon_or_default,
    keras_name,
)
from .classic import Adam

__all__ = ['Lion', 'Lamb', 'Adafactor', 'Ftrl', 'Muon']


# ------------------------------------------------------- Keras 3's other optimizers
def _native_decay(common: dict[str, Any], cls: str) -> dict[str, Any]:
    """``common`` for a class that applies its own (decoupled) weight decay and keeps no step count."""
    common = dict(common)
    common.pop("decoupled_weight_decay")
    if common.pop("lr_decay") not in (0, 0.0):
        raise ValueError(f"decay must be 0 for optimlab.keras.{cls} (Keras 3 has no decay argument); use a "
                         f"torch.optim.lr_scheduler (e.g. LambdaLR(opt, lambda t: 1 / (1 + d * t)))")
    return common


@keras_name("Lion", tune={"beta_1": (0.8, 0.99)})
class Lion(optim.Lion):
    __doc__ = r"""Keras' ``Lion`` (Chen et al., "Symbolic Discovery of Optimization Algorithms", 2023).

    .. math::
        θ_t = θ_{t-1} - \mathrm{lr}\,\operatorname{sign}(β_1 m_{t-1} + (1-β_1)g_t),\qquad
        m_t = β_2 m_{t-1} + (1-β_2)g_t

    Keras defaults: ``learning_rate=0.001, beta_1=0.9, beta_2=0.99``; β₁ must lie in
    (0, 1]. An :class:`optimlab.optim.Lion` (its weight decay is Keras' ``θ(1 − lr·wd)``).
    """ + COMMON_DOC
    keras_args = {"beta_1": Range(0.0, 1.0, lo_open=True), "beta_2": UNIT}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.99,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = common_options("Lion", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        checked(self.keras_args, beta_1=beta_1, beta_2=beta_2)
        common["decoupled_weight_decay"] = False  # Lion's own θ(1 − lr·λ), not lion_pytorch's λ/lr₀
        super().__init__(params, betas=(beta_1, beta_2), **common)


@keras_name("Lamb", tune=BETA_1_TUNE)
class Lamb(optim.LAMB):
    __doc__ = r"""Keras' ``Lamb`` (You et al., "Large Batch Optimization for Deep Learning", ICLR 2020).

    .. math::
        u_t = \frac{m_t/(1-β_1^t)}{\sqrt{v_t/(1-β_2^t)} + ε},\qquad
        θ_t = θ_{t-1} - \mathrm{lr}\,\frac{‖θ_{t-1}‖}{‖u_t‖}\,u_t

    (m, v Adam's; the trust ratio is 1 where a norm is 0, unclamped; weight decay is
    Keras' ``θ(1 − lr·wd)`` before the step, not part of u). Keras defaults:
    ``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``. An
    :class:`optimlab.optim.LAMB` with ``clamp_value=None, decoupled_weight_decay=True``.
    """ + COMMON_DOC
    keras_args = {"beta_1": BETA, "beta_2": BETA, "epsilon": EPSILON_ARG}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_1: Any = 0.9, beta_2: Any = 0.999,
                 epsilon: Any = 1e-7, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = common_options("Lamb", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        checked(self.keras_args, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
        super().__init__(params, betas=(beta_1, beta_2), eps=epsilon_or_default(epsilon), clamp_value=None, **common)


@keras_name("Adafactor", tune={"beta_2_decay": (-1.0, -0.5)})
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
    :class:`optimlab.optim.Adafactor` with ``eps1_on="squared_gradient", decay_first=True``
    (``runs``, keyword-only, is optimlab's runs dimension, as there).
    """ + COMMON_DOC
    keras_args = {"beta_2_decay": Range(None, 0.0), "epsilon_1": Range(0.0), "epsilon_2": Range(0.0),
                  "clip_threshold": Range(1.0), "relative_step": Flag()}

    def __init__(self, params: Any, learning_rate: Any = 0.001, beta_2_decay: Any = -0.8, epsilon_1: Any = 1e-30,
                 epsilon_2: Any = 1e-3, clip_threshold: Any = 1.0, relative_step: bool = True,
                 weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, runs: bool = False,
                 **kwargs: Any) -> None:
        common = common_options("Adafactor", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue,
                         global_clipnorm, decay, kwargs)
        checked(self.keras_args, beta_2_decay=beta_2_decay, epsilon_1=epsilon_1, epsilon_2=epsilon_2,
                 clip_threshold=clip_threshold, relative_step=relative_step)
        common.pop("decoupled_weight_decay")
        super().__init__(params, beta2_decay=beta_2_decay, eps=(epsilon_1, epsilon_2), d=clip_threshold,
                         eps1_on="squared_gradient", decay_first=True, runs=runs, **common)


@keras_name("Ftrl", tune={"l1_regularization_strength": (0.0, 0.01)})
class Ftrl(optim.Ftrl):
    __doc__ = r"""Keras' ``Ftrl`` (McMahan et al., KDD 2013): FTRL-Proximal with TensorFlow's extensions.

    An :class:`optimlab.optim.Ftrl` (the formula is there) with ``lr_power =
    learning_rate_power``, ``l1``, ``l2``, ``l2_shrinkage`` = the three
    ``*_regularization_strength`` arguments. Keras defaults: ``learning_rate=0.001,
    learning_rate_power=-0.5, initial_accumulator_value=0.1,
    l1_regularization_strength=0.0, l2_regularization_strength=0.0,
    l2_shrinkage_regularization_strength=0.0, beta=0.0``.
    """ + COMMON_DOC
    keras_args = {"learning_rate_power": Range(None, 0.0), "initial_accumulator_value": Range(0.0),
                  "l1_regularization_strength": Range(0.0), "l2_regularization_strength": Range(0.0),
                  "l2_shrinkage_regularization_strength": Range(0.0), "beta": Range(0.0)}

    def __init__(self, params: Any, learning_rate: Any = 0.001, learning_rate_power: Any = -0.5,
                 initial_accumulator_value: Any = 0.1, l1_regularization_strength: Any = 0.0,
                 l2_regularization_strength: Any = 0.0, l2_shrinkage_regularization_strength: Any = 0.0,
                 beta: Any = 0.0, weight_decay: Any = None, clipnorm: Any = None, clipvalue: Any = None,
                 global_clipnorm: Any = None, *, decay: Any = 0.0, lr: Any = None, **kwargs: Any) -> None:
        common = common_options("Ftrl", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         decay, kwargs)
        checked(self.keras_args, learning_rate_power=learning_rate_power,
                 initial_accumulator_value=initial_accumulator_value,
                 l1_regularization_strength=l1_regularization_strength,
                 l2_regularization_strength=l2_regularization_strength,
                 l2_shrinkage_regularization_strength=l2_shrinkage_regularization_strength, beta=beta)
        super().__init__(params, lr_power=learning_rate_power, initial_accumulator_value=initial_accumulator_value,
                         l1=l1_regularization_strength, l2=l2_regularization_strength,
                         l2_shrinkage=l2_shrinkage_regularization_strength, beta=beta, **common)


@keras_name("Muon", tune={"momentum": (0.8, 0.99)})
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
    must be > 0. ``runs`` (keyword-only) is optimlab's runs dimension, as in
    :class:`optimlab.optim.Muon`: a point of the function lab (a vector per run) goes to the AdamW.
    """
    keras_args = {"adam_beta_1": BETA, "adam_beta_2": BETA, "adam_weight_decay": Range(0.0, optional=True),
                  "epsilon": EPSILON_ARG, "momentum": Range(0.0), "nesterov": Flag(), "exclude_embeddings": Flag(),
                  "adam_lr_ratio": Range(0.0, lo_open=True), "rms_rate": Range(0.0, optional=True)}

    def __init__(self, params: Any, learning_rate: Any = 0.001, adam_beta_1: Any = 0.9, adam_beta_2: Any = 0.999,
                 adam_weight_decay: Any = 0.004, epsilon: Any = 1e-7, weight_decay: Any = 0.004,
                 clipnorm: Any = None, clipvalue: Any = None, global_clipnorm: Any = None, *, use_ema: Any = False,
                 name: Any = None, exclude_layers: Any = None, exclude_embeddings: bool = True,
                 muon_a: float = 3.4445, muon_b: float = -4.7750, muon_c: float = 2.0315, adam_lr_ratio: Any = 1,
                 momentum: Any = 0.95, ns_steps: int = 5, nesterov: bool = True, rms_rate: Any = 0.2,
                 decay: Any = 0.0, lr: Any = None, runs: bool = False, **kwargs: Any) -> None:
        if global_clipnorm:
            raise ValueError(f"global_clipnorm={global_clipnorm!r} is not supported by optimlab.keras.Muon (the "
                             "matrices and the other parameters are stepped by two optimizers); use clipnorm, or "
                             "torch.nn.utils.clip_grad_norm_ before step()")
        if exclude_layers:
            raise ValueError(f"exclude_layers={exclude_layers!r} is not supported by optimlab.keras.Muon: torch "
                             "parameters have no paths; give those parameters to another optimizer")
        common = _native_decay(common_options("Muon", 0.001, learning_rate, lr, weight_decay, clipnorm, clipvalue, None,
                                       decay, {"use_ema": use_ema, **kwargs}), "Muon")
        checked(self.keras_args, adam_beta_1=adam_beta_1, adam_beta_2=adam_beta_2,
                 adam_weight_decay=adam_weight_decay, epsilon=epsilon, momentum=momentum, nesterov=nesterov,
                 exclude_embeddings=exclude_embeddings, adam_lr_ratio=adam_lr_ratio, rms_rate=rms_rate)
        lr0, eps, clips = common["lr"], epsilon_or_default(epsilon), {k: common[k] for k in ("clipnorm", "clipvalue")}
        # Keras decays the AdamW part by θ·wd·lr, not θ·wd·lr·ratio
        adam_wd = None if adam_weight_decay is None else adam_weight_decay / adam_lr_ratio

        def adamw(ps: list) -> Adam:
            return Adam(ps, learning_rate=lr0 * adam_lr_ratio, beta_1=adam_beta_1, beta_2=adam_beta_2, epsilon=eps,
                        weight_decay=adam_wd, **clips, **{k: common[k] for k in PASSTHROUGH if k in common})

        super().__init__(params, momentum=momentum, nesterov=nesterov, ns_coefficients=(muon_a, muon_b, muon_c),
                         ns_steps=ns_steps, ns_dtype=None, momentum_form="sgd", ns_normalize="add",
                         adjust_lr_fn="unscaled" if rms_rate is None else "match_rms_adamw",
                         rms_rate=0.2 if rms_rate is None else rms_rate, fallback=adamw, runs=runs, **common)
