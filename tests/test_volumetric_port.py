"""Volumetric (N, C, D, H, W) ports of torch code other than conv and pooling, against torch: F.interpolate and
nn.Upsample on 5-d inputs ("nearest", "nearest-exact", "trilinear", "area"), F.pad with six amounts and the
3-d padding layers, BatchNorm3d and InstanceNorm3d (with F.batch_norm and F.instance_norm of 5-d inputs), and
F.dropout3d / nn.Dropout3d: float32 values and gradients, float64 gradchecks, node names, state dicts, reprs,
warnings and argument errors, and the GPU path."""
import itertools
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from conftest import assert_matches_torch, assert_raises_as_torch, made, normal, relative_error
from test_nn import torch_state

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _interpolate(**kwargs):
    return lambda L, x: L.nn.functional.interpolate(x, **kwargs)


# interpolate's keywords for 5-d inputs
SIZES = [dict(scale_factor=2), dict(scale_factor=(1.5, 0.7, 2.3)), dict(scale_factor=(1.0, 2.0, 0.5)),
         dict(size=(5, 3, 9)), dict(size=7), dict(size=[4, 1, 6]), dict(scale_factor=0.6),
         dict(scale_factor=(1.3, 1.7, 0.6), recompute_scale_factor=True), dict(scale_factor=(3.3, 2.5, 1.4)),
         dict(scale_factor=[0.75, 2.7, 3.0], recompute_scale_factor=False)]
MODES = [dict(mode="nearest"), dict(mode="nearest-exact"), dict(mode="trilinear"),
         dict(mode="trilinear", align_corners=False), dict(mode="trilinear", align_corners=True), dict(mode="area")]
SHAPES = [(2, 3, 4, 5, 6), (1, 2, 2, 7, 3)]


def _backward_as_forward(kwargs, shape):
    """Whether torch's backward reads the inputs its forward read: not for the nearest modes where a scale
    factor other than 1 or 2 keeps or doubles an axis's size (see test_nearest_gradients_are_the_adjoint_of_the_forward)."""
    scales = kwargs.get("scale_factor")
    if not kwargs["mode"].startswith("nearest") or scales is None or kwargs.get("recompute_scale_factor"):
        return True
    scales = scales if isinstance(scales, (list, tuple)) else (scales,) * 3
    return not any(int(n * s) in (n, 2 * n) and s not in (1, 2) for n, s in zip(shape[2:], scales))


GRID = [pytest.param({**mode, **size}, shape, id="-".join(f"{k}={v}" for k, v in {**mode, **size}.items()) + str(shape))
        for mode, size, shape in itertools.product(MODES, SIZES, SHAPES) if _backward_as_forward({**mode, **size}, shape)]


@pytest.mark.parametrize("kwargs, shape", GRID)
def test_interpolate_of_volumes_matches_torch(kwargs, shape):
    assert_matches_torch(torch, _interpolate(**kwargs), made([normal(*shape)], seed=len(str(kwargs))))


@pytest.mark.parametrize("kwargs", [dict(mode="nearest", scale_factor=(1.0, 2.0, 1.7)),
                                    dict(mode="nearest-exact", size=(3, 8, 4)),
                                    dict(mode="trilinear", scale_factor=(2.0, 0.6, 1.4)),
                                    dict(mode="trilinear", size=(1, 4, 5), align_corners=True),
                                    dict(mode="area", size=(2, 4, 2))], ids=lambda kwargs: kwargs["mode"])
def test_interpolate_of_volumes_gradchecks(kwargs):
    x = mg.tensor(np.random.default_rng(1).standard_normal((1, 2, 3, 5, 4)), requires_grad=True)
    assert mg.gradcheck(lambda t: F.interpolate(t, **kwargs), [x])


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact"])
def test_nearest_gradients_are_the_adjoint_of_the_forward(mode):
    """torch's forward takes the scale factor 1.2 of a 4 -> 4 axis (inputs 0, 0, 1, 2), its backward in / out
    (each input once): minigrad's gradient is that of the forward it computes, as gradcheck requires."""
    x = np.arange(4, dtype=np.float32).reshape(1, 1, 1, 1, 4)
    theirs = TF.interpolate(torch.from_numpy(x), scale_factor=(1.0, 1.0, 1.2), mode=mode)
    leaf = mg.tensor(x, requires_grad=True)
    ours = F.interpolate(leaf, scale_factor=(1.0, 1.0, 1.2), mode=mode)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours.sum().backward()
    picked = ours.numpy().astype(np.int64).ravel()
    np.testing.assert_array_equal(leaf.grad.numpy().ravel(), np.bincount(picked, minlength=4))


