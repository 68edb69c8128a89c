"""torch.nn.init's initialisations: gains and fans exactly as torch computes them, the draws from minigrad's
generator (so compared with torch's by their distribution: bounds, spread, a Kolmogorov-Smirnov test), the
seeding, the device, and the `Module.apply` idiom that ported code initialises with."""
import inspect
import math
import warnings

import numpy as np
import pytest
from scipy import stats

import minigrad as mg
from minigrad.nn import init

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("conv2d", None), ("conv_transpose2d", None),
                                                 ("sigmoid", None), ("tanh", None), ("relu", None), ("selu", None),
                                                 ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 3)])
def test_gains_are_torchs(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param),
                                                                     rel=1e-15)


@pytest.mark.parametrize("shape", [(8, 3), (8, 3, 5, 5), (4, 6, 2, 3), (3, 1, 7)])
def test_fans_are_torchs(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(mg.zeros(*shape)) == expected


def _torch_and_ours(name, shape, **arguments):
    torch.manual_seed(0)
    mg.manual_seed(0)
    theirs = getattr(torch.nn.init, name)(torch.empty(shape), **arguments).numpy()
    ours = getattr(init, name)(mg.zeros(*shape), **arguments)
    return ours.numpy(), theirs


UNIFORM = [("uniform_", {}), ("uniform_", dict(a=-2.0, b=0.5)), ("xavier_uniform_", dict(gain=1.5)),
           ("kaiming_uniform_", {}), ("kaiming_uniform_", dict(a=0.1, mode="fan_out", nonlinearity="leaky_relu")),
           ("kaiming_uniform_", dict(nonlinearity="relu"))]
NORMAL = [("normal_", dict(mean=1.0, std=0.5)), ("xavier_normal_", {}), ("kaiming_normal_", dict(nonlinearity="relu")),
          ("kaiming_normal_", dict(mode="fan_out", nonlinearity="tanh"))]


@pytest.mark.parametrize("name, arguments", UNIFORM, ids=str)
def test_uniform_draws_cover_torchs_interval(name, arguments):
    ours, theirs = _torch_and_ours(name, (64, 32, 3, 3), **arguments)
    low, high = theirs.min(), theirs.max()
    width = high - low
    assert low - 1e-3 * width <= ours.min() < low + 1e-2 * width and high - 1e-2 * width < ours.max() <= high + 1e-3 * width
    assert stats.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-3


@pytest.mark.parametrize("name, arguments", NORMAL, ids=str)
def test_normal_draws_have_torchs_distribution(name, arguments):
    ours, theirs = _torch_and_ours(name, (64, 32, 3, 3), **arguments)
    assert ours.std() == pytest.approx(theirs.std(), rel=0.03) and ours.mean() == pytest.approx(theirs.mean(), abs=0.03)
    assert stats.ks_2samp(ours.ravel(), theirs.ravel()).pvalue > 1e-3


def test_trunc_normal_stays_in_its_bounds_with_torchs_distribution():
    ours, theirs = _torch_and_ours("trunc_normal_", (20000,), mean=0.5, std=1.0, a=-1.0, b=1.5)
    assert ours.min() >= -1.0 and ours.max() <= 1.5
    assert stats.ks_2samp(ours, theirs).pvalue > 1e-3


@pytest.mark.parametrize("name, arguments", [("constant_", dict(val=0.25)), ("zeros_", {}), ("ones_", {})], ids=str)
def test_constants_are_torchs(name, arguments):
    ours, theirs = _torch_and_ours(name, (3, 4), **arguments)
    np.testing.assert_array_equal(ours, theirs)


def test_constants_fill_an_expanded_tensor_as_torchs():
    """constant_ is torch's fill_, which a number may make into an expanded tensor (its random draws are refused
    there: tests/test_expand_view.py)."""
    bases = [library.zeros(3, 1) for library in (mg, torch)]
    for base, library in zip(bases, (init, torch.nn.init)):
        library.constant_(base.expand(3, 4), 2.5)
    np.testing.assert_array_equal(bases[0].numpy(), bases[1].numpy())
    assert bases[0].numpy().tolist() == [[2.5]] * 3


@pytest.mark.parametrize("name, shape, arguments", [
    ("eye_", (3, 5), {}), ("eye_", (4, 2), {}), ("dirac_", (6, 4, 3), {}), ("dirac_", (4, 6, 3, 4), {}),
    ("dirac_", (6, 4, 3, 3), dict(groups=2)), ("dirac_", (6, 2, 2, 3, 5), dict(groups=3))], ids=str)
def test_identities_are_torchs(name, shape, arguments):
    ours, theirs = _torch_and_ours(name, shape, **arguments)
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("shape, gain", [((6, 6), 1), ((3, 5), 1), ((5, 3), 2.0), ((4, 2, 3, 3), 0.5)], ids=str)
def test_orthogonal_is_torchs_qr_of_the_same_normal_draws(shape, gain):
    """torch's construction (the QR of normal draws, each column signed as R's diagonal) on minigrad's draws, which
    the same seed gives again: the rows or the columns, whichever are fewer, orthonormal times gain."""
    mg.manual_seed(3)
    ours = init.orthogonal_(mg.zeros(*shape, dtype=mg.float64), gain=gain).numpy()
    mg.manual_seed(3)
    normal = torch.tensor(mg.zeros(shape[0], math.prod(shape[1:]), dtype=mg.float64).normal_().numpy())
    wide = normal.shape[0] < normal.shape[1]
    q, r = torch.linalg.qr(normal.T if wide else normal)
    q *= torch.diag(r).sign()
    expected = gain * (q.T if wide else q)
    np.testing.assert_allclose(ours.reshape(expected.shape), expected.numpy(), rtol=1e-12, atol=1e-12)
    rows = ours.reshape(shape[0], -1)
    gram = rows @ rows.T if wide else rows.T @ rows
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=1e-12)


