"""torch.nn.utils.parametrize and parametrizations (weight_norm, spectral_norm), and the older hook-based
weight_norm and spectral_norm, against torch from identical state: values, gradients of the originals, the
power-iteration vectors, state dict keys and loading, removal, custom parametrizations with right_inverse,
cached(), errors, float64 gradchecks and the GPU path."""
import contextlib
import copy
import types

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as mgnn
from conftest import assert_raises_as_torch, relative_error
from minigrad.nn.parametrizations import spectrally_normalized, weight_as_matrix, weight_normalized
from minigrad.nn.utils import parametrizations as mg_parametrizations, parametrize as mg_parametrize

torch = pytest.importorskip("torch")
from torch.nn.utils import parametrizations as torch_parametrizations, parametrize as torch_parametrize  # noqa: E402

MG = types.SimpleNamespace(nn=mgnn, parametrize=mg_parametrize, parametrizations=mg_parametrizations,
                           Parameter=mgnn.Parameter, tensor=mg.tensor)
TORCH = types.SimpleNamespace(nn=torch.nn, parametrize=torch_parametrize, parametrizations=torch_parametrizations,
                              Parameter=torch.nn.Parameter, tensor=torch.tensor)

LAYERS = {
    "linear": (lambda L: L.nn.Linear(4, 3), (2, 4)),
    "conv2d": (lambda L: L.nn.Conv2d(2, 4, 3), (2, 2, 5, 5)),
    "conv_transpose2d": (lambda L: L.nn.ConvTranspose2d(2, 3, 3), (1, 2, 4, 4)),
}
NORMS = {
    "weight_norm": lambda L, module, **kw: L.parametrizations.weight_norm(module, **kw),
    "spectral_norm": lambda L, module, **kw: L.parametrizations.spectral_norm(module, **kw),
    "hook_weight_norm": lambda L, module, **kw: L.nn.utils.weight_norm(module, **kw),
    "hook_spectral_norm": lambda L, module, **kw: L.nn.utils.spectral_norm(module, **kw),
}
CASES = [("weight_norm", "linear", {}), ("weight_norm", "conv2d", {}), ("weight_norm", "conv2d", {"dim": None}),
         ("spectral_norm", "linear", {}), ("spectral_norm", "conv2d", {"n_power_iterations": 2}),
         ("spectral_norm", "conv_transpose2d", {}), ("hook_weight_norm", "conv2d", {"dim": 1}),
         ("hook_spectral_norm", "linear", {}), ("hook_spectral_norm", "conv2d", {})]


def _state(module):
    return {name: np.array(value.detach().numpy() if hasattr(value, "detach") else value)
            for name, value in module.state_dict().items()}


