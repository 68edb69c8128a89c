"""torch's element-wise math that ported code calls (acosh, deg2rad, ldexp, frexp, gcd, polygamma, mvlgamma, igamma,
...) and the in-place functions torch exports (torch.exp_(t), ...), against torch. Their plain parity of values and
gradients is in test_torch_functions' table; here: gradchecks, igamma's one-sided gradient, the in-place forms,
dtypes of integer inputs, errors, and the GPU path."""
import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error
from minigrad.torch_functions import IN_PLACE_METHODS

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.uniform(-2, 2, size=(3, 4))
UNIT = RNG.uniform(0.05, 0.95, size=(3, 4))

# name: (f of mg or torch and a tensor, the float64 input): the new differentiable element-wise ops
DIFFERENTIABLE = {
    "asinh": (lambda lib, t: t.asinh(), X), "acosh": (lambda lib, t: t.acosh(), X * X + 1.1),
    "atanh": (lambda lib, t: t.atanh(), UNIT), "deg2rad": (lambda lib, t: lib.deg2rad(t), X),
    "rad2deg": (lambda lib, t: t.rad2deg(), X), "polygamma": (lambda lib, t: lib.polygamma(1, t), UNIT),
    "mvlgamma": (lambda lib, t: t.mvlgamma(2), X * X + 1), "frexp": (lambda lib, t: t.frexp()[0], X),
    "ldexp": (lambda lib, t: t.ldexp(lib.tensor([[1, 0, 2, 3]])), X),
    "igamma": (lambda lib, t: lib.igamma(lib.tensor(UNIT + 1), t), UNIT * 3),
    "igammac": (lambda lib, t: lib.igammac(lib.tensor(UNIT * 2), t), UNIT),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gradcheck(name):
    function, array = DIFFERENTIABLE[name]
    assert mg.gradcheck(lambda t: function(mg, t), (mg.tensor(array, requires_grad=True),))


@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_matches_torch_and_refuses_the_gradient_of_its_input(name):
    a, x = UNIT.astype(np.float32) * 3, UNIT.astype(np.float32)[::-1].copy()
    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    got, expected = getattr(mg, name)(mg.tensor(a), ours), getattr(torch, name)(torch.tensor(a), theirs)
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    got.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)
    assert getattr(mg.special, name.replace("igamma", "gammainc"))(mg.tensor(a), ours).allclose(got)
    with pytest.raises(NotImplementedError) as error:
        getattr(torch, name)(torch.tensor(a, requires_grad=True), theirs).sum().backward()
    with pytest.raises(NotImplementedError, match=str(error.value)):
        getattr(mg, name)(mg.tensor(a, requires_grad=True), ours).sum().backward()


@pytest.mark.parametrize("name", ["acosh", "asinh", "atanh", "deg2rad", "rad2deg", "angle", "absolute",
                                  "arctan", "mvlgamma", "polygamma"])
