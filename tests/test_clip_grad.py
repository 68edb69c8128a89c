"""minigrad.nn.utils against torch.nn.utils: clip_grad_norm_ (and its halves, get_total_norm and
clip_grads_with_norm_), clip_grad_value_, parameters_to_vector and vector_to_parameters."""
import math

import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (5,), (2, 3, 3), (1,)]
WITHOUT_GRAD = 1  # the parameter left without a gradient: skipped, as in torch


def arrays(seed, dtype=np.float32, shapes=SHAPES):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in shapes]


def with_grads(library, grads, device=None):
    """Parameters whose .grad are the given arrays (one left without), from minigrad or torch."""
    params = []
    for i, grad in enumerate(grads):
        if library is mg:
            param = mg.nn.Parameter(mg.zeros(*grad.shape, dtype=grad.dtype, device=device))
            param.grad = None if i == WITHOUT_GRAD else mg.tensor(grad, device=device)
        else:
            param = torch.nn.Parameter(torch.zeros(grad.shape, dtype=torch.from_numpy(grad).dtype))
            param.grad = None if i == WITHOUT_GRAD else torch.from_numpy(grad.copy())
        params.append(param)
    return params


def grads_of(params):
    return [None if p.grad is None else np.asarray(p.grad.cpu().numpy() if hasattr(p.grad, "cpu") else p.grad.numpy())
            for p in params]


def clipped(library, clip, grads, *args, device=None, **kwargs):
    params = with_grads(library, grads, device)
    held = [p.grad for p in params]
    result = getattr(library.nn.utils, clip)(params, *args, **kwargs)
    assert all(p.grad is grad for p, grad in zip(params, held))  # clipped in place, the same objects
    return result, grads_of(params)


def assert_grads_match(actual, expected, rtol=1e-5, atol=1e-6):
    for ours, theirs in zip(actual, expected, strict=True):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            assert ours.dtype == theirs.dtype
            np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("norm_type", [2.0, 1, 3.5, 0.5, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.3, 1e4])  # clipped, and left as it is
def test_clip_grad_norm_matches_torch(max_norm, norm_type, dtype):
    grads = arrays(0, dtype)
    norm, after = clipped(mg, "clip_grad_norm_", grads, max_norm, norm_type)
    torch_norm, torch_after = clipped(torch, "clip_grad_norm_", grads, max_norm, norm_type)
    assert isinstance(norm, mg.Tensor) and norm.shape == () and norm.dtype == dtype
    np.testing.assert_allclose(norm.item(), torch_norm.item(), rtol=1e-6)
    assert_grads_match(after, torch_after)
    if max_norm == 1e4:
        assert_grads_match(after, [None if i == WITHOUT_GRAD else g for i, g in enumerate(grads)], rtol=0, atol=0)
    else:
        assert float(mg.nn.utils.get_total_norm([mg.tensor(g) for g in after if g is not None], norm_type)) == \
            pytest.approx(max_norm, rel=1e-5)


def test_a_single_tensor_a_generator_and_no_grads_like_torch():
    grads = arrays(1)
    for library in (mg, torch):
        params = with_grads(library, grads)
        norm = library.nn.utils.clip_grad_norm_(params[0], 0.5)  # one tensor, not a list
        assert float(norm) == pytest.approx(float(np.linalg.norm(grads[0])), rel=1e-6)
        assert float(library.nn.utils.clip_grad_norm_((p for p in params[2:]), 10.0)) > 0  # a generator
    for library in (mg, torch):
        with pytest.warns(UserWarning, match="`parameters` is an empty generator, no gradient clipping will occur."):
            norm = library.nn.utils.clip_grad_norm_((p for p in ()), 1.0)
        assert norm.item() == 0.0 and norm.dtype == library.float32
        bare = library.nn.Parameter(library.ones(2))
        assert library.nn.utils.clip_grad_norm_([bare], 1.0).item() == 0.0 and bare.grad is None


