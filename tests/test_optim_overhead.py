"""What a step costs beyond its arithmetic: no torch._dynamo import, host reads of the guard."""

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.slow  # a fresh Python process
def test_creating_stepping_and_saving_an_optimizer_does_not_import_torch_dynamo():
    # torch.optim.Optimizer wraps add_param_group, zero_grad, state_dict and load_state_dict in
    # torch._disable_dynamo, whose first call imports torch._dynamo (2-3 s per process)
    code = textwrap.dedent("""
        import sys
        import torch
        import optimlab.optim as oo
        names = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adadelta", "Adamax", "NAdam", "RAdam"]
        for name in names:
            p = torch.nn.Parameter(torch.randn(3))
            opt = getattr(oo, name)([p], lr=0.1)
            opt.add_param_group({"params": [torch.nn.Parameter(torch.randn(2))]})
            for _ in range(2):
                opt.zero_grad()
                (p ** 2).sum().backward()
                opt.step()
            opt.load_state_dict(opt.state_dict())
        print("torch._dynamo" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"], out.stderr
