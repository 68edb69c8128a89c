"""Small torch layers of ported CNN code, against torch: Bilinear, LocalResponseNorm, LPPool1d/2d, ChannelShuffle
(values, gradients, float64 gradchecks, the GPU path), AlphaDropout and FeatureAlphaDropout (the statistics they
keep, torch's scale and shift, seeds), with their F functions, parameters, reprs and argument errors."""
import math

import numpy as np
import pytest

import minigrad as mg
from conftest import (assert_gpu_matches_cpu, assert_raises_as_torch, differentiable_case_tests, made, normal,
                      uniform)
from test_conv_options import assert_init_is_torchs
from test_nn import torch_state

torch = pytest.importorskip("torch")


def F(lib):
    return lib.nn.functional


CASES = {  # name -> (fn(lib, *tensors), makers of the inputs)
    "bilinear": (lambda L, a, b, w, bias: F(L).bilinear(a, b, w, bias),
                 [normal(2, 3, 4), normal(2, 3, 5), normal(6, 4, 5), normal(6)]),
    "bilinear_no_bias_unbatched": (lambda L, a, b, w: F(L).bilinear(a, b, w), [normal(4), normal(5), normal(3, 4, 5)]),
    "local_response_norm_3d": (lambda L, x: F(L).local_response_norm(x, 3, alpha=0.5, beta=0.75, k=1.5),
                               [normal(2, 6, 5)]),
    "local_response_norm_4d_even_size": (lambda L, x: F(L).local_response_norm(x, 4, alpha=0.3, beta=0.6, k=2.0),
                                         [normal(2, 5, 3, 4)]),
    "local_response_norm_5d_defaults": (lambda L, x: F(L).local_response_norm(x * 30, 2), [normal(1, 4, 2, 3, 2)]),
    "LocalResponseNorm": (lambda L, x: L.nn.LocalResponseNorm(5, 0.2, 1.1, 0.5)(x), [normal(2, 7, 3, 3)]),
    "lp_pool1d": (lambda L, x: F(L).lp_pool1d(x, 2, 3), [normal(2, 3, 9)]),
    "lp_pool1d_stride_ceil": (lambda L, x: F(L).lp_pool1d(x, 1.5, 3, stride=2, ceil_mode=True),
                              [uniform(0.5, 2, 2, 3, 8)]),
    "lp_pool1d_inf": (lambda L, x: F(L).lp_pool1d(x, math.inf, 2), [normal(3, 8)]),
    # windows of zeros, where torch's gradient is 0 and not the 0 * inf of the root's slope
    "lp_pool1d_zero_windows": (lambda L, x: F(L).lp_pool1d(F(L).pad(x, (4, 0)), 2, 2),
                               [normal(2, 3, 8)]),
    "lp_pool2d": (lambda L, x: F(L).lp_pool2d(x, 2, 2), [normal(2, 3, 6, 6)]),
    "lp_pool2d_rectangular_ceil": (lambda L, x: F(L).lp_pool2d(x, 3, (2, 3), stride=(1, 2), ceil_mode=True),
                                   [uniform(0.5, 2, 3, 5, 6)]),
    "LPPool1d": (lambda L, x: L.nn.LPPool1d(2.5, 2, 1)(x), [uniform(0.5, 2, 2, 3, 6)]),
    "LPPool2d": (lambda L, x: L.nn.LPPool2d(2, 3, stride=2)(x), [normal(2, 3, 7, 7)]),
    "channel_shuffle_3d": (lambda L, x: F(L).channel_shuffle(x, 3) * 2, [normal(2, 6, 4)]),
    "ChannelShuffle_4d": (lambda L, x: L.nn.ChannelShuffle(2)(x) * 2, [normal(2, 8, 3, 2)]),
    "channel_shuffle_5d": (lambda L, x: F(L).channel_shuffle(x, 4) * 2, [normal(1, 4, 2, 2, 3)]),
}

test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(torch,
                                                                                                         CASES)


