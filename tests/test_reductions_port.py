"""nansum, nanmean, median, nanmedian, kthvalue, mode, cumprod, cummax, cummin, logcumsumexp, std_mean, var_mean,
aminmax, quantile, nanquantile and diff: values, indices, gradients (ties included), dtypes, empty inputs and
argument errors against torch, float64 gradchecks, and the GPU path. Each case is written once against the shared
API and run in both libraries."""
import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error

torch = pytest.importorskip("torch")


def _with_nans(shape, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape)
    values[0, 1] = values[2, 0] = values[2, 3] = np.nan
    return values


def _with_zeros(shape, seed=0):
    values = np.random.default_rng(seed).standard_normal(shape)
    values[0, 2] = values[1, 0] = values[1, 3] = values[2, 4] = values[2, 5] = 0
    return values


def _normal(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def _first(result):
    """The values of a (values, indices) pair, or the result itself."""
    return result[0] if isinstance(result, tuple) else result


def _sum_of_both(result):
    """Both tensors of a pair such as std_mean's, weighted apart, as one tensor to take the gradient of."""
    return result[0] + 2 * result[1]


DIFFERENTIABLE = {  # name: (fn(lib, x), input of x's shape -> array)
    "nansum": (lambda lib, x: x.nansum(), _with_nans),
    "nansum_dim": (lambda lib, x: x.nansum(1, keepdim=True), _with_nans),
    "nansum_dims": (lambda lib, x: lib.nansum(x, (0, 1)), _with_nans),
    "nanmean": (lambda lib, x: x.nanmean(), _with_nans),
    "nanmean_dim": (lambda lib, x: lib.nanmean(x, 0), _with_nans),
    "median": (lambda lib, x: x.median(), _normal),
    "median_even": (lambda lib, x: x[:, :4].median(), _normal),
    "median_dim": (lambda lib, x: x.median(1), _normal),
    "median_dim_keepdim": (lambda lib, x: lib.median(x, 0, keepdim=True), _normal),
    "nanmedian": (lambda lib, x: x.nanmedian(), _with_nans),
    "nanmedian_dim": (lambda lib, x: x.nanmedian(1), _with_nans),
    "nanmedian_dim0": (lambda lib, x: lib.nanmedian(x, 0), _with_nans),
    "kthvalue": (lambda lib, x: x.kthvalue(2), _normal),
    "kthvalue_dim0_keepdim": (lambda lib, x: lib.kthvalue(x, 3, 0, True), _normal),
    "mode_distinct": (lambda lib, x: x.mode(0), _normal),
    "cumprod": (lambda lib, x: x.cumprod(1), _normal),
    "cumprod_zeros": (lambda lib, x: x.cumprod(1), _with_zeros),
    "cumprod_zeros_dim0": (lambda lib, x: lib.cumprod(x, 0), _with_zeros),
    "cummax": (lambda lib, x: x.cummax(1), _normal),
    "cummin_dim0": (lambda lib, x: lib.cummin(x, 0), _normal),
    "logcumsumexp": (lambda lib, x: x.logcumsumexp(1), _normal),
    "logcumsumexp_dim0": (lambda lib, x: lib.logcumsumexp(x * 30, 0), _normal),
    "std_mean": (lambda lib, x: _sum_of_both(lib.std_mean(x, 1)), _normal),
    "var_mean": (lambda lib, x: _sum_of_both(lib.var_mean(x, 0, correction=0, keepdim=True)), _normal),
    "var_mean_all": (lambda lib, x: _sum_of_both(lib.var_mean(x, False)), _normal),
    "aminmax": (lambda lib, x: _sum_of_both(x.aminmax()), _normal),
    "aminmax_dim": (lambda lib, x: _sum_of_both(lib.aminmax(x, dim=1, keepdim=True)), _normal),
    "quantile": (lambda lib, x: x.quantile(0.3), _normal),
    "quantile_dim": (lambda lib, x: x.quantile(lib.tensor([0.0, 0.25, 0.7, 1.0], dtype=x.dtype), 1), _normal),
    "quantile_lower": (lambda lib, x: x.quantile(0.3, 0, interpolation="lower"), _normal),
    "quantile_higher": (lambda lib, x: x.quantile(0.3, 0, True, interpolation="higher"), _normal),
    "quantile_midpoint": (lambda lib, x: lib.quantile(x, 0.45, 1, interpolation="midpoint"), _normal),
    "quantile_nearest": (lambda lib, x: x.quantile(lib.tensor([0.1, 0.5, 0.9], dtype=x.dtype), 1,
                                                    interpolation="nearest"), _normal),
    "nanquantile": (lambda lib, x: x.nanquantile(0.6, 1), _with_nans),
    "nanquantile_all": (lambda lib, x: lib.nanquantile(x, 0.6, keepdim=True), _with_nans),
    "diff": (lambda lib, x: x.diff(), _normal),
    "diff_twice_dim0": (lambda lib, x: lib.diff(x, 2, 0), _normal),
    "diff_prepend_append": (lambda lib, x: x.diff(dim=1, prepend=x[:, :2] * 3, append=x[:, 1:2].exp()), _normal),
}
SHAPE = (4, 6)


def _run(lib, fn, array, dtype):
    """fn's outputs (values and, for a pair, indices) and the gradient of (values * a fixed direction).sum()."""
    x = lib.tensor(array.astype(dtype), requires_grad=True)
    result = fn(lib, x)
    values = _first(result)
    direction = np.random.default_rng(1).standard_normal(tuple(values.shape)).astype(dtype)
    (values * lib.tensor(direction)).nansum().backward()
    outputs = [result[0], result[1]] if isinstance(result, tuple) else [result]
    return [o.detach().numpy() for o in outputs], x.grad.numpy()


@pytest.mark.parametrize("fn, inputs", DIFFERENTIABLE.values(), ids=DIFFERENTIABLE.keys())
def test_values_and_gradients_match_torch(fn, inputs):
    array = inputs(SHAPE)
    (ours, our_grad), (theirs, their_grad) = (_run(lib, fn, array, np.float32) for lib in (mg, torch))
    for mine, reference in zip(ours, theirs):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fn, inputs", DIFFERENTIABLE.values(), ids=DIFFERENTIABLE.keys())
def test_gradcheck(fn, inputs):
    x = mg.tensor(inputs(SHAPE), requires_grad=True)
    assert mg.gradcheck(lambda t: _first(fn(mg, t)).nan_to_num(), [x])


def test_median_gradient_is_shared_by_ties_and_goes_to_the_index_along_a_dim():
    array = np.array([[2.0, 1.0, 2.0, 3.0, 2.0, 2.0, 0.0], [5.0, 5.0, 5.0, 5.0, 5.0, 1.0, 1.0]], np.float32)
    for reduce in (lambda lib, x: x.median(), lambda lib, x: x.nanmedian(), lambda lib, x: x[0].median()):
        (ours, our_grad), (theirs, their_grad) = (_run(lib, reduce, array, np.float32) for lib in (mg, torch))
        np.testing.assert_allclose(ours[0], theirs[0])
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6)
    for reduce in (lambda lib, x: x.median(1), lambda lib, x: x.kthvalue(3, 1), lambda lib, x: x.nanmedian(1)):
        (ours, our_grad), (theirs, _) = (_run(lib, reduce, array, np.float32) for lib in (mg, torch))
        np.testing.assert_array_equal(ours[0], theirs[0])  # at ties torch's index is not specified: any of them
        np.testing.assert_array_equal(np.take_along_axis(array, ours[1][:, None], 1)[:, 0], ours[0])
        assert (np.count_nonzero(our_grad, axis=1) == 1).all()
        np.testing.assert_array_equal(np.argwhere(our_grad)[:, 1], ours[1])


