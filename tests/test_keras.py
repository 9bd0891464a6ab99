"""optimlab.keras against Keras 3's update rules, transcribed here in NumPy.

The references below are written from Keras 3's source (keras/src/optimizers/*.py
and base_optimizer.py: gradients are clipped, then every variable is decayed,
``w ← w − w·wd·lr``, then the optimizer's update runs with the clipped gradient);
they never call optimlab. Keras 2's ``decay`` is ``lr / (1 + decay·iterations)``.
Everything runs in float64 and must agree to 1e-12 at every step.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch

import optimlab.keras as K
import optimlab.optim as oo

STEPS = 40
TOL = 1e-12

# Keras 3 constructor arguments in Keras' order, with Keras' defaults (from the Keras source)
CLIPS = {"clipnorm": None, "clipvalue": None, "global_clipnorm": None}
KERAS3 = {
    "SGD": {"learning_rate": 0.01, "momentum": 0.0, "nesterov": False, "weight_decay": None, **CLIPS},
    "RMSprop": {"learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False,
                "weight_decay": None, **CLIPS},
    "Adagrad": {"learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7, "weight_decay": None,
                **CLIPS},
    "Adadelta": {"learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7, "weight_decay": None, **CLIPS},
    "Adam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False,
             "weight_decay": None, **CLIPS},
    "AdamW": {"learning_rate": 0.001, "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
              "amsgrad": False, **CLIPS},
    "Adamax": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": None,
               **CLIPS},
    "Nadam": {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "weight_decay": None,
              **CLIPS},
}

# ------------------------------------------------------------------ the test problem
# f(w, B) = Σ log(1 + (w − c)²) + ¼ Σ (B − D)⁴ : two tensors, not quadratic, gradients
# large enough near the start that every clipping option acts on some steps.
W0 = np.array([0.5, -1.0, 2.0])
C = np.array([1.5, 0.3, -0.7])
B0 = np.array([[0.2, -0.4], [1.1, 0.0]])
D = np.array([[1.0, -1.5], [0.0, 0.8]])


def loss_torch(w, b):
    return torch.log1p((w - torch.from_numpy(C)) ** 2).sum() + 0.25 * ((b - torch.from_numpy(D)) ** 4).sum()


def grads_np(ps):
    w, b = ps
    return [2 * (w - C) / (1 + (w - C) ** 2), (b - D) ** 3]


# ------------------------------------------------------- Keras 3, transcribed in NumPy
def clip_np(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    if clipnorm:
        return [g * clipnorm / max(math.sqrt((g * g).sum()), clipnorm) for g in grads]
    if global_clipnorm:
        norm = math.sqrt(sum((g * g).sum() for g in grads))
        return [g * (global_clipnorm * min(1 / norm, 1 / global_clipnorm)) for g in grads]
    if clipvalue:
        return [np.clip(g, -clipvalue, clipvalue) for g in grads]
    return grads


def sgd_np(p, g, s, lr, t, hp, shared):
    if hp["momentum"] != 0:
        s["m"] = hp["momentum"] * s.get("m", 0.0) - lr * g
        p += hp["momentum"] * s["m"] - lr * g if hp["nesterov"] else s["m"]
    else:
        p -= lr * g


def rmsprop_np(p, g, s, lr, t, hp, shared):
    rho, eps = hp["rho"], hp["epsilon"]
    s["v"] = rho * s.get("v", 0.0) + (1 - rho) * g ** 2
    if hp["centered"]:
        s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g
        den = s["v"] - s["a"] ** 2 + eps
    else:
        den = s["v"] + eps
    inc = lr * g / np.sqrt(den)
    if hp["momentum"] > 0:
        s["mo"] = hp["momentum"] * s.get("mo", 0.0) + inc
        p -= s["mo"]
    else:
        p -= inc


def adagrad_np(p, g, s, lr, t, hp, shared):
    s["acc"] = s.get("acc", hp["initial_accumulator_value"]) + g ** 2
    p -= lr * g / np.sqrt(s["acc"] + hp["epsilon"])


def adadelta_np(p, g, s, lr, t, hp, shared):
    rho, eps = hp["rho"], hp["epsilon"]
    s["g2"] = rho * s.get("g2", 0.0) + (1 - rho) * g ** 2
    delta = -np.sqrt(s.get("d2", 0.0) + eps) * g / np.sqrt(s["g2"] + eps)
    s["d2"] = rho * s.get("d2", 0.0) + (1 - rho) * delta ** 2
    p += lr * delta


def adam_np(p, g, s, lr, t, hp, shared):
    b1, b2 = hp["beta_1"], hp["beta_2"]
    alpha = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
    s["v"] = s.get("v", 0.0) + (g ** 2 - s.get("v", 0.0)) * (1 - b2)
    v = s["v"]
    if hp["amsgrad"]:
        s["vhat"] = np.maximum(s.get("vhat", 0.0), s["v"])
        v = s["vhat"]
    p -= s["m"] * alpha / (np.sqrt(v) + hp["epsilon"])


def adamax_np(p, g, s, lr, t, hp, shared):
    b1, b2 = hp["beta_1"], hp["beta_2"]
    s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
    s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g))
    p -= lr * s["m"] / ((1 - b1 ** t) * (s["u"] + hp["epsilon"]))


def nadam_np(p, g, s, lr, t, hp, shared):
    b1, b2 = hp["beta_1"], hp["beta_2"]
    u_t = b1 * (1 - 0.5 * 0.96 ** t)
    u_next = b1 * (1 - 0.5 * 0.96 ** (t + 1))
    prod, prod_next = shared["u_product"], shared["u_product"] * u_next
    s["m"] = s.get("m", 0.0) + (g - s.get("m", 0.0)) * (1 - b1)
    s["v"] = s.get("v", 0.0) + (g ** 2 - s.get("v", 0.0)) * (1 - b2)
    m_hat = u_next * s["m"] / (1 - prod_next) + (1 - u_t) * g / (1 - prod)
    v_hat = s["v"] / (1 - b2 ** t)
    p -= m_hat * lr / (np.sqrt(v_hat) + hp["epsilon"])


def nadam_shared(shared, t, hp):  # once per iteration, before the variables (Keras' _backend_update_step)
    shared["u_product"] = shared.get("u_product", 1.0) * hp["beta_1"] * (1 - 0.5 * 0.96 ** t)


UPDATES = {"SGD": sgd_np, "RMSprop": rmsprop_np, "Adagrad": adagrad_np, "Adadelta": adadelta_np,
           "Adam": adam_np, "AdamW": adam_np, "Adamax": adamax_np, "Nadam": nadam_np}


def keras_np(name, kwargs, steps=STEPS, schedule=None):
    """Iterates of Keras 3's optimizer ``name``; ``decay`` (Keras 2) or ``schedule(iterations)`` scale lr."""
    kwargs = dict(kwargs)
    if "lr" in kwargs:  # Keras 2's name
        kwargs["learning_rate"] = kwargs.pop("lr")
    decay = kwargs.pop("decay", 0.0)
    hp = {**KERAS3[name], **kwargs}
    if hp.get("epsilon", 0) is None:
        hp["epsilon"] = 1e-7
    clip = {k: hp[k] for k in CLIPS}
    ps, slots, shared, out = [W0.copy(), B0.copy()], [{}, {}], {}, []
    for it in range(steps):  # it = Keras' optimizer.iterations before this update
        grads = clip_np(grads_np(ps), **clip)
        lr = hp["learning_rate"] * (schedule(it) if schedule else 1.0) / (1 + decay * it)
        if hp["weight_decay"] is not None:
            for p in ps:
                p -= p * hp["weight_decay"] * lr
        if name == "Nadam":
            nadam_shared(shared, it + 1, hp)
        for p, g, s in zip(ps, grads, slots):
            UPDATES[name](p, g, s, lr, it + 1, hp, shared)
        out.append([p.copy() for p in ps])
    return out