@pytest.mark.parametrize("kwargs", MODES, ids=lambda kwargs: "-".join(map(str, kwargs.values())))
def test_interpolate_of_volumes_names_its_node_as_torch(kwargs):
    x = np.ones((1, 1, 2, 3, 4), np.float32)
    ours = F.interpolate(mg.tensor(x, requires_grad=True), size=(3, 5, 2), **kwargs)
    theirs = TF.interpolate(torch.tensor(x, requires_grad=True), size=(3, 5, 2), **kwargs)
    assert ours.grad_fn.name() == theirs.grad_fn.name()


@pytest.mark.parametrize("make", [lambda nn: nn.Upsample(scale_factor=2, mode="trilinear"),
                                  lambda nn: nn.Upsample(size=(3, 4, 5), mode="trilinear", align_corners=True),
                                  lambda nn: nn.Upsample(scale_factor=(1.5, 2.0, 0.5)),
                                  lambda nn: nn.Upsample(size=4, mode="area"),
                                  lambda nn: nn.Upsample(scale_factor=1.7, mode="nearest-exact",
                                                         recompute_scale_factor=True)])
def test_upsample_of_volumes_matches_torch(make):
    assert repr(make(mg.nn)) == repr(make(torch.nn))
    assert_matches_torch(torch, lambda L, x: make(L.nn)(x), made([normal(2, 3, 4, 3, 5)]))


INTERPOLATE_ERRORS = {
    "trilinear_4d": ((1, 2, 3, 4), dict(scale_factor=2, mode="trilinear")),
    "trilinear_3d": ((1, 2, 3), dict(scale_factor=2, mode="trilinear")),
    "bilinear_5d": ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="bilinear")),
    "linear_5d": ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="linear", align_corners=True)),
    "bicubic_5d": ((1, 2, 3, 4, 5), dict(scale_factor=2, mode="bicubic")),
    "nearest_6d": ((1, 1, 2, 3, 4, 5), dict(scale_factor=2)),
    "antialias_5d": ((1, 2, 3, 4, 5), dict(scale_factor=0.5, mode="trilinear", antialias=True)),
    "align_corners_nearest": ((1, 2, 3, 4, 5), dict(scale_factor=2, align_corners=True)),
    "size_of_two": ((1, 2, 3, 4, 5), dict(size=(2, 3), mode="trilinear")),
    "scale_of_two": ((1, 2, 3, 4, 5), dict(scale_factor=(2, 3), mode="nearest")),
    "size_and_scale": ((1, 2, 3, 4, 5), dict(size=2, scale_factor=2, mode="trilinear")),
    "float_size": ((1, 2, 3, 4, 5), dict(size=(2, 3.0, 4), mode="trilinear")),
    "recompute_with_size": ((1, 2, 3, 4, 5), dict(size=4, mode="area", recompute_scale_factor=True)),
    "empty_trilinear": ((1, 2, 3, 4, 5), dict(scale_factor=(1, 0.2, 1), mode="trilinear")),
    "empty_nearest": ((1, 2, 3, 4, 5), dict(size=(2, 0, 1), mode="nearest")),
    "empty_nearest_exact": ((1, 2, 3, 4, 5), dict(size=(0, 2, 1), mode="nearest-exact")),
}


@pytest.mark.parametrize("shape, kwargs", INTERPOLATE_ERRORS.values(), ids=list(INTERPOLATE_ERRORS))
def test_interpolate_refuses_what_torch_refuses(shape, kwargs):
    assert_raises_as_torch(lambda: TF.interpolate(torch.zeros(shape), **kwargs),
                           lambda: F.interpolate(mg.zeros(*shape), **kwargs))