def test_lp_pool_of_zero_windows_has_torchs_zero_gradient():
    x = mg.tensor(np.zeros((1, 2, 4), np.float32), requires_grad=True)
    mg.nn.functional.lp_pool1d(x, 2, 2).sum().backward()
    assert np.array_equal(x.grad.numpy(), np.zeros((1, 2, 4), np.float32))


def test_lp_pool_of_a_negative_norm_type_is_torchs_inf_on_zero_windows():
    x = np.array([[[0.0, 0.0, 1.0, 2.0]]], np.float32)
    np.testing.assert_allclose(mg.nn.functional.lp_pool1d(mg.tensor(x), -1.0, 2).numpy(),
                               torch.nn.functional.lp_pool1d(torch.tensor(x), -1.0, 2).numpy(), rtol=1e-6)


@pytest.mark.parametrize("batch", [(2, 3), (4,), ()], ids=str)
def test_bilinear_module_from_torchs_state_dict(batch):
    torch.manual_seed(0)
    reference = torch.nn.Bilinear(4, 5, 3)
    model = mg.nn.Bilinear(4, 5, 3)
    assert list(model.state_dict()) == list(reference.state_dict()) == ["weight", "bias"]
    model.load_state_dict(torch_state(reference))
    a, b = made([normal(*batch, 4), normal(*batch, 5)])
    ours = [mg.tensor(a.astype(np.float32), requires_grad=True), mg.tensor(b.astype(np.float32), requires_grad=True)]
    theirs = [torch.tensor(a.astype(np.float32), requires_grad=True),
              torch.tensor(b.astype(np.float32), requires_grad=True)]
    out, expected = model(*ours), reference(*theirs)
    out.square().sum().backward()
    expected.square().sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    for mine, reference_tensor in [*zip(ours, theirs), (model.weight, reference.weight), (model.bias, reference.bias)]:
        np.testing.assert_allclose(mine.grad.numpy(), reference_tensor.grad.numpy(), rtol=1e-5, atol=1e-5)


def test_bilinear_init_is_torchs_over_in1_features():
    model = assert_init_is_torchs("Bilinear", (16, 3, 40), {}, bound=1 / math.sqrt(16))
    assert model.weight.shape == (40, 16, 3) and model.weight.dtype == mg.float32
    assert mg.nn.Bilinear(2, 3, 4, bias=False).bias is None
    assert list(mg.nn.Bilinear(2, 3, 4, bias=False).state_dict()) == ["weight"]


LAYERS = {  # name -> (args, options), built in both libraries for their reprs
    "Bilinear": ((2, 3, 4), {}),
    "Bilinear_no_bias": ((2, 3, 4), dict(bias=False)),
    "LocalResponseNorm": ((2,), {}),
    "LocalResponseNorm_options": ((3, 0.5, 1, 2.0), {}),
    "LPPool1d": ((1.5, 3, 2), {}),
    "LPPool2d": ((2, (2, 3)), dict(ceil_mode=True)),
    "ChannelShuffle": ((3,), {}),
    "AlphaDropout": ((), {}),
    "FeatureAlphaDropout": ((0.2, True), {}),
}


@pytest.mark.parametrize("name", LAYERS)
def test_repr_is_torchs(name):
    args, options = LAYERS[name]
    layer = name.split("_")[0]
    assert repr(getattr(mg.nn, layer)(*args, **options)) == repr(getattr(torch.nn, layer)(*args, **options))


def _call(lib, name, *args, **options):
    """F.<name> of lib, on the arrays among args as tensors of that lib."""
    args = [lib.tensor(a.astype(np.float32)) if isinstance(a, np.ndarray) else a for a in args]
    return getattr(F(lib), name)(*args, **options)


