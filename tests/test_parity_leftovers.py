"""Small differences from torch, each checked against it: the dtype of lists of NumPy arrays, batch norm's running
statistics that require grad, the positions in argument errors (method, function, keyword), a 0-d integer tensor as
an int, read-only tensor attributes, shifts of bools, a GPU tensor's repr, and the in-place bitwise and logical
methods. torch is the oracle."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _outcome(call):
    """What a call gives: its value as NumPy (a list of them for a tuple), or its error's type and message."""
    try:
        result = call()
    except Exception as error:  # noqa: BLE001 (compared with torch's)
        return type(error).__name__, str(error)
    if isinstance(result, tuple):
        return [np.asarray(t.tolist()) for t in result]
    return np.asarray(result.tolist()), str(result.dtype).removeprefix("torch.")


def _assert_same_outcome(ours, theirs):
    if isinstance(theirs, tuple) and isinstance(theirs[0], str):
        assert ours == theirs
    elif isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for mine, reference in zip(ours, theirs):
            np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5, atol=1e-6)
        assert ours[1] == theirs[1]


# ---- 1. lists of NumPy arrays keep their dtype, as torch's ------------------------------------------------------
LISTS = {
    "float64 arrays": lambda: [np.ones(2), np.full(2, 0.1)],
    "complex128 arrays": lambda: [np.ones(2, complex), np.full(2, 0.1j)],
    "float64 and float32 arrays": lambda: [np.full(2, 0.1), np.ones(2, np.float32)],
    "int32 and float64 arrays": lambda: [np.ones(2, np.int32), np.full(2, 0.1)],
    "float64 array and ints": lambda: [np.full(2, 0.1), [1, 2]],
    "float32 arrays and floats": lambda: [np.full(2, 0.1, np.float32), [0.1, 2.0]],
    "int32 arrays": lambda: [np.ones(2, np.int32), np.arange(2, dtype=np.int32)],
    "0-d float64 array after a float": lambda: [[0.1], [np.array(0.2)]],
}


@pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy.ndarrays is extremely slow")  # torch's
@pytest.mark.parametrize("maker", ["tensor", "asarray", "as_tensor"])
@pytest.mark.parametrize("name", LISTS)
def test_lists_of_arrays_take_torchs_dtype(name, maker):
    ours, theirs = (getattr(lib, maker)(LISTS[name]()) for lib in (mg, torch))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ---- 2. batch norm's running statistics take no gradient --------------------------------------------------------
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("requiring", ["running_mean", "running_var", "both"])
def test_batch_norm_refuses_running_statistics_that_require_grad(requiring, training):
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)

    def call(lib, functional):
        mean = lib.zeros(3, requires_grad=requiring in ("running_mean", "both"))
        var = lib.ones(3, requires_grad=requiring in ("running_var", "both"))
        return lambda: functional.batch_norm(lib.tensor(x), mean, var, training=training)

    assert _outcome(call(mg, F)) == _outcome(call(torch, TF))
    with mg.no_grad(), torch.no_grad():  # outside the graph, they are used as given
        _assert_same_outcome(_outcome(call(mg, F)), _outcome(call(torch, TF)))


def test_instance_norm_refuses_a_running_mean_that_requires_grad():
    def call(lib, functional):
        return lambda: functional.instance_norm(lib.ones(2, 3, 2), lib.zeros(3, requires_grad=True), lib.ones(3))

    assert _outcome(call(mg, F)) == _outcome(call(torch, TF))


# ---- 3. argument errors: positions as torch counts them, a 0-d integer tensor as an int ---------------------------
ARGUMENTS = {
    "method prelu": lambda lib, F, x: x.prelu("a"),
    "method prelu, keyword": lambda lib, F, x: x.prelu(weight="a"),
    "F.prelu": lambda lib, F, x: F.prelu(x, "a"),
    "F.prelu, input": lambda lib, F, x: F.prelu("a", lib.ones(1)),
    "torch.prelu, keyword": lambda lib, F, x: lib.prelu(x, weight="a"),
    "split_with_sizes, dim": lambda lib, F, x: x.split_with_sizes([1, 1], "a"),
    "split_with_sizes, dim keyword": lambda lib, F, x: x.split_with_sizes([1, 1], dim="a"),
    "split_with_sizes, sizes keyword": lambda lib, F, x: x.split_with_sizes(split_sizes="a"),
    "split_with_sizes, sizes element keyword": lambda lib, F, x: x.split_with_sizes(split_sizes=["a", 1]),
    "split_with_sizes, sizes element": lambda lib, F, x: x.split_with_sizes(["a", 1]),
    "torch.split_with_sizes, dim": lambda lib, F, x: lib.split_with_sizes(x, [1, 1], "a"),
    "split, dim keyword": lambda lib, F, x: x.split([1, 1], dim="a"),
    "torch.as_strided, size": lambda lib, F, x: lib.as_strided(x, "a", (1,)),
    "torch.as_strided, stride": lambda lib, F, x: lib.as_strided(x, (1,), "a"),
    "torch.as_strided, offset": lambda lib, F, x: lib.as_strided(x, (1,), (1,), "a"),
    "torch.as_strided, offset keyword": lambda lib, F, x: lib.as_strided(x, (1,), (1,), storage_offset="a"),
    "method as_strided, size": lambda lib, F, x: x.as_strided("a", (1,)),
    "method as_strided, size keyword": lambda lib, F, x: x.as_strided(size="a", stride=(1,)),
    "as_strided, None offset": lambda lib, F, x: x.as_strided((2,), (2,), None),
    "unfold, keyword": lambda lib, F, x: x.unfold(0, 2, step="a"),
    "unfold, 0-d int tensors": lambda lib, F, x: x.unfold(lib.tensor(1), lib.tensor(2), lib.tensor(1)),
    "unfold, 0-d float tensor": lambda lib, F, x: x.unfold(lib.tensor(0.0), 2, 1),
    "unfold, 0-d bool tensor": lambda lib, F, x: x.unfold(lib.tensor(True), 2, 1),
    "unfold, 1-d int tensor": lambda lib, F, x: x.unfold(lib.tensor([0]), 2, 1),
    "split_with_sizes, tensor sizes": lambda lib, F, x: x.split_with_sizes([1, lib.tensor(1)], dim=lib.tensor(0)),
    "vander, keyword": lambda lib, F, x: lib.vander(lib.ones(3), N="a"),
    "vander, 0-d tensor": lambda lib, F, x: lib.vander(lib.ones(3), lib.tensor(2)),
    "empty_strided, stride keyword": lambda lib, F, x: lib.empty_strided((1,), stride=["a"]),
}


