"""torch's small functions that ported code calls: finfo and iinfo, broadcast_shapes, asarray, unravel_index, vander,
chain_matmul, split_with_sizes, sum_to_size, new_empty, retains_grad, addr, the hardshrink and prelu methods, poisson,
binomial and empty_strided. Values, gradients, dtypes and errors against torch's; the random draws by their
distributions' moments, since minigrad's generator is not torch's."""
import warnings

import numpy as np
import pytest
import torch

import minigrad as mg
from conftest import assert_raises_as_torch, differentiable_case_tests, normal, uniform

N = 200_000  # draws for a distribution's moments: a mean's standard error is about 0.2% of the spread


def _chain_matmul(lib, *matrices):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch deprecates it
        return lib.chain_matmul(*matrices)


CASES = {
    "addr": (lambda lib, m, a, b: lib.addr(m, a, b, beta=0.5, alpha=2.0), [normal(3, 4), normal(3), normal(4)]),
    "addr method, input broadcast": (lambda lib, m, a, b: m.addr(a, b), [normal(4), normal(3), normal(4)]),
    "sum_to_size": (lambda lib, x: x.sum_to_size(3, 1), [normal(2, 3, 4)]),
    "split_with_sizes": (lambda lib, x: lib.cat(lib.split_with_sizes(x, [2, 1, 2], 1)[::-1], 1), [normal(2, 5)]),
    "split_with_sizes method": (lambda lib, x: x.split_with_sizes((3, 1), dim=-1)[0], [normal(2, 4)]),
    "chain_matmul": (lambda lib, a, b, c: _chain_matmul(lib, a, b, c), [normal(2, 3), normal(3, 5), normal(5, 2)]),
    "asarray cast": (lambda lib, x: lib.asarray(x, dtype=lib.float64, requires_grad=True), [normal(3)]),
    "hardshrink, prelu methods": (lambda lib, x, w: x.hardshrink(0.3).prelu(w), [normal(2, 3, 4), uniform(0, 1, 3)]),
}

test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(
    torch, CASES)


def _numpy(tensor):
    return tensor.detach().numpy() if isinstance(tensor, torch.Tensor) else tensor.numpy()


