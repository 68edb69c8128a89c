"""minigrad's function forms of the Tensor methods (mg.exp(t), mg.sum(t, dim=1), ...) against torch's, and the Tensor
methods that test values (isnan, logical_and, nonzero, ...) or draw them (uniform_, normal_)."""
import re

import numpy as np
import pytest

import minigrad as mg
from minigrad.torch_functions import FUNCTIONS

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).uniform(-2, 2, size=(3, 4)).astype(np.float32)
UNIT = np.random.default_rng(1).uniform(0.05, 0.95, size=(3, 4)).astype(np.float32)
INTEGERS = np.array([[0, 3, -1, 0], [2, 0, 0, 5]], dtype=np.int64)
SPECIALS = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], dtype=np.float32)
MASK = X > 0

# name: (the arguments, arrays made tensors of either library, then any others; keyword arguments)
CALLS = {
    "abs": ((X,), {}), "acos": ((UNIT,), {}), "all": ((INTEGERS,), {"dim": 1}), "amax": ((X,), {"dim": 0}),
    "amin": ((X,), {"dim": 1, "keepdim": True}), "any": ((INTEGERS,), {}), "argmax": ((X,), {"dim": 1}), "as_strided": ((X, (2, 3), (1, 2), 1), {}),
    "argmin": ((X,), {}), "asin": ((UNIT,), {}), "atan": ((X,), {}), "ceil": ((X,), {}),
    "chunk": ((X, 3), {"dim": 1}), "clamp": ((X,), {"min": -0.5, "max": 0.5}), "clamp_max": ((X, 0.3), {}),
    "clamp_min": ((X, 0.3), {}), "clip": ((X, -1.0), {}), "cos": ((X,), {}), "cosh": ((X,), {}),
    "count_nonzero": ((INTEGERS,), {"dim": 0}), "cumsum": ((X, 1), {}), "erf": ((X,), {}), "exp": ((X,), {}),
    "exp2": ((X,), {}), "expm1": ((X,), {}), "flatten": ((X,), {}), "flip": ((X, (0,)), {}), "floor": ((X,), {}),
    "floor_divide": ((INTEGERS, 2), {}), "frac": ((X,), {}), "gather": ((X, 1, INTEGERS.clip(0, 3)[:, :2]), {}),
    "index_select": ((X, 1, np.array([2, 0, 2])), {}), "is_floating_point": ((INTEGERS,), {}),
    "isfinite": ((SPECIALS,), {}), "isinf": ((SPECIALS,), {}), "isnan": ((SPECIALS,), {}),
    "isneginf": ((SPECIALS,), {}), "isposinf": ((SPECIALS,), {}), "isreal": ((SPECIALS,), {}), "log": ((UNIT,), {}),
    "log10": ((UNIT,), {}), "log1p": ((UNIT,), {}), "log2": ((UNIT,), {}), "log_softmax": ((X, 1), {}),
    "logical_and": ((X, INTEGERS[:1]), {}), "logical_not": ((INTEGERS,), {}), "logical_or": ((MASK, INTEGERS[1]), {}),
    "logical_xor": ((X, INTEGERS[:1]), {}), "logit": ((UNIT,), {"eps": 0.2}), "logsumexp": ((X, 1), {}),
    "masked_fill": ((X, MASK, 0.5), {}), "matmul": ((X, X.T), {}), "max": ((X,), {"dim": 1}),
    "maximum": ((X, UNIT), {}), "mean": ((X,), {"dim": 0}), "min": ((X, UNIT), {}), "minimum": ((X, UNIT), {}),
    "nan_to_num": ((X,), {"nan": 1.0}), "narrow": ((X, 1, 1, 2), {}), "neg": ((X,), {}),
    "nextafter": ((X, UNIT), {}), "nonzero": ((INTEGERS,), {}), "norm": ((X,), {"dim": 1}),
    "numel": ((X,), {}), "permute": ((X, (1, 0)), {}), "pow": ((UNIT, X), {}), "prod": ((X, 1), {}),
    "reciprocal": ((UNIT,), {}), "relu": ((X,), {}), "remainder": ((X, 0.7), {}), "reshape": ((X, (2, 6)), {}),
    "roll": ((X, 1, 1), {}), "round": ((X,), {"decimals": 1}), "rsqrt": ((UNIT,), {}), "sigmoid": ((X,), {}),
    "sign": ((X,), {}), "sin": ((X,), {}), "sinh": ((X,), {}), "softmax": ((X, 0), {}), "sqrt": ((UNIT,), {}),
    "square": ((X,), {}), "squeeze": ((X[:1],), {}), "std": ((X,), {"dim": 1, "correction": 0}),
    "sum": ((INTEGERS,), {"dim": 1, "dtype": np.float64}), "t": ((X,), {}), "tan": ((X,), {}), "tanh": ((X,), {}),
    "transpose": ((X, 0, 1), {}), "trunc": ((X,), {}), "unbind": ((X, 1), {}), "unflatten": ((X, 1, (1, -1)), {}),
    "unsqueeze": ((X, 0), {}), "var": ((X, 1), {}), "split": ((X, [1, 3]), {"dim": 1}), "mm": ((X, X.T), {}),
    "bmm": ((X.reshape(2, 3, 2), X.reshape(2, 2, 3)), {}), "allclose": ((X, X + 1e-6), {}),
}
CALLS.update({  # the scatter family
    "scatter": ((X, 1, np.array([[0, 3], [2, 1], [1, 0]]), UNIT[:, :2]), {}),
    "scatter_add": ((X, 0, np.array([[0, 2, 0, 0], [2, 0, 0, 2]]), UNIT[:2]), {}),
    "index_add": ((X, 1, np.array([2, 0, 2]), UNIT[:, :3]), {"alpha": 2.0}),
    "scatter_reduce": ((X, 1, np.array([[0, 3], [2, 2], [1, 0]]), UNIT[:, :2], "prod"), {"include_self": False}),
    "index_put": ((X, (np.array([0, 2, 0]), np.array([1, 1, 1])), UNIT[0, :3]), {"accumulate": True}),
    "put": ((X, np.array([0, 7, -1]), UNIT[1, :3]), {}), "masked_scatter": ((X, MASK, UNIT), {}),
    "index_copy": ((X, 0, np.array([2, 0]), UNIT[:2]), {}), "index_fill": ((X, 1, np.array([1, 3]), -1.0), {}),
})