@pytest.mark.parametrize("mode", ["trilinear", "area"])
def test_trilinear_and_area_refuse_integer_volumes_as_torch(mode):
    x = np.arange(24).reshape(1, 1, 2, 3, 4)
    assert_raises_as_torch(lambda: TF.interpolate(torch.from_numpy(x), scale_factor=2, mode=mode),
                           lambda: F.interpolate(mg.tensor(x), scale_factor=2, mode=mode))


def test_nearest_resizes_uint8_volumes_as_torch():
    x = np.arange(24, dtype=np.uint8).reshape(1, 1, 2, 3, 4)
    ours = F.interpolate(mg.tensor(x), scale_factor=(2, 1.5, 0.5))
    theirs = TF.interpolate(torch.from_numpy(x), scale_factor=(2, 1.5, 0.5))
    assert ours.dtype == mg.uint8
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


PADS = [(1, 2, 0, 3, 2, 1), (0, 0, 0, 0, 3, 3), (-1, 2, 1, -2, 2, 0), (3, 3, 3, 3, 3, 3), (2, 0, 1, 1)]


@pytest.mark.parametrize("shape", [(2, 3, 4, 5, 6), (3, 4, 5, 6)], ids=str)
@pytest.mark.parametrize("pad", PADS, ids=str)
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_of_volumes_matches_torch(mode, pad, shape):
    if mode != "constant" and len(pad) == 4 and len(shape) == 5:
        pytest.skip("torch pads 2 dims of 3-d and 4-d inputs only")
    value = dict(value=0.5) if mode == "constant" else {}
    assert_matches_torch(torch, lambda L, x: L.nn.functional.pad(x, pad, mode=mode, **value), made([normal(*shape)]))


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_of_volumes_gradchecks(mode):
    x = mg.tensor(np.random.default_rng(2).standard_normal((1, 2, 3, 4, 3)), requires_grad=True)
    assert mg.gradcheck(lambda t: F.pad(t, (2, 1, -1, 3, 1, 2), mode=mode), [x])


PAD_ERRORS = {
    "reflect_too_deep": ((2, 3, 4, 5, 6), (0, 0, 0, 0, 4, 0), "reflect"),
    "reflect_too_wide": ((2, 3, 4, 5, 6), (6, 0, 0, 0, 0, 0), "reflect"),
    "circular_wraps_twice": ((2, 3, 4, 5, 6), (0, 0, 0, 0, 5, 0), "circular"),
    "six_of_3d": ((4, 5, 6), (1,) * 6, "replicate"),
    "six_of_6d": ((1, 2, 3, 4, 5, 6), (1,) * 6, "reflect"),
    "odd_length": ((2, 3, 4, 5, 6), (1,) * 5, "replicate"),
    "empty_depth_replicate": ((2, 3, 0, 5, 6), (1,) * 6, "replicate"),
    "empty_depth_reflect": ((2, 3, 0, 5, 6), (1,) * 6, "reflect"),
    "empty_channels_reflect": ((2, 0, 4, 5, 6), (1,) * 6, "reflect"),
    "empty_unbatched_channels": ((0, 4, 5, 6), (1,) * 6, "replicate"),
    "empty_2d_channels": ((2, 0, 5, 6), (1,) * 4, "reflect"),
    "too_long": ((2, 3, 4, 5, 6), (1,) * 12, "constant"),
}


@pytest.mark.parametrize("shape, pad, mode", PAD_ERRORS.values(), ids=list(PAD_ERRORS))
def test_pad_refuses_what_torch_refuses(shape, pad, mode):
    assert_raises_as_torch(lambda: TF.pad(torch.zeros(shape), pad, mode=mode),
                           lambda: F.pad(mg.zeros(*shape), pad, mode=mode))


def test_an_empty_batch_pads_as_torch():
    for mode in ("reflect", "replicate", "circular"):
        assert F.pad(mg.zeros(0, 3, 4, 5, 6), (1,) * 6, mode=mode).shape == (0, 3, 6, 7, 8)