def _assert_same_tensors(ours, theirs):
    """Tensors (or tuples of them) of torch's shape, dtype and values."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs):
            _assert_same_tensors(mine, reference)
        return
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(_numpy(ours), _numpy(theirs), rtol=1e-6)


def _both(call):
    return call(mg), call(torch)


# ---- finfo, iinfo ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["float16", "float32", "float64", None])
def test_finfo_is_torchs(name):
    ours, theirs = _both(lambda lib: lib.finfo(getattr(lib, name)) if name else lib.finfo())
    for field in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(ours, field) == getattr(theirs, field) and type(getattr(ours, field)) is type(
            getattr(theirs, field))
    assert repr(ours) == repr(theirs)


def test_finfo_without_a_dtype_is_the_default_dtypes():
    mg.set_default_dtype(mg.float64)
    try:
        assert mg.finfo().dtype == "float64" and mg.finfo().eps == torch.finfo(torch.float64).eps
    finally:
        mg.set_default_dtype(mg.float32)


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_is_torchs(name):
    ours, theirs = _both(lambda lib: lib.iinfo(getattr(lib, name)))
    assert (ours.bits, ours.min, ours.max, ours.dtype) == (theirs.bits, theirs.min, theirs.max, theirs.dtype)
    assert type(ours.max) is int and repr(ours) == repr(theirs)


def test_finfo_is_read_only():
    with pytest.raises(AttributeError, match="attribute 'eps' of 'finfo' objects is not writable"):
        mg.finfo().eps = 1.0


@pytest.mark.parametrize("pair", [
    lambda lib: (lib.finfo(lib.float32), lib.finfo()), lambda lib: (lib.finfo(lib.float32), lib.finfo(lib.float64)),
    lambda lib: (lib.iinfo(lib.int8), lib.iinfo(lib.int8)), lambda lib: (lib.finfo(), 1),
])
def test_type_infos_compare_as_torchs(pair):
    ours, theirs = _both(pair)
    assert (ours[0] == ours[1]) == (theirs[0] == theirs[1])


ERRORS = {
    "finfo of an integer dtype": lambda lib: lib.finfo(lib.int32),
    "finfo of bool": lambda lib: lib.finfo(lib.bool),
    "finfo of a name": lambda lib: lib.finfo("float32"),
    "finfo of None": lambda lib: lib.finfo(None),
    "iinfo of a float dtype": lambda lib: lib.iinfo(lib.float32),
    "iinfo of bool": lambda lib: lib.iinfo(lib.bool),
    "iinfo of a number": lambda lib: lib.iinfo(3),
    "broadcast_shapes mismatch": lambda lib: lib.broadcast_shapes((2, 3), (4,)),
    "broadcast_shapes third": lambda lib: lib.broadcast_shapes((2, 3), (4, 3), (5, 1, 1)),
    "broadcast_shapes negative": lambda lib: lib.broadcast_shapes((2, -1)),
    "broadcast_shapes negative int": lambda lib: lib.broadcast_shapes(-1),
    "broadcast_shapes float": lambda lib: lib.broadcast_shapes((2.0,)),
    "asarray alias a cast": lambda lib: lib.asarray(np.arange(3.0), dtype=lib.float32, copy=False),
    "asarray alias a tensor's cast": lambda lib: lib.asarray(lib.ones(2), dtype=lib.float64, copy=False),
    "asarray alias a list": lambda lib: lib.asarray([1, 2], copy=False),
    "asarray integers require grad": lambda lib: lib.asarray([1, 2], requires_grad=True),
    "asarray integer tensor requires grad": lambda lib: lib.asarray(lib.ones(2, dtype=lib.int64),
                                                                    requires_grad=True),
    "asarray positional dtype": lambda lib: lib.asarray([1], lib.float32),
    "unravel_index float": lambda lib: lib.unravel_index(lib.tensor(4.0), (3, 2)),
    "unravel_index bool": lambda lib: lib.unravel_index(lib.tensor(True), (3, 2)),
    "unravel_index negative": lambda lib: lib.unravel_index(lib.tensor(4), (3, -2)),
    "unravel_index float size": lambda lib: lib.unravel_index(lib.tensor(4), (3, 2.0)),
    "unravel_index float shape": lambda lib: lib.unravel_index(lib.tensor(4), 2.0),
    "unravel_index size 0": lambda lib: lib.unravel_index(lib.tensor([4]), (3, 0)),
    "vander N negative": lambda lib: lib.vander(lib.ones(3), -1),
    "vander 2-d": lambda lib: lib.vander(lib.ones(2, 2)),
    "vander 0-d": lambda lib: lib.vander(lib.tensor(2.0)),
    "vander list": lambda lib: lib.vander([1, 2]),
    "vander float N": lambda lib: lib.vander(lib.ones(3), 2.0),
    "chain_matmul nothing": lambda lib: _chain_matmul(lib),
    "chain_matmul vector": lambda lib: _chain_matmul(lib, lib.ones(2, 3), lib.ones(3)),
    "chain_matmul shapes": lambda lib: _chain_matmul(lib, lib.ones(2, 3), lib.ones(2, 3)),
    "chain_matmul dtypes": lambda lib: _chain_matmul(lib, lib.ones(2, 3), lib.ones(3, 2, dtype=lib.float64)),
    "chain_matmul number": lambda lib: _chain_matmul(lib, lib.ones(2, 3), 3),
    "split_with_sizes sum": lambda lib: lib.ones(2, 5).split_with_sizes([2, 2], -1),
    "split_with_sizes negative": lambda lib: lib.ones(2, 5).split_with_sizes([6, -1], 1),
    "split negative": lambda lib: lib.ones(2, 5).split([7, -2], 1),
    "split_with_sizes int": lambda lib: lib.ones(2, 5).split_with_sizes(5, 1),
    "split_with_sizes float": lambda lib: lib.ones(2, 5).split_with_sizes([2.0, 3], 1),
    "split_with_sizes float later": lambda lib: lib.ones(2, 5).split_with_sizes([2, 3.0], 1),
    "split_with_sizes float dim": lambda lib: lib.ones(2, 5).split_with_sizes([2, 3], 1.0),
    "split_with_sizes dim": lambda lib: lib.ones(2, 5).split_with_sizes([2, 3], 2),
    "split_with_sizes list": lambda lib: lib.split_with_sizes([1], [1]),
    "sum_to_size not expandable": lambda lib: lib.ones(2, 3, 4).sum_to_size(2, 1),
    "sum_to_size longer": lambda lib: lib.ones(2, 3, 4).sum_to_size(1, 2, 3, 4),
    "sum_to_size nothing": lambda lib: lib.ones(2, 3).sum_to_size(),
    "sum_to_size float": lambda lib: lib.ones(2, 3).sum_to_size(3.0),
    "new_empty negative": lambda lib: lib.ones(2).new_empty(-1),
    "new_empty float": lambda lib: lib.ones(2).new_empty(2.0),
    "new_empty float later": lambda lib: lib.ones(2).new_empty(1, 3.0),
    "new_empty bool": lambda lib: lib.ones(2).new_empty(True),
    "new_empty nothing": lambda lib: lib.ones(2).new_empty(),
    "new_empty integers require grad": lambda lib: lib.ones(2).new_empty(2, dtype=lib.int64, requires_grad=True),
    "new_zeros float": lambda lib: lib.ones(2).new_zeros(2.0),
    "addr vec1 2-d": lambda lib: lib.addr(lib.ones(2, 3), lib.ones(2, 1), lib.ones(3)),
    "addr vec2 2-d": lambda lib: lib.addr(lib.ones(2, 3), lib.ones(2), lib.ones(1, 3)),
    "addr input shape": lambda lib: lib.addr(lib.ones(3, 2), lib.ones(2), lib.ones(3)),
    "addr float beta of integers": lambda lib: lib.addr(*(lib.ones(*s, dtype=lib.int64) for s in ((2, 2), (2,), (2,))),
                                                        beta=2.5),
    "addr float alpha of bools": lambda lib: lib.addr(*(lib.ones(*s, dtype=lib.bool) for s in ((2, 2), (2,), (2,))),
                                                      alpha=2.5),
    "addr bool beta of floats": lambda lib: lib.addr(lib.ones(2, 2), lib.ones(2), lib.ones(2), beta=True),
    "addr bool alpha of integers": lambda lib: lib.addr(*(lib.ones(*s, dtype=lib.int64) for s in ((2, 2), (2,), (2,))),
                                                        alpha=True),
    "addr list": lambda lib: lib.addr([1], lib.ones(2), lib.ones(2)),
    "addr vec1 list": lambda lib: lib.addr(lib.ones(2, 2), [1], lib.ones(2)),
    "hardshrink integers": lambda lib: lib.ones(2, dtype=lib.int64).hardshrink(),
    "prelu number": lambda lib: lib.prelu(lib.ones(2), 0.1),
    "prelu channels": lambda lib: lib.ones(4).prelu(lib.ones(2)),
    "poisson integers": lambda lib: lib.poisson(lib.ones(2, dtype=lib.int64)),
    "poisson negative": lambda lib: lib.poisson(lib.tensor([1.0, -1.0])),
    "poisson nan": lambda lib: lib.poisson(lib.tensor([float("nan")])),
    "poisson list": lambda lib: lib.poisson([1.0]),
    "binomial integer count": lambda lib: lib.binomial(lib.ones(2, dtype=lib.int64), lib.ones(2)),
    "binomial integer prob": lambda lib: lib.binomial(lib.ones(2), lib.ones(2, dtype=lib.int64)),
    "binomial dtypes": lambda lib: lib.binomial(lib.ones(2), lib.ones(2, dtype=lib.float64)),
    "binomial float16": lambda lib: lib.binomial(lib.ones(2, dtype=lib.float16), lib.ones(2, dtype=lib.float16)),
    "binomial shapes": lambda lib: lib.binomial(lib.ones(3), lib.ones(2)),
    "binomial number": lambda lib: lib.binomial(lib.ones(3), 0.5),
    "binomial backward": lambda lib: lib.binomial(lib.ones(3, requires_grad=True), lib.ones(3)).sum().backward(),
    "empty_strided dims": lambda lib: lib.empty_strided((2, 3), (1,)),
    "empty_strided negative size": lambda lib: lib.empty_strided((2, -3), (1, 1)),
    "empty_strided negative stride": lambda lib: lib.empty_strided((2, 3), (1, -1)),
    "empty_strided int": lambda lib: lib.empty_strided(2, 1),
    "empty_strided float": lambda lib: lib.empty_strided((2.0, 3), (3, 1)),
    "empty_strided integers require grad": lambda lib: lib.empty_strided((2,), (1,), dtype=lib.int64,
                                                                         requires_grad=True),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors_are_torchs(name):
    assert_raises_as_torch(lambda: ERRORS[name](torch), lambda: ERRORS[name](mg))


# ---- broadcast_shapes, unravel_index, vander, chain_matmul --------------------------------------------------------
@pytest.mark.parametrize("shapes", [((2, 1), (3,)), (), ((2,), (3, 1), (1, 1, 1)), (5, (3, 1)), ([2, 1], [1, 4]),
                                    ((2, 0), (1,)), ((3,), None)])
def test_broadcast_shapes_is_torchs(shapes):
    ours = mg.broadcast_shapes(*shapes)
    assert isinstance(ours, tuple) and ours == tuple(torch.broadcast_shapes(*shapes))


UNRAVELED = [([4, 1], (3, 2)), (4, 6), ([[1234], [5678]], (10, 10, 10, 10)), ([7, -1], (3, 2)), (4, ()),
             ([2, 0], [3, 1])]


@pytest.mark.parametrize("indices, shape, dtype", [(indices, shape, dtype) for indices, shape in UNRAVELED
                                                   for dtype in ("int64", "int32", "uint8")
                                                   if dtype != "uint8" or 0 <= np.min(indices) <= np.max(indices) < 256])
def test_unravel_index_is_torchs(indices, shape, dtype):
    ours, theirs = _both(lambda lib: lib.unravel_index(lib.tensor(indices, dtype=getattr(lib, dtype)), shape))
    _assert_same_tensors(ours, theirs)


@pytest.mark.parametrize("values, dtype", [([1.5, -2.0, 3.0], "float32"), ([1, 2, 3], "int32"), ([1, 2], "uint8"),
                                           ([True, False], "bool"), ([0.5, 2.0], "float16"), ([], "float32")])
@pytest.mark.parametrize("N, increasing", [(None, False), (4, True), (0, False)])
def test_vander_is_torchs(values, dtype, N, increasing):
    ours, theirs = _both(lambda lib: lib.vander(lib.tensor(values, dtype=getattr(lib, dtype)), N, increasing))
    _assert_same_tensors(ours, theirs)


def test_vander_gradcheck():
    """torch's own backward of vander fails (an in-place cumprod); minigrad's is the powers' derivative."""
    x = mg.tensor([0.0, 1.5, -2.0], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda x: mg.vander(x, 4), [x])
    assert mg.gradcheck(lambda x: mg.vander(x, increasing=True), [x])


