"""Normalization's sums go through BLAS over rows that lie end to end in memory, through einsum otherwise: inputs
whose rows do not (transposed or strided views, as a ported model's permuted activations) give torch's float32
values and gradients, and pass float64 gradchecks."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from conftest import relative_error

torch = pytest.importorskip("torch")
TF = torch.nn.functional

# Each case: (the input's shape, a view of it that is not contiguous, the affine shape, the norm of that view).
CASES = {
    "layer_norm-transposed-rows": ((3, 6, 5), lambda x: x.transpose(1, 2), (6,),
                                   lambda functional, x, w, b: functional.layer_norm(x, (6,), w, b)),
    "layer_norm-strided-rows": ((3, 4, 10), lambda x: x[:, :, ::2], (4, 5),
                                lambda functional, x, w, b: functional.layer_norm(x, (4, 5), w, b)),
    "instance_norm-transposed-positions": ((2, 3, 4, 5), lambda x: x.transpose(2, 3), (3,),
                                           lambda functional, x, w, b: functional.instance_norm(x, weight=w, bias=b)),
}


def _arrays(shape, affine_shape, dtype):
    """An input, a weight near 1 and a bias."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 2 + 0.5
    weight = 1 + 0.5 * rng.standard_normal(affine_shape)
    bias = rng.standard_normal(affine_shape)
    return [array.astype(dtype) for array in (x, weight, bias)]


@pytest.mark.parametrize("case", CASES)
def test_views_whose_rows_are_not_contiguous_match_torch(case):
    shape, view, affine_shape, norm = CASES[case]
    arrays = _arrays(shape, affine_shape, np.float32)
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = norm(F, view(ours[0]), *ours[1:])
    expected = norm(TF, view(theirs[0]), *theirs[1:])
    assert not view(ours[0]).data.flags.c_contiguous
    direction = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * mg.tensor(direction)).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    for mine, reference in zip(ours, theirs):
        assert relative_error(mine.grad.numpy(), reference.grad.numpy()) < 2e-6


@pytest.mark.parametrize("case", CASES)
def test_views_whose_rows_are_not_contiguous_gradcheck(case):
    shape, view, affine_shape, norm = CASES[case]
    inputs = [mg.tensor(a, requires_grad=True) for a in _arrays(shape, affine_shape, np.float64)]
    assert mg.gradcheck(lambda x, w, b: norm(F, view(x), w, b), inputs)


@pytest.mark.parametrize("shape, normalized_shape", [
    ((8, 1024, 64), (64,)),       # rows that the threads and blocks split, taken 128 at a time
    ((11, 13, 64), (64,)),        # an odd number of rows, taken one at a time
    ((6, 96, 4, 5), (4, 5)),      # a span of two axes, taken 64 at a time
    ((3, 64), (64,)),             # too few values to be worth the copies of the weight
    ((0, 64), (64,)),
])
def test_layer_norms_affine_passes_over_long_rows_match_torch(shape, normalized_shape):
    """Layer norm's weight and bias scale and shift rows of several copies of their span at once, forward and
    backward."""
    arrays = _arrays(shape, normalized_shape, np.float32)
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out = F.layer_norm(ours[0], normalized_shape, *ours[1:])
    expected = TF.layer_norm(theirs[0], normalized_shape, *theirs[1:])
    direction = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    (out * mg.tensor(direction)).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    for mine, reference in zip(ours, theirs):
        assert relative_error(mine.grad.numpy(), reference.grad.numpy()) < 2e-6
