"""The out= argument of F.normalize (torch's div writes it, outside autograd) and of tensordot (a copy into it,
recorded), against torch: the tensor returned and written, its dtype, its resizing and torch's warning, gradients,
and torch's errors."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4)).astype(np.float32)
A = RNG.standard_normal((2, 3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4, 5)).astype(np.float32)

# name -> (call(lib, out, *inputs), inputs, the result's shape)
CALLS = {
    "normalize": (lambda lib, out, x: lib.nn.functional.normalize(x, p=3.0, dim=0, out=out), (X,), (3, 4)),
    "tensordot": (lambda lib, out, a, b: lib.tensordot(a, b, dims=([1, 2], [0, 1]), out=out), (A, B), (2, 5)),
}
each_call = pytest.mark.parametrize("name", CALLS)


def _outs(shape, dtype=np.float32, requires_grad=False):
    """The same out= tensor for minigrad and torch: of `shape` and `dtype`, filled with 7s."""
    array = np.full(shape, 7, dtype)
    return mg.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def _call(lib, name, out, requires_grad=False):
    call, arrays, _ = CALLS[name]
    return call(lib, out, *(lib.tensor(a, requires_grad=requires_grad) for a in arrays))


@each_call
@pytest.mark.parametrize("out_shape", ["same", "empty", "other"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_out_is_written_returned_and_resized_as_torchs(name, out_shape, dtype):
    shape = {"same": CALLS[name][2], "empty": (0,), "other": (7,)}[out_shape]
    ours_out, theirs_out = _outs(shape, dtype)
    results = []
    for lib, out in ((mg, ours_out), (torch, theirs_out)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                returned = _call(lib, name, out)
            except RuntimeError as error:
                returned = error
        results.append((returned, {(w.category, str(w.message).split(" (Triggered")[0]) for w in caught}))
    (ours, our_warnings), (theirs, their_warnings) = results
    assert our_warnings == their_warnings     # torch warns twice into out of another dtype: once here
    if isinstance(theirs, RuntimeError):      # tensordot wants out of the result's dtype
        assert type(ours) is RuntimeError and str(ours) == str(theirs)
        return
    assert len(their_warnings) == (out_shape == "other")
    assert ours is ours_out and not ours.requires_grad
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.") and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-3 if dtype == np.float16 else 1e-6)


@each_call
def test_out_of_a_strided_view_is_written_into_its_base_as_torchs(name):
    shape = CALLS[name][2]
    bases = [lib.zeros(shape[1], shape[0] + 2) for lib in (mg, torch)]
    for lib, base in zip((mg, torch), bases):
        _call(lib, name, base[:, 1:-1].t())
    np.testing.assert_allclose(bases[0].numpy(), bases[1].numpy(), rtol=1e-6)


def test_tensordots_out_passes_the_gradient_on_as_torchs():
    grads = []
    for lib in (mg, torch):
        a, b = lib.tensor(A, requires_grad=True), lib.tensor(B, requires_grad=True)
        out = lib.zeros(2, 5)
        returned = lib.tensordot(a, b, dims=([1, 2], [0, 1]), out=out)
        assert returned is out and out.requires_grad
        (out * lib.tensor(np.arange(10.0, dtype=np.float32).reshape(2, 5))).sum().backward()
        grads.append((a.grad.numpy(), b.grad.numpy()))
    for ours, theirs in zip(*grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def test_normalizes_out_is_written_under_no_grad_as_torchs():
    written = []
    for lib in (mg, torch):
        out = lib.zeros(3, 4)
        with lib.no_grad():
            returned = lib.nn.functional.normalize(lib.tensor(X, requires_grad=True), out=out)
        assert returned is out and not out.requires_grad
        written.append(out.numpy())
    np.testing.assert_allclose(*written, rtol=1e-6)


@pytest.mark.parametrize("name, out_shape, dtype, input_grad, out_grad", [
    ("normalize", (3, 4), np.float32, True, False),      # out= is outside autograd
    ("normalize", (3, 4), np.float32, False, True),
    ("normalize", (7,), np.int64, True, False),          # autograd's error first
    ("normalize", (7,), np.int64, False, False),         # a float result into integers, before any resize
    ("normalize", (3, 4), np.bool_, False, False),
    ("tensordot", (2, 5), np.float32, False, True),      # a leaf that requires grad written in place
    ("tensordot", (3,), np.float32, False, True),        # ... and of another shape
    ("tensordot", (3,), np.float64, False, True),        # the dtype's error first
    ("tensordot", (2, 5), np.int64, True, False),
    ("tensordot", (2, 5), np.float16, False, False),
])
def test_out_refused_with_torchs_errors(name, out_shape, dtype, input_grad, out_grad):
    ours_out, theirs_out = _outs(out_shape, dtype, out_grad)
    assert_raises_as_torch(lambda: _call(torch, name, theirs_out, input_grad),
                           lambda: _call(mg, name, ours_out, input_grad))


def test_tensordot_refuses_an_out_that_is_not_a_tensor_as_torch():
    assert_raises_as_torch(lambda: torch.tensordot(torch.tensor(A), torch.tensor(B), out=3),
                           lambda: mg.tensordot(mg.tensor(A), mg.tensor(B), out=3))



@each_call
def test_gpu_path_matches_cpu(gpu_path, name):
    """out= on device arrays: written in place where of the result's shape, made anew on the device where resized."""
    def run(device):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the resize's deprecation warning
            outs = [mg.zeros(*CALLS[name][2], device=device), mg.zeros(7, device=device)]
            call, arrays, _ = CALLS[name]
            for out in outs:
                assert call(mg, out, *(mg.tensor(a, device=device) for a in arrays)) is out
        assert all(out.device == device for out in outs)
        return [out.numpy() for out in outs]

    for gpu, cpu in zip(run("gpu"), run("cpu")):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6)