@pytest.fixture
def torch_warns_always():
    """torch's warnings that it gives once a process (TORCH_WARN_ONCE), given every time within the test."""
    torch.set_warn_always(True)
    yield
    torch.set_warn_always(False)


def test_chain_matmul_warns_as_torch_and_copies_one_matrix(torch_warns_always):
    with pytest.warns(UserWarning) as ours:
        single = mg.chain_matmul(mg.ones(2, 3))
    with pytest.warns(UserWarning) as theirs:
        torch.chain_matmul(torch.ones(2, 3))
    assert str(theirs[0].message).startswith(str(ours[0].message).rstrip("."))
    assert single.shape == (2, 3)


# ---- asarray ---------------------------------------------------------------------------------------------------
def test_asarray_shares_an_arrays_memory_unless_it_must_copy():
    for lib in (mg, torch):
        array = np.arange(4.0)
        shared, strided = lib.asarray(array), lib.asarray(array[::2])
        copied, cast = lib.asarray(array, copy=True), lib.asarray(array, dtype=lib.float32)
        array[0] = 9.0
        assert _numpy(shared)[0] == _numpy(strided)[0] == 9.0 and _numpy(copied)[0] == _numpy(cast)[0] == 0.0
        assert str(shared.dtype).removeprefix("torch.") == "float64" and str(cast.dtype).endswith("float32")