def _normed_pair(norm, layer, kwargs):
    """The layer under the norm in torch and in minigrad, minigrad's loaded from torch's state dict."""
    make, input_shape = LAYERS[layer]
    torch.manual_seed(0)
    with pytest.warns(FutureWarning) if norm == "hook_weight_norm" else contextlib.nullcontext():
        theirs = NORMS[norm](TORCH, make(TORCH), **kwargs)
        ours = NORMS[norm](MG, make(MG), **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(_state(theirs))
    return ours, theirs, input_shape


def _forward_backward(module, lib, x):
    """The output, after a backward along a fixed random direction."""
    out = module(lib.tensor(x))
    direction = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(np.float32)
    (out * lib.tensor(direction)).sum().backward()
    return out.detach().numpy()


@pytest.mark.parametrize("norm, layer, kwargs", CASES, ids=[f"{n}-{l}-{k}" for n, l, k in CASES])
def test_matches_torch_in_training_and_eval(norm, layer, kwargs):
    """Three training forwards (each a power-iteration step for spectral_norm) and one in eval mode: outputs, the
    originals' accumulated gradients and the buffers as torch's."""
    ours, theirs, input_shape = _normed_pair(norm, layer, kwargs)
    rng = np.random.default_rng(0)
    for training in (True, True, True, False):
        ours.train(training), theirs.train(training)
        x = rng.standard_normal(input_shape).astype(np.float32)
        np.testing.assert_allclose(_forward_backward(ours, mg, x), _forward_backward(theirs, torch, x), rtol=1e-5,
                                   atol=1e-5)
    their_grads = {name: param.grad.numpy() for name, param in theirs.named_parameters()}
    our_grads = {name: param.grad.numpy() for name, param in ours.named_parameters()}
    assert list(our_grads) == list(their_grads)
    for name, grad in their_grads.items():
        np.testing.assert_allclose(our_grads[name], grad, rtol=1e-5, atol=1e-5, err_msg=name)
    for name, value in _state(theirs).items():
        assert _state(ours)[name].dtype == value.dtype
        np.testing.assert_allclose(_state(ours)[name], value, rtol=1e-5, atol=1e-6, err_msg=name)


def test_parametrized_module_names_and_class():
    for L in (MG, TORCH):
        module = L.parametrizations.weight_norm(L.nn.Linear(3, 2))
        assert type(module).__name__ == "ParametrizedLinear"
        assert L.parametrize.type_before_parametrizations(module) is L.nn.Linear
        assert L.parametrize.is_parametrized(module) and L.parametrize.is_parametrized(module, "weight")
        assert not L.parametrize.is_parametrized(module, "bias")
        assert [name for name, _ in module.named_parameters()] == [
            "bias", "parametrizations.weight.original0", "parametrizations.weight.original1"]
        assert isinstance(module.parametrizations.weight, L.parametrize.ParametrizationList)
        module.eval()
        assert not module.parametrizations.weight[0].training
        copied = copy.deepcopy(module)
        assert copied.parametrizations.weight.original1 is not module.parametrizations.weight.original1
        np.testing.assert_array_equal(copied.weight.detach().numpy(), module.weight.detach().numpy())


@pytest.mark.parametrize("leave_parametrized", [True, False])
def test_remove_parametrizations_both_ways(leave_parametrized):
    """The original parameter object is the module's weight again, holding the parametrized value or its own."""
    ours, theirs, _ = _normed_pair("spectral_norm", "conv2d", {})
    original = ours.parametrizations.weight.original
    for L, module in ((MG, ours), (TORCH, theirs)):
        L.parametrize.remove_parametrizations(module, "weight", leave_parametrized=leave_parametrized)
        assert type(module).__name__ == "Conv2d" and list(module.state_dict()) == ["bias", "weight"]
    assert ours.weight is original and isinstance(ours.weight, mgnn.Parameter)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_remove_parametrizations_of_a_sequence_of_originals():
    ours, theirs, _ = _normed_pair("weight_norm", "linear", {})
    assert_raises_as_torch(lambda: torch_parametrize.remove_parametrizations(theirs, "weight", False),
                           lambda: mg_parametrize.remove_parametrizations(ours, "weight", False))
    for L, module in ((MG, ours), (TORCH, theirs)):
        L.parametrize.remove_parametrizations(module, "weight")
    assert isinstance(ours.weight, mgnn.Parameter) and ours.weight.requires_grad
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("norm", ["hook_weight_norm", "hook_spectral_norm"])
def test_remove_hook_based_norms(norm):
    ours, theirs, _ = _normed_pair(norm, "linear", {})
    remove = norm.replace("hook_", "remove_")
    for L, module in ((MG, ours), (TORCH, theirs)):
        getattr(L.nn.utils, remove)(module)
        assert list(module.state_dict()) == ["bias", "weight"] and not module._forward_pre_hooks
    assert isinstance(ours.weight, mgnn.Parameter)
    np.testing.assert_allclose(ours.weight.numpy(), theirs.weight.detach().numpy(), rtol=1e-5, atol=1e-6)


def _custom_parametrizations(L):
    """A symmetric matrix from its upper triangle, then scaled by 2: each with a right_inverse; and a counter of
    the symmetric one's calls."""
    class Symmetric(L.nn.Module):
        calls = 0

        def forward(self, X):
            Symmetric.calls += 1
            return X.triu() + X.triu(1).mT

        def right_inverse(self, A):
            return A.triu()

    class Doubled(L.nn.Module):
        def forward(self, X):
            return X * 2

        def right_inverse(self, A):
            return A / 2

    return Symmetric, Doubled


def test_custom_parametrizations_with_right_inverse_chained():
    """Two parametrizations on one weight; assigning the weight sets the original through both right_inverses."""
    rng = np.random.default_rng(2)
    weight, assigned, x = (rng.standard_normal(shape).astype(np.float32) for shape in ((3, 3), (3, 3), (2, 3)))
    results = []
    for L in (MG, TORCH):
        Symmetric, Doubled = _custom_parametrizations(L)
        module = L.nn.Linear(3, 3)
        module.weight = L.Parameter(L.tensor(weight))
        L.parametrize.register_parametrization(module, "weight", Symmetric())
        L.parametrize.register_parametrization(module, "weight", Doubled())
        before = module.weight.detach().numpy().copy()
        module.weight = L.tensor(assigned + assigned.T)
        module(L.tensor(x)).sum().backward()
        original = module.parametrizations.weight.original
        results.append((before, original.detach().numpy(), module.weight.detach().numpy(), original.grad.numpy()))
    for mine, reference in zip(*results):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_cached_computes_each_parametrization_once():
    for L in (MG, TORCH):
        Symmetric, _ = _custom_parametrizations(L)
        module = L.parametrize.register_parametrization(L.nn.Linear(3, 3), "weight", Symmetric())
        Symmetric.calls = 0
        with L.parametrize.cached():
            first = module.weight
            with L.parametrize.cached():
                assert module.weight is first
            assert module.weight is first and Symmetric.calls == 1
        assert module.weight is not first and Symmetric.calls == 2


def test_loads_a_torch_state_dict_into_a_fresh_module():
    """A torch checkpoint of a spectrally normalised layer loads into minigrad's, buffers included."""
    torch.manual_seed(3)
    theirs = torch_parametrizations.spectral_norm(torch.nn.Linear(5, 4)).eval()
    ours = mg_parametrizations.spectral_norm(mgnn.Linear(5, 4)).eval()
    ours.load_state_dict(_state(theirs))
    x = np.random.default_rng(3).standard_normal((2, 5)).astype(np.float32)
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(ours.parametrizations.weight[0]._v.numpy(),
                               theirs.parametrizations.weight[0]._v.numpy(), rtol=1e-6)


def _shrink(L):
    """A parametrization that changes the shape, which only unsafe allows."""
    return type("Shrink", (L.nn.Module,), {"forward": lambda self, X: X[:1]})()


def _double_inverse(L):
    """A parametrization whose right_inverse changes the dtype."""
    return type("DoubleInverse", (L.nn.Module,), {"forward": lambda self, X: X.float(),
                                                  "right_inverse": lambda self, X: X.double()})()


ERRORS = {
    "missing_name": lambda L: L.parametrize.register_parametrization(L.nn.Linear(3, 2), "foo", L.nn.Identity()),
    "not_parametrized": lambda L: L.parametrize.remove_parametrizations(L.nn.Linear(3, 2), "weight"),
    "shape_change": lambda L: L.parametrize.register_parametrization(L.nn.Linear(3, 2), "weight",
                                                                      _shrink(L)),
    "chained_shape_change": lambda L: L.parametrize.register_parametrization(
        L.parametrizations.spectral_norm(L.nn.Linear(3, 2)), "weight", _shrink(L)),
    "right_inverse_changes_dtype": lambda L: L.parametrize.register_parametrization(L.nn.Linear(3, 2), "weight",
                                                                                     _double_inverse(L)),
    "no_right_inverse": lambda L: setattr(L.parametrize.register_parametrization(
        L.nn.Linear(3, 2), "weight", L.nn.Identity()), "weight", L.tensor(np.zeros((2, 3), np.float32))),
    "parameter_assigned": lambda L: setattr(L.parametrizations.spectral_norm(L.nn.Linear(3, 2)), "weight",
                                            L.Parameter(L.tensor(np.zeros((2, 3), np.float32)))),
    "buffer_over_parametrized": lambda L: L.parametrizations.spectral_norm(L.nn.Linear(3, 2)).register_buffer(
        "weight", L.tensor(np.zeros((2, 3), np.float32))),
    "spectral_no_iterations": lambda L: L.parametrizations.spectral_norm(L.nn.Linear(3, 2), n_power_iterations=0),
    "spectral_dim_out_of_range": lambda L: L.parametrizations.spectral_norm(L.nn.Linear(3, 2), dim=2),
    "spectral_missing_name": lambda L: L.parametrizations.spectral_norm(L.nn.Linear(3, 2), name="foo"),
    "hook_spectral_twice": lambda L: L.nn.utils.spectral_norm(L.nn.utils.spectral_norm(L.nn.Linear(3, 2))),
    "hook_remove_missing": lambda L: L.nn.utils.remove_spectral_norm(L.nn.Linear(3, 2)),
    "hook_remove_weight_norm_missing": lambda L: L.nn.utils.remove_weight_norm(L.nn.Linear(3, 2)),
}


@pytest.mark.parametrize("case", ERRORS)
def test_errors_as_torch(case):
    assert_raises_as_torch(lambda: ERRORS[case](TORCH), lambda: ERRORS[case](MG), first_line=True)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_weight_norm_gradcheck_float64(dim):
    rng = np.random.default_rng(4)
    v = mg.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    g_shape = () if dim == -1 else tuple(size if axis == dim else 1 for axis, size in enumerate(v.shape))
    g = mg.tensor(rng.standard_normal(g_shape), requires_grad=True)
    assert mg.gradcheck(lambda v, g: weight_normalized(v, g, dim), [v, g])


@pytest.mark.parametrize("dim", [0, 1])
def test_spectral_norm_gradcheck_float64(dim):
    rng = np.random.default_rng(5)
    weight = mg.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    rows, columns = weight_as_matrix(weight.detach(), dim).shape
    u, v = (mg.tensor(rng.standard_normal(size)) for size in (rows, columns))
    assert mg.gradcheck(lambda w: spectrally_normalized(w, weight_as_matrix(w, dim), u, v), [weight])


def test_gpu_path_matches_cpu(gpu_path):
    """Both norms' forward, power-iteration steps and gradients on the device as on the host."""
    x = np.random.default_rng(6).standard_normal((2, 2, 5, 5)).astype(np.float32)
    results = []
    for device in ("cpu", "gpu"):
        mg.manual_seed(0)
        module = mg_parametrizations.spectral_norm(mg_parametrizations.weight_norm(mgnn.Conv2d(2, 4, 3)))
        module.to(device)
        for _ in range(2):
            module(mg.tensor(x, device=device)).square().sum().backward()
        assert module.parametrizations.weight[1]._u.device == device
        results.append([module.weight.numpy(), module.parametrizations.weight[1]._u.numpy(),
                        *(param.grad.numpy() for param in module.parameters())])
    for ours, reference in zip(*reversed(results)):
        assert relative_error(ours, reference) <= 1e-5
