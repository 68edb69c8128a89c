"""Volumetric pooling as torch 2.13's: max_pool3d (with its flat D*H*W indices), avg_pool3d, the adaptive poolings,
lp_pool3d and max_unpool3d, their layers, and torch's argument errors; torch is the oracle of values, indices and
gradients over a grid of window geometries, ties and NaN included."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_gpu_matches_cpu, assert_raises_as_torch, relative_error

torch = pytest.importorskip("torch")


def _run(lib, fn, x, direction_seed=1):
    """fn(lib, leaf)'s results (one or a tuple) and the leaf's gradient for a fixed random direction on the first,
    as NumPy arrays."""
    wrap = mg.tensor if lib is mg else torch.tensor
    leaf = wrap(x, requires_grad=True)
    results = fn(lib, leaf)
    results = results if isinstance(results, tuple) else (results,)
    arrays = [r.numpy() if lib is mg else r.detach().numpy() for r in results]
    direction = np.random.default_rng(direction_seed).standard_normal(arrays[0].shape).astype(arrays[0].dtype)
    (results[0] * wrap(direction)).sum().backward()
    return arrays, leaf.grad.numpy()


def _assert_as_torch(fn, x, exact=False):
    """fn's results (values, indices) and input gradient on minigrad as on torch: dtypes, shapes and values; the
    results equal with `exact` (the gradients, sums of overlapping windows' in another order, within 1e-5)."""
    (ours, our_grad), (theirs, their_grad) = (_run(lib, fn, x) for lib in (mg, torch))
    for index, (mine, reference) in enumerate(zip([*ours, our_grad], [*theirs, their_grad])):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        if (exact and index < len(ours)) or mine.dtype.kind == "i":
            np.testing.assert_array_equal(mine, reference)
        else:
            np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def _functional(lib):
    return lib.functional if lib is mg else torch.nn.functional


def _ties(shape, seed=0):
    """Small integers as float32: most windows hold several equal maxima."""
    return np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float32)


def _normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


MAX_POOL_GEOMETRIES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3, 1), stride=(1, 2, 3), padding=(1, 1, 0), ceil_mode=True),
    dict(kernel_size=(2, 3, 2), stride=1, padding=(1, 0, 1), dilation=(2, 1, 3)),
    dict(kernel_size=[3, 2, 2], stride=[2, 1, 2], padding=[1, 1, 0], dilation=[1, 2, 1], ceil_mode=True),
    dict(kernel_size=4, stride=3, padding=2, dilation=1, ceil_mode=True),
    dict(kernel_size=1, stride=2),
    dict(kernel_size=2, stride=()),
]
SHAPES = [(2, 3, 5, 6, 7), (3, 7, 5, 6), (1, 2, 4, 9, 4)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("arguments", MAX_POOL_GEOMETRIES, ids=str)
@pytest.mark.parametrize("values", [_ties, _normal], ids=["ties", "distinct"])
def test_max_pool3d_values_indices_and_gradients_are_torchs(shape, arguments, values):
    """Ties send the gradient, and the index, to the window's first maximum in (d, h, w) scan order, as torch's."""
    _assert_as_torch(lambda lib, t: _functional(lib).max_pool3d(t, return_indices=True, **arguments),
                     values(shape), exact=values is _ties)


NAN_WINDOWS = [dict(kernel_size=2), dict(kernel_size=3, stride=1, padding=1), dict(kernel_size=(3, 2, 2), stride=2,
                                                                                 dilation=(1, 2, 1), ceil_mode=True)]


@pytest.mark.parametrize("arguments", NAN_WINDOWS, ids=str)
def test_a_max_pool3d_window_holding_nan_is_won_by_its_last_nan_as_in_torch(arguments):
    x = _ties((2, 2, 5, 6, 5), seed=3)
    x[np.random.default_rng(4).random(x.shape) < 0.15] = np.nan
    _assert_as_torch(lambda lib, t: _functional(lib).max_pool3d(t, return_indices=True, **arguments), x, exact=True)


AVG_POOL_GEOMETRIES = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(2, 3, 1), stride=(1, 2, 3), padding=(1, 1, 0), ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(3, 2, 4), stride=(2, 1, 3), padding=(1, 0, 2), divisor_override=5),
    dict(kernel_size=(3, 2, 4), stride=2, padding=(1, 1, 2), ceil_mode=True, divisor_override=3),
    dict(kernel_size=4, stride=3, padding=2, ceil_mode=True, count_include_pad=True),
]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("arguments", AVG_POOL_GEOMETRIES, ids=str)
def test_avg_pool3d_values_and_gradients_are_torchs(shape, arguments):
    _assert_as_torch(lambda lib, t: _functional(lib).avg_pool3d(t, **arguments), _normal(shape))


