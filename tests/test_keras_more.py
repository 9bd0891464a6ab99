"""optimlab.keras's Lion, Lamb, Adafactor, Ftrl and Muon against Keras 3.15.1.

The fast tests use NumPy transcriptions of keras/src/optimizers/{lion,lamb,adafactor,ftrl,muon}.py
(never optimlab), on the two-tensor problem of tests/test_keras.py (a vector, which Muon hands to
its AdamW, and a 2×2 matrix, which Adafactor factors), float64, 1e-12 at every step. The slow test
runs the real ``keras`` package (backend torch) where it is installed.
"""

from __future__ import annotations

import inspect
import math
import os

import numpy as np
import pytest
import torch
from test_keras import B0, CLIPS, STEPS, TOL, W0, clip_np, grads_np, max_diff, run_torch

import optimlab.keras as K
import optimlab.optim as oo

KERAS3_MORE = {  # Keras 3.15.1's constructor arguments, in its order, with its defaults
    "Lion": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.99, "weight_decay": None, **CLIPS},
    "Lamb": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": None,
             **CLIPS},
    "Adafactor": {"learning_rate": 0.001, "beta_2_decay": -0.8, "epsilon_1": 1e-30, "epsilon_2": 1e-3,
                  "clip_threshold": 1.0, "relative_step": True, "weight_decay": None, **CLIPS},
    "Ftrl": {"learning_rate": 0.001, "learning_rate_power": -0.5, "initial_accumulator_value": 0.1,
             "l1_regularization_strength": 0.0, "l2_regularization_strength": 0.0,
             "l2_shrinkage_regularization_strength": 0.0, "beta": 0.0, "weight_decay": None, **CLIPS},
    "Muon": {"learning_rate": 0.001, "adam_beta_1": 0.9, "adam_beta_2": 0.999, "adam_weight_decay": 0.004,
             "epsilon": 1e-7, "weight_decay": 0.004, **CLIPS},
}
MUON_MORE = {"exclude_embeddings": True, "muon_a": 3.4445, "muon_b": -4.7750, "muon_c": 2.0315,
             "adam_lr_ratio": 1, "momentum": 0.95, "ns_steps": 5, "nesterov": True, "rms_rate": 0.2}


def _rms(x):
    return math.sqrt(float(np.mean(x * x)))


# ------------------------------------------------------- Keras 3, transcribed in NumPy
def lion_np(p, g, s, lr, t, hp):
    m = s.setdefault("m", np.zeros_like(p))
    p -= lr * np.sign(m * hp["beta_1"] + g * (1 - hp["beta_1"]))
    m[...] = m * hp["beta_2"] + g * (1 - hp["beta_2"])


def lamb_np(p, g, s, lr, t, hp):
    m, v = s.setdefault("m", np.zeros_like(p)), s.setdefault("v", np.zeros_like(p))
    m += (g - m) * (1 - hp["beta_1"])
    v += (g * g - v) * (1 - hp["beta_2"])
    u = (m / (1 - hp["beta_1"] ** t)) / (np.sqrt(v / (1 - hp["beta_2"] ** t)) + hp["epsilon"])
    wn, un = math.sqrt(float((p * p).sum())), math.sqrt(float((u * u).sum()))
    p -= (wn / un if wn > 0 and un > 0 else 1.0) * lr * u


def adafactor_np(p, g, s, lr, t, hp):
    rho = min(min(lr, 1 / math.sqrt(t)), 1 / math.sqrt(t))
    alpha = max(hp["epsilon_2"], _rms(p)) * rho
    g2 = g * g + hp["epsilon_1"]
    b = 1 - t ** hp["beta_2_decay"]
    if p.ndim >= 2:
        s["r"] = b * s.get("r", np.zeros(p.shape[:-1])) + (1 - b) * g2.mean(axis=-1)
        s["c"] = b * s.get("c", np.zeros(p.shape[:-2] + p.shape[-1:])) + (1 - b) * g2.mean(axis=-2)
        v = (s["r"] / s["r"].mean(axis=-1, keepdims=True))[..., None] * s["c"][..., None, :]
    else:
        v = s["v"] = b * s.get("v", np.zeros_like(p)) + (1 - b) * g2
    u = g / np.sqrt(v)
    p -= alpha * (u / max(1.0, _rms(u) / hp["clip_threshold"]))


