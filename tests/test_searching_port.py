"""torch's special element-wise functions (erfc, erfinv, lgamma, digamma, i0, sinc, heaviside, minigrad.special),
scattering (scatter_reduce, index_put, put, masked_scatter, fill_diagonal_), searching and counting (unique,
unique_consecutive, bincount, histc, searchsorted, bucketize) and statistics (cov, corrcoef, trapezoid,
cumulative_trapezoid) against torch: values and gradients in float32, float64 gradchecks, integer results compared
exactly, result dtypes, torch's errors, and the GPU path."""
import math

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, differentiable_case_tests, normal, uniform

torch = pytest.importorskip("torch")

NAN, INF = math.nan, math.inf


SCATTERED = np.array([[0, 2, 2, 4], [1, 1, 1, 1], [3, 0, 3, 0]])  # where scatter_reduce's cases reduce src into


def scatter_reduce(reduce, dim=1, **options):
    """fn(lib, self, src) of scatter_reduce into a (3, 5) self at SCATTERED (transposed for dim 0)."""
    index = SCATTERED if dim == 1 else SCATTERED.T
    return lambda lib, a, src: a.scatter_reduce(dim, lib.tensor(index, device=a.device), src, reduce, **options)


def rows(lib, like, values):
    """An index tensor of `values` on like's device."""
    return lib.tensor(values, device=like.device)


