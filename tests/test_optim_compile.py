"""torch.compile of a whole training step (forward, backward, optimizer step) works
with every optimizer, matches eager execution, and does not recompile per step."""

from __future__ import annotations

import pytest
import torch

import optimlab.optim as oo

pytestmark = [pytest.mark.slow,  # dynamo traces each optimizer's step (about a second each)
              pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"),
              pytest.mark.usefixtures("float64")]  # conftest.float64

STEPS = 6
KW = {"SGD": dict(lr=0.05, momentum=0.9, nesterov=True), "Adagrad": dict(lr=0.1, weight_decay=0.01),
      "RMSprop": dict(lr=0.01, momentum=0.5, centered=True), "Adadelta": dict(),
      "Adam": dict(lr=0.01, amsgrad=True), "AdamW": dict(lr=0.01, eps_hat=True), "Adamax": dict(lr=0.01),
      "NAdam": dict(lr=0.01), "RAdam": dict(lr=0.01, betas=(0.9, 0.9)), "NAG": dict(lr=0.05, momentum=0.9)}
# "eager" (dynamo only) for most; aot_eager (dynamo and AOT autograd's functional graph) for two.
# Inductor's C++ code generation is tested once, by tests/test_compiled_runs.py's AOTInductor
# build: a cold C++ build (precompiled headers, ~25 s) is paid once per test session, not twice.
BACKEND = {"SGD": "aot_eager", "RAdam": "aot_eager"}


def train(name, compiled, backend):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh()).double()
    opt = getattr(oo, name)(model.parameters(), **KW[name])
    x, y = torch.randn(16, 4, dtype=torch.float64), torch.randn(16, 3, dtype=torch.float64)

    def closure():
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    def step():
        if name == "NAG":
            return opt.step(closure)
        loss = closure()
        opt.step()
        return loss

    # lazy: torch._dynamo costs every test process 1-1.5 s at collection; only these tests use it
    from torch._dynamo.testing import CompileCounterWithBackend

    counter = CompileCounterWithBackend(backend)
    fn = torch.compile(step, backend=counter) if compiled else step
    losses, frames = [], []
    for _ in range(STEPS):
        losses.append(float(fn().detach()))
        frames.append(counter.frame_count)
    return [p.detach().clone() for p in model.parameters()], losses, frames


@pytest.mark.parametrize("name", sorted(KW))
def test_compiled_training_step_matches_eager(name):
    torch._dynamo.reset()
    backend = BACKEND.get(name, "eager")
    eager, eager_losses, _ = train(name, False, backend)
    comp, comp_losses, frames = train(name, True, backend)
    tol = 1e-10 if backend == "inductor" else 1e-12  # inductor may fuse/reorder float ops
    for a, b in zip(comp, eager):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
    assert comp_losses == pytest.approx(eager_losses, rel=tol)
    # compiled for real, and not again at every step (the step count must not be specialized);
    # the first two steps may compile twice (state is created at the first step)
    assert frames[0] >= 1
    assert frames[2] == frames[-1], f"compiled frames after each step: {frames}: recompiling per step"