def ftrl_np(p, g, s, lr, t, hp):
    n = s.setdefault("n", np.full_like(p, hp["initial_accumulator_value"]))
    z = s.setdefault("z", np.zeros_like(p))
    power, l1 = hp["learning_rate_power"], hp["l1_regularization_strength"]
    l2 = hp["l2_regularization_strength"] + hp["beta"] / (2.0 * lr)
    shrunk = g + 2 * hp["l2_shrinkage_regularization_strength"] * p
    n_new = n + g * g
    z += shrunk - (n_new ** -power - n ** -power) / lr * p
    p[...] = (np.clip(z, -l1, l1) - z) / (n_new ** -power / lr + 2 * l2)
    n[...] = n_new


def _ns_np(x, hp):
    tall = x.shape[-2] > x.shape[-1]
    x = x.T if tall else x
    x = x / (np.linalg.norm(x) + 1e-7)
    for _ in range(hp["ns_steps"]):
        a = x @ x.T
        x = hp["muon_a"] * x + (hp["muon_b"] * a + hp["muon_c"] * a @ a) @ x
    return x.T if tall else x


def muon_np(p, g, s, lr, t, hp):
    m = s.setdefault("m", np.zeros_like(p))
    if p.ndim != 2:  # Keras' AdamW step
        v = s.setdefault("v", np.zeros_like(p))
        b1, b2 = hp["adam_beta_1"], hp["adam_beta_2"]
        alpha = lr * hp["adam_lr_ratio"] * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        m += (g - m) * (1 - b1)
        v += (g * g - v) * (1 - b2)
        p -= m * alpha / (np.sqrt(v) + hp["epsilon"])
        return
    m += g + m * (hp["momentum"] - 1)
    update = _ns_np(g + hp["momentum"] * m if hp["nesterov"] else m, hp)
    scale = 1.0 if hp["rms_rate"] is None else math.sqrt(max(p.shape)) * hp["rms_rate"]
    p -= lr * update * scale


UPDATES = {"Lion": lion_np, "Lamb": lamb_np, "Adafactor": adafactor_np, "Ftrl": ftrl_np, "Muon": muon_np}


def _decay_of(name, p, hp):
    if name == "Muon":
        return hp["weight_decay"] if p.ndim == 2 else hp["adam_weight_decay"]
    return hp["weight_decay"]


def keras_np(name, kwargs, steps=STEPS):
    hp = {**KERAS3_MORE[name], **(MUON_MORE if name == "Muon" else {}), **kwargs}
    ps, slots, out = [W0.copy(), B0.copy()], [{}, {}], []
    for it in range(steps):
        grads = clip_np(grads_np(ps), **{k: hp[k] for k in CLIPS})
        lr = hp["learning_rate"]
        for p in ps:  # Keras' _apply_weight_decay, before the updates
            if _decay_of(name, p, hp) is not None:
                p -= p * _decay_of(name, p, hp) * lr
        for p, g, s in zip(ps, grads, slots):
            UPDATES[name](p, g, s, lr, it + 1, hp)
        out.append([p.copy() for p in ps])
    return out


# --------------------------------------------------------------------------- cases
CASES = {
    "Lion": [{}, {"learning_rate": 0.01, "beta_1": 0.8, "beta_2": 0.9}, {"learning_rate": 0.01, "weight_decay": 0.5},
             {"learning_rate": 0.01, "clipvalue": 0.3}],
    "Lamb": [{}, {"learning_rate": 0.02, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 1e-3},
             {"learning_rate": 0.02, "weight_decay": 0.1}, {"learning_rate": 0.02, "global_clipnorm": 0.7}],
    "Adafactor": [{}, {"learning_rate": 0.05}, {"learning_rate": 0.05, "beta_2_decay": -0.5, "epsilon_1": 1e-3,
                                                "epsilon_2": 0.1, "clip_threshold": 2.0},
                  {"learning_rate": 0.05, "weight_decay": 0.3, "relative_step": False},
                  {"learning_rate": 2.0, "clipnorm": 0.5}],
    "Ftrl": [{}, {"learning_rate": 0.1}, {"learning_rate": 0.1, "learning_rate_power": -0.7,
                                          "initial_accumulator_value": 0.5},
             {"learning_rate": 0.1, "l1_regularization_strength": 0.05, "l2_regularization_strength": 0.1},
             {"learning_rate": 0.1, "l2_shrinkage_regularization_strength": 0.2, "beta": 0.5},
             {"learning_rate": 0.1, "learning_rate_power": 0.0, "weight_decay": 0.1}],
    "Muon": [{}, {"learning_rate": 0.02}, {"learning_rate": 0.02, "nesterov": False, "momentum": 0.8, "ns_steps": 3},
             {"learning_rate": 0.02, "rms_rate": None, "adam_lr_ratio": 0.5, "adam_weight_decay": 0.1,
              "weight_decay": 0.2},
             {"learning_rate": 0.02, "adam_beta_1": 0.8, "adam_beta_2": 0.95, "epsilon": 1e-3, "clipnorm": 0.5,
              "muon_a": 2.0, "muon_b": -1.5, "muon_c": 0.5}],
}
ALL = [(n, kw) for n, kws in CASES.items() for kw in kws]