# name -> (fn(lib, *tensors), makers of the inputs); fn runs on torch and on minigrad alike, every input
# differentiable, values away from the poles.
CASES = {
    "erfc": (lambda lib, a: lib.erfc(a), [normal(3, 4, scale=2)]),
    "erfinv": (lambda lib, a: a.erfinv(), [uniform(-0.95, 0.95, 3, 4)]),
    "lgamma": (lambda lib, a: lib.lgamma(a), [uniform(0.1, 6, 3, 4)]),
    "lgamma negative": (lambda lib, a: a.lgamma(), [uniform(-2.9, -2.1, 5)]),
    "digamma": (lambda lib, a: lib.digamma(a), [uniform(0.2, 6, 3, 4)]),
    "digamma negative": (lambda lib, a: a.digamma(), [uniform(-1.8, -1.2, 5)]),
    "i0": (lambda lib, a: lib.i0(a), [normal(3, 4, scale=3)]),
    "sinc": (lambda lib, a: lib.sinc(a), [normal(3, 4, scale=2)]),
    "sinc of a 0-d tensor": (lambda lib, a: lib.sinc(a), [normal(scale=2)]),
    "special.erfc": (lambda lib, a: lib.special.erfc(a), [normal(5)]),
    "special.erfinv": (lambda lib, a: lib.special.erfinv(a), [uniform(-0.9, 0.9, 5)]),
    "special.gammaln": (lambda lib, a: lib.special.gammaln(a), [uniform(0.2, 4, 5)]),
    "special.digamma": (lambda lib, a: lib.special.digamma(a), [uniform(0.2, 4, 5)]),
    "special.psi": (lambda lib, a: lib.special.psi(a), [uniform(0.2, 4, 5)]),
    "special.i0": (lambda lib, a: lib.special.i0(a), [normal(5)]),
    "special.sinc": (lambda lib, a: lib.special.sinc(a), [normal(5)]),
    "special.expit": (lambda lib, a: lib.special.expit(a), [normal(5)]),
    "special.logit": (lambda lib, a: lib.special.logit(a), [uniform(0.1, 0.9, 5)]),
    "special.xlogy": (lambda lib, a, b: lib.special.xlogy(a, b), [normal(5), uniform(0.2, 3, 5)]),
    "special.log_softmax": (lambda lib, a: lib.special.log_softmax(a, 1), [normal(2, 5)]),
    "special.logsumexp": (lambda lib, a: lib.special.logsumexp(a, 0), [normal(2, 5)]),
    "cov": (lambda lib, a: lib.cov(a), [normal(3, 6)]),
    "cov 1-d": (lambda lib, a: a.cov(correction=0), [normal(6)]),
    "cov weighted": (lambda lib, a, w: lib.cov(a, fweights=lib.tensor([1, 3, 2, 1, 1], device=a.device),
                                                aweights=w),
                     [normal(2, 5), uniform(0.2, 2, 5)]),
    "corrcoef": (lambda lib, a: lib.corrcoef(a), [normal(3, 6)]),
    "corrcoef method": (lambda lib, a: a.corrcoef(), [normal(2, 5)]),
    "trapezoid": (lambda lib, y: lib.trapezoid(y), [normal(3, 5)]),
    "trapezoid dx": (lambda lib, y: lib.trapezoid(y, dx=0.5, dim=0), [normal(3, 5)]),
    "trapezoid x": (lambda lib, y, x: lib.trapezoid(y, x), [normal(3, 5), normal(5)]),
    "trapezoid x broadcast": (lambda lib, y, x: lib.trapezoid(y, x, dim=0), [normal(4, 3), normal(4, 1)]),
    "trapz": (lambda lib, y, x: lib.trapz(y, x), [normal(3, 5), normal(5)]),
    "cumulative_trapezoid": (lambda lib, y: lib.cumulative_trapezoid(y, dx=2.0), [normal(3, 5)]),
    "cumulative_trapezoid x": (lambda lib, y, x: lib.cumulative_trapezoid(y, x, dim=0), [normal(4, 3), normal(4)]),
    **{f"scatter_reduce {reduce}{' without self' * (not include_self)}": (
        scatter_reduce(reduce, include_self=include_self), [normal(3, 5), normal(3, 4)])
       for reduce in ("sum", "prod", "mean", "amax", "amin") for include_self in (True, False)},
    "scatter_reduce dim 0": (scatter_reduce("amax", dim=0), [normal(5, 3), normal(4, 3)]),
    "index_put": (lambda lib, a, v: a.index_put((rows(lib, a, [0, 2, 1]), rows(lib, a, [1, 3, 3])), v),
                  [normal(3, 5), normal(3)]),
    "index_put accumulate": (lambda lib, a, v: lib.index_put(a, (rows(lib, a, [0, 2, 0]),), v, accumulate=True),
                             [normal(3, 5), normal(5)]),
    "index_put mask": (lambda lib, a, v: a.index_put((rows(lib, a, [True, False, True]),), v), [normal(3, 5),
                                                                                                 normal(2, 1)]),
    "index_put_": (lambda lib, a, v: (a * 1).index_put_((rows(lib, a, [1, 1]), rows(lib, a, [0, 4])), v, True),
                   [normal(3, 5), normal(2)]),
    "put": (lambda lib, a, v: a.put(rows(lib, a, [[0, 7], [-1, 3]]), v), [normal(3, 5), normal(2, 2)]),
    "put accumulate": (lambda lib, a, v: lib.put(a, rows(lib, a, [4, 4, -1]), v, accumulate=True),
                       [normal(3, 5), normal(3)]),
    "put_": (lambda lib, a, v: (a * 1).put_(rows(lib, a, [2, 6]), v), [normal(3, 5), normal(2)]),
    "masked_scatter": (lambda lib, a, v: a.masked_scatter(a > 0, v), [normal(3, 5), normal(4, 5)]),
    "masked_scatter broadcast": (lambda lib, a, v: lib.masked_scatter(a, rows(lib, a, [[True], [False]]), v),
                                 [normal(3), normal(7)]),
    "masked_scatter_": (lambda lib, a, v: (a * 1).masked_scatter_(rows(lib, a, [True, False, True]), v),
                        [normal(2, 3), normal(6)]),
    "fill_diagonal_": (lambda lib, a: (a * 2).fill_diagonal_(0.5), [normal(4, 4)]),
    "fill_diagonal_ wrap": (lambda lib, a: (a * 2).fill_diagonal_(-1.0, wrap=True), [normal(7, 3)]),
    "fill_diagonal_ cube": (lambda lib, a: (a * 2).fill_diagonal_(3.0), [normal(3, 3, 3)]),
    "scatter_reduce function": (lambda lib, a, src: lib.scatter_reduce(a, 1, lib.tensor(SCATTERED, device=a.device),
                                                                       src, reduce="mean", include_self=False),
                                [normal(3, 5), normal(3, 4)]),
}