def run_torch(make, steps=STEPS, scheduler=None):
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    opt = make([w, b])
    sched = scheduler(opt) if scheduler else None
    out = []
    for _ in range(steps):
        opt.zero_grad()
        loss_torch(w, b).backward()
        opt.step()
        if sched:
            sched.step()
        out.append([w.detach().numpy().copy(), b.detach().numpy().copy()])
    return out


def max_diff(a, b):
    return max(float(np.abs(x - y).max()) for sa, sb in zip(a, b) for x, y in zip(sa, sb))


# --------------------------------------------------------------------------- cases
OWN = {
    "SGD": [{}, {"learning_rate": 0.05}, {"learning_rate": 0.05, "momentum": 0.9},
            {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
            {"learning_rate": 0.05, "momentum": 0.0, "nesterov": True},
            {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 0.1},
            {"learning_rate": 0.05, "momentum": 0.9, "decay": 0.05},
            {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True, "decay": 0.05, "weight_decay": 0.05}],
    "RMSprop": [{}, {"learning_rate": 0.01}, {"learning_rate": 0.01, "rho": 0.8, "epsilon": 0.05},
                {"learning_rate": 0.01, "momentum": 0.5}, {"learning_rate": 0.01, "centered": True},
                {"learning_rate": 0.01, "centered": True, "momentum": 0.5, "epsilon": 0.05},
                {"learning_rate": 0.01, "weight_decay": 0.1}, {"learning_rate": 0.01, "momentum": 0.5, "decay": 0.1}],
    "Adagrad": [{}, {"learning_rate": 0.1}, {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "epsilon": 0.05},
                {"learning_rate": 0.1, "initial_accumulator_value": 1.0}, {"learning_rate": 0.1, "weight_decay": 0.1},
                {"learning_rate": 0.1, "decay": 0.1}],
    "Adadelta": [{}, {"learning_rate": 1.0}, {"learning_rate": 1.0, "rho": 0.8, "epsilon": 1e-3},
                 {"learning_rate": 1.0, "weight_decay": 0.1}, {"learning_rate": 1.0, "decay": 0.1}],
    "Adam": [{}, {"learning_rate": 0.05}, {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 0.05},
             {"learning_rate": 0.05, "amsgrad": True}, {"learning_rate": 0.05, "amsgrad": True, "epsilon": 0.05},
             {"learning_rate": 0.05, "weight_decay": 0.1}, {"learning_rate": 0.05, "decay": 0.1},
             {"lr": 0.05, "epsilon": None, "decay": 0.0}],
    "AdamW": [{}, {"learning_rate": 0.05}, {"learning_rate": 0.05, "weight_decay": 0.1, "amsgrad": True},
              {"learning_rate": 0.05, "decay": 0.1}],
    "Adamax": [{}, {"learning_rate": 0.05}, {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 0.05},
               {"learning_rate": 0.05, "weight_decay": 0.1}, {"learning_rate": 0.05, "decay": 0.1}],
    "Nadam": [{}, {"learning_rate": 0.05}, {"learning_rate": 0.05, "beta_1": 0.8, "beta_2": 0.95, "epsilon": 0.05},
              {"learning_rate": 0.05, "weight_decay": 0.1}, {"learning_rate": 0.05, "decay": 0.1}],
}
# every clipping option on every optimizer, with a learning rate that moves the parameters
CLIP_BASE = {"SGD": {"learning_rate": 0.05, "momentum": 0.9}, "RMSprop": {"learning_rate": 0.01},
             "Adagrad": {"learning_rate": 0.1}, "Adadelta": {"learning_rate": 1.0},
             "Adam": {"learning_rate": 0.05}, "AdamW": {"learning_rate": 0.05}, "Adamax": {"learning_rate": 0.05},
             "Nadam": {"learning_rate": 0.05}}
CLIP_CASES = [{"clipnorm": 0.5}, {"clipvalue": 0.3}, {"global_clipnorm": 0.7}]

CASES = [(n, kw) for n, kws in OWN.items() for kw in kws] + \
        [(n, {**CLIP_BASE[n], **c, "weight_decay": 0.05}) for n in KERAS3 for c in CLIP_CASES]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{kw}" for n, kw in CASES])
def test_matches_keras3_step_by_step(name, kwargs):
    got = run_torch(lambda ps: getattr(K, name)(ps, **kwargs))
    ref = keras_np(name, kwargs)
    assert max_diff(got, ref) <= TOL
    assert max_diff(ref, [[W0, B0]] * STEPS) > 1e-3 or kwargs == {}  # the parameters did move


def test_clipping_is_active_in_the_cases():
    """The clipping cases are not vacuous: with the same settings but no clip the path differs."""
    for name in ("SGD", "Adam"):
        for c in CLIP_CASES:
            clipped = keras_np(name, {**CLIP_BASE[name], **c})
            assert max_diff(clipped, keras_np(name, CLIP_BASE[name])) > 1e-3


@pytest.mark.parametrize("name", list(KERAS3))
def test_signature_is_keras3(name):
    params = list(inspect.signature(getattr(K, name)).parameters.values())
    assert params[0].name == "params"
    keras_args = params[1:1 + len(KERAS3[name])]
    assert [(p.name, p.default) for p in keras_args] == list(KERAS3[name].items())
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in keras_args)  # Keras' positional order works
    extra = {p.name: p for p in params}
    assert extra["decay"].default == 0.0 and extra["decay"].kind is inspect.Parameter.KEYWORD_ONLY