ADAPTIVE_SIZES = [1, 3, (2, 4, 3), (None, 5, 2), (4, None, None), (5, 6, 7), (3, 1, 5)]


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("output_size", ADAPTIVE_SIZES, ids=str)
def test_adaptive_avg_pool3d_is_torchs(shape, output_size):
    _assert_as_torch(lambda lib, t: _functional(lib).adaptive_avg_pool3d(t, output_size), _normal(shape))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("output_size", ADAPTIVE_SIZES, ids=str)
@pytest.mark.parametrize("values", [_ties, _normal], ids=["ties", "distinct"])
def test_adaptive_max_pool3d_values_indices_and_gradients_are_torchs(shape, output_size, values):
    _assert_as_torch(lambda lib, t: _functional(lib).adaptive_max_pool3d(t, output_size, return_indices=True),
                     values(shape), exact=values is _ties)


def test_an_adaptive_max_pool3d_bin_holding_nan_is_won_by_its_last_nan_as_in_torch():
    x = _ties((2, 3, 5, 6, 7), seed=5)
    x[np.random.default_rng(6).random(x.shape) < 0.1] = np.nan
    _assert_as_torch(lambda lib, t: _functional(lib).adaptive_max_pool3d(t, (2, 4, 3), True), x, exact=True)


@pytest.mark.parametrize("norm_type", [1, 2, 3.5, float("inf"), -float("inf")])
@pytest.mark.parametrize("arguments", [dict(kernel_size=2), dict(kernel_size=(3, 2, 2), stride=(2, 1, 2)),
                                       dict(kernel_size=3, stride=2, ceil_mode=True)], ids=str)
def test_lp_pool3d_is_torchs(norm_type, arguments):
    x = np.abs(_normal((2, 3, 5, 6, 7))) + 0.1       # positive: a fractional power of a negative sum is NaN
    _assert_as_torch(lambda lib, t: _functional(lib).lp_pool3d(t, norm_type, **arguments), x)


def _pooled_with_indices(shape, seed=7, **arguments):
    """torch's max_pool3d of tied values (so that some windows share maxima), and its indices, as arrays."""
    pooled, indices = torch.nn.functional.max_pool3d(torch.tensor(_ties(shape, seed)), return_indices=True,
                                                     **arguments)
    return pooled.numpy(), indices.numpy()


@pytest.mark.parametrize("shape, arguments, output_size", [
    ((2, 3, 4, 6, 6), dict(kernel_size=2), None),                  # the pooled size is the input's
    ((2, 3, 5, 6, 7), dict(kernel_size=2), (5, 6, 7)),
    ((3, 6, 4, 5), dict(kernel_size=2), (2, 3, 6, 4, 5)),            # output_size with batch and channels
    ((2, 3, 5, 6, 7), dict(kernel_size=3, stride=2, padding=1), (5, 6, 7)),
    ((3, 6, 4, 5), dict(kernel_size=(2, 3, 2), stride=(2, 2, 3)), (6, 4, 5)),
], ids=str)
def test_max_unpool3d_inverts_max_pool3d_as_torch(shape, arguments, output_size):
    """Each maximum back at its index, into the pooled input's volume, in a volume of zeros; the gradient
    gathered from there."""
    pooled, indices = _pooled_with_indices(shape, **arguments)
    _assert_as_torch(lambda lib, t: _functional(lib).max_unpool3d(
        t, (mg.tensor if lib is mg else torch.tensor)(indices), output_size=output_size, **arguments), pooled)