@pytest.mark.parametrize("name,kwargs", ALL, ids=[f"{n}-{kw}" for n, kw in ALL])
def test_matches_keras3_step_by_step(name, kwargs):
    got = run_torch(lambda ps: getattr(K, name)(ps, **kwargs))
    ref = keras_np(name, kwargs)
    assert max_diff(got, ref) <= TOL
    assert max_diff(ref, [[W0, B0]] * STEPS) > 1e-3 or not kwargs  # the parameters did move


def test_ftrl_l1_sets_coordinates_to_zero():
    got = run_torch(lambda ps: K.Ftrl(ps, learning_rate=0.1, l1_regularization_strength=2.0))
    assert sum(int((w == 0).sum() + (b == 0).sum()) for w, b in got) >= 3  # |z| ≤ l1: exactly 0
    assert max_diff(got, keras_np("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 2.0})) <= TOL


@pytest.mark.parametrize("name", list(KERAS3_MORE))
def test_signature_is_keras3(name):
    params = list(inspect.signature(getattr(K, name)).parameters.values())
    keras_args = params[1:1 + len(KERAS3_MORE[name])]
    assert [(p.name, p.default) for p in keras_args] == list(KERAS3_MORE[name].items())
    if name == "Muon":
        by_name = {p.name: p.default for p in params}
        assert {k: by_name[k] for k in MUON_MORE} == MUON_MORE


def test_classes_and_registry():
    w = torch.nn.Parameter(torch.ones(2, 2, dtype=torch.float64))
    for name, base in [("Lion", oo.Lion), ("Lamb", oo.LAMB), ("Adafactor", oo.Adafactor), ("Ftrl", oo.Ftrl),
                       ("Muon", oo.Muon)]:
        opt = oo.create([w], f"keras.{name.lower()}")
        assert type(opt) is getattr(K, name) and isinstance(opt, base)
    assert type(oo.create([w], "ftrl")) is oo.Ftrl


def test_muon_hands_vectors_to_keras_adam():
    w, b = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2, 2))
    opt = K.Muon([w, b], learning_rate=0.01, adam_lr_ratio=0.5, adam_weight_decay=0.2)
    assert type(opt.fallback) is K.Adam and opt.fallback.param_groups[0]["lr"] == 0.005
    assert opt.fallback.param_groups[0]["weight_decay"] == 0.4  # so that lr·ratio·wd = lr·0.2, as Keras decays


BAD = [("Lion", {"beta_1": 0.0}, "beta_1"), ("Lamb", {"epsilon": -1.0}, "epsilon"),
       ("Adafactor", {"clip_threshold": 0.5}, "clip_threshold"), ("Adafactor", {"relative_step": 1}, "relative_step"),
       ("Ftrl", {"learning_rate_power": 0.5}, "learning_rate_power"),
       ("Ftrl", {"l1_regularization_strength": -1.0}, "l1_regularization_strength"),
       ("Muon", {"global_clipnorm": 1.0}, "global_clipnorm"), ("Muon", {"exclude_layers": ["dense"]}, "exclude_layers"),
       ("Muon", {"decay": 0.1}, "decay"), ("Muon", {"adam_lr_ratio": 0}, "adam_lr_ratio")]


@pytest.mark.parametrize("name,kwargs,arg", BAD, ids=[f"{n}-{a}" for n, _, a in BAD])
def test_bad_arguments_name_the_keras_argument(name, kwargs, arg):
    w = torch.nn.Parameter(torch.ones(2, 2))
    with pytest.raises(ValueError, match=arg):
        getattr(K, name)([w], **kwargs)