def test_get_total_norm_and_clip_grads_with_norm_are_its_two_halves():
    grads = arrays(2)
    results = []
    for library in (mg, torch):
        params = with_grads(library, grads)
        total = library.nn.utils.get_total_norm([p.grad for p in params if p.grad is not None], 3.0)
        library.nn.utils.clip_grads_with_norm_(params, 1.5, total)
        results.append((total.item(), grads_of(params)))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-6)
    assert_grads_match(results[0][1], results[1][1])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_norm_is_torchs_error_when_asked_and_scales_like_torch_otherwise(bad):
    grads = arrays(3)
    grads[2][1, 0, 2] = bad
    errors = []
    for library in (mg, torch):
        with pytest.raises(RuntimeError) as info:
            clipped(library, "clip_grad_norm_", grads, 1.0, error_if_nonfinite=True)
        errors.append(str(info.value))
        with pytest.raises(RuntimeError, match="The total norm of order inf"):
            clipped(library, "clip_grad_norm_", grads, 1.0, norm_type="inf", error_if_nonfinite=True)
    assert errors[0] == errors[1]
    norm, after = clipped(mg, "clip_grad_norm_", grads, 1.0)
    torch_norm, torch_after = clipped(torch, "clip_grad_norm_", grads, 1.0)
    np.testing.assert_equal(norm.item(), torch_norm.item())
    assert_grads_match(after, torch_after)


@pytest.mark.parametrize("clip_value", [0.5, 1, 10.0])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clip_grad_value_matches_torch(clip_value, dtype):
    grads = arrays(4, dtype)
    grads[0][0, 0] = np.nan
    result, after = clipped(mg, "clip_grad_value_", grads, clip_value)
    torch_result, torch_after = clipped(torch, "clip_grad_value_", grads, clip_value)
    assert result is torch_result is None
    assert_grads_match(after, torch_after, rtol=0, atol=0)


def test_parameters_to_vector_and_back_like_torch():
    values = arrays(5)
    outputs = []
    for library in (mg, torch):
        params = [library.nn.Parameter(library.tensor(v)) for v in values]
        vector = library.nn.utils.parameters_to_vector(params)
        weights = library.tensor(np.arange(vector.shape[0], dtype=np.float32))
        (vector * weights).sum().backward()
        new = library.tensor(np.linspace(-1, 1, vector.shape[0], dtype=np.float32))
        library.nn.utils.vector_to_parameters(new, params)
        new.data[3] = 7.0  # the parameters share the vector's memory, as torch's do
        outputs.append((vector.detach().numpy(), [p.grad.numpy() for p in params],
                        [p.detach().numpy().copy() for p in params], [tuple(p.shape) for p in params]))
    (vector, grads, after, shapes), (torch_vector, torch_grads, torch_after, torch_shapes) = outputs
    np.testing.assert_array_equal(vector, torch_vector)
    assert_grads_match(grads, torch_grads, rtol=0, atol=0)
    assert_grads_match(after, torch_after, rtol=0, atol=0)
    assert shapes == torch_shapes and after[0][1, 0] == 7.0
    for library in (mg, torch):
        with pytest.raises(TypeError, match="expected .*Tensor, but got: list"):
            library.nn.utils.vector_to_parameters([1.0], [library.nn.Parameter(library.ones(1))])


def test_gpu_path_matches_cpu(gpu_path):
    grads = arrays(6)
    for norm_type in (2.0, math.inf):
        norm, after = clipped(mg, "clip_grad_norm_", grads, 0.7, norm_type, device="gpu")
        cpu_norm, cpu_after = clipped(mg, "clip_grad_norm_", grads, 0.7, norm_type)
        assert norm.device == "gpu" and relative_error(norm.numpy(), cpu_norm.numpy()) <= 1e-5
        for ours, reference in zip(after, cpu_after):
            assert (ours is None) == (reference is None)
            if reference is not None:
                assert relative_error(ours, reference) <= 1e-5
    _, after = clipped(mg, "clip_grad_value_", grads, 0.4, device="gpu")
    assert_grads_match(after, clipped(mg, "clip_grad_value_", grads, 0.4)[1], rtol=0, atol=0)
    params = [mg.nn.Parameter(mg.tensor(v, device="gpu")) for v in grads]
    vector = mg.nn.utils.parameters_to_vector(params)
    assert vector.device == "gpu"
    np.testing.assert_array_equal(vector.numpy(), np.concatenate([g.ravel() for g in grads]))
    with pytest.raises(TypeError, match="Found two parameters on different devices"):
        mg.nn.utils.parameters_to_vector([params[0], mg.nn.Parameter(mg.ones(2))])