@pytest.mark.parametrize("obj", [[1, 2.5], [1, 2], 3.0, np.float32(2.0), np.arange(3), [[True], [False]]])
def test_asarray_of_data_is_torchs(obj):
    _assert_same_tensors(*_both(lambda lib: lib.asarray(obj)))


def test_asarray_of_a_tensor_follows_requires_grad_as_torch(torch_warns_always):
    for lib in (mg, torch):
        leaf = lib.ones(3, requires_grad=True)
        with pytest.warns(UserWarning, match="unspecified requires_grad now defaults to obj.requires_grad"):
            assert lib.asarray(leaf) is leaf
        copy = lib.asarray(leaf, copy=True, requires_grad=True)
        assert copy.requires_grad and not copy.is_leaf
        assert not lib.asarray(leaf, copy=True, requires_grad=False).requires_grad and leaf.requires_grad
        computed = leaf * 2
        assert lib.asarray(computed, requires_grad=True) is computed
        detached = lib.asarray(computed, requires_grad=False)
        assert detached is not computed and not detached.requires_grad and computed.requires_grad
        assert lib.asarray(leaf, requires_grad=False) is leaf and not leaf.requires_grad  # torch changes obj itself
        plain = lib.ones(3)
        assert lib.asarray(plain, requires_grad=True) is plain and plain.requires_grad
        cast = lib.asarray(lib.ones(3), dtype=lib.float64, requires_grad=True)
        assert cast.requires_grad and cast.is_leaf
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no warning for a tensor without grad
            assert not lib.asarray(lib.ones(2)).requires_grad
        assert lib.asarray(np.ones(2), requires_grad=True).requires_grad


