"""Settings for the docstring examples (``python -m pytest --doctest-modules optimlab``).

Each example runs in a fresh temporary folder (examples that write files leave nothing
in the checkout), with torch seeded and matplotlib drawing off-screen, so the printed
results are the same on every run.
"""

import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(1)  # as in tests/conftest.py: small tensors, a shared 2-core machine


@pytest.fixture(autouse=True)
def _doctest_in_a_temporary_folder(request):
    if not isinstance(request.node, pytest.DoctestItem):
        yield
        return
    torch.manual_seed(0)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(request.getfixturevalue("tmp_path"))
        yield
