"""Settings for the docstring examples (collected with the tests: ``testpaths`` and
``--doctest-modules`` in pyproject.toml).

Each example runs in a fresh temporary folder (examples that write files leave nothing
in the checkout), with torch seeded and matplotlib drawing off-screen, so the printed
results are the same on every run.
"""

import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
# the command line's tables are as wide as the terminal; tests see one width whatever runs
# them (a terminal, a pipe, a pytest-xdist worker, which reports 80 columns)
os.environ["COLUMNS"] = "200"
# small tensors: one intra-op thread is fastest and does not oversubscribe the 2-core CI
# machine when a test starts worker processes (DDP, the benchmark resume test)
torch.set_num_threads(1)
# compiled runs (optimlab.runner.compiled) keep their programs in a folder of this test session,
# never in the user's cache: a program found there would change what "auto" runs
if "OPTIMLAB_CACHE_DIR" not in os.environ:
    import tempfile

    os.environ["OPTIMLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="optimlab-test-cache-")


@pytest.fixture(autouse=True)
def _doctest_in_a_temporary_folder(request):
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(request.getfixturevalue("tmp_path"))
        yield