CALLS.update({
    "argsort": ((X, 0), {"descending": True}), "diag": ((X, 1), {}), "diagonal": ((X,), {"offset": -1}),
    "einsum": (("ij,kj->ik", X, UNIT), {}), "ger": ((X[0], X[1]), {}), "msort": ((X,), {}), "outer": ((X[0], X[1]), {}),
    "repeat_interleave": ((X, 2), {"dim": 0}), "sort": ((X,), {"dim": 0}), "topk": ((X, 2), {"largest": False}),
    "trace": ((X,), {}), "tril": ((X, -1), {}), "triu": ((X,), {"diagonal": 1}),
})
CALLS.update({"pinverse": ((X,), {})})  # see test_decompositions_port
CALLS.update({  # binary math (see test_binary_math_port)
    "arctan2": ((X, UNIT), {}), "atan2": ((X, UNIT[0]), {}), "copysign": ((UNIT, X), {}), "fmax": ((X, UNIT), {}),
    "fmin": ((X, UNIT), {}), "fmod": ((X, 0.7), {}), "hypot": ((X, UNIT), {}), "lerp": ((X, UNIT, 0.3), {}),
    "logaddexp": ((X, UNIT), {}), "logaddexp2": ((X, UNIT), {}), "xlogy": ((X, UNIT), {}),
    "addbmm": ((X[0, :3], X.reshape(4, 3, 1), UNIT.reshape(4, 1, 3)), {"beta": 0.5}), "addmm": ((X[0, :3], X, X.T), {}),
    "addmv": ((X[:, 0], X, UNIT[0]), {"alpha": 2}),
    "baddbmm": ((X[0, :3], X.reshape(2, 3, 2), UNIT.reshape(2, 2, 3)), {}),
    "dot": ((X[0], UNIT[1]), {}), "inner": ((X, UNIT), {}), "kron": ((X, UNIT[0]), {}), "mv": ((X, UNIT[0]), {}),
    "tensordot": ((X, UNIT), {"dims": ([1], [1])}), "vdot": ((X[2], UNIT[0]), {}),
    "cdist": ((X, UNIT), {"p": 1.0}), "cross": ((X[:, :3], UNIT[:, 1:]), {}), "dist": ((X, UNIT), {"p": 3}),
    "masked_select": ((X, MASK), {}), "renorm": ((X, 2, 1, 1.5), {}),
})

