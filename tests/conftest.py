import os

import matplotlib
import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _fresh_torch_state():
    """Each test starts from the same seed and default dtype, whatever ran before."""
    dtype = torch.get_default_dtype()
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(dtype)
