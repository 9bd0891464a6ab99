"""The modern optimizers (issue 10, item 2) in the registry, the command line and the shared
validation: each name finds its class, ``optimlab list optimizers`` shows it with one line
saying what it is for, and bad values give the classics' errors."""

from __future__ import annotations

import copy

import adabelief_pytorch
import adopt
import lion_pytorch
import pytest
import pytorch_optimizer
import schedulefree
import torch
from modern_suite import assert_same, grad_field, start
from typer.testing import CliRunner

import optimlab.optim as oo
from optimlab.cli import app

NAMES = {"lion": oo.Lion, "adabelief": oo.AdaBelief, "sgd_schedulefree": oo.SGDScheduleFree,
         "adamw_schedulefree": oo.AdamWScheduleFree, "radam_schedulefree": oo.RAdamScheduleFree,
         "prodigy": oo.Prodigy, "adopt": oo.ADOPT, "lamb": oo.LAMB, "lars": oo.LARS, "lookahead": oo.Lookahead}
NAMES.update(sophia=oo.Sophia, ademamix=oo.AdEMAMix, mars=oo.MARS, soap=oo.SOAP)


def test_each_name_finds_its_class_dashes_and_case_ignored():
    for name, cls in NAMES.items():
        assert oo.get(name) is cls
        assert oo.get(name.upper().replace("_", "-")) is cls


def test_list_optimizers_shows_each_with_one_line_saying_what_it_is_for():
    r = CliRunner().invoke(app, ["list", "optimizers"], catch_exceptions=False, env={"COLUMNS": "400"})
    assert r.exit_code == 0, r.output
    described = {n: d for n, _, _, d in oo.describe()}
    for name in NAMES:
        key = name.replace("_", "")
        text = described[key]
        assert "\n" not in text and ";" not in text and len(text) < 160, text
        assert any(line.lstrip("│ ").startswith(key + " ") and text[:40] in line for line in r.output.splitlines()), key


def test_specs_build_the_classes_with_their_options():
    w = [torch.zeros(2, requires_grad=True)]
    name, kw = oo.parse_spec("lookahead:base=sgd,lr=0.1,momentum=0.9,k=10")
    opt = oo.create(w, name, **kw)
    assert isinstance(opt.optimizer, oo.SGD) and opt.k == 10 and opt.param_groups[0]["momentum"] == 0.9
    name, kw = oo.parse_spec("adamw_schedulefree:lr=0.01,warmup_steps=5")
    assert oo.create(w, name, **kw).param_groups[0]["warmup_steps"] == 5
    assert set(oo.tuning("lion")) == {"beta1"} and set(oo.tuning("prodigy")) == {"d_coef"}


@pytest.mark.parametrize("cls", [c for c in NAMES.values() if c is not oo.Lookahead], ids=lambda c: c.__name__)
def test_bad_values_get_the_classics_errors(cls):
    w = [torch.zeros(2, 2, requires_grad=True)]
    with pytest.raises(ValueError, match=r"^lr must be >= 0, got -0\.1 \(torch: Invalid learning rate: -0\.1\)$"):
        cls(w, lr=-0.1)
    with pytest.raises(ValueError, match=r"^weight_decay must be >= 0, got -1 \(torch: Invalid weight_decay value"):
        cls(w, weight_decay=-1)
    with pytest.raises(ValueError, match=r"^nonfinite must be one of 'raise', 'skip', 'ignore'; got 'x'$"):
        cls(w, nonfinite="x")
    with pytest.raises(ValueError, match=r"^lr is a tensor of shape \(3, 1\), which does not broadcast"):
        cls(w, lr=torch.full((3, 1), 0.1))
    opt = cls(w)
    with pytest.raises(ValueError, match=r"^lr must be >= 0, got -1\.0"):
        opt.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": -1.0})
    assert len(opt.param_groups) == 1  # the rejected group left the optimizer as it was


def test_lookahead_passes_its_inner_optimizers_errors_on():
    with pytest.raises(ValueError, match=r"^lr must be >= 0, got -0\.1 \(torch: Invalid learning rate: -0\.1\)$"):
        oo.Lookahead([torch.zeros(2, requires_grad=True)], base="adam", lr=-0.1)


def _continue_after_loading(make_ref, make_ours, before=None, split=12, steps=32):
    """The reference runs ``split`` steps; its state_dict loads into optimlab's class on the same
    parameters, and both go on: the same iterates (a checkpoint of the reference resumes here)."""
    def go(opt, ps, ks):
        out = []
        for k in ks:
            if before:
                before(opt)
            for p in ps:
                p.grad = grad_field(p.detach(), k)
            opt.step()
            out.append([p.detach().clone() for p in ps])
        return out
    ps = [p.clone().requires_grad_() for p in start()]
    ref = make_ref(ps)
    go(ref, ps, range(split))
    qs = [p.detach().clone().requires_grad_() for p in ps]
    ours = make_ours(qs)
    ours.load_state_dict(copy.deepcopy(ref.state_dict()))  # torch's load keeps same-dtype tensors shared
    assert_same(go(ours, qs, range(split, steps)), go(ref, ps, range(split, steps)))


@pytest.mark.usefixtures("float64")
@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore:`torch._utils.is_compiling`:UserWarning")
@pytest.mark.parametrize("case", ["lion", "adabelief", "adamw_schedulefree", "adopt", "lars"])
def test_a_reference_checkpoint_resumes_in_optimlab(case, capsys):
    refs = {"lion": lambda ps: lion_pytorch.Lion(ps, lr=0.01, weight_decay=0.1),
            "adabelief": lambda ps: adabelief_pytorch.AdaBelief(ps, lr=0.01, print_change_log=False),
            "adamw_schedulefree": lambda ps: schedulefree.AdamWScheduleFree(ps, lr=0.01, warmup_steps=20),
            "adopt": lambda ps: adopt.ADOPT(ps, lr=0.01),
            "lars": lambda ps: pytorch_optimizer.LARS(ps, lr=0.1, weight_decay=0.1)}
    make_ref = refs[case]
    lr = {"lion": 0.01, "adabelief": 0.01, "adamw_schedulefree": 0.01, "adopt": 0.01, "lars": 0.1}[case]
    extra = {"lion": dict(weight_decay=0.1), "adamw_schedulefree": dict(warmup_steps=20),
             "lars": dict(weight_decay=0.1)}.get(case, {})
    before = (lambda o: o.train()) if "schedulefree" in case else None
    _continue_after_loading(make_ref, lambda ps: oo.create(ps, case, lr=lr, **extra), before=before)
