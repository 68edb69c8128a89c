"""Cases where minigrad once disagreed with torch, found by differential fuzzing, each reduced to its smallest
form: Rprop on a 0-d parameter (its sign masks were NumPy scalars, which take no assignment); diff of order 0
beside prepend or append (torch leaves them out); take_along_dim's error for indices that do not broadcast; a 0-d
tensor flipped or index_filled (NumPy's ascontiguousarray made it 1-d); scatter_reduce's gradients, movedim and
prelu of 0-d tensors; indexing with a uint8 tensor (torch's byte mask, not positions); lerp of 0-d tensors and a
number weight (the weight's double promoted them); nan_to_num(nan=None); combinations(r=0); bincount of an empty
input with weights (torch's int64 zeros); the dtype argument of cumsum and prod, and of softmax and log_softmax
as methods (the route of torch.softmax and special.softmax)."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_matches_torch, assert_raises_as_torch, differentiable_case_tests, normal

torch = pytest.importorskip("torch")
# The byte-mask case warns in both libraries, as it should (test_a_uint8_index_warns_as_torchs checks ours)
pytestmark = pytest.mark.filterwarnings("ignore:indexing with dtype torch.uint8 is now deprecated:UserWarning")


def rprop_steps_on_a_scalar(library, device=None, steps=6):
    """Rprop's parameter after each of `steps` steps on a 0-d parameter, its gradient's sign flipping now and then
    (maximize too, which negates it), as NumPy numbers."""
    grads = np.random.default_rng(0).standard_normal(steps).astype(np.float32)
    if library is mg:
        param = mg.nn.Parameter(mg.tensor(np.float32(0.5), device=device))
    else:
        param = torch.nn.Parameter(torch.tensor(np.float32(0.5)))
    optimizer = library.optim.Rprop([param], lr=0.1, etas=(0.4, 1.6), maximize=True)
    trajectory = []
    for grad in grads:
        param.grad = mg.tensor(grad, device=device) if library is mg else torch.tensor(grad)
        optimizer.step()
        trajectory.append(np.asarray(param.tolist(), np.float32))
    return np.array(trajectory)


def test_rprop_steps_a_0d_parameter_as_torch():
    np.testing.assert_array_equal(rprop_steps_on_a_scalar(mg), rprop_steps_on_a_scalar(torch))


def test_rprop_on_a_0d_parameter_gpu_path_matches_cpu(gpu_path):
    np.testing.assert_array_equal(rprop_steps_on_a_scalar(mg, device="gpu"), rprop_steps_on_a_scalar(mg))


@pytest.mark.parametrize("kwargs", [dict(prepend=True), dict(append=True, dim=0), dict(prepend=True, append=True)])
def test_diff_of_order_0_leaves_prepend_and_append_out_as_torch(kwargs):
    """An order-0 difference is a copy of the input alone, whatever is joined on; the copy is not the input."""
    rng = np.random.default_rng(0)
    x, side = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)

    def diff(lib, x):
        extra = {key: lib.tensor(side) for key in ("prepend", "append") if kwargs.get(key)}
        return lib.diff(x, n=0, dim=kwargs.get("dim", -1), **extra)
    assert_matches_torch(torch, diff, [x])
    tensor = mg.tensor(x)
    assert diff(mg, tensor) is not tensor


def test_take_along_dim_of_indices_that_do_not_broadcast_raises_torchs_error():
    x, indices = np.zeros((3, 1), np.float32), np.zeros((2, 4), np.int64)
    assert_raises_as_torch(lambda: torch.take_along_dim(torch.tensor(x), torch.tensor(indices), 1),
                           lambda: mg.take_along_dim(mg.tensor(x), mg.tensor(indices), 1))


CASES = {
    "flip: a 0-d tensor over no dims": (lambda lib, x: lib.flip(x, ()), [normal()]),
    "flip: a 0-d tensor over its dim 0": (lambda lib, x: x.flip(0), [normal()]),
    "index_fill: a 0-d tensor": (lambda lib, x: x.index_fill(0, lib.tensor([0]), 5.0) * x, [normal()]),
    "index_fill: a 0-d tensor, a 0-d value": (lambda lib, x, v: x.index_fill(-1, lib.tensor(0), v), [normal(), normal()]),
    "scatter_reduce: amax of 0-d tensors": (lambda lib, x, y: lib.scatter_reduce(x, 0, lib.tensor(0), y, "amax"),
                                            [normal(), normal()]),
    "scatter_reduce: amin of 0-d tensors, self left out": (
        lambda lib, x, y: lib.scatter_reduce(x, 0, lib.tensor(0), y, "amin", include_self=False), [normal(), normal()]),
    "scatter_reduce: mean of 0-d tensors, self left out": (
        lambda lib, x, y: lib.scatter_reduce(x, 0, lib.tensor(0), y, "mean", include_self=False), [normal(), normal()]),
    "movedim: a 0-d tensor's dim 0": (lambda lib, x: lib.movedim(x, 0, -1) * x, [normal()]),
    "prelu: a 0-d input": (lambda lib, x, w: lib.nn.functional.prelu(x, w), [normal(), normal(1)]),
    "getitem: a uint8 tensor, torch's deprecated byte mask": (
        lambda lib, x: x[lib.tensor(np.array([1, 0, 1], np.uint8), device=x.device), 1:], [normal(3, 2)]),
    "lerp: 0-d tensors, a number weight": (lambda lib, x, y: lib.lerp(x, y, 0.7), [normal(), normal()]),
    "lerp: 0-d tensors, a number weight past 1": (lambda lib, x, y: x.lerp(y, 1.5), [normal(), normal()]),
}
test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu = differentiable_case_tests(torch, CASES)


def test_lerp_of_an_end_of_another_dtype_raises_torchs_error_though_0_d():
    start, end = np.float32(1.0), np.float64(2.0)
    assert_raises_as_torch(lambda: torch.lerp(torch.tensor(start), torch.tensor(end), 0.5),
                           lambda: mg.lerp(mg.tensor(start), mg.tensor(end), 0.5))


def test_nan_to_num_of_nan_none_is_0_as_torch():
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    np.testing.assert_array_equal(mg.nan_to_num(mg.tensor(x), nan=None).numpy(),
                                  torch.nan_to_num(torch.tensor(x), nan=None).numpy())


@pytest.mark.parametrize("with_replacement", [False, True])
def test_combinations_of_r_0_are_empty_as_torchs(with_replacement):
    x = np.array([1, 2, 3], np.int16)
    ours = mg.combinations(mg.tensor(x), r=0, with_replacement=with_replacement)
    theirs = torch.combinations(torch.tensor(x), r=0, with_replacement=with_replacement)
    assert (ours.shape, ours.dtype) == (tuple(theirs.shape), theirs.numpy().dtype)


def test_bincount_of_an_empty_input_with_weights_is_torchs_int64_zeros():
    ours = mg.bincount(mg.tensor(np.zeros(0, np.int64)), mg.tensor(np.zeros(0, np.float32)), minlength=3)
    theirs = torch.bincount(torch.zeros(0, dtype=torch.int64), torch.zeros(0), minlength=3)
    assert ours.dtype == theirs.numpy().dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", ["cumsum", "prod"])
def test_cumsum_and_prod_take_torchs_dtype(name):
    """The dtype cast comes first, so that int16 entries sum in float64; the gradient comes back in float32."""
    x = np.array([[1, 2, 3], [4, 5, 6]], np.int16)
    for dim in (1, 0):
        ours = getattr(mg, name)(mg.tensor(x), dim, dtype=mg.float64)
        theirs = getattr(torch, name)(torch.tensor(x), dim, dtype=torch.float64)
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert_matches_torch(torch, lambda lib, t: getattr(t, name)(0, dtype=lib.float64), [np.array([1.5, -2.5, 3.0])])


@pytest.mark.parametrize("call", [lambda lib, t: t.softmax(-1, dtype=lib.float64),
                                  lambda lib, t: lib.log_softmax(t, 0, dtype=lib.float64),
                                  lambda lib, t: lib.special.softmax(t, 1, dtype=lib.float64)],
                         ids=["Tensor.softmax", "torch.log_softmax", "special.softmax"])
def test_softmax_and_log_softmax_take_dtype_wherever_called_from(call):
    """The input cast to float64 first: a float64 output, its gradient back in float32."""
    assert_matches_torch(torch, call, [np.random.default_rng(0).standard_normal((2, 3)).astype(np.float32)])


def test_a_uint8_index_warns_as_torchs():
    for index in ("read", "write"):
        with pytest.warns(UserWarning, match="indexing with dtype torch.uint8 is now deprecated") as ours:
            tensor, mask = mg.zeros(3), mg.tensor([1, 0, 1], dtype=mg.uint8)
            if index == "read":
                tensor[mask]
            else:
                tensor[mask] = 1.0
        assert len(ours) == 1 and ours[0].filename == __file__  # pointed at the user's line