def test_sparse_zeroes_torchs_count_of_each_column_and_draws_the_rest_normal():
    ours, theirs = _torch_and_ours("sparse_", (400, 50), sparsity=0.3, std=0.5)
    for values in (ours, theirs):
        assert ((values == 0).sum(axis=0) == math.ceil(0.3 * 400)).all()
    assert stats.ks_2samp(ours[ours != 0], theirs[theirs != 0]).pvalue > 1e-3


def test_a_zero_element_tensor_is_left_as_it_is_by_orthogonal():
    assert _warnings_of(lambda: init.orthogonal_(mg.zeros(0, 4))) == []
    assert init.orthogonal_(mg.zeros(3, 0)).shape == (3, 0)


def test_a_seed_gives_the_same_draws_and_the_dtype_and_tensor_are_kept():
    tensors = []
    for _ in range(2):
        mg.manual_seed(7)
        tensor = mg.zeros(5, 4, dtype=mg.float64)
        assert init.kaiming_normal_(tensor) is tensor
        tensors.append(tensor)
    assert tensors[0].dtype == np.float64
    np.testing.assert_array_equal(tensors[0].numpy(), tensors[1].numpy())


# (sparse_ draws its zeros' rows from the global stream whatever the generator, as torch's)
DRAWN = ["uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
         "kaiming_normal_", "orthogonal_"]


@pytest.mark.parametrize("name", DRAWN)
def test_each_draw_takes_torchs_arguments_and_a_generator_of_its_own(name):
    """torch's parameter names, generator= included; that generator's seed repeats the draws, and the global stream
    is left where it was."""
    assert list(inspect.signature(getattr(init, name)).parameters) == \
        list(inspect.signature(getattr(torch.nn.init, name)).parameters)
    mg.manual_seed(3)
    expected_next = mg.rand(4).numpy()
    draws = []
    for _ in range(2):
        mg.manual_seed(3)
        draws.append(getattr(init, name)(mg.zeros(6, 5), generator=mg.Generator().manual_seed(11)).numpy())
        np.testing.assert_array_equal(mg.rand(4).numpy(), expected_next)
    assert draws[0].any()
    np.testing.assert_array_equal(draws[0], draws[1])