ERRORS = {  # name -> (F function, args)
    "bilinear_dims": ("bilinear", (np.ones((2, 3)), np.ones((2, 1, 4)), np.ones((5, 3, 4)))),
    "bilinear_batch": ("bilinear", (np.ones((2, 3)), np.ones((3, 4)), np.ones((5, 3, 4)))),
    "bilinear_input1": ("bilinear", (np.ones((2, 2)), np.ones((2, 4)), np.ones((5, 3, 4)))),
    "bilinear_input2": ("bilinear", (np.ones((2, 3)), np.ones((2, 3)), np.ones((5, 3, 4)))),
    "bilinear_bias": ("bilinear", (np.ones((2, 3)), np.ones((2, 4)), np.ones((5, 3, 4)), np.ones(4))),
    "local_response_norm_2d": ("local_response_norm", (np.ones((2, 6)), 3)),
    "channel_shuffle_2d": ("channel_shuffle", (np.ones((2, 6)), 2)),
    "channel_shuffle_zero_groups": ("channel_shuffle", (np.ones((2, 6, 3)), 0)),
    "channel_shuffle_indivisible": ("channel_shuffle", (np.ones((2, 6, 3)), 4)),
    "channel_shuffle_float_groups": ("channel_shuffle", (np.ones((2, 6, 3)), 2.0)),
    "alpha_dropout_p": ("alpha_dropout", (np.ones(3), 1.5)),
    "feature_alpha_dropout_p": ("feature_alpha_dropout", (np.ones((2, 3)), -0.1)),
    "feature_alpha_dropout_1d": ("feature_alpha_dropout", (np.ones(3), 0.5, True)),
}


@pytest.mark.parametrize("p, training", [(0.5, False), (0.0, True), (1.0, True)])
def test_feature_alpha_dropout_checks_the_dims_only_where_it_draws_as_torch(p, training):
    x = np.arange(1.0, 4.0)
    ours, theirs = (_call(lib, "feature_alpha_dropout", x, p, training) for lib in (mg, torch))
    assert np.array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ERRORS)
def test_argument_errors_are_torchs(name):
    function, args = ERRORS[name]
    assert_raises_as_torch(lambda: _call(torch, function, *args), lambda: _call(mg, function, *args))


def test_bilinear_refuses_mixed_dtypes_as_torch():
    def call(lib, dtype):
        return F(lib).bilinear(lib.ones(2, 3), lib.ones(2, 4), lib.ones(5, 3, 4, dtype=dtype))
    assert_raises_as_torch(lambda: call(torch, torch.float64), lambda: call(mg, mg.float64))


@pytest.mark.parametrize("build", [lambda lib: lib.nn.Bilinear(0, 2, 3), lambda lib: lib.nn.AlphaDropout(2),
                                   lambda lib: lib.nn.FeatureAlphaDropout(-1)], ids=["Bilinear", "AlphaDropout",
                                                                                     "FeatureAlphaDropout"])
def test_module_errors_are_torchs(build):
    assert_raises_as_torch(lambda: build(torch), lambda: build(mg))


# alpha dropout: the masks are minigrad's own draws, so the tests compare what torch's keeps, not its values

SATURATION = 1.0507009873554804934193349852946 * 1.6732632423543772848170429916717


def _alpha_dropout_parts(p):
    """torch's scale a of kept inputs and the values of kept (a * x + b) and dropped entries."""
    a = 1 / math.sqrt((SATURATION ** 2 * p + 1) * (1 - p))
    return a, a * SATURATION * p, -a * SATURATION * (1 - p)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
@pytest.mark.parametrize("lib", [mg, torch], ids=["minigrad", "torch"])
def test_alpha_dropout_is_torchs_affine_map_of_kept_and_dropped(lib, p):
    """torch's own output, as well as ours, is a * x + b where kept and one value where dropped, the gradient a or 0:
    the test of the constants against torch itself."""
    x = made([normal(4000)])[0].astype(np.float32)
    lib.manual_seed(3)
    tensor = lib.tensor(x, requires_grad=True)
    out = F(lib).alpha_dropout(tensor, p, training=True)
    out.sum().backward()
    out, grad = out.detach().numpy(), tensor.grad.numpy()
    a, b, dropped_value = _alpha_dropout_parts(p)
    dropped = grad == 0
    np.testing.assert_allclose(out[dropped], dropped_value, rtol=1e-6)
    np.testing.assert_allclose(out[~dropped], a * x[~dropped] + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad[~dropped], a, rtol=1e-6)
    assert abs(dropped.mean() - p) < 4 * math.sqrt(p * (1 - p) / x.size)