PAD_LAYERS = [("ReflectionPad3d", (2,)), ("ReflectionPad3d", ((1, 0, 2, 1, 0, 2),)), ("ReplicationPad3d", (3,)),
              ("ReplicationPad3d", ((0, 1, 2, 3, 4, 0),)), ("ConstantPad3d", (2, 1.5)),
              ("ConstantPad3d", ((1, 2, 0, 1, 2, 0), -3.0)), ("ZeroPad3d", (1,)), ("ZeroPad3d", ((0, 2, 1, 0, 1, 1),)),
              ("CircularPad3d", (2,)), ("CircularPad3d", ((1, 0, 2, 1, 0, 3),))]


@pytest.mark.parametrize("name, args", PAD_LAYERS, ids=lambda value: str(value))
@pytest.mark.parametrize("shape", [(2, 2, 3, 4, 5), (2, 4, 3, 5)], ids=str)
def test_padding_layers_match_torch(name, args, shape):
    assert repr(getattr(mg.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    assert getattr(mg.nn, name)(*args).padding == getattr(torch.nn, name)(*args).padding
    assert_matches_torch(torch, lambda L, x: getattr(L.nn, name)(*args)(x), made([normal(*shape)]))


@pytest.mark.parametrize("name, args", [("CircularPad3d", (1,)), ("ReflectionPad3d", (1,)),
                                        ("ReplicationPad3d", (1,))], ids=lambda value: str(value))
@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 2, 3, 4, 5, 6)], ids=str)
def test_padding_layers_refuse_other_inputs_as_torch(name, args, shape):
    assert_raises_as_torch(lambda: getattr(torch.nn, name)(*args)(torch.zeros(shape)),
                           lambda: getattr(mg.nn, name)(*args)(mg.zeros(*shape)))


NORM_LAYERS = [("BatchNorm3d", {}), ("BatchNorm3d", dict(momentum=None)), ("BatchNorm3d", dict(affine=False)),
               ("BatchNorm3d", dict(track_running_stats=False, eps=1e-3)), ("BatchNorm3d", dict(bias=False)),
               ("InstanceNorm3d", {}), ("InstanceNorm3d", dict(affine=True)),
               ("InstanceNorm3d", dict(track_running_stats=True, momentum=0.3)),
               ("InstanceNorm3d", dict(affine=True, track_running_stats=True, momentum=None))]


def _norm_pair(name, kwargs):
    theirs = getattr(torch.nn, name)(4, **kwargs)
    with torch.no_grad():
        for parameter in theirs.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=torch.Generator().manual_seed(5)))
    ours = getattr(mg.nn, name)(4, **kwargs)
    ours.load_state_dict(torch_state(theirs))
    return ours, theirs


