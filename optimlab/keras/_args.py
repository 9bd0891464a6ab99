"""What every optimlab.keras constructor shares: Keras' common arguments, their checks, the registry names."""

from __future__ import annotations

from numbers import Number
from typing import Any

from torch import Tensor

from .. import optim
from ..optim.hparams import AtMostOne, Range, check_values

EPSILON = 1e-7
"""Keras' default epsilon (``keras.config.epsilon()``), used when ``epsilon=None``."""

# optimlab options a Keras constructor passes on unchanged
PASSTHROUGH = ("maximize", "nonfinite")
# Keras arguments without a counterpart here -> what to use in torch instead
KERAS_ONLY = {  # refused unless None, False or 0 (off, as in Keras)
    "use_ema": "average the weights with torch.optim.swa_utils.AveragedModel "
               "(multi_avg_fn=get_ema_multi_avg_fn(...))",
    "loss_scale_factor": "scale the loss yourself or use torch.amp.GradScaler",
    "gradient_accumulation_steps": "call backward() on several batches before step(), "
                                   "dividing the loss by their number",
}
IGNORED = ("name", "ema_momentum", "ema_overwrite_frequency")  # no effect on the numbers


# ---------------------------------------------------------------------------- checks
# The Keras arguments, declared as the optimizers declare theirs (optimlab.optim.hparams),
# checked by the same validator under Keras' names and ranges.
UNIT = Range(0.0, 1.0)
BETA = Range(0.0, 1.0, hi_open=True)
EPSILON_ARG = Range(0.0, optional=True)  # None: Keras' default
CLIPS = ("clipnorm", "clipvalue", "global_clipnorm")
COMMON_ARGS = {"learning_rate": Range(0.0), "weight_decay": Range(0.0, optional=True),
                "decay": Range(0.0, optional=True), "clipnorm": Range(0.0, optional=True),
                "clipvalue": Range(0.0, optional=True), "global_clipnorm": Range(0.0, optional=True)}
COMMON_RULES = (AtMostOne(tuple(CLIPS), "give at most one of clipnorm, clipvalue and global_clipnorm"),)


def checked(table: dict[str, Any], **values: Any) -> dict[str, Any]:
    """Check Keras arguments against ``table``; errors name the Keras argument."""
    return check_values(table, values)


def keras_name(name: str, tune: dict[str, Any] | None = None) -> Any:
    """Register a Keras constructor as ``keras.<name>`` (the bare class names are optimlab.optim's);
    ``tune``: its random-search ranges, under its Keras argument names."""
    return optim.register_optimizer(f"keras.{name.lower()}", class_name=False, tune=tune,
                                    description=f"Keras 3 {name}: Keras' argument names, defaults and arithmetic")


BETA_1_TUNE = {"beta_1": (0.5, 0.99)}


def epsilon_or_default(value: Any) -> Any:
    return EPSILON if value is None else value


def common_options(cls: str, default_lr: float, learning_rate: Any, lr: Any, weight_decay: Any, clipnorm: Any,
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
    check_values(COMMON_ARGS, dict(learning_rate=learning_rate, weight_decay=weight_decay, decay=decay, **clips),
                 rules=COMMON_RULES)
    weight_decay = 0.0 if weight_decay is None else weight_decay
    for k, v in clips.items():
        if v is not None and not isinstance(v, Tensor) and v == 0:
            clips[k] = None  # Keras: a clip of 0 is no clipping
    options: dict[str, Any] = {}
    for k, v in extra.items():
        if k in PASSTHROUGH:
            options[k] = v
        elif k in KERAS_ONLY:
            instead = KERAS_ONLY[k]
            if not (v is None or v is False or (isinstance(v, Number) and v == 0)):
                raise ValueError(f"{k}={v!r} is not supported by optimlab.keras.{cls}: {instead}")
        elif k not in IGNORED:
            raise TypeError(f"optimlab.keras.{cls}() got an unexpected argument {k!r}; its arguments are Keras' "
                            f"(see help(optimlab.keras.{cls})) plus {', '.join(PASSTHROUGH)}. For other "
                            f"variants use optimlab.optim.{cls if cls != 'Nadam' else 'NAdam'}")
    return dict(lr=learning_rate, weight_decay=weight_decay, decoupled_weight_decay=True,
                lr_decay=0.0 if decay is None else decay, **clips, **options)


COMMON_DOC = """
    Common arguments (see :mod:`optimlab.keras`): ``weight_decay`` (decoupled,
    ``θ ← θ − θ·wd·lr`` before the update), ``clipnorm``, ``clipvalue``,
    ``global_clipnorm``, and keyword-only ``decay`` (Keras 2: ``lr_t = lr/(1 + decay·t)``,
    t = updates before this one) and ``lr`` (Keras 2's name of ``learning_rate``).
"""
