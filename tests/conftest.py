import os

import matplotlib
import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")
# The tests use small tensors: one intra-op thread is fastest and does not oversubscribe
# the 2-core CI machine when a test starts worker processes (DDP, the benchmark resume test).
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _fresh_torch_state():
    """Each test starts from the same seed and default dtype, whatever ran before."""
    dtype = torch.get_default_dtype()
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(dtype)