@pytest.mark.parametrize("dtype", ["int64", "bool"])
def test_integer_and_bool_inputs_as_torchs(name, dtype):
    array = np.array([[0, 1, 3], [2, 0, 1]]).astype(dtype)
    args = {"mvlgamma": lambda t: (t + 1, 1), "polygamma": lambda t: (1, t)}.get(name, lambda t: (t,))
    try:
        expected = getattr(torch, name)(*args(torch.tensor(array)))
    except (RuntimeError, NotImplementedError) as error:
        with pytest.raises(type(error), match=str(error.value if hasattr(error, "value") else error)):
            getattr(mg, name)(*args(mg.tensor(array)))
        return
    got = getattr(mg, name)(*args(mg.tensor(array)))
    assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_frexp_gcd_and_lcm_as_torchs():
    values = np.array([3.0, -0.1, 0.0, 1e-30, 1024.0], dtype=np.float32)
    (mantissa, exponent), theirs = mg.frexp(mg.tensor(values)), torch.frexp(torch.tensor(values))
    assert mantissa.dtype == mg.float32 and exponent.dtype == mg.int32
    np.testing.assert_array_equal(mantissa.numpy(), theirs.mantissa.numpy())
    np.testing.assert_array_equal(exponent.numpy(), theirs.exponent.numpy())
    a, b = np.array([12, -18, 0, 7], dtype=np.int32), np.array([[8], [0]], dtype=np.int32)
    for name in ("gcd", "lcm"):
        got, expected = getattr(mg, name)(mg.tensor(a), mg.tensor(b)), getattr(torch, name)(torch.tensor(a),
                                                                                              torch.tensor(b))
        assert got.dtype == mg.int32
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("call", [
    lambda lib: lib.frexp(lib.tensor([1, 2])), lambda lib: lib.gcd(lib.tensor([1.0]), lib.tensor([2.0])),
    lambda lib: lib.lcm(lib.tensor([True]), lib.tensor([True])), lambda lib: lib.ldexp(lib.tensor([1.0]), 2),
    lambda lib: lib.gcd(lib.tensor([4]), 2), lambda lib: lib.polygamma(-1, lib.tensor([1.0])),
    lambda lib: lib.mvlgamma(lib.tensor([2.0]), 0), lambda lib: lib.mvlgamma(lib.tensor([True]), 1),
    lambda lib: lib.igamma(lib.tensor([1]), lib.tensor([1])), lambda lib: lib.igammac(lib.tensor([1.0]), 1.0),
    lambda lib: lib.absolute(lib.tensor([True])),
])
def test_errors_as_torchs(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(mg)
    assert str(ours.value) == str(theirs.value)


def test_in_place_functions_are_torchs():
    names = {n for n in dir(torch) if n.endswith("_") and not n.startswith("_") and hasattr(mg.Tensor, n)}
    assert names == set(IN_PLACE_METHODS)


IN_PLACE_CALLS = {
    "exp_": (), "sigmoid_": (), "arctan_": (), "rad2deg_": (), "clamp_": (-0.5, 0.5), "clip_": (None, 0.1),
    "arcsinh_": (), "deg2rad_": (), "logit_": (0.1,), "nan_to_num_": (), "fill_": (2.5,), "zero_": (), "acosh_": (),
    "atanh_": (),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE_CALLS))
def test_in_place_function_matches_torch(name):
    array = (UNIT if name in ("logit_", "atanh_") else X * X + 1 if name == "acosh_" else X).astype(np.float32)
    ours, theirs = mg.tensor(array), torch.tensor(array)
    assert getattr(mg, name)(ours, *IN_PLACE_CALLS[name]) is ours
    getattr(torch, name)(theirs, *IN_PLACE_CALLS[name])
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
    leaf = mg.tensor(array, requires_grad=True)
    view = leaf * 1.0
    getattr(mg, name)(view, *IN_PLACE_CALLS[name])
    view.sum().backward()
    torch_leaf = torch.tensor(array, requires_grad=True)
    torch_view = torch_leaf * 1.0
    getattr(torch, name)(torch_view, *IN_PLACE_CALLS[name])
    try:
        torch_view.sum().backward()
    except NotImplementedError:  # torch has no derivative of acosh_, asinh_, atanh_; minigrad's is their own
        torch_view = getattr(torch, name.removesuffix("_"))(torch_leaf)
        torch_view.sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), torch_leaf.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_in_place_function_refuses_what_torch_refuses():
    with pytest.raises(TypeError, match=r"exp_\(\): argument 'input' \(position 1\) must be Tensor, not list"):
        mg.exp_([1.0])
    with pytest.raises(RuntimeError) as theirs:
        torch.tensor([1, 2]).arcsinh_()
    with pytest.raises(RuntimeError, match=str(theirs.value)):
        mg.arcsinh_(mg.tensor([1, 2]))


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_gpu_path_matches_cpu(name, gpu_path):
    function, array = DIFFERENTIABLE[name]
    results = []
    for device in ("cpu", "gpu"):
        t = mg.tensor(array.astype(np.float32), device=device, requires_grad=True)
        out = function(mg, t) if name not in ("ldexp", "igamma", "igammac") else _on_device(name, t, device)
        out.sum().backward()
        results.append((out.numpy(), t.grad.numpy()))
    for ours, reference in zip(*results[::-1]):
        assert relative_error(ours, reference) <= 1e-5


def _on_device(name, t, device):
    """The ops of two tensors, the other one on t's device."""
    if name == "ldexp":
        return t.ldexp(mg.tensor([[1, 0, 2, 3]], device=device))
    return getattr(mg, name)(mg.tensor(UNIT.astype(np.float32) + 1, device=device), t)