def test_positional_arguments_follow_keras():
    w = torch.zeros(2, requires_grad=True)
    assert K.SGD([w], 0.1, 0.9, True).param_groups[0]["nesterov"] is True
    assert K.AdamW([w], 0.1, 0.2).param_groups[0]["weight_decay"] == 0.2
    assert K.RMSprop([w], 0.1, 0.8, 0.5).param_groups[0]["momentum"] == 0.5


def test_returns_the_optimlab_classes():
    w = torch.zeros(2, requires_grad=True)
    pairs = {"SGD": oo.SGD, "RMSprop": oo.RMSprop, "Adagrad": oo.Adagrad, "Adadelta": oo.Adadelta,
             "Adam": oo.Adam, "AdamW": oo.AdamW, "Adamax": oo.Adamax, "Nadam": oo.NAdam}
    for name, base in pairs.items():
        opt = getattr(K, name)([w])
        assert isinstance(opt, base) and isinstance(opt, torch.optim.Optimizer)


def test_create_adam_is_torch_numerics_not_keras():
    """``optimlab.optim.create(params, "adam")`` is torch's Adam; Keras' Adam is optimlab.keras.Adam."""
    kw = {"learning_rate": 0.05, "epsilon": 0.05}
    ref = keras_np("Adam", kw)
    keras_path = run_torch(lambda ps: K.Adam(ps, **kw))
    torch_path = run_torch(lambda ps: oo.create(ps, "adam", lr=0.05, eps=0.05))
    twin = run_torch(lambda ps: torch.optim.Adam(ps, lr=0.05, eps=0.05))
    assert max_diff(keras_path, ref) <= TOL
    assert max_diff(torch_path, twin) <= TOL
    assert max_diff(torch_path, ref) > 1e-4
    # the same with each library's default epsilon (1e-8 vs 1e-7) and default settings
    torch_numbers = run_torch(lambda ps: oo.create(ps, "adam", lr=0.05))
    assert max_diff(torch_numbers, keras_np("Adam", {"learning_rate": 0.05})) > 1e-10