@pytest.mark.parametrize("name, kwargs", NORM_LAYERS, ids=lambda value: str(value))
def test_norm_layers_train_and_evaluate_as_torch(name, kwargs):
    """Three training steps move the running statistics as torch's do (the state dicts agree, names and dtypes
    too); evaluation then uses them. Values and gradients of inputs and parameters compared at each step."""
    ours, theirs = _norm_pair(name, kwargs)
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(7)
    shapes = [(3, 4, 2, 3, 5), (2, 4, 3, 1, 4)] + ([(4, 3, 2, 5)] if name == "InstanceNorm3d" else [])
    for step, training in enumerate([True, True, True, False]):
        ours.train(training), theirs.train(training)
        x = (rng.standard_normal(shapes[step % len(shapes)]) * (step + 1) + step).astype(np.float32)
        direction = rng.standard_normal(x.shape).astype(np.float32)
        leaf, reference = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, expected = ours(leaf), theirs(reference)
        (out * mg.tensor(direction)).sum().backward()
        (expected * torch.from_numpy(direction)).sum().backward()
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(leaf.grad.numpy(), reference.grad.numpy(), rtol=1e-5, atol=1e-5)
        for (key, ours_p), (_, theirs_p) in zip(ours.named_parameters(), theirs.named_parameters()):
            np.testing.assert_allclose(ours_p.grad.numpy(), theirs_p.grad.numpy(), rtol=1e-5, atol=1e-5, err_msg=key)
            ours_p.grad, theirs_p.grad = None, None
        state, expected_state = ours.state_dict(), torch_state(theirs)
        assert list(state) == list(expected_state)
        for key, value in expected_state.items():
            assert np.asarray(state[key]).dtype == value.dtype, key
            np.testing.assert_allclose(np.asarray(state[key]), value, rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("name, shape", [("BatchNorm3d", (2, 4, 3, 5)), ("BatchNorm3d", (1, 2, 4, 3, 4, 5)),
                                         ("InstanceNorm3d", (4, 3, 5)), ("InstanceNorm3d", (1, 2, 4, 3, 4, 5))])
def test_norm_layers_refuse_other_inputs_as_torch(name, shape):
    assert_raises_as_torch(lambda: getattr(torch.nn, name)(4)(torch.zeros(shape)),
                           lambda: getattr(mg.nn, name)(4)(mg.zeros(*shape)))


def test_affine_instance_norm3d_refuses_a_channel_count_as_torch():
    assert_raises_as_torch(lambda: torch.nn.InstanceNorm3d(3, affine=True)(torch.zeros(2, 4, 2, 2, 2)),
                           lambda: mg.nn.InstanceNorm3d(3, affine=True)(mg.zeros(2, 4, 2, 2, 2)))


NORM_FUNCTIONS = {
    "batch_norm_training": lambda L, x, w, b: L.nn.functional.batch_norm(x, None, None, w, b, training=True),
    "batch_norm_running": lambda L, x, w, b: L.nn.functional.batch_norm(
        x, L.linspace(-1, 1, 3, dtype=x.dtype), L.linspace(0.5, 2, 3, dtype=x.dtype), w, b, training=False),
    "instance_norm": lambda L, x, w, b: L.nn.functional.instance_norm(x, weight=w, bias=b, eps=1e-3),
}


@pytest.mark.parametrize("name", NORM_FUNCTIONS)
def test_norm_functions_of_volumes_match_torch_and_gradcheck(name):
    fn = NORM_FUNCTIONS[name]
    assert_matches_torch(torch, fn, made([normal(2, 3, 2, 4, 3), normal(3), normal(3)]))
    inputs = [mg.tensor(a, requires_grad=True) for a in made([normal(2, 3, 2, 2, 3), normal(3), normal(3)], seed=3)]
    assert mg.gradcheck(lambda *tensors: fn(mg, *tensors), inputs)


def test_functional_running_statistics_of_volumes_move_as_torchs():
    x = np.random.default_rng(4).standard_normal((3, 2, 2, 3, 4)).astype(np.float32) * 3 + 1
    stats = {lib: (lib.tensor(np.zeros(2, np.float32)), lib.tensor(np.ones(2, np.float32))) for lib in (mg, torch)}
    F.batch_norm(mg.tensor(x), *stats[mg], training=True, momentum=0.2)
    TF.batch_norm(torch.from_numpy(x), *stats[torch], training=True, momentum=0.2)
    F.instance_norm(mg.tensor(x), *stats[mg], use_input_stats=True, momentum=0.4)
    TF.instance_norm(torch.from_numpy(x), *stats[torch], use_input_stats=True, momentum=0.4)
    for ours, theirs in zip(stats[mg], stats[torch]):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-6)


def _draws(lib, shape, p, seed, **kwargs):
    """dropout3d's output of ones and the warnings it gave, of either library."""
    (mg.manual_seed if lib is mg else torch.manual_seed)(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = (F.dropout3d if lib is mg else TF.dropout3d)(lib.ones(*shape) if lib is mg else torch.ones(shape), p,
                                                          **kwargs)
    return out.numpy(), [str(warning.message) for warning in caught]


@pytest.mark.parametrize("shape, channels", [((3, 4, 2, 3, 2), 2), ((5, 2, 3, 4), 1), ((4, 5, 6), 1), ((4, 5), 1),
                                             ((7,), 1)], ids=str)
def test_dropout3d_zeroes_whole_channels_and_warns_as_torch(shape, channels):
    """A 5-d input is (N, C, D, H, W); any other is read as unbatched, its first dim the channels, as torch."""
    out, caught = _draws(mg, shape, 0.4, seed=1)
    assert caught == _draws(torch, shape, 0.4, seed=1)[1]
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.6)}
    per_channel = out.reshape(shape[:channels] + (-1,))
    assert np.all(per_channel == per_channel[..., :1])
    many_channels = (40, 50) if channels == 2 else (2000,)
    big = _draws(mg, many_channels + shape[channels:], 0.4, seed=2)[0]
    assert abs((big.reshape(2000, -1)[:, 0] == 0).mean() - 0.4) < 0.05  # one draw per channel, of 2000


