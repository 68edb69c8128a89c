"""Bitwise logic of masks and integer tensors, and torch's dtype names, against torch."""
import itertools
import operator

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

DTYPES = ["bool", "uint8", "int8", "int32", "int64", "float32", "float64"]
BITWISE = {"and": operator.and_, "or": operator.or_, "xor": operator.xor}


def _values(dtype, seed):
    values = np.random.default_rng(seed).integers(-3, 9, size=(2, 3))
    return values.astype(dtype) if dtype != "bool" else values > 2


def _outcome(make):
    """The result as an array, or the error's type and message."""
    try:
        result = make()
    except (TypeError, RuntimeError, NotImplementedError) as error:
        return type(error).__name__, str(error)
    return result.numpy()


def _assert_same_outcome(ours, theirs):
    if isinstance(theirs, tuple):
        assert ours == theirs
    else:
        assert not isinstance(ours, tuple), ours
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", ["eq", "ne", "lt", "le", "gt", "ge", "bitwise_and", "bitwise_or", "bitwise_xor"])
@pytest.mark.parametrize("dtype", ["bool", "int64", "float32"])
def test_comparison_and_bitwise_methods_match_torch(name, dtype):
    """torch's method forms (target.ne(ignore_index), pred.eq(target)), with a tensor or a number."""
    left, right = _values(dtype, 0), _values(dtype, 1)
    for other in (right, 2):
        _assert_same_outcome(_outcome(lambda: getattr(mg.tensor(left), name)(
                                 mg.tensor(other) if isinstance(other, np.ndarray) else other)),
                             _outcome(lambda: getattr(torch.tensor(left), name)(
                                 torch.tensor(other) if isinstance(other, np.ndarray) else other)))


@pytest.mark.parametrize("op", BITWISE)
@pytest.mark.parametrize("left, right", list(itertools.product(DTYPES, DTYPES)))
def test_bitwise_ops_of_two_tensors_match_torch(op, left, right):
    a, b = _values(left, 0), _values(right, 1)[:1]                  # (2, 3) with (1, 3): broadcast too
    ours = _outcome(lambda: BITWISE[op](mg.tensor(a), mg.tensor(b)))
    theirs = _outcome(lambda: BITWISE[op](torch.tensor(a), torch.tensor(b)))
    _assert_same_outcome(ours, theirs)


@pytest.mark.parametrize("op", BITWISE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("scalar", [True, 5, -2, 1.5])
def test_bitwise_ops_with_python_scalars_on_either_side_match_torch(op, dtype, scalar):
    a = _values(dtype, 2)
    for order in (lambda t: BITWISE[op](t, scalar), lambda t: BITWISE[op](scalar, t)):
        _assert_same_outcome(_outcome(lambda: order(mg.tensor(a))), _outcome(lambda: order(torch.tensor(a))))


@pytest.mark.parametrize("dtype", DTYPES)
def test_invert_matches_torch(dtype):
    a = _values(dtype, 3)
    _assert_same_outcome(_outcome(lambda: ~mg.tensor(a)), _outcome(lambda: ~torch.tensor(a)))


@pytest.mark.parametrize("op", BITWISE)
@pytest.mark.parametrize("left, right", list(itertools.product(["bool", "uint8", "int64"], ["bool", "int64"])))
def test_in_place_bitwise_ops_change_the_tensor_itself_like_torch(op, left, right):
    a, b = _values(left, 4), _values(right, 5)

    def in_place(module):
        target = module.tensor(a)
        alias = target
        target = getattr(target, f"__i{op}__")(module.tensor(b))
        assert target is alias
        return target

    _assert_same_outcome(_outcome(lambda: in_place(mg)), _outcome(lambda: in_place(torch)))


def test_masks_of_a_tensor_that_requires_grad_combine_outside_the_graph():
    weights = mg.tensor([-1.0, 0.5, 2.0], requires_grad=True)
    mask = (weights > 0) & ~(weights > 1)
    assert not mask.requires_grad
    np.testing.assert_array_equal(mask.numpy(), [False, True, False])
    (weights * mask).sum().backward()
    np.testing.assert_array_equal(weights.grad.numpy(), [0.0, 1.0, 0.0])


def test_a_bitwise_op_with_something_else_is_a_type_error():
    with pytest.raises(TypeError):
        mg.tensor([True]) & "yes"


DTYPE_NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float32", "float64", "float", "double", "long",
               "int", "short"]


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_names_are_torchs(name):
    ours = mg.zeros(2, dtype=getattr(mg, name))
    theirs = torch.zeros(2, dtype=getattr(torch, name))
    assert ours.dtype == theirs.numpy().dtype == getattr(mg, name)
    assert mg.ones(3).to(getattr(mg, name)).dtype == torch.ones(3).to(getattr(torch, name)).numpy().dtype


@pytest.mark.parametrize("convert", [
    lambda L, t: t.to(dtype=L.long), lambda L, t: t.to("cpu", L.float64), lambda L, t: t.to(device="cpu"),
    lambda L, t: t.to(device="cpu", dtype=L.double), lambda L, t: t.to("cpu", dtype=L.int32), lambda L, t: t.to(),
    lambda L, t: t.to("cpu", non_blocking=True), lambda L, t: t.to(L.float32, copy=True),
], ids=["dtype_keyword", "device_and_dtype", "device_keyword", "both_keywords", "device_then_dtype_keyword", "none",
        "non_blocking", "copy"])
def test_to_takes_torchs_device_and_dtype_forms(convert):
    values = np.array([-1.5, 0.25, 2.75], np.float32)
    mine, reference = mg.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours, theirs = convert(mg, mine), convert(torch, reference)
    assert ours.dtype == theirs.detach().numpy().dtype and ours.requires_grad == theirs.requires_grad
    assert (ours is mine) == (theirs is reference)  # the tensor itself where nothing changes, unless copy=True
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