def test_aminmax_gradient_is_shared_by_ties():
    array = np.array([[1.0, 3.0, 3.0, 1.0, 2.0], [0.0, 0.0, 0.0, 4.0, 4.0]], np.float32)
    for reduce in (lambda lib, x: x.aminmax(), lambda lib, x: x.aminmax(dim=1)):
        grads = []
        for lib in (mg, torch):
            x = lib.tensor(array, requires_grad=True)
            low, high = reduce(lib, x)
            (low * 2 + high * 5).sum().backward()
            grads.append(x.grad.numpy())
        np.testing.assert_allclose(*grads, rtol=1e-6)


@pytest.mark.parametrize("name", ["median", "nanmedian", "kthvalue"])
def test_selections_with_nans_match_torch(name):
    array = _with_nans((5, 6), seed=3)
    array[3, 2] = array[3, 5] = np.nan
    array[4] = np.nan
    select = (lambda t: t.kthvalue(4, 1)) if name == "kthvalue" else (lambda t: getattr(t, name)(1))
    ours, theirs = select(mg.tensor(array)), select(torch.tensor(array))
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    # which of several NaNs torch's index points to is where its selection left them; minigrad's is the first
    numbers = ~np.isnan(theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy()[numbers], theirs.indices.numpy()[numbers])
    assert np.isnan(array[~numbers, ours.indices.numpy()[~numbers]]).all()
    if name in ("median", "nanmedian"):
        np.testing.assert_array_equal(getattr(mg.tensor(array), name)().numpy(),
                                      getattr(torch.tensor(array), name)().numpy())