def test_dropout3d_keeps_the_input_where_torch_does():
    x = mg.ones(2, 3, 2, 2, 2)
    assert F.dropout3d(x, 0.5, training=False) is x and F.dropout3d(x, 0.0) is x
    assert mg.nn.Dropout3d(0.3).eval()(x) is x
    with pytest.warns(UserWarning, match="Received a 0-D input to dropout3d"):   # as torch's, which then refuses it
        assert F.dropout3d(mg.ones(()), 0.5, training=False).shape == ()
        assert_raises_as_torch(lambda: TF.dropout3d(torch.ones(()), 0.5), lambda: F.dropout3d(mg.ones(()), 0.5))
    assert_raises_as_torch(lambda: torch.nn.Dropout3d(1.2), lambda: mg.nn.Dropout3d(1.2))
    assert repr(mg.nn.Dropout3d(0.2, True)) == repr(torch.nn.Dropout3d(0.2, True))


def test_dropout3d_in_place_and_gradients_gradcheck():
    mg.manual_seed(6)
    x = mg.ones(2, 3, 2, 2, 2) * 1
    assert F.dropout3d(x, 0.5, inplace=True) is x
    unbatched = mg.ones(3, 2, 2, 2) * 1
    assert F.dropout3d(unbatched, 0.5, inplace=True) is unbatched and unbatched.shape == (3, 2, 2, 2)
    leaf = mg.tensor(np.random.default_rng(0).standard_normal((2, 3, 2, 2, 2)), requires_grad=True)

    def dropped(t):
        mg.manual_seed(9)
        return F.dropout3d(t, 0.3)

    assert mg.gradcheck(dropped, [leaf])
    out = dropped(leaf)
    out.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy() != 0, out.numpy() != 0)


def _seeded_dropout3d(L, x):
    mg.manual_seed(3)
    return F.dropout3d(x, 0.4)


def test_gpu_path_matches_cpu(gpu_path):
    """The volumetric ops on the device, values and gradients as on the host; trilinear resizes with the resize
    kernel and its depth GEMM on either side of it (upsampling and downsampling)."""
    cases = [lambda L, x: F.interpolate(x, scale_factor=2, mode="trilinear"),
             lambda L, x: F.interpolate(x, size=(2, 3, 2), mode="trilinear", align_corners=True),
             lambda L, x: F.interpolate(x, scale_factor=(1.5, 0.5, 2.0), mode="nearest"),
             lambda L, x: F.interpolate(x, size=(5, 2, 3), mode="nearest-exact"),
             lambda L, x: F.interpolate(x, size=(3, 3, 2), mode="area"),
             lambda L, x: F.pad(x, (1, 2, 0, 1, 2, 1), mode="reflect") + F.pad(x, (1, 2, 0, 1, 2, 1), mode="circular"),
             lambda L, x: mg.nn.ReplicationPad3d(2)(x),
             lambda L, x: F.batch_norm(x, None, None, training=True) + F.instance_norm(x),
             _seeded_dropout3d]
    x = made([normal(2, 3, 4, 5, 6)])[0].astype(np.float32)
    direction_rng = np.random.default_rng(8)
    for index, fn in enumerate(cases):
        results = []
        direction = None
        for device in ("cpu", "gpu"):
            leaf = mg.tensor(x, requires_grad=True, device=device)
            out = fn(mg, leaf)
            if direction is None:
                direction = direction_rng.standard_normal(out.shape).astype(np.float32)
            (out * mg.tensor(direction, device=device)).sum().backward()
            results.append((out.device, out.numpy(), leaf.grad.numpy()))
        (_, cpu_out, cpu_grad), (device, gpu_out, gpu_grad) = results
        assert device == "gpu", index
        assert relative_error(gpu_out, cpu_out) <= 1e-5, index  # a GPU sums in another order
        assert relative_error(gpu_grad, cpu_grad) <= 1e-5, index
    assert "resize" in gpu_path.launches