# ---- Tensor methods ----------------------------------------------------------------------------------------------
def test_split_with_sizes_gives_views_as_torch():
    ours = mg.arange(10.0).reshape(2, 5)
    pieces = ours.split_with_sizes([2, 3], 1)
    _assert_same_tensors(pieces, torch.arange(10.0).reshape(2, 5).split_with_sizes([2, 3], 1))
    pieces[0][0, 0] = -1.0
    assert ours[0, 0].item() == -1.0
    _assert_same_tensors(mg.split_with_sizes(input=mg.ones(2, 0), split_sizes=[], dim=1),
                         torch.split_with_sizes(input=torch.ones(2, 0), split_sizes=[], dim=1))


@pytest.mark.parametrize("dtype", ["int32", "bool", "float16", "float64"])
@pytest.mark.parametrize("size", [(3,), (2, 1), ()])
def test_sum_to_size_dtypes_are_torchs(dtype, size):
    _assert_same_tensors(*_both(lambda lib: lib.ones(2, 3, dtype=getattr(lib, dtype)).sum_to_size(size)))


def test_sum_to_size_of_its_own_shape_is_itself():
    x = mg.ones(2, 3, requires_grad=True)
    assert x.sum_to_size(2, 3) is x and x.sum_to_size([2, 3]) is x