@pytest.mark.parametrize("name,kwargs,schedule", [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "weight_decay": 0.1}, lambda t: 0.95 ** t),
    ("Adam", {"learning_rate": 0.05, "weight_decay": 0.1}, lambda t: 1.0 if t < 10 else 0.3),
])
def test_torch_scheduler_plays_keras_schedule(name, kwargs, schedule):
    """A torch scheduler stepped after every step is a Keras LearningRateSchedule: lr stays inside
    SGD's velocity and weight decay uses the current learning rate."""
    got = run_torch(lambda ps: getattr(K, name)(ps, **kwargs),
                    scheduler=lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, schedule))
    assert max_diff(got, keras_np(name, kwargs, schedule=schedule)) <= TOL


def test_lr_alias_and_epsilon_none():
    a = run_torch(lambda ps: K.RMSprop(ps, lr=0.01, epsilon=None, decay=0.1), steps=10)
    b = run_torch(lambda ps: K.RMSprop(ps, learning_rate=0.01, epsilon=1e-7, decay=0.1), steps=10)
    assert max_diff(a, b) == 0.0
    w = torch.zeros(2, requires_grad=True)
    assert K.SGD([w], lr=0.3).param_groups[0]["lr"] == 0.3
    assert K.SGD([w], learning_rate=0.3, lr=0.3).param_groups[0]["lr"] == 0.3


def test_clip_zero_means_off_as_in_keras():
    a = run_torch(lambda ps: K.Adam(ps, learning_rate=0.05, clipnorm=0.0), steps=10)
    b = run_torch(lambda ps: K.Adam(ps, learning_rate=0.05), steps=10)
    assert max_diff(a, b) == 0.0


