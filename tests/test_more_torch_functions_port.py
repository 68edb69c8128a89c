"""torch's element-wise math that ported code calls (acosh, deg2rad, ldexp, frexp, gcd, polygamma, mvlgamma, igamma,
...) and the in-place functions torch exports (torch.exp_(t), ...), against torch. Their plain parity of values and
gradients is in test_torch_functions' table; here: gradchecks, igamma's one-sided gradient, the in-place forms,
dtypes of integer inputs, errors, and the GPU path."""
import re

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
    lambda lib: lib.tensor([]).is_nonzero(), lambda lib: lib.tensor([1, 2]).is_nonzero(),
    lambda lib: lib.bitwise_not(lib.tensor([1.0])), lambda lib: lib.combinations(lib.ones(2, 2)),
    lambda lib: lib.select_scatter(lib.zeros(3, 4), lib.ones(3), 0, 0),
    lambda lib: lib.slice_scatter(lib.zeros(3, 4), lib.ones(3, 3), 1, 0, 2),
    lambda lib: lib.diagonal_scatter(lib.zeros(3, 4), lib.ones(4)),
    lambda lib: lib.index_reduce(lib.zeros(3, 4), 0, lib.tensor([0, 0]), lib.ones(2, 4), "sum"),
    lambda lib: lib.histogram(lib.tensor([1, 2]), 3), lambda lib: lib.hann_window(-1),
    lambda lib: lib.kaiser_window(4, dtype=lib.int64), lambda lib: lib.gradient(lib.ones(2), edge_order=2),
    lambda lib: lib.gradient(lib.ones(2), edge_order=3), lambda lib: lib.gradient(lib.ones(2, 3), spacing=[1.0] * 3),
    lambda lib: lib.gradient(lib.ones(2, 3), spacing=[1.0] * 2, dim=1),
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


def test_detach_in_place_as_a_function_is_torchs():
    for lib in (torch, mg):
        computed = lib.tensor(X, requires_grad=True) * 2.0
        assert lib.detach_(computed) is computed
        assert not computed.requires_grad and computed.grad_fn is None and computed.is_leaf


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


def _normal(*shape):
    return np.random.default_rng(len(shape) * 7 + shape[-1]).standard_normal(shape).astype(np.float32)


# x.f_(*args): x, the arguments (arrays become tensors), keywords
IN_PLACE_METHOD_CALLS = {
    "addbmm_": (_normal(3, 2), [_normal(2, 3, 5), _normal(2, 5, 2)], {"alpha": 0.5}),
    "addmm_": (_normal(3, 4), [_normal(3, 5), _normal(5, 4)], {"beta": 0.5}),
    "addmv_": (_normal(4), [_normal(4, 5), _normal(5)], {}),
    "addr_": (_normal(3, 4), [_normal(3), _normal(4)], {}),
    "baddbmm_": (_normal(2, 3, 2), [_normal(2, 3, 5), _normal(2, 5, 2)], {}),
    "renorm_": (_normal(3, 4), [], {"p": 2, "dim": 0, "maxnorm": 1.0}),
    **{name: (_normal(3, 4), [_normal(4)], {}) for name in (
        "atan2_", "arctan2_", "hypot_", "nextafter_", "copysign_", "heaviside_", "true_divide_", "multiply_", "eq_",
        "ne_", "lt_", "le_", "gt_", "ge_", "not_equal_", "less_", "less_equal_", "greater_", "greater_equal_")},
    "divide_": (_normal(3, 4), [_normal(3, 4)], {"rounding_mode": "floor"}),
    "subtract_": (_normal(3, 4), [_normal(3, 4)], {"alpha": 2}),
    "cumsum_": (_normal(3, 4), [1], {}),
    "cumprod_": (_normal(3, 4), [0], {}),
    "digamma_": (np.abs(_normal(3, 4)) + 0.5, [], {}),
    "lgamma_": (np.abs(_normal(3, 4)) + 0.5, [], {}),
    "erfinv_": (np.tanh(_normal(3, 4)), [], {}),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE_METHOD_CALLS))
def test_in_place_method_writes_torchs_result_into_the_tensor(name):
    """The result in the tensor itself, of its dtype (a comparison's as 1s and 0s), which the method returns."""
    array, arguments, keywords = IN_PLACE_METHOD_CALLS[name]
    results = []
    for lib in (mg, torch):
        tensor = lib.tensor(array)
        returned = getattr(tensor, name)(*(lib.tensor(a) if isinstance(a, np.ndarray) else a for a in arguments),
                                          **keywords)
        assert returned is tensor and str(tensor.dtype).endswith("float32")
        results.append(tensor.numpy())
    np.testing.assert_allclose(*results, rtol=1e-5, atol=1e-6)


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


