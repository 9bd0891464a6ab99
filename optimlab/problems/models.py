"""Models for the training lab: linear, logistic/softmax regression, MLP, a small CNN.

All classifiers output *logits* (no sigmoid/softmax layer): the losses
``"binary_crossentropy"`` and ``"cross_entropy"`` of :mod:`optimlab.training` apply
them inside, which is the numerically stable form.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

__all__ = ["linear", "logistic", "softmax", "MLP", "DigitsCNN", "ACTIVATIONS", "activation"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU, "elu": nn.ELU,
               "leaky_relu": nn.LeakyReLU, "silu": nn.SiLU, "softplus": nn.Softplus}


def activation(name: str) -> nn.Module:
    """The activation module for ``name`` (one of :data:`ACTIVATIONS`)."""
    key = str(name).lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {', '.join(ACTIVATIONS)}; got {name!r}")
    return ACTIVATIONS[key]()


_activation = activation  # MLP's argument of the same name shadows the function


def _pos_int(name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return v


def linear(d_in: int, d_out: int = 1) -> nn.Module:
    """Linear regression ``ŷ = Wx + b`` (use with the ``"mse"`` loss)."""
    return nn.Linear(_pos_int("d_in", d_in), _pos_int("d_out", d_out))


def logistic(d_in: int) -> nn.Module:
    """Logistic regression: one logit ``w·x + b`` (use with ``"binary_crossentropy"``)."""
    return nn.Linear(_pos_int("d_in", d_in), 1)


def softmax(d_in: int, classes: int) -> nn.Module:
    """Softmax (multinomial logistic) regression: ``classes`` logits (use with ``"cross_entropy"``)."""
    return nn.Linear(_pos_int("d_in", d_in), _pos_int("classes", classes))


class MLP(nn.Sequential):
    """Multilayer perceptron ``d_in → hidden[0] → … → d_out`` with ``activation`` between layers.

    >>> MLP(64, [128, 64], 10, activation="tanh")
    MLP(
      (0): Linear(in_features=64, out_features=128, bias=True)
      (1): Tanh()
      (2): Linear(in_features=128, out_features=64, bias=True)
      (3): Tanh()
      (4): Linear(in_features=64, out_features=10, bias=True)
    )
    """

    def __init__(self, d_in: int, hidden: Sequence[int] = (64,), d_out: int = 1, activation: str = "relu"):
        if isinstance(hidden, int):
            hidden = (hidden,)
        sizes = [_pos_int("d_in", d_in), *[_pos_int("hidden", h) for h in hidden], _pos_int("d_out", d_out)]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers.append(_activation(activation))
        super().__init__(*layers)


class DigitsCNN(nn.Module):
    """A small CNN for 8×8 one-channel images (scikit-learn's digits).

    conv 3×3 (1→16) · ReLU · conv 3×3 (16→32) · ReLU · max-pool 2 · flatten (32·4·4)
    · linear 512→64 · ReLU · linear 64→classes. Input shape (N, 1, 8, 8) (or (N, 64),
    reshaped).
    """

    def __init__(self, classes: int = 10, channels: tuple[int, int] = (16, 32), hidden: int = 64):
        super().__init__()
        c1, c2 = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten())
        self.head = nn.Sequential(nn.Linear(c2 * 16, hidden), nn.ReLU(), nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 2:
            x = x.reshape(-1, 1, 8, 8)
        return self.head(self.features(x))