CALLS.update({  # special functions, searching, counting and statistics (see test_searching_port)
    "digamma": ((UNIT,), {}), "erfc": ((X,), {}), "erfinv": ((UNIT,), {}), "heaviside": ((INTEGERS, INTEGERS[0]), {}),
    "i0": ((X,), {}), "lgamma": ((UNIT,), {}), "sinc": ((X,), {}),
    "bincount": ((INTEGERS[1],), {"minlength": 7}), "bucketize": ((X, np.float32([-1, 0, 1])), {"right": True}),
    "histc": ((X,), {"bins": 5}), "searchsorted": ((np.sort(X, axis=1), UNIT), {"side": "right"}),
    "unique": ((INTEGERS,), {"return_counts": True}), "unique_consecutive": ((INTEGERS,), {"return_inverse": True}),
    "corrcoef": ((X,), {}), "cov": ((X,), {"correction": 0}), "cumulative_trapezoid": ((X, UNIT[0]), {}),
    "trapezoid": ((X,), {"dx": 0.5}), "trapz": ((X, UNIT[0]), {}),
})

CALLS.update({  # reductions and scans
    "aminmax": ((X,), {"dim": 1}), "cummax": ((X, 1), {}), "cummin": ((X, 0), {}), "cumprod": ((X, 1), {}),
    "diff": ((X,), {"dim": 0}), "kthvalue": ((X, 2), {"dim": 0}), "logcumsumexp": ((X, 1), {}),
    "median": ((X, 1), {}), "mode": ((INTEGERS,), {}), "nanmean": ((SPECIALS[:2],), {}),
    "nanmedian": ((SPECIALS[:2],), {}), "nanquantile": ((X, 0.4), {"dim": 1}), "nansum": ((SPECIALS[:2],), {}),
    "quantile": ((X, 0.4), {}), "std_mean": ((X, 1), {}), "var_mean": ((X,), {"correction": 0}),
})
CALLS.update({  # arithmetic, comparisons, shapes and joins (see test_shapes_port)
    "add": ((X, UNIT), {"alpha": 2}), "sub": ((X, 0.5), {"alpha": 3}), "subtract": ((X, UNIT[0]), {}),
    "mul": ((X, UNIT), {}), "multiply": ((X, 2), {}), "div": ((X, UNIT), {"rounding_mode": "trunc"}),
    "divide": ((X, UNIT), {}), "true_divide": ((INTEGERS, 2), {}), "rsub": ((X, UNIT), {"alpha": 0.5}),
    "eq": ((INTEGERS, 0), {}), "ne": ((X, UNIT), {}), "gt": ((X, UNIT), {}), "lt": ((X, 0.1), {}),
    "ge": ((X, UNIT[0]), {}), "le": ((INTEGERS, INTEGERS[0]), {}), "greater": ((X, 0.2), {}), "less": ((X, UNIT), {}),
    "greater_equal": ((INTEGERS, 2), {}), "less_equal": ((X, UNIT), {}), "not_equal": ((INTEGERS, 0), {}),
    "clone": ((X,), {}), "detach": ((X,), {}), "negative": ((X,), {}), "positive": ((X,), {}),
    "broadcast_to": ((X[0], (2, 3, 4)), {}), "movedim": ((X.reshape(3, 2, 2), 0, -1), {}),
    "moveaxis": ((X.reshape(3, 2, 2), (0, 1), (2, 0)), {}), "swapaxes": ((X, 0, 1), {}), "swapdims": ((X, 1, 0), {}),
    "select": ((X, 1, -2), {}), "take": ((X, np.array([[0, -1], [5, 5]])), {}),
    "take_along_dim": ((X, np.array([[0, 3], [2, 2], [1, 0]])), {"dim": 1}), "tensor_split": ((X, 3), {"dim": 1}),
    "hsplit": ((X, [1, 3]), {}), "vsplit": ((X, 3), {}), "dsplit": ((X.reshape(3, 2, 2), 2), {}),
    "tile": ((X, (2, 1, 1)), {}), "rot90": ((X, 1, (1, 0)), {}), "fliplr": ((X,), {}), "flipud": ((X,), {}),
    "broadcast_tensors": ((X[:1], INTEGERS[:, :1]), {}), "atleast_1d": ((np.array(X[0, 0]),), {}), "atleast_2d": ((X[0],), {}),
    "atleast_3d": ((X,), {}), "concat": (([X, UNIT],), {"dim": 1}), "concatenate": (([X, UNIT],), {"axis": 0}),
    "hstack": (([X, UNIT],), {}), "vstack": (([X[0], UNIT],), {}), "dstack": (([X, UNIT],), {}),
    "column_stack": (([X[0, :3], UNIT],), {}), "block_diag": ((X, UNIT[0], np.array(X[0, 0])), {}),
    "isclose": ((X, X + 1e-5), {"atol": 1e-6}), "equal": ((X, X.astype(np.float64)), {}), "argwhere": ((INTEGERS,), {}),
    "isin": ((INTEGERS, np.array([0, 5])), {"invert": True}), "sgn": ((INTEGERS,), {}), "signbit": ((X,), {}),
    "float_power": ((X, UNIT), {}), "addcmul": ((X, UNIT, X), {"value": 0.5}), "addcdiv": ((X, X, UNIT), {"value": 2}),
    "diag_embed": ((X,), {"offset": 1}),
})