class Constant(np.ndarray):
    """An array that becomes a tensor that does not require grad (running statistics, targets, weights)."""


def _arrays(*shapes, seed=3):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(np.float32) for shape in shapes]


IMAGES, KERNEL, SEQUENCE, WEIGHT1D = _arrays((2, 4, 5, 5), (3, 4, 3, 3), (2, 4, 7), (3, 4, 3))
VOLUME, KERNEL3D, PAIR, ROWS, WIDER = _arrays((1, 2, 4, 4, 4), (2, 2, 2, 2, 2), (2, 5, 6), (5, 3), (5, 6))
TARGET = np.array([1.0, -1.0, 1.0, 1.0, -1.0], dtype=np.float32).view(Constant)
PROBABILITIES = np.random.default_rng(4).uniform(0.1, 0.9, size=(5, 3)).astype(np.float32).view(Constant)
CHANNELS = np.float32([0.5, 1.5, -1.0, 2.0])

# name: (the arguments, arrays made tensors of either library that require grad if floating point, then others)
FUNCTIONAL_CALLS = {
    "conv1d": (SEQUENCE, WEIGHT1D, CHANNELS[:3], 2, 1), "conv2d": (IMAGES, KERNEL, None, 1, "same"),
    "conv3d": (VOLUME, KERNEL3D), "conv_transpose1d": (SEQUENCE, WEIGHT1D.transpose(1, 0, 2).copy(), None, 2),
    "conv_transpose2d": (IMAGES, KERNEL.transpose(1, 0, 2, 3).copy(), CHANNELS[:3], 2, 1, 1),
    "conv_transpose3d": (VOLUME, KERNEL3D), "max_pool1d": (SEQUENCE, 3, (), 1), "max_pool2d": (IMAGES, 2),
    "max_pool3d": (VOLUME, 2, 1), "avg_pool1d": (SEQUENCE, 2), "adaptive_avg_pool1d": (SEQUENCE, 3),
    "adaptive_max_pool1d": (SEQUENCE, 3), "dropout": (IMAGES, 0.3, False), "alpha_dropout": (IMAGES, 0.3, False),
    "feature_alpha_dropout": (IMAGES, 0.3, False),
    "batch_norm": (IMAGES, CHANNELS, CHANNELS[::-1].copy(), (CHANNELS * 0).view(Constant),
                   (CHANNELS ** 2).view(Constant), False, 0.1, 1e-5, True),
    "instance_norm": (IMAGES, CHANNELS, None, None, None, True, 0.1, 1e-5, False),
    "layer_norm": (IMAGES, (5, 5)), "group_norm": (IMAGES, 2, CHANNELS, CHANNELS), "rms_norm": (IMAGES, [5]),
    "embedding": (ROWS, np.array([[0, 4, 2], [4, 4, 1]]), 4), "pixel_shuffle": (IMAGES, 2),
    "pixel_unshuffle": (IMAGES[..., :4, :4].copy(), 2), "prelu": (IMAGES, CHANNELS), "selu": (IMAGES,),
    "celu": (IMAGES, 0.7), "hardshrink": (IMAGES, 0.4), "bilinear": (WIDER[:, :5].copy(), WIDER, PAIR, CHANNELS[:2]),
    "cosine_similarity": (PAIR, PAIR[::-1].copy(), 2), "pairwise_distance": (PAIR, PAIR[::-1].copy(), 1.5),
    "pdist": (ROWS, 1.5), "kl_div": (np.log(np.asarray(PROBABILITIES)), PROBABILITIES[::-1].copy(), 2),
    "poisson_nll_loss": (ROWS, PROBABILITIES, True, True, 1e-8, 0),
    "margin_ranking_loss": (ROWS[:, 0].copy(), ROWS[:, 1].copy(), TARGET, 0.2),
    "hinge_embedding_loss": (ROWS[:, 0].copy(), TARGET, 0.5, 2),
    "cosine_embedding_loss": (ROWS, ROWS[::-1].copy(), TARGET, 0.1, 0),
    "binary_cross_entropy_with_logits": (ROWS, PROBABILITIES, None, CHANNELS[:3].view(Constant)),
    "triplet_margin_loss": (ROWS, ROWS[::-1].copy(), ROWS * 2, 0.5, 2, 1e-6, True),
    "channel_shuffle": (IMAGES, 2), "threshold": (IMAGES, 0.1, 2.0),
}


def _operand(library, value):
    if not isinstance(value, np.ndarray):
        return value
    return library.tensor(np.asarray(value), requires_grad=value.dtype.kind == "f" and not isinstance(value, Constant))