test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(
    torch, CASES)


# Values and gradients where torch defines its own: poles, the ends of erfinv's range, sinc at 0.
SPECIAL_POINTS = {
    "erfc": [-INF, 0.0, 10.0, INF, NAN],
    "erfinv": [-1.0, 1.0, 0.0, 1.5, -2.0],
    "lgamma": [0.0, -1.0, 1.0, 2.0, INF],
    "digamma": [0.0, -0.0, 1.0, 1e-4],
    "i0": [0.0, -INF, 50.0],
    "sinc": [0.0, -0.0, 1.0, 1e-3, INF],
}


@pytest.mark.parametrize("name", SPECIAL_POINTS)
def test_special_points_as_torch(name):
    results = []
    for lib in (torch, mg):
        x = lib.tensor(np.float32(SPECIAL_POINTS[name]), requires_grad=True)
        out = getattr(lib, name)(x)
        out.sum().backward()
        results.append((out.detach().numpy(), x.grad.numpy()))
    np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", SPECIAL_POINTS)
@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_integer_inputs_give_float32_as_torch(name, dtype):
    values = np.array([0, 1, 1, 0], dtype=dtype)
    expected = getattr(torch, name)(torch.tensor(values))
    got = getattr(mg, name)(mg.tensor(values))
    assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


def test_heaviside_as_torch():
    for values, at_zero in [([NAN, -0.0, 0.0, 2.0, -3.0], [0.5]), ([[-1, 0, 4]], [[7], [2]])]:
        dtype = np.float32 if isinstance(at_zero[0], float) else np.int64
        a, b = np.array(values, dtype=dtype), np.array(at_zero, dtype=dtype)
        expected = torch.heaviside(torch.tensor(a), torch.tensor(b))
        for got in (mg.heaviside(mg.tensor(a), mg.tensor(b)), mg.tensor(a).heaviside(mg.tensor(b))):
            assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
            np.testing.assert_array_equal(got.numpy(), expected.numpy())
    assert mg.heaviside(mg.tensor([1.0], requires_grad=True), mg.tensor([0.5])).requires_grad  # as torch's


# Ties (amax and amin share the gradient among them) and zero factors (prod's gradient without dividing by 0).
SCATTER_POINTS = {
    "amax": ([[1.0, 2.0, 0.0, 5.0, 5.0]], [[2.0, 2.0, -1.0, 5.0]]),
    "amin": ([[1.0, 2.0, 0.0, -5.0, 3.0]], [[1.0, 7.0, -1.0, -5.0]]),
    "prod": ([[0.0, 2.0, 0.0, 3.0, 0.0]], [[4.0, 0.0, 0.0, 2.0]]),
    "mean": ([[1.0, 2.0, 0.0, 3.0, 4.0]], [[4.0, 1.0, 1.0, 2.0]]),
}