SQUARE = X[:, :3] + 3 * np.eye(3, dtype=np.float32)  # well-conditioned
CHOLESKY_FACTOR = np.linalg.cholesky(SQUARE @ SQUARE.T)
CALLS.update({  # linalg's, as torch has them outside torch.linalg (see test_linalg_port)
    "det": ((SQUARE,), {}), "logdet": ((SQUARE @ SQUARE.T,), {}), "slogdet": ((SQUARE,), {}),
    "inverse": ((SQUARE,), {}), "matrix_power": ((SQUARE, 2), {}), "cholesky_solve": ((X[:, :2], CHOLESKY_FACTOR), {}),
    "cholesky_inverse": ((CHOLESKY_FACTOR,), {"upper": False}),
})
CALLS.update({  # matrix_exp and LAPACK's packed factors outside torch.linalg (see test_linalg_more_port)
    "matrix_exp": ((SQUARE / 3,), {}), "geqrf": ((X.T,), {}),
    "orgqr": ((X.T, np.array([1.2, 0.8, 1.5], dtype=np.float32)), {}),
    "lu_unpack": ((SQUARE, np.array([2, 2, 3], dtype=np.int32)), {}),
})
WITHOUT_DERIVATIVE = {"geqrf"}  # torch's and minigrad's backward raise