GRADCHECKS = {
    "max_pool3d": lambda t: mg.functional.max_pool3d(t, (2, 3, 2), (1, 2, 1), (1, 1, 0), (1, 1, 2), True),
    "avg_pool3d": lambda t: mg.functional.avg_pool3d(t, 3, 2, 1, True, False),
    "avg_pool3d_divisor": lambda t: mg.functional.avg_pool3d(t, (2, 3, 2), 1, divisor_override=5),
    "adaptive_avg_pool3d": lambda t: mg.functional.adaptive_avg_pool3d(t, (2, None, 3)),
    "adaptive_max_pool3d": lambda t: mg.functional.adaptive_max_pool3d(t, (3, 2, 4)),
    "lp_pool3d": lambda t: mg.functional.lp_pool3d(t.abs() + 0.5, 3, 2, (1, 2, 1)),
    "max_unpool3d": lambda t: mg.functional.max_unpool3d(t, mg.tensor(_pooled_with_indices((2, 3, 4, 4, 6),
                                                                                            kernel_size=2)[1]), 2),
}


@pytest.mark.parametrize("name", GRADCHECKS)
def test_float64_gradcheck(name):
    """Distinct values (no ties), so that a nudge of one input moves no maximum to another."""
    shape = (2, 3, 2, 2, 3) if name == "max_unpool3d" else (2, 3, 4, 5, 6)
    x = np.random.default_rng(8).permutation(np.prod(shape)).reshape(shape) / 7.0 - 10
    assert mg.gradcheck(GRADCHECKS[name], [mg.tensor(x, requires_grad=True)])


MODULES = {
    "max": lambda nn: nn.MaxPool3d(3, 2, 1),
    "max_every_argument": lambda nn: nn.MaxPool3d((2, 3, 2), (1, 2, 1), (1, 1, 0), (2, 1, 1), False, True),
    "avg": lambda nn: nn.AvgPool3d(2),
    "avg_every_argument": lambda nn: nn.AvgPool3d((3, 2, 2), 2, 1, True, False, 4),
    "adaptive_avg": lambda nn: nn.AdaptiveAvgPool3d((2, None, 3)),
    "adaptive_max": lambda nn: nn.AdaptiveMaxPool3d(3, return_indices=True),
    "lp": lambda nn: nn.LPPool3d(2, (2, 3, 2), stride=1, ceil_mode=True),
}


@pytest.mark.parametrize("make", MODULES.values(), ids=MODULES.keys())
def test_volume_pooling_modules_take_torchs_arguments_and_print_as_torch(make):
    ours, theirs = make(mg.nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    _assert_as_torch(lambda lib, t: (ours if lib is mg else theirs)(t), _normal((2, 3, 5, 6, 7)) + 3)


def test_max_unpool3d_module_is_torchs():
    ours, theirs = mg.nn.MaxUnpool3d(2), torch.nn.MaxUnpool3d(2)
    assert repr(ours) == repr(theirs)
    assert (ours.kernel_size, ours.stride, ours.padding) == (theirs.kernel_size, theirs.stride, theirs.padding)
    pooled, indices = _pooled_with_indices((2, 3, 4, 6, 5), kernel_size=2)
    expected = theirs(torch.tensor(pooled), torch.tensor(indices), output_size=(2, 3, 5, 7, 5))
    out = ours(mg.tensor(pooled), mg.tensor(indices), output_size=(2, 3, 5, 7, 5))
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("op, node", [("max_pool3d", "MaxPool3DWithIndicesBackward0"),
                                      ("avg_pool3d", "AvgPool3DBackward0"),
                                      ("max_pool2d", "MaxPool2DWithIndicesBackward0"),
                                      ("avg_pool2d", "AvgPool2DBackward0")])
def test_grad_fn_names_are_torchs(op, node):
    shape = (1, 2, 4, 4, 4) if op.endswith("3d") else (1, 2, 4, 4)
    out = getattr(mg.functional, op)(mg.tensor(_normal(shape), requires_grad=True), 2)
    expected = getattr(torch.nn.functional, op)(torch.tensor(_normal(shape), requires_grad=True), 2)
    assert out.grad_fn.name() == expected.grad_fn.name() == node


@pytest.mark.parametrize("op", ["max_pool3d", "avg_pool3d"])
@pytest.mark.parametrize("dtype", [np.float64, np.int64])
def test_result_dtypes_are_torchs(op, dtype):
    """int64 averages are truncated toward zero, as torch's."""
    x = (np.random.default_rng(9).standard_normal((2, 3, 5, 6, 7)) * 10).astype(dtype)
    ours = getattr(mg.functional, op)(mg.tensor(x), 3, 2, 1).numpy()
    theirs = getattr(torch.nn.functional, op)(torch.tensor(x), 3, 2, 1).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)


