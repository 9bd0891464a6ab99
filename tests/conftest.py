import os

import bench_kill
import matplotlib
import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")
# One intra-op torch thread is set by the root conftest.py, for the tests and the doctests.


@pytest.fixture(autouse=True)
def _fresh_torch_state():
    """Each test starts from the same seed and default dtype, whatever ran before."""
    dtype = torch.get_default_dtype()
    torch.manual_seed(0)
    yield
    torch.set_default_dtype(dtype)


@pytest.fixture
def float64():
    """Float64 as the default dtype for one test (restored afterwards by the fixture above).

    Like torch, optimlab keeps scalar state (step counts, NAdam's Πμ) in the default
    dtype; in float32 that alone costs ~1e-10 against a formula, and compiled NAdam
    rounds Πμ differently from eager (~1e-8 relative)."""
    torch.set_default_dtype(torch.float64)


@pytest.fixture(scope="session")
def kill_bench_reference(tmp_path_factory):
    """The store of tests/bench_kill.py's benchmark run uninterrupted (read it, never write): the
    numbers that both kill-and-resume tests must get back."""
    store = tmp_path_factory.mktemp("kill-reference") / "fresh.sqlite"
    bench_kill.run(store)
    return store