@pytest.mark.parametrize("args, options", [((2, 3), {}), (((2,),), {"dtype": "int64"}), (([],), {}),
                                           ((1,), {"requires_grad": True}), ((0, 2), {"dtype": "float64"})])
def test_new_empty_is_torchs(args, options):
    ours, theirs = _both(lambda lib: lib.ones(2, dtype=lib.float16).new_empty(*args, **{
        key: getattr(lib, value) if key == "dtype" else value for key, value in options.items()}))
    assert tuple(ours.shape) == tuple(theirs.shape) and ours.requires_grad == theirs.requires_grad
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def test_retains_grad_is_torchs():
    for lib in (mg, torch):
        leaf = lib.ones(2, requires_grad=True)
        computed = leaf * 2
        assert not leaf.retains_grad and not computed.retains_grad and not lib.ones(2).retains_grad
        computed.retain_grad()
        leaf.retain_grad()
        assert computed.retains_grad and not leaf.retains_grad


ADDR_DTYPES = [("int64", "int64", "int64"), ("int32", "int64", "int32"), ("int64", "float32", "float32"),
               ("float32", "float64", "float32"), ("bool", "int64", "int64"), ("int64", "bool", "bool"),
               ("bool", "bool", "bool"), ("float16", "float32", "float32")]


@pytest.mark.parametrize("dtypes", ADDR_DTYPES)
@pytest.mark.parametrize("beta, alpha", [(1, 1), (2, 3), (0, 2), (1, 0)])
def test_addr_dtypes_and_values_are_torchs(dtypes, beta, alpha):
    def call(lib):
        values = ([[1, 0, 2], [0, 3, 1]], [1, 0], [2, 1, 0])
        return lib.addr(*(lib.tensor(v, dtype=getattr(lib, d)) for v, d in zip(values, dtypes)), beta=beta,
                        alpha=alpha)

    _assert_same_tensors(*_both(call))


def test_addr_with_beta_0_leaves_input_out():
    _assert_same_tensors(*_both(lambda lib: lib.full((2, 2), float("nan")).addr(lib.ones(2), lib.ones(2), beta=0)))