def test_tensor_hyperparameters_are_independent_runs():
    """Keras names accept tensors: two runs in one parameter of shape (2, 3) equal two separate runs."""
    lrs, b1s = torch.tensor([[0.05], [0.02]], dtype=torch.float64), torch.tensor([[0.9], [0.7]], dtype=torch.float64)
    x = torch.tensor(np.stack([W0, W0]), requires_grad=True)
    opt = K.Nadam([x], learning_rate=lrs, beta_1=b1s, weight_decay=0.1, decay=0.05)
    for _ in range(20):
        opt.zero_grad()
        torch.log1p((x - torch.from_numpy(C)) ** 2).sum().backward()
        opt.step()
    for r in range(2):
        y = torch.tensor(W0, requires_grad=True)
        single = K.Nadam([y], learning_rate=lrs[r, 0].item(), beta_1=b1s[r, 0].item(), weight_decay=0.1, decay=0.05)
        for _ in range(20):
            single.zero_grad()
            torch.log1p((y - torch.from_numpy(C)) ** 2).sum().backward()
            single.step()
        assert torch.allclose(x[r], y, rtol=0, atol=TOL)


@pytest.mark.parametrize("name", ["SGD", "Nadam", "RMSprop"])
def test_state_dict_round_trip(name):
    kw = {**CLIP_BASE[name], "weight_decay": 0.05, "decay": 0.05}
    if name != "Nadam":
        kw["momentum"] = 0.5
    whole = run_torch(lambda ps: getattr(K, name)(ps, **kw), steps=20)
    w = torch.tensor(W0, requires_grad=True)
    b = torch.tensor(B0, requires_grad=True)
    opt = getattr(K, name)([w, b], **kw)
    for i in range(20):
        if i == 10:
            saved = opt.state_dict()
            opt = getattr(K, name)([w, b], **kw)
            opt.load_state_dict(saved)
        opt.zero_grad()
        loss_torch(w, b).backward()
        opt.step()
    assert max_diff([[w.detach().numpy(), b.detach().numpy()]], [whole[-1]]) == 0.0


BAD = [
    ("SGD", {"learning_rate": -0.1}, "learning_rate"),
    ("SGD", {"learning_rate": lambda: 0.1}, "learning_rate"),
    ("SGD", {"momentum": 1.5}, "momentum"),
    ("SGD", {"momentum": -0.1}, "momentum"),
    ("SGD", {"nesterov": "yes"}, "nesterov"),
    ("SGD", {"learning_rate": 0.01, "momentum": 0.9, "nesterov": 0.0, "weight_decay": False}, "nesterov"),
    ("SGD", {"weight_decay": -1.0}, "weight_decay"),
    ("SGD", {"decay": -0.1}, "decay"),
    ("SGD", {"learning_rate": 0.1, "lr": 0.2}, "lr"),
    ("SGD", {"learning_rate": torch.tensor([[0.1], [0.2]]), "lr": 0.1}, "lr"),
    ("SGD", {"clipnorm": -1.0}, "clipnorm"),
    ("SGD", {"clipvalue": float("nan")}, "clipvalue"),
    ("SGD", {"global_clipnorm": -2.0}, "global_clipnorm"),
    ("SGD", {"clipnorm": 1.0, "clipvalue": 1.0}, "clipnorm"),
    ("RMSprop", {"rho": 1.5}, "rho"),
    ("RMSprop", {"momentum": -0.5}, "momentum"),
    ("RMSprop", {"epsilon": -1e-7}, "epsilon"),
    ("RMSprop", {"centered": 1}, "centered"),
    ("Adagrad", {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    ("Adadelta", {"rho": -0.1}, "rho"),
    ("Adam", {"beta_1": 1.0}, "beta_1"),
    ("Adam", {"beta_2": -0.1}, "beta_2"),
    ("Adam", {"amsgrad": None}, "amsgrad"),
    ("Adam", {"use_ema": True}, "use_ema"),
    ("Adam", {"gradient_accumulation_steps": 4}, "gradient_accumulation_steps"),
    ("AdamW", {"weight_decay": None}, "weight_decay"),
    ("Adamax", {"beta_1": 2.0}, "beta_1"),
    ("Nadam", {"epsilon": float("inf")}, "epsilon"),
    ("Nadam", {"learning_rate": torch.tensor([0.1, -0.1])}, "learning_rate"),
]


@pytest.mark.parametrize("name,kwargs,arg", BAD, ids=[f"{n}-{a}" for n, _, a in BAD])
def test_bad_arguments_name_the_keras_argument(name, kwargs, arg):
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match=arg):
        getattr(K, name)([w], **kwargs)


def test_unknown_and_ignored_arguments():
    w = torch.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="momentum_form"):
        K.SGD([w], momentum=0.9, momentum_form="torch")  # the Keras form is fixed here
    with pytest.raises(TypeError, match="betas"):
        K.Adam([w], betas=(0.9, 0.99))
    opt = K.Adam([w], name="adam", use_ema=False, ema_momentum=0.99, loss_scale_factor=None, maximize=True)
    assert opt.param_groups[0]["maximize"] is True


