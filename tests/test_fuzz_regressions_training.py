"""Training-side cases where minigrad once disagreed with torch, each reduced to its smallest form: Rprop on a 0-d
parameter (its sign masks were NumPy scalars, which take no assignment)."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")


def rprop_steps_on_a_scalar(library, device=None, steps=6):
    """Rprop's parameter after each of `steps` steps on a 0-d parameter, its gradient's sign flipping now and then
    (maximize too, which negates it), as NumPy numbers."""
    grads = np.random.default_rng(0).standard_normal(steps).astype(np.float32)
    if library is mg:
        param = mg.nn.Parameter(mg.tensor(np.float32(0.5), device=device))
    else:
        param = torch.nn.Parameter(torch.tensor(np.float32(0.5)))
    optimizer = library.optim.Rprop([param], lr=0.1, etas=(0.4, 1.6), maximize=True)
    trajectory = []
    for grad in grads:
        param.grad = mg.tensor(grad, device=device) if library is mg else torch.tensor(grad)
        optimizer.step()
        trajectory.append(np.asarray(param.tolist(), np.float32))
    return np.array(trajectory)


def test_rprop_steps_a_0d_parameter_as_torch():
    np.testing.assert_array_equal(rprop_steps_on_a_scalar(mg), rprop_steps_on_a_scalar(torch))


def test_rprop_on_a_0d_parameter_gpu_path_matches_cpu(gpu_path):
    np.testing.assert_array_equal(rprop_steps_on_a_scalar(mg, device="gpu"), rprop_steps_on_a_scalar(mg))