def test_functional_forms_are_torchs_top_level_ones():
    from minigrad.torch_functional import FUNCTIONAL_FORMS
    assert set(FUNCTIONAL_CALLS) | {"dropout_", "alpha_dropout_", "feature_alpha_dropout_", "selu_", "celu_",
                                    "threshold_"} == set(FUNCTIONAL_FORMS)


@pytest.mark.parametrize("name", sorted(FUNCTIONAL_CALLS))
def test_functional_form_matches_torch(name):
    args = FUNCTIONAL_CALLS[name]
    ours, theirs = [_operand(mg, a) for a in args], [_operand(torch, a) for a in args]
    got, expected = getattr(mg, name)(*ours), getattr(torch, name)(*theirs)
    if isinstance(expected, tuple):
        assert got[1].dtype == mg.int64
        np.testing.assert_array_equal(got[1].numpy(), expected[1].numpy())
        got, expected = got[0], expected[0]
    assert got.shape == tuple(expected.shape) and got.dtype == mg.float32
    np.testing.assert_allclose(got.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
    direction = np.random.default_rng(5).uniform(-1, 1, size=got.shape).astype(np.float32)
    (got * mg.tensor(direction)).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    for mine, reference in zip(ours, theirs):
        if isinstance(reference, torch.Tensor) and reference.requires_grad:
            np.testing.assert_allclose(mine.grad.numpy(), reference.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", ["dropout_", "alpha_dropout_", "feature_alpha_dropout_", "selu_", "celu_"])
def test_functional_in_place_forms(name):
    args = (0.4, False) if "dropout" in name else ()
    ours, theirs = mg.tensor(IMAGES), torch.tensor(IMAGES)
    assert getattr(mg, name)(ours, *args) is ours
    getattr(torch, name)(theirs, *args)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
    mg.threshold_(ours, 0.5, -1.0)
    torch.threshold_(theirs, 0.5, -1.0)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_pdist_gradcheck_and_errors():
    rows = mg.tensor(np.float64([[1, 2, 0], [1, 2, 0], [0, 1, 3], [2, -1, 1]]) + ROWS[:4] * 0.1, requires_grad=True)
    for p in (2.0, 1.0, 0.7, np.inf):
        assert mg.gradcheck(lambda t: mg.nn.functional.pdist(t, p), (rows,))
    for call in (lambda lib: lib.pdist(lib.ones(2, 2, 2)), lambda lib: lib.pdist(lib.ones(2, 2, dtype=lib.int64)),
                 lambda lib: lib.pdist(lib.ones(3, 2), -1)):
        with pytest.raises(RuntimeError) as theirs:
            call(torch)
        with pytest.raises(RuntimeError, match=re.escape(str(theirs.value))):
            call(mg)
    equal = mg.tensor([[1.0, 2.0], [1.0, 2.0]], requires_grad=True)
    mg.pdist(equal).sum().backward()
    assert not equal.grad.numpy().any()


@pytest.mark.parametrize("name, args", [
    ("kl_div", (ROWS, ROWS)), ("margin_ranking_loss", (ROWS[:, 0], ROWS[:, 1], TARGET, 0.0)),
    ("binary_cross_entropy_with_logits", (ROWS, PROBABILITIES, None, None)),
])
def test_a_reduction_by_name_is_torchs_type_error(name, args):
    with pytest.raises(TypeError) as theirs:
        getattr(torch, name)(*(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args), "sum")
    with pytest.raises(TypeError, match=re.escape(str(theirs.value))):
        getattr(mg, name)(*(mg.tensor(a) if isinstance(a, np.ndarray) else a for a in args), "sum")


@pytest.mark.parametrize("name, args", [
    ("hann_window", (6,)), ("hamming_window", (5, False, 0.6, 0.3)), ("blackman_window", (7, False)),
    ("bartlett_window", (6,)), ("kaiser_window", (8, True, 5.0)), ("hann_window", (1,)), ("kaiser_window", (0,)),
])
def test_window_matches_torch(name, args):
    got, expected = getattr(mg, name)(*args), getattr(torch, name)(*args)
    assert got.dtype == mg.float32 and got.shape == tuple(expected.shape)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    assert getattr(mg, name)(*args, dtype=mg.float64).dtype == mg.float64


@pytest.mark.parametrize("spacing, edge_order", [(1, 1), ([0.5, 2.0], 2), ("coordinates", 1), ("coordinates", 2)])
def test_gradient_matches_torch_and_gradchecks(spacing, edge_order):
    coordinates = [np.float32([0, 1, 3]), np.float32([0, 0.5, 1, 3])]
    values = X[:, :4].astype(np.float32)

    def spacing_of(library):
        return tuple(map(library.tensor, coordinates)) if spacing == "coordinates" else spacing

    ours, theirs = mg.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    got = mg.gradient(ours, spacing=spacing_of(mg), edge_order=edge_order)
    expected = torch.gradient(theirs, spacing=spacing_of(torch), edge_order=edge_order)
    for out, reference in zip(got, expected, strict=True):
        np.testing.assert_allclose(out.numpy(), reference.detach().numpy(), rtol=1e-5, atol=1e-5)
    sum(g.sum() * w for g, w in zip(got, (1.0, -2.0))).backward()
    sum(g.sum() * w for g, w in zip(expected, (1.0, -2.0))).backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-5)
    assert mg.gradcheck(lambda t: mg.stack(mg.gradient(t, spacing=spacing_of(mg), edge_order=edge_order)),
                        (mg.tensor(X[:, :4], requires_grad=True),))


SCATTERS = {
    "select_scatter": (lambda lib, t, src: lib.select_scatter(t, src, 0, 1), (4,)),
    "slice_scatter": (lambda lib, t, src: lib.slice_scatter(t, src, 1, -3, None, 2), (3, 2)),
    "diagonal_scatter": (lambda lib, t, src: lib.diagonal_scatter(t, src, -1), (2,)),
    "index_reduce": (lambda lib, t, src: t.index_reduce(1, lib.tensor([3, 0, 3]), src, "amax",
                                                         include_self=False), (3, 3)),
    "combinations": (lambda lib, t, src: lib.combinations(t[0], 2) * src.sum(), (2,)),
    "diagflat": (lambda lib, t, src: lib.diagflat(t[:2], 1) * src.sum(), (1,)),
}


@pytest.mark.parametrize("name", sorted(SCATTERS))
def test_scatters_gradcheck(name):
    function, src_shape = SCATTERS[name]
    src = RNG.uniform(-1, 1, size=src_shape)
    assert mg.gradcheck(lambda t, s: function(mg, t, s), (mg.tensor(X, requires_grad=True),
                                                          mg.tensor(src, requires_grad=True)))


def test_histogram_matches_torch():
    values, weights = X.ravel().astype(np.float32), UNIT.ravel().astype(np.float32)
    for bins, options in ((5, {}), (3, {"range": (-1.0, 1.0), "density": True}),
                          (np.float32([-2, 0, 0.5, 2]), {"weight": weights})):
        ours = mg.histogram(mg.tensor(values), mg.tensor(bins) if isinstance(bins, np.ndarray) else bins,
                            **{k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in options.items()})
        theirs = torch.histogram(torch.tensor(values), torch.tensor(bins) if isinstance(bins, np.ndarray) else bins,
                                 **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                                    for k, v in options.items()})
        for out, reference in zip(ours, theirs, strict=True):
            assert out.dtype == mg.float32
            np.testing.assert_allclose(out.numpy(), reference.numpy(), rtol=1e-5, atol=1e-6)
    assert mg.tensor(values).histogram(4).hist.sum().item() == values.size