# ------------------------------------------- Keras 2.2, the lectures' signatures (docs)
def keras22_np(name, lr, decay=0.0, rho=0.9, eps=1e-7, b1=0.9, b2=0.999, schedule_decay=0.004, steps=STEPS):
    """Keras 2.2.4's RMSprop, Adagrad and Nadam (keras/optimizers.py), transcribed."""
    ps, slots, out, m_schedule = [W0.copy(), B0.copy()], [{}, {}], [], 1.0
    for it in range(steps):
        grads, t = grads_np(ps), it + 1
        lr_t = lr / (1 + decay * it)
        mu_t = b1 * (1 - 0.5 * 0.96 ** (t * schedule_decay))
        mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * schedule_decay))
        m_schedule_new, m_schedule_next = m_schedule * mu_t, m_schedule * mu_t * mu_next
        m_schedule = m_schedule_new
        for p, g, s in zip(ps, grads, slots):
            if name == "RMSprop":
                s["a"] = rho * s.get("a", 0.0) + (1 - rho) * g ** 2
                p -= lr_t * g / (np.sqrt(s["a"]) + eps)
            elif name == "Adagrad":
                s["a"] = s.get("a", 0.0) + g ** 2
                p -= lr_t * g / (np.sqrt(s["a"]) + eps)
            else:
                s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g ** 2
                m_bar = (1 - mu_t) * g / (1 - m_schedule_new) + mu_next * s["m"] / (1 - m_schedule_next)
                p -= lr * m_bar / (np.sqrt(s["v"] / (1 - b2 ** t)) + eps)
        out.append([p.copy() for p in ps])
    return out


def test_keras22_recipes_of_the_docs():
    assert max_diff(run_torch(lambda ps: oo.RMSprop(ps, lr=0.01, alpha=0.8, eps=1e-7, lr_decay=0.1)),
                    keras22_np("RMSprop", 0.01, decay=0.1, rho=0.8)) <= TOL
    assert max_diff(run_torch(lambda ps: oo.Adagrad(ps, lr=0.1, eps=1e-7, lr_decay=0.1)),
                    keras22_np("Adagrad", 0.1, decay=0.1)) <= TOL
    # torch's NAdam keeps its schedule product in float32 unless the default dtype is float64
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        nadam = run_torch(lambda ps: oo.NAdam(ps, lr=0.05, eps=1e-7))
    finally:
        torch.set_default_dtype(before)
    assert max_diff(nadam, keras22_np("Nadam", 0.05)) <= TOL
    # and they are not Keras 3's arithmetic
    assert max_diff(keras22_np("RMSprop", 0.01, decay=0.1, rho=0.8),
                    keras_np("RMSprop", {"learning_rate": 0.01, "rho": 0.8, "decay": 0.1})) > 1e-9


def test_keras_constructors_are_registered_by_name():
    import optimlab.optim as oo

    for cls in (K.SGD, K.RMSprop, K.Adagrad, K.Adadelta, K.Adam, K.AdamW, K.Adamax, K.Nadam):
        assert oo.get(f"keras.{cls.__name__.lower()}") is cls
    w1 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    w2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    by_name = oo.create([w1], "Keras.Adam", learning_rate=0.1, epsilon=0.5)
    direct = K.Adam([w2], learning_rate=0.1, epsilon=0.5)
    for _ in range(5):
        for w, opt in ((w1, by_name), (w2, direct)):
            opt.zero_grad()
            ((w - torch.arange(3.0, dtype=torch.float64)) ** 2).sum().backward()
            opt.step()
    torch.testing.assert_close(w1, w2, rtol=0, atol=0)
