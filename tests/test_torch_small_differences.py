"""Small differences from torch that ported code met: view's and reshape's keyword forms and argument errors, the
argument positions of a checked method read from the class, poisson of an infinite rate, a 0-d array first in a
list, anomaly mode's warning for a failing tensor hook, and autograd.grad of a tensor with respect to itself once
its graph is freed."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_matches_torch, assert_raises_as_torch, normal

torch = pytest.importorskip("torch")

TORCH_SUFFIX = " (Triggered internally at"  # where torch's C++ warnings say they come from, which minigrad's need not


@pytest.mark.parametrize("fn", [
    lambda lib, x: x.view(size=(3, 2)),
    lambda lib, x: x.reshape(shape=[3, 2]),
    lambda lib, x: lib.reshape(x, shape=(2, 3)),
    lambda lib, x: lib.reshape(input=x, shape=(-1,)),
], ids=["view(size=)", "reshape(shape=)", "torch.reshape(x, shape=)", "torch.reshape(input=, shape=)"])
def test_view_and_reshape_take_their_sizes_by_keyword_as_torchs(fn):
    assert_matches_torch(torch, fn, [normal(6)(np.random.default_rng(0))])


@pytest.mark.parametrize("call", [
    lambda x: x.view(["a"]),
    lambda x: x.view("a"),
    lambda x: x.view(None),
    lambda x: x.view(),
    lambda x: x.view(2.0, 2),
    lambda x: x.view(size=4),
    lambda x: x.view(2, size=(2, 2)),
    lambda x: x.view([2, "a"]),
    lambda x: x.reshape(["a"]),
    lambda x: x.reshape(2, "a"),
    lambda x: x.reshape(shape=4),
    lambda x: x.reshape(2, shape=(2, 2)),
], ids=["view([str])", "view(str)", "view(None)", "view()", "view(float, int)", "view(size=int)",
        "view(int, size=)", "view([int, str])", "reshape([str])", "reshape(int, str)", "reshape(shape=int)",
        "reshape(int, shape=)"])
def test_wrong_sizes_of_view_and_reshape_are_torchs_type_errors(call):
    """view's error where neither of its forms (sizes, a dtype) takes the arguments is torch's first line; torch
    goes on to say why each form refused them."""
    assert_raises_as_torch(lambda: call(torch.zeros(4)), lambda: call(mg.zeros(4)), first_line=True)


@pytest.mark.parametrize("call", [
    lambda lib, x: lib.Tensor.as_strided(x, "a", (1,)),
    lambda lib, x: lib.Tensor.as_strided(x, (1,), (1,), "a"),
    lambda lib, x: lib.as_strided(x, (1,), "a"),
    lambda lib, x: lib.Tensor.split_with_sizes(x, [2, 2], "a"),
    lambda lib, x: x.split([2, 2], "a"),
], ids=["Tensor.as_strided size", "Tensor.as_strided storage_offset", "torch.as_strided stride",
        "Tensor.split_with_sizes dim", "split dim"])
def test_positions_of_a_checked_method_read_from_the_class_are_the_methods(call):
    """Tensor.as_strided(x, ...) counts from the argument after the tensor, as x.as_strided(...); torch.as_strided
    and Tensor.split (which runs torch's function) from the tensor."""
    assert_raises_as_torch(lambda: call(torch, torch.zeros(4)), lambda: call(mg, mg.zeros(4)))


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_poisson_of_a_rate_beyond_int64_is_torchs_cast_count(dtype):
    """An infinite or huge rate gives int64's smallest number in the rate's dtype (float16's -inf), as torch's
    cast of its count, without a warning; the other rates are drawn as before."""
    rates = [np.inf, 1e20, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NumPy's that 1e20 is inf in float16
        input = mg.tensor(rates, dtype=getattr(mg, dtype))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = mg.poisson(input).numpy()
    theirs = torch.poisson(torch.tensor(rates, dtype=getattr(torch, dtype))).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("data", [
    [np.array(1.0), 2.0],
    [np.array(1, dtype=np.int64)],
    [[np.array(1.0)], [2.0]],
], ids=["first of two", "0-d int64", "first in the first row"])
def test_a_0d_array_first_in_a_list_is_torchs_type_error(data):
    assert_raises_as_torch(lambda: torch.tensor(data), lambda: mg.tensor(data))


def test_a_0d_array_after_the_first_item_is_a_number_as_in_torch():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's that a list of arrays is slow
        theirs = torch.tensor([2.0, np.array(1.0)]).numpy()
    ours = mg.tensor([2.0, np.array(1.0)]).numpy()
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def _failing(grad):
    raise ValueError("no gradient here")


def _hook_on_leaf(lib, x):
    y = x * 2
    x.register_hook(_failing)
    (y * 3).sum().backward()


def _hook_on_non_leaf(lib, x):
    y = x * 2
    y.register_hook(_failing)
    lib.autograd.grad((y * 3).sum(), x)


def _post_accumulate_hook(lib, x):
    y = x * 2
    x.register_post_accumulate_grad_hook(_failing)
    y.sum().backward()


@pytest.mark.parametrize("run", [_hook_on_leaf, _hook_on_non_leaf, _post_accumulate_hook])
def test_an_error_in_a_tensor_hook_is_first_anomaly_modes_warning_as_torchs(run):
    """The warning names the node whose gradient the hook changes, the op that made the tensor (a leaf's
    AccumulateGrad, whose forward call is that of the first op that used it), with its forward call's stack: the
    same frames in either library."""
    def warned(lib):
        with warnings.catch_warnings(record=True) as given, lib.autograd.detect_anomaly():
            warnings.simplefilter("always")
            with pytest.raises(ValueError, match="no gradient here"):
                run(lib, lib.tensor([1.0, 2.0], requires_grad=True))
        return [str(warning.message).split(TORCH_SUFFIX)[0] for warning in given][1:]  # after "has been enabled"

    ours, theirs = warned(mg), warned(torch)  # one line: the stacks hold it
    assert ours == theirs
    assert ours[0].splitlines()[-1].strip() == "y = x * 2"


def _freed(lib):
    """x, y = x * x and z, (y * 3).sum(), after z.backward() freed their graph."""
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    z = (y * 3).sum()
    z.backward()
    return x, y, z


@pytest.mark.parametrize("call", [
    lambda lib, x, y, z: lib.autograd.grad(y, y, grad_outputs=lib.ones(2)),
    lambda lib, x, y, z: lib.autograd.grad(z, z) + lib.autograd.grad(z, z),
    lambda lib, x, y, z: lib.autograd.grad(y, [y, lib.ones(1, requires_grad=True)], lib.ones(2), allow_unused=True),
], ids=["grad(y, y)", "grad(z, z) twice", "grad(y, [y, unused])"])
def test_grad_of_a_tensor_with_respect_to_itself_needs_no_freed_graph(call):
    """No op runs, none is refused, as in torch's engine."""
    ours, theirs = call(mg, *_freed(mg)), call(torch, *_freed(torch))
    assert [g is None for g in ours] == [g is None for g in theirs]
    for mine, reference in zip(ours, theirs):
        if mine is not None:
            np.testing.assert_array_equal(mine.numpy(), reference.numpy())


@pytest.mark.parametrize("call", [
    lambda lib, x, y, z: lib.autograd.grad(y, lib.ones(1, requires_grad=True), lib.ones(2)),
    lambda lib, x, y, z: lib.autograd.grad(y, [y, x], lib.ones(2)),
    lambda lib, x, y, z: y.backward(lib.ones(2), inputs=[y]),
], ids=["grad of an unused tensor", "grad through the freed op", "backward(inputs=) of the freed op's output"])
def test_a_freed_graph_is_refused_where_torchs_engine_runs_its_ops(call):
    """backward(inputs=...) runs the ops of its inputs, autograd.grad not."""
    assert_raises_as_torch(lambda: call(torch, *_freed(torch)), lambda: call(mg, *_freed(mg)))
