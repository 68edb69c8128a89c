"""linspace, logspace, meshgrid, the random *_like functions, empty_like and nan_to_num, as torch's."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import error_of, relative_error

torch = pytest.importorskip("torch")

DTYPES = {None: None, "float64": (mg.float64, torch.float64), "int64": (mg.int64, torch.int64),
          "int32": (mg.int32, torch.int32), "uint8": (mg.uint8, torch.uint8)}


def _dtype_kwargs(name, lib):
    return {} if DTYPES[name] is None else {"dtype": DTYPES[name][lib is torch]}


SPACES = [(0, 1, 11), (-2.5, 7.3, 37), (3, -1000, 1001), (0.5, 0.5, 4), (3.7, 1, 1), (0, 1, 0), (-3.7, 10, 5),
          (1, 200, 7), (0, 2, 2)]


@pytest.mark.parametrize("start, end, steps", SPACES)
@pytest.mark.parametrize("dtype", [None, "float64", "int64", "int32"])
@pytest.mark.parametrize("function", ["linspace", "logspace"])
def test_spaced_values_are_torchs(function, start, end, steps, dtype):
    if function == "logspace" and max(abs(start), abs(end)) > 10:
        start, end = start / 200, end / 200
    ours = getattr(mg, function)(start, end, steps, **_dtype_kwargs(dtype, mg))
    theirs = getattr(torch, function)(start, end, steps, **_dtype_kwargs(dtype, torch))
    assert ours.dtype == theirs.numpy().dtype and ours.shape == tuple(theirs.shape)
    if ours.dtype.kind in "iu":
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
        return
    # torch's vectorised loop adds its steps in another order: a value may differ in the last bit of the range's
    # scale, of an exponent's for logspace
    bits = 2 * np.finfo(ours.dtype).eps * (abs(start) + abs(end) + 1)
    if function == "linspace":
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=bits)
    else:
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=bits * np.log(10) + np.finfo(ours.dtype).eps)


def test_spaced_ends_are_exact_and_base_is_used():
    ours = mg.linspace(-2.5, 7.3, 37)
    assert ours[0].item() == np.float32(-2.5) and ours[-1].item() == np.float32(7.3)
    np.testing.assert_allclose(mg.logspace(0, 3, 4, base=2).numpy(), torch.logspace(0, 3, 4, base=2).numpy())
    np.testing.assert_array_equal(mg.logspace(0, 2, 3, base=2, dtype=mg.int64).numpy(),
                                  torch.logspace(0, 2, 3, base=2, dtype=torch.int64).numpy())
    start, end = mg.tensor(1.0), mg.tensor(2.0)
    assert mg.linspace(start, end, 3).tolist() == [1.0, 1.5, 2.0]


def test_spaced_options():
    t = mg.linspace(0, 1, 3, dtype=mg.float64, requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.dtype == np.float64
    assert mg.logspace(0, 1, 2, requires_grad=True).requires_grad


SPACED_ERRORS = {
    "negative steps": (lambda lib: lib.linspace(0, 1, -1)),
    "negative steps, logspace": (lambda lib: lib.logspace(0, 1, -1)),
    "bool": (lambda lib: lib.linspace(0, 1, 5, dtype=lib.bool)),
}


def _errors(make):
    """The (type, message) of the exception that make(lib) raises, minigrad's and torch's."""
    return [error_of(lambda: make(lib)) for lib in (mg, torch)]


@pytest.mark.parametrize("name", SPACED_ERRORS)
def test_spaced_errors_are_torchs(name):
    ours, theirs = _errors(SPACED_ERRORS[name])
    assert ours == theirs


def test_non_integer_steps_are_a_type_error():
    for lib in (mg, torch):
        with pytest.raises(TypeError, match="steps"):
            lib.linspace(0, 1, 1.5)


# ---- meshgrid ------------------------------------------------------------------------------------------------
GRIDS = [[3], [3, 4], [2, 3, 4], [0, 3], [(), 4], [2, (), 3]]


def _grid_inputs(sizes, lib, dtype):
    rng = np.random.default_rng(len(sizes))
    return [lib.tensor(rng.standard_normal(size).astype(dtype), requires_grad=True) for size in sizes]


@pytest.mark.parametrize("sizes", GRIDS, ids=str)
@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_values_and_gradients_are_torchs(sizes, indexing):
    ours, theirs = _grid_inputs(sizes, mg, np.float32), _grid_inputs(sizes, torch, np.float32)
    grids, reference = mg.meshgrid(*ours, indexing=indexing), torch.meshgrid(*theirs, indexing=indexing)
    assert len(grids) == len(reference)
    weights = [np.random.default_rng(i).standard_normal(g.shape).astype(np.float32) for i, g in enumerate(reference)]
    for grid, expected in zip(grids, reference):
        np.testing.assert_array_equal(grid.numpy(), expected.detach().numpy())
    sum(((g * mg.tensor(w)).sum() for g, w in zip(grids, weights)), mg.tensor(0.0)).backward()
    sum((g * torch.tensor(w)).sum() for g, w in zip(reference, weights)).backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("indexing", ["ij", "xy"])
def test_meshgrid_gradcheck(indexing):
    inputs = _grid_inputs([3, 2, 4], mg, np.float64)
    weights = [mg.tensor(np.random.default_rng(i).standard_normal((3, 2, 4) if indexing == "ij" else (2, 3, 4)))
               for i in range(3)]
    assert mg.gradcheck(lambda *ts: sum((g * w).sum() for g, w in zip(mg.meshgrid(*ts, indexing=indexing), weights)),
                        inputs)


def test_meshgrid_takes_a_list_and_warns_without_indexing_as_torch():
    x, y = mg.arange(3), mg.arange(2)
    with pytest.warns(UserWarning, match="indexing argument"):
        grids = mg.meshgrid([x, y])
    reference = torch.meshgrid(torch.arange(3), torch.arange(2), indexing="ij")
    for grid, expected in zip(grids, reference):
        np.testing.assert_array_equal(grid.numpy(), expected.numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.meshgrid(x, y, indexing="xy")


MESHGRID_ERRORS = {
    "empty": lambda lib: lib.meshgrid(indexing="ij"),
    "indexing": lambda lib: lib.meshgrid(lib.ones(2), indexing="xx"),
    "dtypes": lambda lib: lib.meshgrid(lib.ones(2), lib.ones(3, dtype=lib.float64), indexing="ij"),
    "2-d": lambda lib: lib.meshgrid(lib.ones((2, 2)), indexing="ij"),
}


@pytest.mark.parametrize("name", MESHGRID_ERRORS)
def test_meshgrid_errors_are_torchs(name):
    ours, theirs = _errors(MESHGRID_ERRORS[name])
    assert ours[0] is theirs[0] is RuntimeError
    if name == "2-d":  # torch prints the tensor after this
        expected = "torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got"
        assert ours[1].startswith(expected) and theirs[1].startswith(expected)
    else:
        assert ours == theirs


# ---- the random *_like functions and empty_like ------------------------------------------------------------------
LIKE = {
    "randn_like": (lambda lib, t, **kw: lib.randn_like(t, **kw)),
    "rand_like": (lambda lib, t, **kw: lib.rand_like(t, **kw)),
    "randint_like": (lambda lib, t, **kw: lib.randint_like(t, 2, 9, **kw)),
    "randint_like(high)": (lambda lib, t, **kw: lib.randint_like(t, 5, **kw)),
    "empty_like": (lambda lib, t, **kw: lib.empty_like(t, **kw)),
}


@pytest.mark.parametrize("name", LIKE)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_like_functions_take_input_dtype_and_shape_as_torchs(name, dtype):
    results = []
    for lib in (mg, torch):
        t = lib.ones((3, 4), dtype=getattr(lib, dtype))
        try:
            out = LIKE[name](lib, t)
        except NotImplementedError as error:
            results.append(str(error))
            continue
        results.append((tuple(out.shape), np.dtype(out.numpy().dtype), out.requires_grad))
        if name == "rand_like" and lib is mg:
            assert 0 <= out.numpy().min() and out.numpy().max() < 1
        if name.startswith("randint") and lib is mg:
            values = out.numpy()
            assert np.array_equal(values, np.round(values)) and values.min() >= (0 if "high" in name else 2)
            assert values.max() < (5 if "high" in name else 9)
    assert results[0] == results[1]


@pytest.mark.parametrize("name", LIKE)
def test_like_functions_options(name):
    t = mg.ones((2, 3))
    out = LIKE[name](mg, t, dtype=mg.float64, requires_grad=True)
    assert out.dtype == np.float64 and out.requires_grad and out.shape == (2, 3)
    if name not in ("randn_like", "rand_like"):
        assert LIKE[name](mg, t, dtype=mg.int64).dtype == np.int64
    if mg.gpu_available():
        assert LIKE[name](mg, t, device="gpu").device == "gpu"


def test_random_like_functions_follow_the_seed():
    t = mg.ones((4, 5))
    mg.manual_seed(3)
    first = [mg.randn_like(t).numpy(), mg.rand_like(t).numpy(), mg.randint_like(t, 10).numpy()]
    mg.manual_seed(3)
    again = [mg.randn_like(t).numpy(), mg.rand_like(t).numpy(), mg.randint_like(t, 10).numpy()]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert np.unique(first[2]).size > 3 and first[0].std() > 0.5


RANDOM_ERRORS = {
    "empty range": lambda lib: lib.randint_like(lib.ones(3), 5, 5),
    "randn_like of integers": lambda lib: lib.randn_like(lib.ones(3), dtype=lib.int32),
    "rand_like of integers": lambda lib: lib.rand_like(lib.ones(3, dtype=lib.int64)),
}


@pytest.mark.parametrize("name", RANDOM_ERRORS)
def test_random_like_errors_are_torchs(name):
    ours, theirs = _errors(RANDOM_ERRORS[name])
    assert ours == theirs


# ---- nan_to_num ------------------------------------------------------------------------------------------------
SPECIAL = [np.nan, np.inf, -np.inf, 1.5, -2.0, 0.0, 3e38, -1e-3]
NAN_TO_NUM = [{}, {"nan": 2.0}, {"nan": -1.0, "posinf": 5.0, "neginf": -7.0}, {"posinf": 1e30}]


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("kwargs", NAN_TO_NUM, ids=str)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_to_num_values_and_gradient_are_torchs(kwargs, dtype):
    values = np.array(SPECIAL, dtype=dtype)
    ours, theirs = mg.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    out, reference = ours.nan_to_num(**kwargs), theirs.nan_to_num(**kwargs)
    np.testing.assert_array_equal(out.numpy(), reference.detach().numpy())
    assert out.dtype == reference.detach().numpy().dtype
    np.testing.assert_array_equal(mg.nan_to_num(ours, **kwargs).numpy(), out.numpy())
    direction = np.arange(1, len(SPECIAL) + 1, dtype=dtype)
    (out * mg.tensor(direction)).sum().backward()
    (reference * torch.tensor(direction)).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_nan_to_num_gradcheck():
    x = mg.tensor(np.random.default_rng(0).standard_normal(6), requires_grad=True)
    with np.errstate(invalid="ignore"):  # no gradient where log(t) is NaN
        assert mg.gradcheck(lambda t: (t.log() * t).nan_to_num(nan=0.5), [x])
    big = mg.tensor([-1.0, 0.5, 700.0, 710.0, 720.0], dtype=mg.float64, requires_grad=True)  # exp(710) is inf
    assert mg.gradcheck(lambda t: t.exp().nan_to_num(posinf=2.0), [big])
    assert mg.gradcheck(lambda t: t.nan_to_num(), [x])


@pytest.mark.parametrize("values", [[1, 2], [True, False]])
def test_nan_to_num_of_integers_is_a_copy_as_torchs(values):
    ours, theirs = mg.tensor(values), torch.tensor(values)
    out = ours.nan_to_num()
    assert out.tolist() == theirs.nan_to_num().tolist() and out.dtype == theirs.numpy().dtype
    assert out.data is not ours.data


# ---- the GPU path ----------------------------------------------------------------------------------------------
def _on(device):
    """Each function's result on a device, from the same seed: values and a gradient."""
    mg.manual_seed(5)
    like = mg.ones((3, 4), device=device)
    results = [mg.linspace(-1, 2, 7, device=device), mg.logspace(0, 2, 5, device=device),
               mg.randn_like(like), mg.rand_like(like), mg.randint_like(like, 3, 8), mg.empty_like(like)]
    x = mg.tensor([np.nan, np.inf, -np.inf, 1.5], requires_grad=True, device=device)
    a = mg.tensor([1.0, 2.0, 3.0], requires_grad=True, device=device)
    b = mg.tensor([4.0, 5.0], requires_grad=True, device=device)
    grids = mg.meshgrid(a, b, indexing="xy")
    (x.nan_to_num(posinf=3.0).sum() + (grids[0] * grids[1]).sum()).backward()
    results += [x.nan_to_num(), *grids, x.grad, a.grad, b.grad]
    assert all(t.device == device for t in results)
    return [t.numpy() for t in results]


def test_gpu_path_matches_cpu(gpu_path):
    for ours, reference in zip(_on("gpu"), _on("cpu")):
        assert relative_error(ours, reference) <= 1e-5