CALLS.update({  # element-wise math (see test_more_torch_functions_port)
    "absolute": ((X,), {}), "acosh": ((UNIT + 1,), {}), "angle": ((X,), {}), "arccos": ((UNIT,), {}),
    "arccosh": ((X * X + 1,), {}), "arcsin": ((UNIT,), {}), "arcsinh": ((X,), {}), "arctan": ((X,), {}),
    "arctanh": ((X / 2,), {}), "asinh": ((X,), {}), "atanh": ((UNIT,), {}), "deg2rad": ((X,), {}), "fix": ((X,), {}),
    "frexp": ((X,), {}), "gcd": ((INTEGERS, INTEGERS[1]), {}), "lcm": ((INTEGERS, INTEGERS[::-1].copy()), {}),
    "ldexp": ((X, np.abs(INTEGERS[0])), {}),
    "mvlgamma": ((X * X + 2,), {"p": 3}), "polygamma": ((2, UNIT), {}), "rad2deg": ((X,), {}),
})
CALLS.update({  # shapes, scatters, tests and bitwise logic (see test_more_torch_functions_port)
    "ravel": ((X.T.copy(),), {}), "row_stack": (([X[0], UNIT],), {}), "diagflat": ((X[:2, :2].copy(),), {"offset": -1}),
    "combinations": ((X[0],), {"r": 3, "with_replacement": True}), "select_scatter": ((X, UNIT[:, 1].copy(), 1, -2), {}),
    "slice_scatter": ((X, UNIT[:, :2].copy()), {"dim": 1, "start": 1, "step": 2}),
    "diagonal_scatter": ((X, UNIT[:, 0].copy(), 1), {}), "index_reduce": ((X, 0, np.array([2, 0, 2]), UNIT, "prod"), {}),
    "is_nonzero": ((X[:1, 2].copy(),), {}),
    "is_same_size": ((X, UNIT), {}), "is_signed": ((INTEGERS,), {}), "is_complex": ((X,), {}),
    "bitwise_and": ((INTEGERS, 6), {}), "bitwise_or": ((INTEGERS, INTEGERS[1]), {}), "bitwise_xor": ((MASK, ~MASK), {}),
    "bitwise_not": ((INTEGERS,), {}), "bitwise_left_shift": ((INTEGERS, 2), {}),
    "bitwise_right_shift": ((INTEGERS, np.array([1, 0, 2, 1])), {}),
    "gradient": ((X,), {"spacing": [2.0, 0.5], "edge_order": 2}),
})
CALLS.update({  # draws whose probabilities leave no choice (their distributions: see test_creation_port)
    "bernoulli": ((np.array([[0.0, 1, 1], [1, 0, 0]], dtype=np.float32),), {}),
    "multinomial": ((np.array([[0.0, 0, 2], [0, 3, 0]], dtype=np.float32), 3, True), {}),
})
CALLS.update({
    "addr": ((X, X[:, 0], UNIT[0]), {"beta": 0.5, "alpha": 2}), "chain_matmul": ((X, X.T, UNIT), {}),
    "split_with_sizes": ((X, [1, 3]), {"dim": 1}),
})


def _to_torch(value):
    if isinstance(value, list) and isinstance(value[0], np.ndarray):
        return [_to_torch(v) for v in value]
    if isinstance(value, tuple):
        return tuple(map(_to_torch, value))
    if isinstance(value, np.ndarray):
        return torch.tensor(value, requires_grad=value.dtype.kind == "f")
    return torch.float64 if value is np.float64 else value


def _to_mg(value):
    if isinstance(value, list) and isinstance(value[0], np.ndarray):
        return [_to_mg(v) for v in value]
    if isinstance(value, tuple):
        return tuple(map(_to_mg, value))
    return mg.tensor(value, requires_grad=value.dtype.kind == "f") if isinstance(value, np.ndarray) else value


def _outputs(result):
    """The tensors of a result (a tensor, a tuple of them, a (values, indices) pair) or a Python value."""
    return list(result) if isinstance(result, tuple) else [result]


def test_every_function_is_called_here():
    assert set(CALLS) == set(FUNCTIONS)