def test_an_empty_batch_pools_to_an_empty_batch():
    x = np.zeros((0, 3, 5, 6, 7), np.float32)
    for op, args in [("max_pool3d", (2,)), ("avg_pool3d", (2,)), ("adaptive_avg_pool3d", (3,)),
                     ("adaptive_max_pool3d", (3,))]:
        assert getattr(mg.functional, op)(mg.tensor(x), *args).shape == \
            tuple(getattr(torch.nn.functional, op)(torch.tensor(x), *args).shape)


X = np.zeros((2, 3, 5, 6, 7), np.float32)
POOL_ERRORS = {
    "zero_kernel": ("max_pool3d", (X, 0)),
    "zero_stride": ("max_pool3d", (X, 2, 0)),
    "negative_stride": ("max_pool3d", (X, 2, -1)),
    "negative_padding": ("max_pool3d", (X, 2, 1, -1)),
    "padding_past_half_the_effective_kernel": ("max_pool3d", (X, 2, 1, 2)),
    "padding_past_half_the_kernel": ("max_pool3d", (X, (1, 2, 3), 1, (0, 0, 2), (1, 1, 2))),
    "zero_kernel_depth": ("max_pool3d", (X, (0, 2, 2), 1)),
    "zero_dilation": ("max_pool3d", (X, (1, 2, 2), 1, 0, 0)),
    "a_pair_kernel": ("max_pool3d", (X, (2, 2))),
    "four_kernel_sizes": ("max_pool3d", (X, (2, 2, 2, 2))),
    "a_pair_stride": ("max_pool3d", (X, 2, (1, 1))),
    "a_pair_padding": ("max_pool3d", (X, 2, 1, (1, 1))),
    "a_pair_dilation": ("max_pool3d", (X, 2, 1, 0, (1, 1))),
    "a_3d_input": ("max_pool3d", (X[0, 0], 2)),
    "a_3d_input_and_a_zero_stride": ("max_pool3d", (X[0, 0], 2, 0)),
    "a_6d_input": ("max_pool3d", (X[None], 2)),
    "an_empty_depth": ("max_pool3d", (X[:, :, :0], 2)),
    "no_channels": ("max_pool3d", (X[:, :0], 2)),
    "an_unbatched_empty_depth": ("max_pool3d", (X[0, :, :0], 2)),
    "too_small": ("max_pool3d", (X, 9)),
    "too_small_dilated": ("max_pool3d", (X, 2, 1, 0, 9)),
    "bool": ("max_pool3d", (X.astype(bool), 2)),
    "avg_zero_kernel": ("avg_pool3d", (X, 0)),
    "avg_a_pair_kernel": ("avg_pool3d", (X, (2, 2))),
    "avg_a_pair_stride": ("avg_pool3d", (X, 2, (1, 1))),
    "avg_a_pair_padding": ("avg_pool3d", (X, 2, 1, (1, 1))),
    "avg_a_3d_input": ("avg_pool3d", (X[0, 0], 2)),
    "avg_an_empty_depth": ("avg_pool3d", (X[:, :, :0], 2)),
    "avg_no_channels": ("avg_pool3d", (X[:, :0], 2)),
    "avg_kernel_past_the_input": ("avg_pool3d", (X, (1, 2, 9), 1, (0, 0, 4))),
    "avg_padding_past_half_the_kernel": ("avg_pool3d", (X, (1, 2, 3), 1, (0, 0, 2))),
    "avg_zero_divisor": ("avg_pool3d", (X, 2), dict(divisor_override=0)),
    "avg_int32": ("avg_pool3d", (X.astype(np.int32), 2)),
    "avg_bool": ("avg_pool3d", (X.astype(bool), 2)),
    "avg_float16": ("avg_pool3d", (X.astype(np.float16), 2)),
    "adaptive_avg_a_pair": ("adaptive_avg_pool3d", (X, (2, 3))),
    "adaptive_max_a_pair": ("adaptive_max_pool3d", (X, (2, 3))),
    "adaptive_avg_four_sizes": ("adaptive_avg_pool3d", (X, (2, None, None, 3))),
    "adaptive_avg_a_3d_input": ("adaptive_avg_pool3d", (X[0, 0], 2)),
    "adaptive_avg_an_empty_depth": ("adaptive_avg_pool3d", (X[:, :, :0], 2)),
    "adaptive_avg_int64": ("adaptive_avg_pool3d", (X.astype(np.int64), 2)),
    "adaptive_max_a_3d_input": ("adaptive_max_pool3d", (X[0, 0], 2)),
    "adaptive_max_an_empty_depth": ("adaptive_max_pool3d", (X[:, :, :0], 2)),
    "adaptive_max_int64": ("adaptive_max_pool3d", (X.astype(np.int64), 2)),
    "adaptive_avg_2d_a_triple": ("adaptive_avg_pool2d", (X[0], (2, 3, 4))),
    "adaptive_max_2d_a_triple": ("adaptive_max_pool2d", (X[0], (2, 3, 4))),
    "adaptive_max_2d_an_empty_height": ("adaptive_max_pool2d", (X[0, :, :0], 2)),
    "adaptive_avg_2d_unbatched_an_empty_height": ("adaptive_avg_pool2d", (X[0, 0, :, :0], 2)),
    "unpool_2d_a_negative_output_size": ("max_unpool2d", (X[0], X[0].astype(np.int64), 2, None, 7)),
    "lp_a_pair_kernel": ("lp_pool3d", (X, 2, (2, 2))),
    "lp_2d_a_one_tuple_kernel": ("lp_pool2d", (X[0], 2, (2,))),
    "lp_zero_stride": ("lp_pool3d", (X, 2, 2, 0)),
}


