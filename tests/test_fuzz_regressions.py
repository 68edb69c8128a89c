"""Cases where minigrad once disagreed with torch, each reduced to its smallest form: an Ellipsis of no dims between
advanced indices, a number written into a float64 tensor while autograd records, kl_div of a target that
broadcasts, add and sub with alpha and a bool operand, div's rounding_mode="trunc" (its zero gradient where the
divisor is 0, its bool and integer operands), the torch.add(number, tensor) forms' promotion of the number, and
amax's error for an empty tensor over every dim."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, differentiable_case_tests, normal, uniform

torch = pytest.importorskip("torch")


def _set_at_arrays_beside_empty_ellipsis(lib, x, value):
    out = x * 1
    out[:, [0, 2], ..., [1, 0]] = value  # torch's value shape (4, 2): the arrays' dim stays in place
    return out


CASES = {
    # the arrays' dims stay adjacent across an Ellipsis of no dims (NumPy would move them first: (2, 3))
    "getitem: arrays beside an empty Ellipsis": (lambda lib, x: x[1:, [0, 2], ..., [True, False], -1],
                                                [normal(4, 3, 2, 5)]),
    "setitem: arrays beside an empty Ellipsis": (_set_at_arrays_beside_empty_ellipsis,
                                                [normal(4, 3, 2), normal(4, 2)]),
    "kl_div: a target that broadcasts": (lambda lib, x, y: lib.nn.functional.kl_div(x, y, reduction="batchmean"),
                                         [normal(4, 3), uniform(0.1, 1.0, 4, 1)]),
    "kl_div: a log target that broadcasts": (
        lambda lib, x, y: lib.nn.functional.kl_div(x, y, reduction="sum", log_target=True),
        [normal(2, 3), normal(3)]),
}

test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(
    torch, CASES)


def _both(fn):
    """fn on minigrad and on torch, as (dtype name, values)."""
    ours, theirs = fn(mg), fn(torch)
    return (str(ours.dtype), ours.tolist()), (str(theirs.dtype).removeprefix("torch."), theirs.tolist())


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool"])
@pytest.mark.parametrize("op", ["add", "sub"])
def test_alpha_times_a_bool_tensor_keeps_the_operands_dtype(op, dtype):
    """bool * alpha alone would be int64: torch's result is of the operands' promoted dtype (sub refuses a bool)."""
    def fn(lib):
        return getattr(lib, op)(lib.tensor([1, 0, 1], dtype=getattr(lib, dtype)), lib.tensor([True, False, False]),
                                alpha=3)

    if op == "sub":
        assert_raises_as_torch(lambda: fn(torch), lambda: fn(mg))
    else:
        ours, theirs = _both(fn)
        assert ours == theirs


def test_trunc_division_gradient_is_zero_where_the_divisor_is_zero():
    """torch's gradients of a rounded quotient are zeros; through a / b they would be NaN at b = 0."""
    grads = []
    for lib in (mg, torch):
        x = lib.tensor([3.0, -2.5, 4.0], requires_grad=True)
        y = lib.tensor([0.0, 2.0, -0.0], requires_grad=True)
        out = lib.div(x, y, rounding_mode="trunc")
        (out * lib.tensor([1.0, 2.0, 3.0])).sum().backward()
        grads.append([x.grad.tolist(), y.grad.tolist(), out.tolist(), out.grad_fn.name()])
    assert grads[0] == grads[1]


@pytest.mark.parametrize("case", [
    lambda lib: lib.div(lib.tensor([True, False]), lib.tensor([2, -3], dtype=lib.int32), rounding_mode="trunc"),
    lambda lib: lib.div(lib.tensor([-7, 7, -8], dtype=lib.int8), lib.tensor([2, -2, 3], dtype=lib.int8),
                        rounding_mode="trunc"),
    lambda lib: lib.div(lib.tensor([-7.5, 7.0, -8.0]), lib.tensor([True, True, True]), rounding_mode="trunc"),
], ids=["bool by int32", "int8", "float by bool"])
def test_trunc_division_of_integers_and_bools(case):
    ours, theirs = _both(case)
    assert ours == theirs


def test_trunc_division_refuses_two_bools_as_torch():
    assert_raises_as_torch(
        lambda: torch.div(torch.tensor([True]), torch.tensor([True]), rounding_mode="trunc"),
        lambda: mg.div(mg.tensor([True]), mg.tensor([True]), rounding_mode="trunc"))


def test_setitem_beside_an_empty_ellipsis_without_autograd():
    """The in-place write outside the graph takes the same placement."""
    values = np.arange(8.0, dtype=np.float32).reshape(4, 2)
    results = []
    for lib in (mg, torch):
        x = lib.zeros(4, 3, 2)
        x[:, [0, 2], ..., [1, 0]] = lib.tensor(values)
        results.append(np.asarray(x.tolist()))
    np.testing.assert_array_equal(*results)



@pytest.mark.parametrize("index", [0, [1], (slice(None), None)], ids=["int", "list", "slice and None"])
def test_setitem_of_a_number_into_float64_while_recording_keeps_its_precision(index):
    """A recorded t[index] = 0.1 writes float64's 0.1, as the unrecorded one does, not float32's."""
    results = []
    for lib in (mg, torch):
        x = lib.zeros(3, dtype=lib.float64, requires_grad=True) * 1
        x[index] = 0.1
        results.append(x.tolist())
    assert results[0] == results[1]


@pytest.mark.parametrize("case", [
    lambda lib: lib.mul(0.1, lib.ones(2, dtype=lib.float64)),
    lambda lib: lib.sub(0.1, lib.ones(2, dtype=lib.float64), alpha=3),
    lambda lib: lib.add(1, lib.tensor(3, dtype=lib.int32)),
    lambda lib: lib.div(7, lib.tensor(2, dtype=lib.uint8), rounding_mode="floor"),
], ids=["float64's 0.1", "float64's 0.1 with alpha", "beside a 0-d int32", "beside a 0-d uint8"])
def test_a_number_given_first_promotes_as_torchs_wrapped_number(case):
    """torch.mul(0.1, t): the number takes the dtype it promotes to beside t, not first float32's (or int64's)."""
    ours, theirs = _both(case)
    assert ours == theirs


@pytest.mark.parametrize("call", [
    lambda lib: lib.zeros(0, 3).amax(),
    lambda lib: lib.zeros(0, 3).amin(dim=()),
    lambda lib: lib.zeros(0, 3).amax(dim=(0, 1)),
], ids=["amax", "amin of dim ()", "amax of dims (0, 1)"])
def test_amax_of_an_empty_tensor_over_every_dim_is_torchs_error(call):
    """Over every dim (dim=()), torch's RuntimeError asks for a dim; over dims named, its IndexError names one."""
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))