DEVICE_CALLS = {
    "gradient": lambda t: mg.stack(mg.gradient(t, spacing=(mg.tensor([0.0, 1, 3], device=t.device),
                                                           mg.tensor([0.0, 0.5, 1, 3], device=t.device)),
                                               edge_order=2)),
    "diagonal_scatter": lambda t: t.diagonal_scatter(t[0, :3] * 2, 1),
    "slice_scatter": lambda t: t.slice_scatter(t[:, :2] ** 2, 1, 1, None, 2),
    "combinations": lambda t: mg.combinations(t[1], 3, True),
    "pdist": lambda t: mg.pdist(t, 1.5),
    "index_reduce": lambda t: t.index_reduce(0, mg.tensor([2, 0, 2], device=t.device), t * 3, "mean"),
}


@pytest.mark.parametrize("name", sorted(DEVICE_CALLS))
def test_gpu_path_of_shapes_matches_cpu(name, gpu_path):
    results = []
    for device in ("cpu", "gpu"):
        t = mg.tensor(X[:, :4].astype(np.float32), device=device, requires_grad=True)
        out = DEVICE_CALLS[name](t)
        out.sum().backward()
        results.append((out.numpy(), t.grad.numpy()))
    for ours, reference in zip(*results[::-1]):
        assert relative_error(ours, reference) <= 1e-5
    hist, edges = mg.histogram(mg.tensor(X.ravel().astype(np.float32), device="gpu"), 4)
    assert hist.device == "gpu"
    np.testing.assert_allclose(hist.numpy(), torch.histogram(torch.tensor(X.ravel().astype(np.float32)), 4)[0])