def _call(lib, op, args, kwargs):
    wrap = (lambda a: mg.tensor(a)) if lib is mg else torch.from_numpy
    args = [wrap(a) if isinstance(a, np.ndarray) else a for a in args]
    return lambda: getattr(_functional(lib), op)(*args, **kwargs)


@pytest.mark.parametrize("case", POOL_ERRORS.values(), ids=POOL_ERRORS.keys())
def test_bad_arguments_are_torchs_errors(case):
    op, args, kwargs = (*case, {}) if len(case) == 2 else case
    assert_raises_as_torch(_call(torch, op, args, kwargs), _call(mg, op, args, kwargs))


P, I = _pooled_with_indices((2, 3, 4, 6, 6), kernel_size=2)
UNPOOL_ERRORS = {
    "int32_indices": (P, I.astype(np.int32), 2),
    "a_3d_input": (P[0, 0], I[0, 0], 2),
    "indices_of_another_shape": (P, I[0], 2),
    "an_index_past_the_volume": (P, np.where(np.arange(I.size).reshape(I.shape) == 7, 144, I), 2),
    "a_negative_index": (P, np.where(np.arange(I.size).reshape(I.shape) == 30, -1, I), 2),
    "int64_input": (P.astype(np.int64), I, 2),
    "output_size_of_two": (P, I, 2, None, 0, (4, 6)),
    "output_size_too_far": (P, I, 2, None, 0, (9, 6, 6)),
    "zero_stride": (P, I, 2, 0),
    "negative_stride": (P, I, 2, -1),
    "negative_output_size": (P, I, 2, None, 5),
    "an_empty_depth": (P[:, :, :0], I[:, :, :0], 2),
}