@pytest.mark.parametrize("function, p", [("alpha_dropout", 0.3), ("feature_alpha_dropout", 0.5)])
def test_alpha_dropout_keeps_selu_inputs_normalised(function, p):
    """SELU's fixed point: an input of mean 0 and variance 1 keeps them through the dropout, in both libraries."""
    x = made([normal(400, 500, 4)])[0].astype(np.float32)
    for lib in (mg, torch):
        lib.manual_seed(0)
        out = getattr(F(lib), function)(lib.tensor(x), p, training=True).numpy().astype(np.float64)
        assert abs(out.mean()) < 0.02 and abs(out.var() - 1) < 0.03


def test_feature_alpha_dropout_drops_whole_channels():
    x = made([normal(30, 40, 3, 5)])[0].astype(np.float32)
    mg.manual_seed(1)
    out = mg.nn.functional.feature_alpha_dropout(mg.tensor(x), 0.5, training=True).numpy()
    dropped = np.isclose(out, _alpha_dropout_parts(0.5)[2], rtol=1e-6)
    per_channel = dropped.reshape(30, 40, -1)
    assert np.all(per_channel.all(-1) == per_channel.any(-1))
    assert 0.4 < per_channel[..., 0].mean() < 0.6


@pytest.mark.parametrize("layer", ["AlphaDropout", "FeatureAlphaDropout"])
def test_alpha_dropout_layers_seeded_in_training_identity_in_eval(layer):
    x = mg.tensor(made([normal(4, 6, 5)])[0].astype(np.float32))
    module = getattr(mg.nn, layer)(0.4)
    outputs = []
    for seed in (5, 5, 6):
        mg.manual_seed(seed)
        outputs.append(module(x).numpy())
    assert np.array_equal(outputs[0], outputs[1]) and not np.array_equal(outputs[0], outputs[2])
    module.eval()
    assert module(x) is x
    assert mg.nn.functional.alpha_dropout(x, 0.4) is x   # torch's F default: training=False


@pytest.mark.parametrize("function", ["alpha_dropout", "feature_alpha_dropout"])
@pytest.mark.parametrize("p", [0.0, 1.0])
def test_alpha_dropout_of_p_0_and_1_is_torchs(function, p):
    x = made([normal(3, 4, 2)])[0].astype(np.float32)
    ours, theirs = (_call(lib, function, x, p, True) for lib in (mg, torch))
    assert np.array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("function", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropout_inplace_writes_into_its_input(function):
    x = mg.tensor(made([normal(3, 4, 2)])[0].astype(np.float32))
    mg.manual_seed(0)
    out = getattr(mg.nn.functional, function)(x, 0.5, training=True, inplace=True)
    assert out is x
    mg.manual_seed(0)
    expected = getattr(mg.nn.functional, function)(mg.tensor(made([normal(3, 4, 2)])[0].astype(np.float32)), 0.5,
                                                   training=True)
    np.testing.assert_array_equal(x.numpy(), expected.numpy())


@pytest.mark.parametrize("function", ["alpha_dropout", "feature_alpha_dropout"])
def test_gpu_path_alpha_dropout_draws_the_cpus_mask(function, gpu_path):
    def seeded(lib, x):
        mg.manual_seed(7)
        return getattr(F(lib), function)(x, 0.4, training=True)
    assert_gpu_matches_cpu(seeded, made([normal(3, 4, 5)]))


@pytest.mark.parametrize("function", ["alpha_dropout", "feature_alpha_dropout"])
def test_alpha_dropout_gradcheck_under_a_seed(function):
    x = mg.tensor(made([normal(3, 4, 2)], seed=2)[0], requires_grad=True)

    def seeded(x):
        mg.manual_seed(4)
        return getattr(mg.nn.functional, function)(x, 0.3, training=True)

    assert seeded(x).dtype == mg.float64
    assert mg.gradcheck(seeded, [x])