@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_mode_picks_torchs_value_and_index(dtype):
    array = np.random.default_rng(1).integers(0, 4, (300, 7)).astype(dtype)
    ours, theirs = mg.tensor(array).mode(1), torch.tensor(array).mode(1)
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    ours, theirs = mg.tensor(array).mode(0), torch.tensor(array).mode(0)  # torch's index: any place of the value
    np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
    np.testing.assert_array_equal(ours.indices.numpy(), [np.flatnonzero(column == value).max()
                                                         for column, value in zip(array.T, ours.values.numpy())])
    x, t = mg.tensor(array.astype(np.float32), requires_grad=True), torch.tensor(array.astype(np.float32),
                                                                              requires_grad=True)
    x.mode(1).values.sum().backward()
    t.mode(1).values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("name", ["cummax", "cummin"])
def test_running_extremes_with_ties_and_nans_match_torch(name):
    array = np.random.default_rng(2).integers(0, 3, (6, 9)).astype(np.float32)
    array[1, 4] = array[2, 0] = array[2, 6] = array[3, 8] = np.nan
    (ours, our_grad), (theirs, their_grad) = (_run(lib, lambda lib, x: getattr(x, name)(1), array, np.float32)
                                              for lib in (mg, torch))
    np.testing.assert_array_equal(ours[0], theirs[0])
    np.testing.assert_array_equal(ours[1], theirs[1])
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6)
    for integers in (array[4:].astype(np.int64), array[4:] > 1):
        ours, theirs = getattr(mg.tensor(integers), name)(0), getattr(torch.tensor(integers), name)(0)
        assert ours.values.dtype == theirs.values.numpy().dtype
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())


def test_logcumsumexp_neither_overflows_nor_underflows():
    array = np.array([[-1000.0, 0.0, 1000.0, -np.inf, 999.0], [-np.inf, -np.inf, -5.0, 80.0, -3.0]], np.float32)
    (ours, our_grad), (theirs, their_grad) = (_run(lib, lambda lib, x: x.logcumsumexp(1), array, np.float32)
                                              for lib in (mg, torch))
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-5, atol=1e-6)