@pytest.mark.parametrize("args", UNPOOL_ERRORS.values(), ids=UNPOOL_ERRORS.keys())
def test_max_unpool3d_bad_arguments_are_torchs_errors(args):
    assert_raises_as_torch(_call(torch, "max_unpool3d", args, {}), _call(mg, "max_unpool3d", args, {}))


def test_max_unpool3d_takes_an_output_size_with_batch_and_channels():
    out = mg.functional.max_unpool3d(mg.tensor(P), mg.tensor(I), 2, output_size=(2, 3, 5, 7, 7))
    expected = torch.nn.functional.max_unpool3d(torch.tensor(P), torch.tensor(I), 2, output_size=(2, 3, 5, 7, 7))
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("kernel_size", [(3,), [3], (3, 3)])
def test_lp_pool1d_refuses_a_tuple_kernel_size_as_torch(kernel_size):
    """torch multiplies the average by kernel_size, which a sequence is not, after avg_pool1d checks it."""
    x = _normal((2, 3, 8))
    assert_raises_as_torch(lambda: torch.nn.functional.lp_pool1d(torch.tensor(x), 2, kernel_size),
                           lambda: mg.functional.lp_pool1d(mg.tensor(x), 2, kernel_size))


def test_lp_pool1d_of_infinite_norm_takes_a_one_tuple_kernel_as_torch():
    x = _normal((2, 3, 8))
    np.testing.assert_array_equal(mg.functional.lp_pool1d(mg.tensor(x), float("inf"), (3,)).numpy(),
                                  torch.nn.functional.lp_pool1d(torch.tensor(x), float("inf"), (3,)).numpy())


@pytest.mark.parametrize("flat, deep", [
    (dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
     dict(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1), ceil_mode=True)),
    (dict(kernel_size=2, dilation=2), dict(kernel_size=(1, 2, 2), dilation=(1, 2, 2))),
])
def test_a_3d_max_pool_of_unit_depth_is_the_2d_one(flat, deep):
    """One Windows, and one GPU kernel, serve 2 and 3 spatial dims."""
    x = _ties((2, 3, 9, 8))
    for pooled, deeper in zip(mg.functional.max_pool2d(mg.tensor(x), return_indices=True, **flat),
                              mg.functional.max_pool3d(mg.tensor(x[:, :, None]), return_indices=True, **deep)):
        np.testing.assert_array_equal(pooled.numpy(), deeper.numpy()[:, :, 0])


GPU_CASES = {
    "max_pool3d": lambda lib, t: _functional(lib).max_pool3d(t, (2, 3, 2), (1, 2, 1), (1, 1, 0), (2, 1, 1), True),
    "max_pool3d_ties": lambda lib, t: _functional(lib).max_pool3d(t.round(), 3, 2, 1),
    "avg_pool3d": lambda lib, t: _functional(lib).avg_pool3d(t, 3, 2, 1, True, False),
    "adaptive_avg_pool3d": lambda lib, t: _functional(lib).adaptive_avg_pool3d(t, (2, None, 3)),
    "adaptive_max_pool3d": lambda lib, t: _functional(lib).adaptive_max_pool3d(t, (3, 2, 4)),
    "max_pool2d": lambda lib, t: _functional(lib).max_pool2d(t.flatten(1, 2), 3, 2, 1, 2),
}


def test_gpu_path_matches_cpu(gpu_path):
    """max_pool3d runs the max-pool kernels on the device (a 2-d pooling as one of unit depth), with the indices
    of the CPU."""
    x = _normal((2, 3, 5, 6, 7)) * 2
    for name, fn in GPU_CASES.items():
        assert_gpu_matches_cpu(fn, [x])
    assert "max_pool" in gpu_path.launches and "max_pool_backward" in gpu_path.launches
    arguments = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)
    indices = [mg.functional.max_pool3d(mg.tensor(x.round(), device=device), return_indices=True, **arguments)[1]
               for device in ("cpu", "gpu")]
    np.testing.assert_array_equal(indices[1].numpy(), indices[0].numpy())
    assert relative_error(indices[1].numpy(), torch.nn.functional.max_pool3d(
        torch.tensor(x.round()), return_indices=True, **arguments)[1].numpy()) == 0
