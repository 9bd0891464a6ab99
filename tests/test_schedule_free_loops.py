"""The lab's loops with an optimizer that has train()/eval() (schedule-free): ``optimlab.run``,
a function sweep (both :func:`optimlab.runner.run_batch`) and :meth:`Trainer.fit` equal
hand-written loops on the authors' package ``schedulefree`` with the calls its README asks
for (gradients in train mode, evaluation in eval mode), float64."""

from __future__ import annotations

import numpy as np
import schedulefree
import torch
from sweep_rows import row_model

from optimlab import functions, runner
from optimlab.engine import has_modes, optimizer_mode
from optimlab.sweeps import sweep
from optimlab.training import Trainer

KW = dict(lr=0.01, weight_decay=0.05, warmup_steps=3)
SPEC = "adamw_schedulefree:lr=0.01,weight_decay=0.05,warmup_steps=3"
START = (-1.2, 1.0)


def _reference_run(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Points and values at x (eval mode) of schedulefree.AdamWScheduleFree on Rosenbrock."""
    fn = functions.get("rosenbrock")
    x = torch.tensor([START], dtype=torch.float64, requires_grad=True)
    opt = schedulefree.AdamWScheduleFree([x], **KW)
    points, values = [x.detach().clone()], [fn(x).detach().clone()]
    for _ in range(steps):
        opt.train()
        x.grad = None
        fn(x).sum().backward()
        opt.step()
        opt.eval()
        points.append(x.detach().clone())
        values.append(fn(x).detach().clone())
    return torch.cat(points).numpy(), torch.cat(values).numpy()


def test_modes_are_duck_typed():
    class Modal(torch.optim.SGD):  # any class with both methods, whatever its name
        calls: list = []

        def train(self):
            self.calls.append("train")

        def eval(self):
            self.calls.append("eval")

    p = [torch.nn.Parameter(torch.zeros(2))]
    opt = Modal(p, lr=0.1)
    assert has_modes(opt) and not has_modes(torch.optim.SGD(p, lr=0.1))
    optimizer_mode(opt, "train")
    optimizer_mode(opt, "eval")
    optimizer_mode(torch.optim.SGD(p, lr=0.1), "eval")  # nothing to call
    assert Modal.calls == ["train", "eval"]


def test_run_records_the_evaluation_point_as_schedulefree():
    steps = 30
    ref_points, ref_values = _reference_run(steps)
    tr = runner.run("rosenbrock", SPEC, start=START, steps=steps)
    assert tr.steps == steps
    np.testing.assert_allclose(tr.series["params"], ref_points, rtol=0, atol=1e-12)
    np.testing.assert_allclose(tr.series["values"], ref_values, rtol=0, atol=1e-12)


def test_function_sweep_batches_schedule_free_runs():
    steps = 30
    ref_points, _ = _reference_run(steps)
    res = sweep("rosenbrock", "adamw_schedulefree:weight_decay=0.05,warmup_steps=3", {"lr": [0.02, 0.01]},
                steps=steps, start=START)
    assert [c["lr"] for c in res.configs] == [0.02, 0.01]
    np.testing.assert_allclose(res.traces[1].series["params"], ref_points, rtol=0, atol=1e-12)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()


def test_trainer_fit_calls_train_and_eval_as_schedulefree_advises():
    g = torch.Generator().manual_seed(1)
    X, Y = torch.randn(12, 3, generator=g, dtype=torch.float64), torch.randn(12, 1, generator=g, dtype=torch.float64)
    Xv, Yv = torch.randn(5, 3, generator=g, dtype=torch.float64), torch.randn(5, 1, generator=g, dtype=torch.float64)
    epochs, bs = 4, 4
    # the reference: the loop the schedulefree README shows
    ref = _model()
    opt = schedulefree.AdamWScheduleFree(ref.parameters(), **KW)
    ref_val = []
    for _ in range(epochs):
        ref.train()
        opt.train()
        for s in range(0, len(X), bs):
            opt.zero_grad()
            torch.nn.functional.mse_loss(ref(X[s:s + bs]), Y[s:s + bs]).backward()
            opt.step()
        opt.eval()
        ref.eval()
        with torch.no_grad():
            ref_val.append(torch.nn.functional.mse_loss(ref(Xv), Yv).item())

    model = _model()
    t = Trainer(model, loss="mse", optimizer=SPEC)
    h = t.fit((X, Y), batch_size=bs, epochs=epochs, validation_data=(Xv, Yv), shuffle=False, verbose=0)
    np.testing.assert_allclose(h.epochs["val_loss"], ref_val, rtol=0, atol=1e-12)
    for p, q in zip(model.parameters(), ref.parameters()):  # fit returns with the model at x
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=0, atol=1e-12)
    assert not t.optimizer.param_groups[0]["train_mode"]


def _sweep_row_by_hand(problem, lr, seed, steps, bs):
    """tests/test_sweeps.py's loop of one training-sweep row, on schedulefree with its train()/eval() calls."""
    model = row_model(problem, seed)
    opt = schedulefree.AdamWScheduleFree(model.parameters(), **{**KW, "lr": lr})
    X, Y = problem.train.tensors
    nb = -(-len(X) // bs)
    gen = torch.Generator().manual_seed(seed)
    losses, evals = [], []
    for k in range(steps):
        b = k % nb
        if b == 0:
            perm = torch.randperm(len(X), generator=gen)
        idx = perm[b * bs:(b + 1) * bs]
        opt.train()
        opt.zero_grad()
        loss = problem.loss(model(X[idx]), Y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if b == nb - 1 or k == steps - 1:
            opt.eval()
            with torch.no_grad():
                evals.append(problem.loss(model(problem.val.tensors[0]), problem.val.tensors[1]).item())
    return np.array(losses), np.array(evals)


def test_training_sweep_trains_at_y_and_evaluates_at_x():
    from test_sweeps import _tiny_problem

    prob = _tiny_problem()
    res = sweep(prob, "adamw_schedulefree:weight_decay=0.05,warmup_steps=3", grid={"lr": [0.01, 0.05]}, seeds=[3],
                steps=9, batch_size=8, dtype=torch.float64)
    for cfg, t in zip(res.configs, res.traces):
        losses, evals = _sweep_row_by_hand(prob, cfg["lr"], 3, 9, 8)
        np.testing.assert_allclose(t.values, losses, rtol=0, atol=1e-12)
        np.testing.assert_allclose(t.epochs["objective"], evals, rtol=0, atol=1e-12)