# ---- poisson, binomial --------------------------------------------------------------------------------------------
def test_poisson_draws_have_its_moments():
    mg.manual_seed(3)
    rates = mg.tensor([0.5, 4.0, 30.0, 0.0]).repeat(N // 4, 1)
    counts = mg.poisson(rates).numpy()
    np.testing.assert_allclose(counts.mean(0), [0.5, 4.0, 30.0, 0.0], rtol=0.03)
    np.testing.assert_allclose(counts.var(0), [0.5, 4.0, 30.0, 0.0], rtol=0.05)
    assert (counts == np.round(counts)).all() and counts.min() == 0


def test_binomial_draws_have_its_moments():
    mg.manual_seed(4)
    count, prob = mg.tensor([10.0, 3.0, 50.0]), mg.tensor([0.5, 0.9, 0.05])
    drawn = mg.binomial(count.repeat(N // 3, 1), prob).numpy()
    np.testing.assert_allclose(drawn.mean(0), (count * prob).numpy(), rtol=0.02)
    np.testing.assert_allclose(drawn.var(0), (count * prob * (1 - prob)).numpy(), rtol=0.05)
    assert (drawn <= count.numpy()).all() and (drawn >= 0).all()


def test_random_draws_follow_their_generator():
    rates, count, prob = mg.full((50,), 3.0), mg.full((50,), 20.0), mg.full((50,), 0.3)
    for draw in (lambda g: mg.poisson(rates, g), lambda g: mg.binomial(count, prob, generator=g)):
        first, again = (draw(mg.Generator().manual_seed(7)).numpy() for _ in range(2))
        np.testing.assert_array_equal(first, again)
        assert not np.array_equal(first, draw(mg.Generator().manual_seed(8)).numpy())


@pytest.mark.parametrize("call", [
    lambda lib: lib.poisson(lib.ones(2, 3, dtype=lib.float64)),
    lambda lib: lib.poisson(lib.ones((), dtype=lib.float16)),
    lambda lib: lib.binomial(lib.ones(2, 3), lib.full((3,), 0.5)),
    lambda lib: lib.binomial(lib.ones(3, dtype=lib.float64), lib.tensor(0.5, dtype=lib.float64)),
])
def test_draws_shapes_and_dtypes_are_torchs(call):
    ours, theirs = _both(call)
    assert tuple(ours.shape) == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


def test_draws_at_their_parameters_edges_are_torchs():
    """Certain outcomes (a rate or a count of 0, a probability of 0 or 1, beyond [0, 1] as its bound) and the NaN
    probability torch passes through."""
    count = [10.0, 10.0, 0.0, -1.0, 7.0, 7.0, 10.0]
    prob = [1.0, 0.0, 0.5, 0.5, 1.5, -0.5, float("nan")]
    _assert_same_tensors(*_both(lambda lib: (lib.poisson(lib.zeros(3)),
                                             lib.binomial(lib.tensor(count), lib.tensor(prob)))))


def test_gradients_of_poisson_are_zero_as_torchs():
    grads = []
    for lib in (mg, torch):
        rates = lib.tensor([1.0, 5.0], requires_grad=True)
        (lib.poisson(rates) * 3).sum().backward()
        grads.append(_numpy(rates.grad))
    np.testing.assert_array_equal(*grads)


# ---- empty_strided -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("size, stride", [((2, 3), (1, 2)), ((2, 3), (3, 1)), ((2, 3), (0, 1)), ((), ()),
                                          ((0, 3), (1, 1)), ((2, 2, 2), (1, 4, 2))])
def test_empty_strided_has_torchs_strides(size, stride):
    ours, theirs = _both(lambda lib: lib.empty_strided(size, stride, dtype=lib.float64, requires_grad=True))
    assert (tuple(ours.shape), ours.stride(), ours.is_contiguous(), ours.requires_grad, ours.is_leaf) == (
        tuple(theirs.shape), theirs.stride(), theirs.is_contiguous(), theirs.requires_grad, theirs.is_leaf)
    assert str(ours.dtype) == "float64"


# ---- the GPU path ----------------------------------------------------------------------------------------------
def test_gpu_path_of_the_functions_matches_cpu(gpu_path):
    results = {}
    for device in ("cpu", "gpu"):
        mg.manual_seed(5)
        rates = mg.tensor([1.0, 4.0], device=device)
        made = [mg.poisson(rates), mg.binomial(mg.full((2,), 6.0, device=device), mg.full((2,), 0.5, device=device)),
                mg.empty_strided((2, 3), (1, 2), device=device), *mg.unravel_index(mg.tensor([4, 1], device=device),
                                                                                  (3, 2)),
                mg.vander(mg.tensor([1.5, -2.0], device=device)), mg.asarray(rates, dtype=mg.float64),
                rates.new_empty(2, 2), rates.sum_to_size(1)]
        assert all(tensor.device == device for tensor in made)
        results[device] = [tensor.numpy() for tensor in made]
    for ours, reference in zip(results["gpu"], results["cpu"]):
        np.testing.assert_allclose(ours, reference, rtol=1e-6)



def test_chain_matmul_gives_torchs_deprecation_warning():
    """torch gives it once a process (TORCH_WARN_ONCE), so its text, torch 2.13's, is written here."""
    with pytest.warns(UserWarning) as caught:
        mg.chain_matmul(mg.ones(2, 3), mg.ones(3, 2))
    assert [str(w.message) for w in caught] == [
        "torch.chain_matmul is deprecated and will be removed in a future PyTorch release. Use torch.linalg.multi_dot "
        "instead, which accepts a list of two or more tensors rather than multiple parameters."]