@pytest.mark.parametrize("call, message", [
    (lambda: init.xavier_uniform_(mg.zeros(3)), "Fan in and fan out can not be computed"),
    (lambda: init.kaiming_uniform_(mg.zeros(3, 4), mode="fan_x"), "Mode fan_x not supported"),
    (lambda: init.calculate_gain("foo"), "Unsupported nonlinearity foo"),
    (lambda: init.calculate_gain("leaky_relu", "x"), "negative_slope x not a valid number"),
])
def test_bad_arguments_are_torchs_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("name, shape, arguments", [
    ("eye_", (2, 2, 2), {}), ("dirac_", (2, 2), {}), ("dirac_", (5, 2, 3), dict(groups=2)), ("orthogonal_", (3,), {}),
    ("sparse_", (2, 2, 2), dict(sparsity=0.5))], ids=str)
def test_shapes_an_initialisation_cannot_fill_are_torchs_errors(name, shape, arguments):
    messages = []
    for library, module in ((mg, init), (torch, torch.nn.init)):
        with pytest.raises(ValueError) as refused:
            getattr(module, name)(library.zeros(*shape), **arguments)
        messages.append(str(refused.value))
    assert messages[0] == messages[1]


def _warnings_of(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [str(warning.message) for warning in caught]


@pytest.mark.parametrize("name", ["uniform_", "normal_", "zeros_", "ones_", "xavier_uniform_", "xavier_normal_",
                                  "kaiming_uniform_", "kaiming_normal_", "trunc_normal_"])
def test_a_zero_element_tensor_is_left_with_torchs_warning_where_torch_gives_it(name):
    """torch warns in its He initialisations alone, which would divide by a fan of 0."""
    assert (_warnings_of(lambda: getattr(init, name)(mg.zeros(0, 4)))
            == _warnings_of(lambda: getattr(torch.nn.init, name)(torch.zeros(0, 4))))


@pytest.mark.parametrize("make, made", [(lambda: mg.nn.Linear(0, 3), lambda: torch.nn.Linear(0, 3)),
                                        (lambda: mg.nn.Conv2d(0, 4, 3), lambda: torch.nn.Conv2d(0, 4, 3))])
def test_a_layer_without_inputs_warns_as_torchs(make, made):
    assert _warnings_of(make) == _warnings_of(made)


def test_apply_initialises_a_model_as_ported_code_does():
    """The idiom: model.apply(fn) with fn re-initialising each conv and linear layer by type."""
    def reinitialise(module):
        if isinstance(module, (mg.nn.Conv2d, mg.nn.Linear)):
            init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            init.zeros_(module.bias)

    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Conv2d(3, 64, 3), mg.nn.ReLU(), mg.nn.Flatten(), mg.nn.Linear(64, 10))
    model.apply(reinitialise)
    weight = model[0].weight.numpy()
    assert weight.std() == pytest.approx(math.sqrt(2.0 / (64 * 9)), rel=0.05)
    assert not model[0].bias.numpy().any() and not model[3].bias.numpy().any()


def test_draws_land_on_the_tensors_device(gpu_path):
    tensor = mg.zeros(4, 3, device="gpu")
    init.xavier_uniform_(tensor)
    assert tensor.device == "gpu" and np.abs(tensor.numpy()).max() <= math.sqrt(6 / 7)
    init.orthogonal_(tensor)
    assert tensor.device == "gpu"
    np.testing.assert_allclose(tensor.numpy().T @ tensor.numpy(), np.eye(3), atol=1e-6)
