"""torch's shape, join, comparison and arithmetic functions that ported code calls (movedim, take_along_dim,
tensor_split, rot90, block_diag, hstack, add with alpha, div with rounding_mode, addcdiv, isin, t_, unsqueeze_, stride,
...), against torch: values and gradients in float32, float64 gradchecks, result dtypes, views where torch's are,
in-place forms, tensor facts, torch's errors, and the GPU path."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_gpu_matches_cpu, assert_matches_torch, made, normal, uniform

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:Tensor.mH is deprecated on 0-D tensors")  # torch's note


def index(lib, like, values):
    return lib.tensor(values, device=like.device)


def joined(lib, pieces):
    """Several outputs as one, to compare and differentiate at once."""
    return lib.cat([piece.reshape(-1) for piece in pieces])


# name -> (fn(lib, *tensors), makers of the inputs); fn runs on torch and on minigrad alike, every input
# differentiable.
CASES = {
    "add alpha": (lambda lib, a, b: lib.add(a, b, alpha=-1.5), [normal(3, 4), normal(4)]),
    "add of a number": (lambda lib, a: lib.add(2.5, a, alpha=2), [normal(3)]),
    "sub alpha method": (lambda lib, a, b: a.sub(b, alpha=0.5), [normal(3, 1), normal(4)]),
    "subtract": (lambda lib, a, b: lib.subtract(a, b), [normal(3, 4), normal(3, 4)]),
    "rsub": (lambda lib, a, b: lib.rsub(a, b, alpha=3), [normal(2, 3), normal(3)]),
    "rsub number": (lambda lib, a: lib.rsub(a, 2.0), [normal(4)]),
    "mul": (lambda lib, a, b: lib.mul(a, b), [normal(3, 4), normal(4)]),
    "multiply of a number": (lambda lib, a: lib.multiply(3, a), [normal(4)]),
    "div": (lambda lib, a, b: lib.div(a, b), [normal(3, 4), uniform(0.5, 2, 4)]),
    "div of a number": (lambda lib, b: lib.divide(2.0, b), [uniform(0.5, 2, 4)]),
    "div trunc": (lambda lib, a, b: lib.div(a, b, rounding_mode="trunc") + a, [uniform(-5, 5, 8), uniform(0.5, 2, 8)]),
    "div floor": (lambda lib, a, b: a.div(b, rounding_mode="floor") + b, [uniform(-5, 5, 8), uniform(0.5, 2, 8)]),
    "true_divide": (lambda lib, a, b: lib.true_divide(a, b), [normal(3, 4), uniform(0.5, 2, 3, 1)]),
    "negative": (lambda lib, a: lib.negative(a), [normal(3)]),
    "positive": (lambda lib, a: lib.positive(a) * 2, [normal(3)]),
    "addcmul": (lambda lib, a, b, c: lib.addcmul(a, b, c, value=-0.5), [normal(3, 4), normal(4), normal(3, 1)]),
    "addcdiv": (lambda lib, a, b, c: a.addcdiv(b, c, value=2), [normal(3, 4), normal(4), uniform(0.5, 2, 3, 1)]),
    "float_power": (lambda lib, a, b: lib.float_power(a, b), [uniform(0.5, 2, 3, 4), normal(4)]),
    "float_power number": (lambda lib, a: a.float_power(3), [normal(5)]),
    "broadcast_to": (lambda lib, a: lib.broadcast_to(a, (2, 3, 4)), [normal(3, 1)]),
    "broadcast_tensors": (lambda lib, a, b: joined(lib, lib.broadcast_tensors(a, b)), [normal(3, 1), normal(4)]),
    "movedim": (lambda lib, a: lib.movedim(a, 0, -1), [normal(2, 3, 4)]),
    "movedim several": (lambda lib, a: a.movedim((0, 3), (2, 0)), [normal(2, 3, 4, 5)]),
    "moveaxis": (lambda lib, a: lib.moveaxis(a, -1, 1), [normal(2, 3, 4)]),
    "swapaxes": (lambda lib, a: lib.swapaxes(a, 0, 2), [normal(2, 3, 4)]),
    "swapdims method": (lambda lib, a: a.swapdims(-1, 0), [normal(2, 3)]),
    "select": (lambda lib, a: lib.select(a, 1, -1), [normal(2, 3, 4)]),
    "take": (lambda lib, a: lib.take(a, index(lib, a, [[0, -1, 5], [5, 5, 2]])), [normal(2, 3)]),
    "take_along_dim": (lambda lib, a: lib.take_along_dim(a, index(lib, a, [[0, 2], [2, 2]]), dim=1), [normal(2, 3)]),
    "take_along_dim broadcast": (lambda lib, a: a.take_along_dim(index(lib, a, [[[1], [0], [1]]]), dim=2),
                                 [normal(2, 3, 4)]),
    "take_along_dim flat": (lambda lib, a: lib.take_along_dim(a, index(lib, a, [[3, 0], [3, 5]])), [normal(2, 3)]),
    "tensor_split sections": (lambda lib, a: joined(lib, [p * (i + 1) for i, p in enumerate(a.tensor_split(3, 1))]),
                              [normal(2, 7)]),
    "tensor_split indices": (lambda lib, a: joined(lib, [p * (i + 1) for i, p in enumerate(
        lib.tensor_split(a, [1, 4, 3, -1, 9]))]), [normal(6, 2)]),
    "tensor_split tensor": (lambda lib, a: joined(lib, [p * (i + 1) for i, p in enumerate(
        lib.tensor_split(a, index(lib, a, 2), dim=-1))]), [normal(2, 5)]),
    "hsplit": (lambda lib, a: joined(lib, [p * (i + 1) for i, p in enumerate(lib.hsplit(a, 2))]), [normal(3, 4)]),
    "hsplit 1-d": (lambda lib, a: joined(lib, [p * (i + 1) for i, p in enumerate(a.hsplit([2]))]), [normal(5)]),
    "vsplit": (lambda lib, a: joined(lib, [p * (i + 1) for i, p in enumerate(lib.vsplit(a, 2))]), [normal(4, 3)]),
    "dsplit": (lambda lib, a: joined(lib, [p * (i + 1) for i, p in enumerate(a.dsplit([1]))]), [normal(2, 2, 3)]),
    "tile": (lambda lib, a: lib.tile(a, (2,)), [normal(2, 3)]),
    "tile more dims": (lambda lib, a: a.tile(2, 1, 3), [normal(2, 3)]),
    "rot90": (lambda lib, a: lib.rot90(a), [normal(2, 3)]),
    "rot90 twice": (lambda lib, a: lib.rot90(a, 2, (2, 0)), [normal(2, 3, 4)]),
    "rot90 back": (lambda lib, a: a.rot90(-1, [1, 2]), [normal(2, 3, 4)]),
    "rot90 none": (lambda lib, a: a.rot90(4), [normal(2, 3)]),
    "fliplr": (lambda lib, a: lib.fliplr(a), [normal(2, 3, 2)]),
    "flipud": (lambda lib, a: a.flipud(), [normal(4)]),
    "atleast_3d": (lambda lib, a, b: joined(lib, lib.atleast_3d(a, b)), [normal(3), normal(2, 3)]),
    "concat": (lambda lib, a, b: lib.concat([a, b], dim=-1), [normal(2, 3), normal(2, 1)]),
    "concatenate": (lambda lib, a, b: lib.concatenate((a, b), axis=0), [normal(2, 3), normal(1, 3)]),
    "hstack": (lambda lib, a, b: lib.hstack([a, b]), [normal(2, 3), normal(2, 1)]),
    "hstack 1-d": (lambda lib, a, b: lib.hstack([a, b]), [normal(2), normal()]),
    "vstack": (lambda lib, a, b: lib.vstack([a, b]), [normal(3), normal(2, 3)]),
    "dstack": (lambda lib, a, b: lib.dstack([a, b]), [normal(3), normal(1, 3)]),
    "column_stack": (lambda lib, a, b, c: lib.column_stack([a, b, c]), [normal(3), normal(3, 2), normal(3)]),
    "block_diag": (lambda lib, a, b, c: lib.block_diag(a, b, c), [normal(2, 3), normal(), normal(4)]),
    "mT": (lambda lib, a: a.mT * 1, [normal(2, 3, 4)]),
    "mH of 0-d": (lambda lib, a: a.mH * 1, [normal()]),
    "diag_embed": (lambda lib, a: lib.diag_embed(a), [normal(2, 3)]),
    "diag_embed offset": (lambda lib, a: a.diag_embed(-1, 0, 2), [normal(2, 3)]),
    "diag_embed reversed dims": (lambda lib, a: lib.diag_embed(a, 2, -1, 1), [normal(2, 3, 4)]),
    "H": (lambda lib, a: a.H * 1, [normal(2, 3)]),
    "mm method": (lambda lib, a, b: a.mm(b), [normal(2, 3), normal(3, 4)]),
    "bmm method": (lambda lib, a, b: a.bmm(b), [normal(2, 2, 3), normal(2, 3, 4)]),
}


def _arrays(name, seed=0):
    return made(CASES[name][1], seed)


@pytest.mark.parametrize("name", CASES)
def test_values_and_gradients_match_torch(name):
    assert_matches_torch(torch, CASES[name][0], _arrays(name))


GRADCHECKED = ["add alpha", "rsub", "addcmul", "addcdiv", "float_power", "take", "take_along_dim broadcast",
               "take_along_dim flat", "tensor_split indices", "movedim several", "rot90 back", "block_diag",
               "column_stack", "broadcast_tensors", "diag_embed offset", "diag_embed reversed dims"]


@pytest.mark.parametrize("name", GRADCHECKED)
def test_gradcheck(name):
    inputs = [mg.tensor(a, requires_grad=True) for a in _arrays(name, seed=2)]
    assert mg.gradcheck(lambda *xs: CASES[name][0](mg, *xs), inputs)


@pytest.mark.parametrize("name", ["add alpha", "div trunc", "addcdiv", "float_power", "take", "take_along_dim broadcast",
                                  "tensor_split indices", "rot90 back", "block_diag", "mT",
                                  "diag_embed reversed dims"])
def test_gpu_path_matches_cpu(name, gpu_path):
    assert_gpu_matches_cpu(CASES[name][0], _arrays(name))


INTEGERS = np.array([[-7, 7, 0, 5], [3, -3, 9, -1]])
DIVISORS = np.array([2, -2, 3, -4])

# name -> fn(lib, integers, divisors, floats): results whose values and dtypes follow torch's promotion.
DTYPE_CASES = {
    "div trunc of integers": lambda lib, i, d, f: lib.div(i, d, rounding_mode="trunc"),
    "div trunc by a number": lambda lib, i, d, f: i.div(-2, rounding_mode="trunc"),
    "div floor of integers": lambda lib, i, d, f: lib.div(i, d, rounding_mode="floor"),
    "div trunc of int32 by a float": lambda lib, i, d, f: lib.div(i.int(), 2.5, rounding_mode="trunc"),
    "true_divide of integers": lambda lib, i, d, f: lib.true_divide(i, d),
    "add of a number to int32": lambda lib, i, d, f: lib.add(3, i.int()),
    "add alpha of integers": lambda lib, i, d, f: lib.add(i, d, alpha=-2),
    "rsub of integers": lambda lib, i, d, f: lib.rsub(i, 4, alpha=2),
    "addcmul of integers": lambda lib, i, d, f: lib.addcmul(i, d, i, value=2.7),
    "addcdiv of floats by integers": lambda lib, i, d, f: lib.addcdiv(f, f, d),
    "float_power of integers": lambda lib, i, d, f: lib.float_power(i, 2),
    "float_power of float32": lambda lib, i, d, f: f.float_power(f),
    "block_diag promotes": lambda lib, i, d, f: lib.block_diag(i, f[0]),
    "hstack promotes": lambda lib, i, d, f: lib.hstack([i.int(), i]),
    "isclose": lambda lib, i, d, f: lib.isclose(f, f + 1e-6 * f.abs().max(), rtol=0),
    "isclose of integers": lambda lib, i, d, f: lib.isclose(i, i + 1, atol=1),
    "isclose with nan": lambda lib, i, d, f: (f / 0 * 0).isclose(f / 0 * 0, equal_nan=True),
    "isin": lambda lib, i, d, f: lib.isin(i, d),
    "isin a number": lambda lib, i, d, f: lib.isin(i, 3, invert=True),
    "isin of a number": lambda lib, i, d, f: lib.isin(-3, i),
    "isin floats in integers": lambda lib, i, d, f: lib.isin(f.round(), i),
    "argwhere": lambda lib, i, d, f: lib.argwhere(i),
    "signbit": lambda lib, i, d, f: lib.signbit(lib.cat([f, -f * 0])),
    "signbit of integers": lambda lib, i, d, f: i.signbit(),
    "sgn": lambda lib, i, d, f: lib.sgn(i),
    "eq": lambda lib, i, d, f: lib.eq(i, d),
    "not_equal": lambda lib, i, d, f: lib.not_equal(f, 0.5),
    "greater_equal": lambda lib, i, d, f: i.greater_equal(d),
    "less": lambda lib, i, d, f: lib.less(i, 0),
}


@pytest.mark.parametrize("name", DTYPE_CASES)
def test_results_and_dtypes_match_torch(name):
    floats = np.random.default_rng(3).uniform(-3, 3, (2, 4)).astype(np.float32)
    results = [DTYPE_CASES[name](lib, lib.tensor(INTEGERS), lib.tensor(DIVISORS), lib.tensor(floats))
               for lib in (mg, torch)]
    ours, theirs = results
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_equal_matches_torch():
    for lib in (mg, torch):
        a = lib.tensor([[1.0, 2.0], [3.0, 4.0]])
        assert lib.equal(a, lib.tensor([[1, 2], [3, 4]]))  # promoted, as torch's
        assert not lib.equal(a, a[0]) and not a.equal(a + 1)
        assert not lib.equal(a / 0 * 0, a / 0 * 0)  # NaN equals nothing


def test_detach_and_clone_functions():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    detached, cloned = mg.detach(x), mg.clone(x)
    assert not detached.requires_grad and np.shares_memory(detached.data, x.data)
    assert cloned.requires_grad and not np.shares_memory(cloned.data, x.data)
    assert mg.positive(x) is x


def _shares(view, base):
    return np.shares_memory(view.data, base.data)


# name -> fn(tensor of shape (2, 3, 4)): a result that torch makes a view of it.
VIEWS = {
    "select": lambda t: t.select(2, 1),
    "movedim": lambda t: t.movedim(0, 2),
    "swapaxes": lambda t: t.swapaxes(0, 1),
    "broadcast_to": lambda t: t.broadcast_to((5, 2, 3, 4)),
    "broadcast_tensors": lambda t: mg.broadcast_tensors(t, mg.zeros(3, 1))[0],
    "tensor_split": lambda t: t.tensor_split(2, 1)[1],
    "hsplit": lambda t: t.hsplit([1])[1],
    "mT": lambda t: t.mT,
    "atleast_3d": lambda t: mg.atleast_3d(t[0, 0]),
}


@pytest.mark.parametrize("name", VIEWS)
def test_views_share_the_tensors_elements_and_see_its_changes(name):
    base = mg.arange(24.0).reshape(2, 3, 4)
    view = VIEWS[name](base)
    assert _shares(view, base)
    expected = VIEWS[name](base * 10).numpy()
    base.mul_(10)
    np.testing.assert_array_equal(view.numpy(), expected)


IN_PLACE = {
    "floor_": ((), {}), "ceil_": ((), {}), "round_": ((), {"decimals": 1}), "trunc_": ((), {}), "frac_": ((), {}),
    "reciprocal_": ((), {}), "sign_": ((), {}), "sgn_": ((), {}), "square_": ((), {}), "fmod_": ((0.7,), {}),
    "remainder_": ((0.7,), {}), "lerp_": ((np.float32([2.0]), 0.25), {}), "div_": ((0.3,), {"rounding_mode": "floor"}),
    "floor_divide_": ((0.3,), {}), "addcmul_": ((np.float32([2.0]), np.float32([3.0])), {"value": 0.5}),
    "addcdiv_": ((np.float32([1.5]), np.float32([2.0])), {"value": 2}),
    "add_": ((2.0,), {"alpha": -1}), "sub_": ((2.0,), {"alpha": 3}), "sin_": ((), {}), "cos_": ((), {}),
    "log1p_": ((), {}), "expm1_": ((), {}), "rsqrt_": ((), {}),
}


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_methods_match_torch_and_change_the_tensor_itself(name):
    args, kwargs = IN_PLACE[name]
    values = np.random.default_rng(4).uniform(0.1, 3, (3, 4)).astype(np.float32)
    ours, theirs = mg.tensor(values), torch.tensor(values)
    view = ours[1]
    assert getattr(ours, name)(*(mg.tensor(a) if isinstance(a, np.ndarray) else a for a in args), **kwargs) is ours
    getattr(theirs, name)(*(torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args), **kwargs)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(view.numpy(), ours.numpy()[1])


def test_in_place_methods_are_differentiable_and_refuse_a_leaf():
    grads = []
    for lib in (mg, torch):
        x = lib.tensor([[0.3, -1.2], [2.5, 0.7]], requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            x.square_()
        y = x * 1
        y.square_().addcdiv_(x, x + 3, value=0.5).lerp_(x, 0.3)
        (y * lib.tensor([[1.0, -2.0], [0.5, 3.0]])).sum().backward()
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-6)


def test_float_power_in_place_needs_float64_like_torch():
    for lib in (mg, torch):
        with pytest.raises(RuntimeError, match="the base given to float_power_ has dtype Float but the operation's "
                                               "result requires dtype Double"):
            lib.tensor([1.0]).float_power_(2)
        x = lib.tensor([1.5, 2.0], dtype=lib.float64)
        assert x.float_power_(lib.tensor([2.0, 3.0])) is x
        np.testing.assert_array_equal(x.numpy(), [2.25, 8.0])


def test_shape_changing_in_place_methods_match_torch():
    """t_, transpose_, squeeze_ and unsqueeze_ change the tensor's own shape; its elements stay shared with its base
    and its views, whose changes it sees and they see, as torch's; gradients pass through."""
    results = []
    for lib in (mg, torch):
        x = lib.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
        y = x * 1
        row = y[0]
        assert y.t_() is y and y.shape == (3, 2) and row.shape == (3,)
        row.unsqueeze_(0)
        assert row.shape == (1, 3)
        row.mul_(10)  # through the view: y sees it
        column = y[:, 1]
        column.unsqueeze_(-1).transpose_(0, 1).squeeze_()
        y.add_(1)  # through the base: the view sees it
        z = lib.zeros(2, 1, 3)
        z.squeeze_(1).unsqueeze_(0).transpose_(0, 2)
        (y * lib.tensor(np.arange(6.0).reshape(3, 2))).sum().backward()
        results.append([y.detach().numpy(), row.detach().numpy(), column.detach().numpy(), x.grad.numpy(),
                        np.array(z.shape)])
    for ours, theirs in zip(*results):
        np.testing.assert_array_equal(ours, theirs)