def test_cumprod_gradcheck_of_rows_of_zeros():
    array = np.array([[0.0, 0.0, 2.0, 3.0], [1.5, 0.0, 0.0, -2.0], [0.0, 4.0, 0.5, 0.0], [2.0, 3.0, -1.0, 0.0]])
    for dtype in (np.float32, np.float64):
        (ours, our_grad), (theirs, their_grad) = (_run(lib, lambda lib, x: x.cumprod(1), array, dtype)
                                                  for lib in (mg, torch))
        np.testing.assert_allclose(ours[0], theirs[0])
        np.testing.assert_allclose(our_grad, their_grad, rtol=1e-6)
    assert mg.gradcheck(lambda t: t.cumprod(1), [mg.tensor(array, requires_grad=True)])


RESULTS = {  # name: fn(lib) -> a tensor, a tuple of tensors, or torch's error
    "nansum_int": lambda lib: lib.tensor([1, 2, 3]).nansum(),
    "nansum_uint8": lambda lib: lib.tensor([200, 100], dtype=lib.uint8).nansum(),
    "nansum_dtype": lambda lib: lib.tensor([1.0, float("nan")]).nansum(dtype=lib.float64),
    "nansum_empty": lambda lib: lib.zeros(0).nansum(),
    "nanmean_empty": lambda lib: lib.zeros(0).nanmean(),
    "nanmean_all_nan_row": lambda lib: lib.tensor([[float("nan"), float("nan")], [1.0, 2.0]]).nanmean(1),
    "nanmean_int": lambda lib: lib.tensor([1, 2]).nanmean(),
    "median_empty": lambda lib: lib.zeros(0).median(),
    "nanmedian_empty": lambda lib: lib.zeros(0).nanmedian(),
    "median_empty_dim": lambda lib: lib.zeros(0).median(0),
    "median_empty_rows": lambda lib: lib.zeros(2, 0).median(0),
    "median_empty_other_dim": lambda lib: lib.zeros(2, 0).median(1),
    "median_int": lambda lib: lib.tensor([[4, 1, 3, 2]]).median(),
    "median_int_dim": lambda lib: lib.tensor([[4, 1, 3, 2]]).median(1),
    "median_scalar": lambda lib: lib.tensor(2.5).median(0),
    "median_scalar_keepdim": lambda lib: lib.tensor(2.5).median(-1, keepdim=True),
    "median_dim_out_of_range": lambda lib: lib.zeros(3, 4).median(2),
    "median_tuple_dim": lambda lib: lib.zeros(3, 4).median(dim=(0, 1)),
    "kthvalue_k_too_large": lambda lib: lib.zeros(3, 4).kthvalue(5, 1),
    "kthvalue_k_zero": lambda lib: lib.zeros(3, 4).kthvalue(0),
    "kthvalue_empty": lambda lib: lib.zeros(0).kthvalue(1),
    "kthvalue_empty_rows": lambda lib: lib.zeros(2, 0).kthvalue(1, 0),
    "mode_empty": lambda lib: lib.zeros(0).mode(),
    "mode_empty_rows": lambda lib: lib.zeros(2, 0).mode(0),
    "mode_scalar": lambda lib: lib.tensor(3.0).mode(),
    "mode_counts_each_nan_apart": lambda lib: lib.tensor([[1.0, 1.0, float("nan"), float("nan"), float("nan")],
                                                         [float("nan"), 2.0, 0.5, 2.0, 3.0]]).mode(),
    "mode_tuple_dim": lambda lib: lib.zeros(3, 4).mode(dim=(0,)),
    "cumprod_int": lambda lib: lib.tensor([1, 2, 3]).cumprod(0),
    "cumprod_bool": lambda lib: lib.tensor([True, False]).cumprod(0),
    "cumprod_dtype": lambda lib: lib.tensor([1, 2, 3]).cumprod(0, dtype=lib.float64),
    "cumprod_empty": lambda lib: lib.zeros(0).cumprod(0),
    "cumprod_scalar": lambda lib: lib.tensor(3.0).cumprod(0),
    "cumprod_dim_out_of_range": lambda lib: lib.zeros(3).cumprod(1),
    "cummax_empty": lambda lib: lib.zeros(0).cummax(0),
    "cummin_scalar": lambda lib: lib.tensor(3.0).cummin(-1),
    "logcumsumexp_empty": lambda lib: lib.zeros(2, 0).logcumsumexp(1),
    "logcumsumexp_scalar": lambda lib: lib.tensor(3.0).logcumsumexp(0),
    "logcumsumexp_int": lambda lib: lib.tensor([1, 2]).logcumsumexp(0),
    "std_mean_int": lambda lib: lib.std_mean(lib.tensor([1, 2])),
    "var_mean_int": lambda lib: lib.var_mean(lib.tensor([1, 2])),
    "var_mean_empty": lambda lib: lib.var_mean(lib.zeros(0)),
    "std_mean_float64": lambda lib: lib.std_mean(lib.tensor([[1.0, 2.0, 4.0]], dtype=lib.float64), 1, True),
    "std_mean_unbiased_keyword": lambda lib: lib.std_mean(lib.tensor([[1.0, 2.0, 4.0]]), dim=1, unbiased=False),
    "aminmax_empty": lambda lib: lib.zeros(0).aminmax(),
    "aminmax_empty_rows": lambda lib: lib.zeros(2, 0).aminmax(dim=0),
    "aminmax_empty_dim": lambda lib: lib.zeros(2, 0).aminmax(dim=1),
    "aminmax_int": lambda lib: lib.tensor([3, 1, 2]).aminmax(),
    "aminmax_keepdim": lambda lib: lib.tensor([[3.0, 1.0], [2.0, 5.0]]).aminmax(keepdim=True),
    "aminmax_scalar": lambda lib: lib.tensor(3.0).aminmax(dim=0),
    "quantile_q_too_large": lambda lib: lib.zeros(3).quantile(1.5),
    "quantile_q_tensor_too_large": lambda lib: lib.zeros(3).quantile(lib.tensor([0.5, 1.5])),
    "quantile_q_2d": lambda lib: lib.zeros(3).quantile(lib.tensor([[0.5]])),
    "quantile_q_dtype": lambda lib: lib.zeros(3, dtype=lib.float64).quantile(lib.tensor([0.5])),
    "quantile_bad_interpolation": lambda lib: lib.zeros(3).quantile(0.5, interpolation="cubic"),
    "quantile_int": lambda lib: lib.tensor([1, 2]).quantile(0.5),
    "quantile_empty": lambda lib: lib.zeros(0).quantile(0.5),
    "quantile_empty_rows": lambda lib: lib.zeros(2, 0).quantile(0.5, dim=0),
    "quantile_scalar": lambda lib: lib.tensor(3.0).quantile(0.5, dim=0),
    "quantile_scalar_q_tensor": lambda lib: lib.tensor([1.0, 4.0, 2.0]).quantile(lib.tensor(0.5)),
    "quantile_keepdim_all": lambda lib: lib.tensor([[1.0, 4.0], [2.0, 3.0]]).quantile(lib.tensor([0.2, 0.9]),
                                                                                    keepdim=True),
    "quantile_nan": lambda lib: lib.tensor([[1.0, float("nan"), 2.0], [3.0, 1.0, 2.0]]).quantile(0.5, 1),
    "nanquantile_all_nan": lambda lib: lib.tensor([[float("nan")] * 2, [3.0, 1.0]]).nanquantile(0.4, 1),
    "nanquantile_q_too_large": lambda lib: lib.zeros(3).nanquantile(-0.5),
    "nearest_rounds_half_to_even": lambda lib: lib.arange(6.0).quantile(lib.tensor([0.1, 0.3, 0.5, 0.7, 0.9]),
                                                                        interpolation="nearest"),
    "diff_negative_order": lambda lib: lib.zeros(3).diff(-1),
    "diff_scalar": lambda lib: lib.tensor(3.0).diff(),
    "diff_int": lambda lib: lib.tensor([1, 4, 9]).diff(),
    "diff_bool": lambda lib: lib.tensor([True, False, False, True]).diff(),
    "diff_order_zero": lambda lib: lib.tensor([1.0, 4.0]).diff(0),
    "diff_past_the_length": lambda lib: lib.zeros(3, 4).diff(9, 1),
    "diff_prepend_of_other_dims": lambda lib: lib.zeros(3, 4).diff(prepend=lib.zeros(3)),
    "diff_append_promotes": lambda lib: lib.tensor([1, 2]).diff(append=lib.tensor([0.5])),
    "diff_prepend_number": lambda lib: lib.diff(lib.zeros(3), prepend=1),
    "diff_append_number": lambda lib: lib.zeros(3).diff(append=2.0),
}