@pytest.mark.filterwarnings("ignore:Using torch.cross without specifying the dim arg")  # torch's deprecation note
@pytest.mark.filterwarnings("ignore:index_reduce\\(\\) is in beta")  # torch's note on its own API
@pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated")  # both give it (compared in test_small_functions_port)
@pytest.mark.parametrize("name", sorted(CALLS))
def test_function_matches_torch(name):
    args, kwargs = CALLS[name]
    torch_args, mg_args = [_to_torch(a) for a in args], [_to_mg(a) for a in args]
    torch_kwargs = {key: _to_torch(value) for key, value in kwargs.items()}
    expected = _outputs(getattr(torch, name)(*torch_args, **torch_kwargs))
    got = _outputs(getattr(mg, name)(*mg_args, **kwargs))
    assert len(got) == len(expected)
    for out, reference in zip(got, expected):
        if not isinstance(reference, torch.Tensor):
            assert out == reference and type(out) is type(reference)
            continue
        assert out.shape == tuple(reference.shape) and str(out.dtype) == str(reference.dtype).removeprefix("torch.")
        np.testing.assert_allclose(out.numpy(), reference.detach().numpy(), rtol=1e-5, atol=1e-6)
    differentiable = [(out, reference) for out, reference in zip(got, expected)
                      if isinstance(reference, torch.Tensor) and reference.requires_grad]
    if not differentiable or name in WITHOUT_DERIVATIVE:
        return
    direction = np.random.default_rng(2).uniform(-1, 1, size=differentiable[0][1].shape).astype(np.float32)
    (differentiable[0][1] * torch.tensor(direction)).sum().backward()
    (differentiable[0][0] * mg.tensor(direction)).sum().backward()
    for mine, theirs in zip(mg_args, torch_args):
        if isinstance(theirs, torch.Tensor) and theirs.requires_grad:
            if theirs.grad is None:  # an output of no gradient (slogdet's sign)
                assert mine.grad is None
                continue
            np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_the_tensor_may_be_named_as_torch_names_it():
    x = mg.tensor(X)
    np.testing.assert_array_equal(mg.exp(input=x).numpy(), np.exp(X))
    assert [p.shape for p in mg.split(tensor=x, split_size_or_sections=2)] == [(2, 4), (1, 4)]


@pytest.mark.parametrize("name, args", [("exp", ()), ("sum", (1,)), ("softmax", (0,))])
def test_a_first_argument_that_is_not_a_tensor_is_a_type_error_like_torchs(name, args):
    with pytest.raises(TypeError):
        getattr(torch, name)([1.0, 2.0], *args)
    with pytest.raises(TypeError, match=f"{name}\\(\\): argument 'input' \\(position 1\\) must be Tensor, not list"):
        getattr(mg, name)([1.0, 2.0], *args)


@pytest.mark.parametrize("name, shapes", [
    ("mm", [(3,), (3, 4)]), ("mm", [(2, 3), (2, 3, 4)]), ("mm", [(2, 3), (4, 4)]), ("bmm", [(2, 3), (3, 4)]),
    ("bmm", [(2, 2, 3), (2, 3)]), ("bmm", [(2, 2, 3), (3, 3, 4)]), ("bmm", [(2, 2, 3), (2, 4, 4)]),
])
def test_mm_and_bmm_shape_errors_are_torchs(name, shapes):
    with pytest.raises(RuntimeError) as theirs:
        getattr(torch, name)(*(torch.ones(s) for s in shapes))
    with pytest.raises(RuntimeError) as ours:
        getattr(mg, name)(*(mg.ones(s) for s in shapes))
    assert str(ours.value) == str(theirs.value)


def test_logic_refuses_a_number_like_torch():
    with pytest.raises(TypeError) as theirs:
        torch.tensor([1]).logical_and(1)
    with pytest.raises(TypeError) as ours:
        mg.tensor([1]).logical_and(1)
    assert str(ours.value) == str(theirs.value)


def test_allclose_refuses_two_dtypes_like_torch():
    with pytest.raises(RuntimeError, match="Float did not match Double"):
        mg.allclose(mg.tensor(X), mg.tensor(X).double())


def test_clamp_refuses_a_tensor_and_a_number_like_torch():
    with pytest.raises(TypeError):
        torch.tensor(X).clamp(torch.zeros(4), 1.0)
    with pytest.raises(TypeError):
        mg.tensor(X).clamp(mg.zeros(4), 1.0)