@pytest.mark.parametrize("name", ARGUMENTS)
def test_argument_checks_as_torchs(name):
    ours, theirs = (_outcome(lambda: ARGUMENTS[name](lib, functional, lib.arange(6.0).reshape(2, 3)))
                    for lib, functional in ((mg, F), (torch, TF)))
    _assert_same_outcome(ours, theirs)


# ---- 4. read-only attributes -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["retains_grad", "is_leaf", "grad_fn", "shape", "device"])
def test_read_only_attributes_refuse_as_torchs(name):
    for action in (lambda t: setattr(t, name, None), lambda t: delattr(t, name)):
        outcomes = []
        for lib in (mg, torch):
            with pytest.raises(AttributeError) as error:
                action(lib.ones(2, requires_grad=True) * 2)
            outcomes.append(str(error.value))
        assert outcomes[0] == outcomes[1]


# ---- 5. shifts of bools ------------------------------------------------------------------------------------------
SHIFTS = {
    "bool << bool": lambda lib, b, i: b << b, "bool >> bool": lambda lib, b, i: b >> b,
    "bool << True": lambda lib, b, i: b << True, "True >> bool": lambda lib, b, i: True >> b,
    "bitwise_left_shift": lambda lib, b, i: lib.bitwise_left_shift(b, b),
    "in place >>=": lambda lib, b, i: b.clone().__irshift__(b),
    "bool << 1": lambda lib, b, i: b << 1, "int << bool": lambda lib, b, i: i << b,
    "bool >> int": lambda lib, b, i: b >> i,
}


@pytest.mark.parametrize("name", SHIFTS)
def test_shifts_of_bools_as_torchs(name):
    ours, theirs = (_outcome(lambda: SHIFTS[name](lib, lib.tensor([True, False]), lib.tensor([1, 2])))
                    for lib in (mg, torch))
    _assert_same_outcome(ours, theirs)


# ---- 6. a GPU tensor prints torch's device -------------------------------------------------------------------
def test_gpu_tensor_repr_names_the_device_as_torch(gpu_path):
    """torch's device suffix, first: the CPU repr (torch's, where minigrad prints as it does) with it added."""
    for values, dtype, requires_grad in (([1.5, 2.0], None, False), ([[1.0], [2.0]], mg.float64, True)):
        cpu, gpu = (mg.tensor(values, dtype=dtype, requires_grad=requires_grad, device=device) * 2
                    for device in ("cpu", "gpu"))
        head, tail = repr(cpu).rsplit("]", 1)
        assert repr(gpu) == head + "], device='cuda:0'" + tail
    ours, theirs = repr(mg.tensor([1.5, 2.0], device="gpu")), repr(torch.tensor([1.5, 2.0]))
    assert ours == theirs[:-1] + ", device='cuda:0')"
    if torch.cuda.is_available():
        assert ours == repr(torch.tensor([1.5, 2.0], device="cuda"))


IN_PLACE_LOGIC = {
    "bitwise_and_": ([5, 3], [1, 1]), "bitwise_or_": ([5, 3], [2, 2]), "bitwise_xor_": ([True, False], [True, True]),
    "bitwise_left_shift_": ([1, 2], [1, 2]), "bitwise_right_shift_": ([8, 4], [1, 2]),
    "bitwise_not_": ([5, 0], None), "bitwise_not_ of bools": ([True, False], None),
    "logical_not_": ([1.5, 0.0], None), "logical_and_": ([1.5, 0.0], [1.0, 1.0]), "logical_or_": ([0, 0], [0, 3]),
    "logical_xor_": ([True, False], [True, True]),
    "bitwise_and_ of floats": ([1.0, 2.0], [1, 1]), "bitwise_not_ of floats": ([1.0], None),
    "bitwise_left_shift_ of bools": ([True, False], [True, True]),
}


def _in_place_logic(lib, name, values, other):
    tensor = lib.tensor(values)
    try:
        result = getattr(tensor, name.split()[0])(*([] if other is None else [lib.tensor(other)]))
    except Exception as error:  # torch's refusal, compared with minigrad's
        return type(error).__name__, str(error)
    return result is tensor, tensor.numpy().tolist(), str(tensor.numpy().dtype)


@pytest.mark.parametrize("name", IN_PLACE_LOGIC)
def test_in_place_bitwise_and_logical_methods_are_torchs(name):
    """They write into the tensor itself, in its dtype, or refuse the dtypes torch's kernels lack."""
    assert _in_place_logic(mg, name, *IN_PLACE_LOGIC[name]) == _in_place_logic(torch, name, *IN_PLACE_LOGIC[name])
