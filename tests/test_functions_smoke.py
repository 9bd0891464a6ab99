import numpy as np
import torch

import optimlab.functions as F


def test_every_function_is_zero_gradient_at_its_minimizers():
    for name in F.names():
        f = F.get(name)
        for m in f.minimizers:
            assert abs(float(f(m)) - f.f_min) < 1e-12, name
            assert np.abs(f.grad(m)).max() < 1e-10, name