# ------------------------------------------------------------ the real Keras, if installed
LIVE = [("Lion", {"learning_rate": 0.01, "weight_decay": 0.5}), ("Lamb", {"learning_rate": 0.02, "weight_decay": 0.1}),
        ("Adafactor", {"learning_rate": 0.05, "weight_decay": 0.3}),
        ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.05, "l2_shrinkage_regularization_strength": 0.2,
                  "beta": 0.5}),
        ("Muon", {"learning_rate": 0.02, "adam_lr_ratio": 0.5, "adam_weight_decay": 0.1})]


# Keras 3.15.1 on torch computes Adafactor's α_t = max(ε₂, RMS(θ))·ρ_t in float32 (its ops.minimum and
# ops.maximum of float64 operands return float32 there); with α_t rounded so, the transcription above
# agrees exactly. Likewise Muon's √max(A, B) (ops.sqrt of Python ints) is a float32 number there (its
# AdamW part agrees exactly). The formulas are checked to 1e-12 by test_matches_keras3_step_by_step.
LIVE_TOL = {"Adafactor": 1e-6, "Muon": 1e-7}


# keras' torch backend converts tensors with np.array(x), which numpy 2 warns about 1600 times
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
@pytest.mark.slow  # importing keras takes seconds
def test_the_real_keras_agrees():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("keras runs another backend here")
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")  # Keras keeps the learning rate in floatx
    try:
        for name, kwargs in LIVE:
            _check_live(keras, name, kwargs)
    finally:
        keras.config.set_floatx(floatx)


def _check_live(keras, name, kwargs):
    opt = getattr(keras.optimizers, name)(**kwargs)
    vs = [keras.Variable(W0.copy(), dtype="float64", name="w"), keras.Variable(B0.copy(), dtype="float64",
                                                                                name="b")]
    ref = []
    for _ in range(STEPS):
        grads = grads_np([keras.ops.convert_to_numpy(v) for v in vs])
        opt.apply_gradients([(torch.from_numpy(g), v) for g, v in zip(grads, vs)])
        ref.append([keras.ops.convert_to_numpy(v).copy() for v in vs])
    assert max_diff(run_torch(lambda ps: getattr(K, name)(ps, **kwargs)), ref) <= LIVE_TOL.get(name, TOL), name


# ------------------------------------------- the optim classes' new options, batched over runs
def test_ftrl_runs_equal_alone_and_state_dict():
    from modern_suite import runs_equal_alone, state_dict_round_trip
    runs_equal_alone(oo.Ftrl, dict(lr=[0.1, 0.05, 0.2], l1=[0.0, 0.01, 0.1], lr_power=[-0.5, -0.7, 0.0]),
                     dict(l2=0.1, l2_shrinkage=0.05, beta=0.2, weight_decay=0.01))
    state_dict_round_trip(lambda ps: oo.Ftrl(ps, lr=0.1, l1=0.01, beta=0.1))


def test_keras_variants_run_per_run():
    from modern_suite import runs_equal_alone
    runs_equal_alone(oo.Adafactor, dict(lr=[0.05, 0.01, 0.2], weight_decay=[0.0, 0.1, 0.3]),
                     dict(eps=(1e-30, 1e-3), eps1_on="squared_gradient", decay_first=True),
                     shape=(3, 4, 2))
    runs_equal_alone(oo.Muon, dict(lr=[0.05, 0.01, 0.2]),
                     dict(momentum_form="sgd", ns_normalize="add", ns_dtype=None, adjust_lr_fn="match_rms_adamw",
                          rms_rate=0.3), shape=(3, 4, 2))


def test_function_lab_runs_keras_adafactor_per_run_and_explains_muon():
    from optimlab import functions, runner
    fn = functions.get("rosenbrock")
    tr = runner.run(fn, "keras.adafactor:learning_rate=0.01,weight_decay=0.1", start=(-1.2, 1.0), steps=30)
    x = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)
    opt = K.Adafactor([x], learning_rate=0.01, weight_decay=0.1)
    for _ in range(30):
        opt.zero_grad()
        fn(x).backward()
        opt.step()
    np.testing.assert_allclose(tr.series["params"][-1], x.detach().numpy(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="fallback optimizer"):
        runner.run(fn, "keras.muon", start=(-1.2, 1.0), steps=3)