@pytest.mark.parametrize("reduce", SCATTER_POINTS)
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_and_zeros_as_torch(reduce, include_self):
    results = []
    for lib in (torch, mg):
        a, src = (lib.tensor(values, requires_grad=True) for values in SCATTER_POINTS[reduce])
        out = a.scatter_reduce(1, lib.tensor([[0, 0, 2, 3]]), src, reduce, include_self=include_self)
        (out * lib.tensor([[1.0, -2.0, 3.0, 0.5, 2.0]])).sum().backward()
        results.append([out.detach().numpy(), a.grad.numpy(), src.grad.numpy()])
    for ours, theirs in zip(*results[::-1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin", "max", "min"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_of_integers_as_torch(reduce, include_self):
    a, src = np.array([[3, -7, 2, 9, 0]]), np.array([[5, 2, -4, 7]])
    expected = torch.tensor(a).scatter_reduce(1, torch.tensor([[0, 0, 2, 2]]), torch.tensor(src), reduce,
                                              include_self=include_self)
    got = mg.tensor(a).scatter_reduce(1, mg.tensor([[0, 0, 2, 2]]), mg.tensor(src), reduce,
                                      include_self=include_self)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_scatter_reduce_in_place_as_torch():
    results = []
    for lib in (torch, mg):
        a = lib.tensor([[1.0, 2.0, 3.0]])
        returned = a.scatter_reduce_(1, lib.tensor([[2, 2]]), lib.tensor([[4.0, 5.0]]), "amax", include_self=False)
        results.append((returned is a, a.numpy()))
    assert results[1][0] and results[0][0]
    np.testing.assert_array_equal(results[1][1], results[0][1])


ERRORS = {
    "heaviside dtypes": lambda lib: lib.heaviside(lib.tensor([1.0, 0.0]), lib.tensor([2])),
    "heaviside number": lambda lib: lib.heaviside(lib.tensor([1.0, 0.0]), 2.0),
    "unique dim": lambda lib: lib.unique(lib.zeros(2, 3), dim=2),
    "bincount float": lambda lib: lib.bincount(lib.tensor([1.0, 3.0])),
    "bincount bool": lambda lib: lib.bincount(lib.tensor([True, False])),
    "bincount negative": lambda lib: lib.bincount(lib.tensor([1, -3, 1])),
    "bincount 2-d": lambda lib: lib.bincount(lib.tensor([[1, 3]])),
    "bincount minlength": lambda lib: lib.bincount(lib.tensor([1, 3]), minlength=-1),
    "bincount weights": lambda lib: lib.bincount(lib.tensor([1, 3]), weights=lib.ones(3)),
    "histc integers": lambda lib: lib.histc(lib.tensor([1, 2, 3]), bins=4),
    "histc bins": lambda lib: lib.histc(lib.tensor([1.0, 2.0]), bins=0),
    "histc range": lambda lib: lib.histc(lib.tensor([1.0, 2.0]), bins=4, min=3, max=1),
    "histc infinite": lambda lib: lib.histc(lib.tensor([1.0, 2.0, INF]), bins=4),
    "searchsorted sides": lambda lib: lib.searchsorted(lib.tensor([1.0, 2.0]), lib.tensor([2.0]), side="left",
                                                       right=True),
    "searchsorted side": lambda lib: lib.searchsorted(lib.tensor([1.0, 2.0]), lib.tensor([2.0]), side="middle"),
    "searchsorted shapes": lambda lib: lib.searchsorted(lib.tensor([[1.0, 2, 3], [1, 2, 3]]),
                                                        lib.tensor([[2.0], [3], [4]])),
    "searchsorted 0-d": lambda lib: lib.searchsorted(lib.tensor(1.0), lib.tensor([2.0])),
    "searchsorted sorter": lambda lib: lib.searchsorted(lib.tensor([1.0, 2, 3]), lib.tensor([2.0]),
                                                        sorter=lib.tensor([0, 1])),
    "bucketize 2-d": lambda lib: lib.bucketize(lib.tensor([2.0]), lib.tensor([[1.0, 2, 3]])),
    "cov 3-d": lambda lib: lib.cov(lib.zeros(2, 2, 2)),
    "cov fweights dtype": lambda lib: lib.cov(lib.ones(2, 3), fweights=lib.tensor([1.0, 2, 1])),
    "cov fweights negative": lambda lib: lib.cov(lib.ones(2, 3), fweights=lib.tensor([1, -2, 1])),
    "cov aweights dtype": lambda lib: lib.cov(lib.ones(2, 3), aweights=lib.tensor([1, 2, 1])),
    "cov aweights negative": lambda lib: lib.cov(lib.ones(2, 3), aweights=lib.tensor([1.0, -2, 1])),
    "cov aweights size": lambda lib: lib.cov(lib.ones(2, 3), aweights=lib.tensor([1.0, 2])),
    "cov fweights 2-d": lambda lib: lib.cov(lib.ones(2, 3), fweights=lib.ones(1, 3, dtype=lib.int64)),
    "scatter_reduce reduce": lambda lib: lib.ones(2, 3).scatter_reduce(1, lib.tensor([[0]]), lib.ones(1, 1), "add"),
    "scatter_reduce dtypes": lambda lib: lib.ones(2, 3).scatter_reduce(1, lib.tensor([[0]]), lib.tensor([[1]]), "sum"),
    "scatter_reduce index dtype": lambda lib: lib.ones(2, 3).scatter_reduce(1, lib.ones(1, 1), lib.ones(1, 1), "sum"),
    "scatter_reduce bounds": lambda lib: lib.ones(2, 3).scatter_reduce(1, lib.tensor([[3]]), lib.ones(1, 1), "mean"),
    "scatter_reduce src": lambda lib: lib.ones(2, 3).scatter_reduce(1, lib.tensor([[0]]), 1.0, "sum"),
    "index_put dtypes": lambda lib: lib.zeros(3, 4).index_put((lib.tensor([0, 2]),), lib.tensor([1, 2, 3, 4])),
    "index_put shapes": lambda lib: lib.zeros(3, 4).index_put_((lib.tensor([0, 2]),), lib.tensor([1.0, 2])),
    "index_put values": lambda lib: lib.zeros(3, 4).index_put_((lib.tensor([0, 2]),), 5.0),
    "index_put indices": lambda lib: lib.zeros(3, 4).index_put(lib.tensor([0, 2]), lib.tensor(1.0)),
    "put dtypes": lambda lib: lib.zeros(3, 4).put(lib.tensor([0, 1]), lib.tensor([1, 2])),
    "put sizes": lambda lib: lib.zeros(3, 4).put(lib.tensor([0, 1]), lib.tensor([1.0, 2, 3])),
    "put index dtype": lambda lib: lib.zeros(3, 4).put(lib.tensor([0.0, 1]), lib.tensor([1.0, 2])),
    "put bounds": lambda lib: lib.zeros(3, 4).put_(lib.tensor([0, -13]), lib.tensor([1.0, 2])),
    "masked_scatter mask": lambda lib: lib.zeros(3, 4).masked_scatter(lib.tensor([1, 0, 1, 0]), lib.ones(12)),
    "masked_scatter dtypes": lambda lib: lib.zeros(3, 4).masked_scatter(lib.tensor([True, False, True, False]),
                                                                      lib.ones(12, dtype=lib.int64)),
    "masked_scatter short": lambda lib: lib.zeros(3, 4).masked_scatter(lib.tensor([True, False, True, False]),
                                                                     lib.ones(5)),
    "fill_diagonal_ 1-d": lambda lib: lib.zeros(2).fill_diagonal_(1.0),
    "fill_diagonal_ lengths": lambda lib: lib.zeros(2, 3, 3).fill_diagonal_(1.0),
    "trapezoid x size": lambda lib: lib.trapezoid(lib.ones(2, 3), lib.tensor([0.0, 1])),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torch(name):
    assert_raises_as_torch(lambda: ERRORS[name](torch), lambda: ERRORS[name](mg))


def test_both_x_and_dx_is_a_type_error_as_torch():
    for lib in (torch, mg):
        with pytest.raises(TypeError, match="trapezoid\\(\\) received an invalid combination of arguments"):
            lib.trapezoid(lib.ones(3), lib.ones(3), dx=2)


# Searching and counting: name -> fn(lib, *tensors) and its inputs (NumPy arrays, made tensors of each library).
SEARCHES = {
    "unique": (lambda lib, a: lib.unique(a), [np.array([3, 1, 3, 2, 1, 7])]),
    "unique all": (lambda lib, a: lib.unique(a, return_inverse=True, return_counts=True),
                   [np.array([[3.0, NAN, 1.0], [NAN, 3.0, 2.0]], dtype=np.float32)]),
    "unique unsorted": (lambda lib, a: a.unique(sorted=False, return_inverse=True), [np.array([5, 1, 5, 0, 1])]),
    "unique counts": (lambda lib, a: lib.unique(a, return_counts=True), [np.array([True, False, True])]),
    "unique 0-d": (lambda lib, a: lib.unique(a, return_inverse=True), [np.array(5.0, dtype=np.float32)]),
    "unique dim 0": (lambda lib, a: lib.unique(a, dim=0, return_inverse=True, return_counts=True),
                     [np.array([[3, 1], [3, 1], [0, 5], [0, 4]])]),
    "unique dim 1": (lambda lib, a: a.unique(dim=-1, return_inverse=True, return_counts=True),
                     [np.array([[1, 3, 1, 0], [2, 0, 2, 0]])]),
    "unique dim empty": (lambda lib, a: lib.unique(a, dim=0, return_inverse=True, return_counts=True),
                         [np.zeros((0, 3), dtype=np.float32)]),
    "unique_consecutive": (lambda lib, a: lib.unique_consecutive(a, return_inverse=True, return_counts=True),
                           [np.array([[1, 1, 2], [2, 2, 1]])]),
    "unique_consecutive plain": (lambda lib, a: a.unique_consecutive(), [np.array([1.0, 1.0, NAN, NAN, 3.0])]),
    "unique_consecutive dim": (lambda lib, a: lib.unique_consecutive(a, return_inverse=True, return_counts=True,
                                                                     dim=1),
                               [np.array([[3, 3, 1, 3], [1, 1, 5, 1]])]),
    "unique_consecutive empty": (lambda lib, a: lib.unique_consecutive(a, return_counts=True),
                                 [np.zeros(0, dtype=np.int64)]),
    "bincount": (lambda lib, a: lib.bincount(a), [np.array([1, 3, 1, 0, 7])]),
    "bincount minlength": (lambda lib, a: a.bincount(minlength=10), [np.array([1, 3, 1])]),
    "bincount empty": (lambda lib, a: lib.bincount(a), [np.zeros(0, dtype=np.int64)]),
    "bincount float32 weights": (lambda lib, a, w: lib.bincount(a, w), [np.array([1, 3, 1]),
                                                                        np.float32([0.5, 1, 2])]),
    "bincount float64 weights": (lambda lib, a, w: lib.bincount(a, weights=w, minlength=5),
                                 [np.array([1, 3, 1]), np.array([0.5, 1, 2])]),
    "bincount integer weights": (lambda lib, a, w: lib.bincount(a, w), [np.array([1, 3, 1]), np.array([1, 2, 3])]),
    "histc": (lambda lib, a: lib.histc(a, bins=7), [np.random.default_rng(0).standard_normal(50).astype(np.float32)]),
    "histc range": (lambda lib, a: a.histc(bins=4, min=-1, max=1), [np.float32([-2, -1, 0, 0.5, 1, 3])]),
    "histc point": (lambda lib, a: lib.histc(a, bins=4), [np.float32([2, 2])]),
    "histc float64": (lambda lib, a: lib.histc(a, 5, 0, 1), [np.random.default_rng(1).uniform(-0.5, 1.5, 40)]),
    "histc empty": (lambda lib, a: lib.histc(a, bins=3), [np.zeros(0, dtype=np.float32)]),
    "searchsorted": (lambda lib, s, v: lib.searchsorted(s, v), [np.float32([1, 2, 2, 3, 5]),
                                                               np.float32([[0, 2, 4], [5, 6, 2.5]])]),
    "searchsorted right": (lambda lib, s, v: lib.searchsorted(s, v, right=True), [np.float32([1, 2, 2, 3, 5]),
                                                                                 np.float32([0, 2, 4, 5, 6])]),
    "searchsorted side": (lambda lib, s, v: lib.searchsorted(s, v, side="right", out_int32=True),
                          [np.array([1, 2, 2, 3]), np.array([2, 3, 0])]),
    "searchsorted number": (lambda lib, s: lib.searchsorted(s, 2.5), [np.array([1, 2, 3])]),
    "searchsorted mixed dtypes": (lambda lib, s, v: lib.searchsorted(s, v), [np.array([1, 2, 3]),
                                                                            np.float32([2.5, 2.0])]),
    "searchsorted sorter": (lambda lib, s, v, o: lib.searchsorted(s, v, sorter=o),
                            [np.float32([3, 1, 2]), np.float32([2, 0.5, 3]), np.array([1, 2, 0])]),
    "searchsorted batched": (lambda lib, s, v: lib.searchsorted(s, v),
                             [np.float32([[1, 2, 2, 3], [0, 5, 6, 9]]),
                              np.float32([[2, 2.5, 0, 4, 3], [6, 9, 10, 0, 5]])]),
    "searchsorted batched right": (lambda lib, s, v: lib.searchsorted(s, v, side="right"),
                                   [np.array([[[1, 2, 2, 3]], [[0, 5, 6, 9]]]), np.array([[[2, 2, 0, 4, 3]],
                                                                                         [[6, 9, 10, 0, 5]]])]),
    "searchsorted batched sorter": (lambda lib, s, v, o: lib.searchsorted(s, v, sorter=o, out_int32=True),
                                    [np.float32([[3, 1, 2], [0, 9, 4]]), np.float32([[2, 3], [5, 10]]),
                                     np.array([[1, 2, 0], [0, 2, 1]])]),
    "bucketize": (lambda lib, v, b: lib.bucketize(v, b), [np.float32([[0, 2, 4], [5, 6, 2.5]]),
                                                          np.float32([1, 2, 3, 5])]),
    "bucketize right": (lambda lib, v, b: lib.bucketize(v, b, right=True, out_int32=True),
                        [np.array([0, 2, 4, 5, 6]), np.array([1, 2, 3, 5])]),
    "bucketize number": (lambda lib, b: lib.bucketize(2.0, b), [np.float32([1, 2, 3])]),
}


def _outputs(result):
    return list(result) if isinstance(result, tuple) else [result]


@pytest.mark.parametrize("name", SEARCHES)
def test_searching_and_counting_match_torch_exactly(name):
    fn, arrays = SEARCHES[name]
    expected = _outputs(fn(torch, *map(torch.tensor, arrays)))
    got = _outputs(fn(mg, *map(mg.tensor, arrays)))
    assert len(got) == len(expected)
    for ours, theirs in zip(got, expected):
        assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.") and ours.shape == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_searching_leaves_the_graph_as_torch():
    x = mg.tensor([3.0, 1.0, 3.0], requires_grad=True)
    assert not any(t.requires_grad for t in (mg.unique(x), x.unique_consecutive(), mg.histc(x, bins=3),
                                             mg.searchsorted(x, x), mg.bucketize(x, x.detach())))


def test_cov_warns_of_no_degrees_of_freedom_as_torch():
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        expected = torch.cov(torch.tensor([1.0]))
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        got = mg.cov(mg.tensor([1.0]))
    np.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize("name", ["cov", "corrcoef", "trapezoid", "cumulative_trapezoid"])
def test_integer_statistics_give_float32_as_torch(name):
    values = np.array([[1, 2, 4], [0, 3, 5]])
    expected = getattr(torch, name)(torch.tensor(values))
    got = getattr(mg, name)(mg.tensor(values))
    assert str(got.dtype) == str(expected.dtype).removeprefix("torch.")
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", SEARCHES)
def test_gpu_path_searching_matches_cpu(name, gpu_path):
    fn, arrays = SEARCHES[name]
    cpu = _outputs(fn(mg, *map(mg.tensor, arrays)))
    gpu = _outputs(fn(mg, *(mg.tensor(a, device="gpu") for a in arrays)))
    for ours, reference in zip(gpu, cpu):
        assert ours.device == "gpu" and ours.dtype == reference.dtype
        np.testing.assert_array_equal(ours.numpy(), reference.numpy())
