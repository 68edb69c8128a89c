"""Normalization's statistics on inputs far from 0, where a mean summed naively in float32 loses digits: layer,
group and batch norm, values and gradients, over short rows and long blocks, no further from float64 than torch's
float32 is (twice its error, or 2e-6); and norms of no elements, as torch's."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from conftest import relative_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional

OFFSET = 100.0

CASES = {
    "layer_norm-rows-of-64": ((8, 256, 64), (64,), lambda functional, x, w, b: functional.layer_norm(x, (64,), w, b)),
    "layer_norm-rows-of-16384": ((4, 16, 32, 32), (16, 32, 32),
                                 lambda functional, x, w, b: functional.layer_norm(x, (16, 32, 32), w, b)),
    "group_norm": ((4, 8, 64, 64), (8,), lambda functional, x, w, b: functional.group_norm(x, 2, w, b)),
    "batch_norm": ((4, 8, 64, 64), (8,),
                   lambda functional, x, w, b: functional.batch_norm(x, None, None, w, b, training=True)),
}


def _run(functional, tensor, call, arrays, grad):
    """call's output and its inputs' gradients, as arrays."""
    inputs = [tensor(array) for array in arrays]
    out = call(functional, *inputs)
    out.backward(tensor(grad))
    return [out.detach().numpy()] + [t.grad.numpy() for t in inputs]


@pytest.mark.parametrize("name", CASES)
def test_as_close_to_float64_as_torch_far_from_zero(name):
    input_shape, affine_shape, call = CASES[name]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(input_shape) + OFFSET).astype(np.float32)
    arrays = [x] + [rng.standard_normal(affine_shape).astype(np.float32) for _ in range(2)]
    grad = rng.standard_normal(input_shape).astype(np.float32)
    exact = _run(TF, lambda a: torch.tensor(a, dtype=torch.float64, requires_grad=True), call, arrays, grad)
    torch_float32 = _run(TF, lambda a: torch.tensor(a, requires_grad=True), call, arrays, grad)
    ours = _run(F, lambda a: mg.tensor(a, requires_grad=True), call, arrays, grad)
    for what, mine, theirs, reference in zip(("output", "input grad", "weight grad", "bias grad"), ours, torch_float32,
                                             exact):
        assert relative_error(mine, reference) <= max(2 * relative_error(theirs, reference), 2e-6), what


EMPTY_CASES = {
    "layer_norm-no-rows": ((0, 8), (8,), lambda functional, x, w, b: functional.layer_norm(x, (8,), w, b)),
    "layer_norm-empty-rows": ((4, 0), (0,), lambda functional, x, w, b: functional.layer_norm(x, (0,), w, b)),
    "group_norm-no-samples": ((0, 4, 3, 3), (4,), lambda functional, x, w, b: functional.group_norm(x, 2, w, b)),
    "batch_norm-no-samples": ((0, 5), (5,),
                              lambda functional, x, w, b: functional.batch_norm(x, None, None, w, b, training=True)),
}


@pytest.mark.filterwarnings("error")  # a mean of no values is NaN, silently, as torch's
@pytest.mark.parametrize("name", EMPTY_CASES)
def test_norms_of_no_elements_as_torch(name):
    """No rows, rows of no values, no samples: the sums see empty matrices, and the gradients are empty or zeros,
    as torch's."""
    input_shape, affine_shape, call = EMPTY_CASES[name]
    arrays = [np.ones(input_shape, np.float32), np.ones(affine_shape, np.float32), np.zeros(affine_shape, np.float32)]
    grad = np.ones(input_shape, np.float32)
    ours = _run(F, lambda a: mg.tensor(a, requires_grad=True), call, arrays, grad)
    theirs = _run(TF, lambda a: torch.tensor(a, requires_grad=True), call, arrays, grad)
    for mine, reference in zip(ours, theirs):
        assert mine.shape == reference.shape
        np.testing.assert_array_equal(mine, reference)