def test_shape_changing_in_place_of_a_leaf_is_refused_while_recorded():
    for lib in (mg, torch):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            x.unsqueeze_(0)
        with lib.no_grad():
            x.unsqueeze_(0)
        assert x.shape == (1, 2) and x.is_leaf


def test_tensor_facts_match_torch():
    def facts(lib):
        base = lib.zeros(2, 3, 4)
        tensors = [base, base.permute(2, 0, 1), base[:, 1], base[..., ::2], lib.zeros(3, 1).expand(2, 3, 5),
                   lib.zeros((), dtype=lib.int64), lib.zeros(4, dtype=lib.bool), lib.zeros(3).unsqueeze(0)]
        return [(t.nelement(), t.ndimension(), t.element_size(), t.itemsize, t.nbytes, t.is_contiguous(), t.stride(),
                 t.stride(-1) if t.ndim else None) for t in tensors]

    assert facts(mg) == facts(torch)


# name -> fn(lib): a call that torch refuses.
ERRORS = {
    "add alpha of integers": lambda lib: lib.add(lib.tensor([1]), 2, alpha=0.5),
    "div rounding_mode": lambda lib: lib.div(lib.tensor([1.0]), 2, rounding_mode="round"),
    "div floor by integer zero": lambda lib: lib.div(lib.tensor([3, 4]), lib.tensor([1, 0]), rounding_mode="floor"),
    "div trunc by integer zero": lambda lib: lib.tensor([3]).div(0, rounding_mode="trunc"),
    "positive of bools": lambda lib: lib.positive(lib.tensor([True])),
    "select out of range": lambda lib: lib.zeros(3, 4).select(0, 3),
    "select dim": lambda lib: lib.zeros(3, 4).select(2, 0),
    "take out of range": lambda lib: lib.zeros(3, 4).take(lib.tensor([12])),
    "take negative out of range": lambda lib: lib.zeros(3, 4).take(lib.tensor([[0, -13]])),
    "take float index": lambda lib: lib.zeros(3).take(lib.tensor([1.0])),
    "take_along_dim dims": lambda lib: lib.zeros(3, 4).take_along_dim(lib.tensor([1]), 0),
    "take_along_dim dtype": lambda lib: lib.zeros(3, 4).take_along_dim(lib.tensor([[1]], dtype=lib.int32), 0),
    "tensor_split sections": lambda lib: lib.zeros(3).tensor_split(0),
    "tensor_split 2-d tensor": lambda lib: lib.zeros(3).tensor_split(lib.tensor([[1]])),
    "hsplit indivisible": lambda lib: lib.zeros(3, 4).hsplit(3),
    "hsplit into 0": lambda lib: lib.zeros(3, 4).hsplit(0),
    "vsplit of 1-d": lambda lib: lib.zeros(4).vsplit(2),
    "dsplit of 2-d": lambda lib: lib.zeros(4, 2).dsplit(2),
    "rot90 dims": lambda lib: lib.zeros(3, 4).rot90(1, [0]),
    "rot90 of 1-d": lambda lib: lib.zeros(3).rot90(),
    "rot90 same dims": lambda lib: lib.zeros(3, 4).rot90(1, [1, -1]),
    "fliplr of 1-d": lambda lib: lib.zeros(3).fliplr(),
    "flipud of 0-d": lambda lib: lib.zeros(()).flipud(),
    "movedim lengths": lambda lib: lib.zeros(3, 4).movedim((0, 1), (0,)),
    "movedim repeats": lambda lib: lib.zeros(3, 4).movedim((0, 0), (0, 1)),
    "movedim repeats destination": lambda lib: lib.zeros(3, 4).movedim((0, 1), (1, -1)),
    "broadcast_tensors": lambda lib: lib.broadcast_tensors(lib.zeros(3, 4), lib.zeros(2, 1)),
    "block_diag of 3-d": lambda lib: lib.block_diag(lib.zeros(2), lib.zeros(1, 2, 3)),
    "isclose dtypes": lambda lib: lib.isclose(lib.zeros(2), lib.zeros(2, dtype=lib.int64)),
    "isclose rtol": lambda lib: lib.isclose(lib.zeros(2), lib.zeros(2), rtol=-1),
    "isclose atol": lambda lib: lib.zeros(2).isclose(lib.zeros(2), atol=-0.5),
    "addcdiv of integers": lambda lib: lib.addcdiv(lib.zeros(2), lib.tensor([1, 2]), lib.tensor([1, 2])),
    "t_ of 3-d": lambda lib: lib.zeros(2, 3, 4).t_(),
    "transpose_ dim": lambda lib: lib.zeros(2, 3).transpose_(0, 2),
    "mT of 1-d": lambda lib: lib.zeros(3).mT,
    "mH of 1-d": lambda lib: lib.zeros(3).mH,
    "diag_embed same dims": lambda lib: lib.zeros(2, 3).diag_embed(0, 1, -2),
    "diag_embed dim": lambda lib: lib.diag_embed(lib.zeros(2, 3), 0, 3, 1),
    "diag_embed of 0-d": lambda lib: lib.diag_embed(lib.zeros(())),
    "H of 3-d": lambda lib: lib.zeros(2, 3, 4).H,
    "H of 1-d": lambda lib: lib.zeros(2).H,
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_match_torch(name):
    caught = []
    for lib in (torch, mg):
        with pytest.raises(Exception) as error:
            ERRORS[name](lib)
        caught.append(error)
    theirs, ours = caught
    assert ours.type is theirs.type
    assert str(ours.value) == str(theirs.value)