@pytest.mark.parametrize("name", ["nonzero", "count_nonzero", "isnan", "logical_not"])
def test_value_tests_of_a_0d_tensor_match_torch(name):
    expected, got = getattr(torch.tensor(3.0), name)(), getattr(mg.tensor(3.0), name)()
    assert got.shape == tuple(expected.shape) and str(got.dtype) == str(expected.dtype).removeprefix("torch.")


def test_frac_refuses_integers_like_torch():
    with pytest.raises(NotImplementedError):
        torch.tensor(INTEGERS).frac()
    with pytest.raises(NotImplementedError):
        mg.tensor(INTEGERS).frac()


@pytest.mark.parametrize("name, args, moments", [("uniform_", (2.0, 3.0), (2.5, 1 / 12 ** 0.5)),
                                                 ("normal_", (1.0, 0.5), (1.0, 0.5))])
def test_drawing_in_place_is_seeded_and_has_the_distributions_moments(name, args, moments):
    draws = []
    for _ in range(2):
        mg.manual_seed(3)
        tensor = mg.zeros(20000)
        assert getattr(tensor, name)(*args) is tensor
        draws.append(tensor.numpy())
    np.testing.assert_array_equal(*draws)
    assert draws[0].mean() == pytest.approx(moments[0], abs=0.02)
    assert draws[0].std() == pytest.approx(moments[1], abs=0.02)


def test_drawing_into_a_leaf_that_requires_grad_is_refused_unless_under_no_grad():
    weight = mg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        weight.uniform_()
    with mg.no_grad():
        weight.normal_()
    assert (weight.numpy() != 0).all()


def test_clamp_with_tensor_bounds_at_ties_and_crossed_bounds_has_torchs_gradients():
    x, low, high = [0.0, 1, 2, 3, 1], [1.0, 1, 2.5, 3, 0], [0.5, 1, 2, 2, 1]
    direction = [1.0, 2, 3, 4, 5]
    tensors = {}
    for lib in (torch, mg):
        inputs = [lib.tensor(values, requires_grad=True) for values in (x, low, high)]
        out = inputs[0].clamp(inputs[1], inputs[2])
        (out * lib.tensor(direction)).sum().backward()
        tensors[lib] = [out] + [t.grad for t in inputs]
    for mine, theirs in zip(tensors[mg], tensors[torch]):
        np.testing.assert_array_equal(mine.numpy(), theirs.detach().numpy())


def test_the_new_methods_run_on_the_gpu_path(gpu_path):
    """The new element-wise ops forward and backward, tensor-bound clamps, value tests and draws on device arrays,
    as on the host."""
    def run(device):
        mg.manual_seed(4)
        unit = mg.tensor(UNIT, device=device, requires_grad=True)
        out = (unit.exp2() + unit.sinh() + unit.cosh() + unit.tan() + unit.atan() + unit.asin() + unit.acos()
               + (3 * unit).frac() + unit.logit() + unit.logit(eps=0.3) + unit.clamp(unit[0], unit[1]))
        out.sum().backward()
        values = mg.tensor(INTEGERS, device=device)
        tests = [values.nonzero(), values.count_nonzero(1), values.logical_xor(values[:1]), values.isfinite(),
                 mg.zeros(3, device=device).uniform_(1, 2), mg.zeros(3, device=device).normal_()]
        assert all(t.device == device for t in [out, unit.grad, *tests])
        return [out.numpy(), unit.grad.numpy()] + [t.numpy() for t in tests]

    for gpu, cpu in zip(run("gpu"), run("cpu")):
        assert gpu.dtype == cpu.dtype
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6)


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_set_num_threads_refuses_what_torchs_refuses(threads):
    with pytest.raises(RuntimeError) as theirs:
        torch.set_num_threads(threads)
    with pytest.raises(RuntimeError, match=f"^{re.escape(str(theirs.value))}$"):
        mg.set_num_threads(threads)


def test_set_num_threads_is_what_get_num_threads_reports():
    threads = mg.get_num_threads()
    try:
        mg.set_num_threads(1)
        assert mg.get_num_threads() == 1
    finally:
        mg.set_num_threads(threads)
    assert mg.get_num_threads() == threads