def _outcome(fn, lib):
    """fn(lib) as (shape, dtype, values) of each tensor, or (error type, message)."""
    try:
        result = fn(lib)
    except Exception as error:  # noqa: BLE001 (the comparison is of the errors)
        return type(error).__name__, str(error).split("\n")[0]
    results = tuple(result) if isinstance(result, tuple) else (result,)
    return [(tuple(r.shape), r.numpy().dtype, r.numpy().tolist()) for r in results]


@pytest.mark.filterwarnings("ignore:var.*degrees of freedom is <= 0")  # both libraries warn of a variance of none
@pytest.mark.parametrize("fn", RESULTS.values(), ids=RESULTS.keys())
def test_results_dtypes_empty_inputs_and_errors_match_torch(fn):
    ours, theirs = _outcome(fn, mg), _outcome(fn, torch)
    if isinstance(theirs, list):
        assert isinstance(ours, list), ours
        for (shape, dtype, values), (their_shape, their_dtype, their_values) in zip(ours, theirs):
            assert (shape, dtype) == (their_shape, their_dtype)
            np.testing.assert_allclose(values, their_values, rtol=1e-6)
    else:
        assert ours == theirs


def test_pairs_are_named_as_torchs():
    x = mg.tensor([[3.0, 1.0, 2.0]])
    for pair in (x.median(1), x.nanmedian(1), x.kthvalue(1), x.mode(), x.cummax(1), x.cummin(1)):
        assert pair.values is pair[0] and pair.indices is pair[1] and pair.indices.dtype == np.int64
    low, high = mg.aminmax(x)
    assert (low.item(), high.item()) == (x.aminmax().min.item(), x.aminmax().max.item()) == (1.0, 3.0)


GPU_CASES = ["nansum_dim", "nanmean_dim", "median", "median_dim", "nanmedian_dim", "kthvalue", "mode_distinct",
             "cumprod_zeros", "cummax", "cummin_dim0", "logcumsumexp", "std_mean", "aminmax_dim", "quantile_dim",
             "nanquantile", "diff_prepend_append"]


def test_gpu_path_matches_cpu(gpu_path):
    for name in GPU_CASES:
        fn, inputs = DIFFERENTIABLE[name]
        array = inputs(SHAPE).astype(np.float32)
        results = []
        for device in ("cpu", "gpu"):
            x = mg.tensor(array, requires_grad=True, device=device)
            result = fn(mg, x)
            values = _first(result)
            direction = np.random.default_rng(1).standard_normal(values.shape).astype(np.float32)
            (values * mg.tensor(direction, device=device)).nansum().backward()
            assert values.device == x.grad.device == device
            results.append([values.numpy(), x.grad.numpy()] + ([result[1].numpy()] if isinstance(result, tuple)
                                                               and result[1].dtype == np.int64 else []))
        for ours, reference in zip(*results):  # a GPU sums in another order
            assert relative_error(np.nan_to_num(ours), np.nan_to_num(reference)) <= 1e-5, name
