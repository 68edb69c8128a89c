"""Training-side cases where minigrad once disagreed with torch, each reduced to its smallest form: Rprop on a 0-d
parameter (its sign masks were NumPy scalars, which take no assignment), diff of order 0 beside prepend or append
(torch leaves them out), and take_along_dim's error for indices that do not broadcast."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_matches_torch, assert_raises_as_torch

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


@pytest.mark.parametrize("kwargs", [dict(prepend=True), dict(append=True, dim=0), dict(prepend=True, append=True)])
def test_diff_of_order_0_leaves_prepend_and_append_out_as_torch(kwargs):
    """An order-0 difference is a copy of the input alone, whatever is joined on; the copy is not the input."""
    rng = np.random.default_rng(0)
    x, side = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)

    def diff(lib, x):
        extra = {key: lib.tensor(side) for key in ("prepend", "append") if kwargs.get(key)}
        return lib.diff(x, n=0, dim=kwargs.get("dim", -1), **extra)
    assert_matches_torch(torch, diff, [x])
    tensor = mg.tensor(x)
    assert diff(mg, tensor) is not tensor


def test_take_along_dim_of_indices_that_do_not_broadcast_raises_torchs_error():
    x, indices = np.zeros((3, 1), np.float32), np.zeros((2, 4), np.int64)
    assert_raises_as_torch(lambda: torch.take_along_dim(torch.tensor(x), torch.tensor(indices), 1),
                           lambda: mg.take_along_dim(mg.tensor(x), mg.tensor(indices), 1))
