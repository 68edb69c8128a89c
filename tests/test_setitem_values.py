"""t[index] = value takes a tensor or a number, as torch's: a list, a tuple, a NumPy array or most NumPy scalars are
torch's TypeError, worded with the value's type and the tensor's (torch.FloatTensor, torch.LongTensor, ...)."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch

torch = pytest.importorskip("torch")


class ArraySubclass(np.ndarray):
    pass


REFUSED = {
    "list": [1.0, 2.0, 3.0], "empty list": [], "nested list": [[1, 2, 3]], "tuple": (1, 2, 3), "range": range(3),
    "array": np.array([1.0, 2.0, 3.0]), "0-d array": np.array(2.0), "array subclass": np.zeros(3).view(ArraySubclass),
    "masked array": np.ma.array([1, 2, 3]), "float32 scalar": np.float32(1.5), "float16 scalar": np.float16(1.5),
    "bool scalar": np.bool_(True), "complex64 scalar": np.complex64(1), "None": None, "str": "1",
}
DTYPES = ["float32", "float64", "float16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex64",
          "complex128", "uint16", "uint32", "uint64"]


def _tensor(L, dtype):
    return L.zeros(3, dtype=getattr(L, dtype) if hasattr(L, dtype) else np.dtype(dtype))


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_a_value_that_is_no_tensor_nor_number_is_torchs_error(value):
    def assign(L):
        _tensor(L, "float32")[...] = value
    assert_raises_as_torch(lambda: assign(torch), lambda: assign(mg))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [[1, 0, 1], np.array([1, 0, 1])], ids=["list", "array"])
def test_the_message_names_the_tensors_type_as_torchs(dtype, value):
    def assign(L):
        _tensor(L, dtype)[1:] = value
    assert_raises_as_torch(lambda: assign(torch), lambda: assign(mg))


INDICES = {
    "int": lambda L: 0, "slice": lambda L: slice(1, None), "ellipsis": lambda L: Ellipsis,
    "positions": lambda L: L.tensor([0, 2]), "mask": lambda L: L.tensor([True, False, True]),
    "list of positions": lambda L: [0, 1], "an int and positions": lambda L: (1, L.tensor([0, 1])),
    "out of range": lambda L: 7,
}


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_the_value_is_refused_before_the_index_is_read(index):
    def assign(L):
        L.zeros(3, 3)[index(L)] = [1.0, 2.0]
    assert_raises_as_torch(lambda: assign(torch), lambda: assign(mg))


ACCEPTED = {
    "int": 2, "float": 2.5, "bool": True, "float64 scalar": np.float64(-1.25), "int32 scalar": np.int32(3),
    "uint8 scalar": np.uint8(4), "0-d tensor": "0-d tensor", "tensor": "tensor",
}


@pytest.mark.parametrize("value", ACCEPTED.values(), ids=ACCEPTED.keys())
@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_tensors_and_numbers_are_assigned_as_in_torch(index, value):
    results = []
    for L in (torch, mg):
        target = L.zeros(3, 3)
        given = {"0-d tensor": L.tensor(1.5), "tensor": L.tensor([1.0, 2.0, 3.0])}.get(value, value)
        if index is INDICES["out of range"]:
            with pytest.raises(IndexError) as refused:
                target[index(L)] = given
            results.append(str(refused.value))
            continue
        if value == "tensor" and index in (INDICES["positions"], INDICES["mask"], INDICES["list of positions"],
                                           INDICES["an int and positions"]):
            given = given[:2] if index is INDICES["an int and positions"] else given
        target[index(L)] = given
        results.append(target.numpy())
    assert type(results[0]) is type(results[1])
    if isinstance(results[0], str):
        assert results[0] == results[1]
    else:
        np.testing.assert_array_equal(results[1], results[0])


def test_a_number_of_the_tensors_dtype_is_written_beside_an_int_index_as_torchs():
    """t[1, positions] = number writes into t[1] with the number made the dtype's first, as one more assignment."""
    results = []
    for L in (torch, mg):
        target = L.zeros(3, 3, dtype=L.float16)
        target[1, L.tensor([0, 2])] = 0.1
        target.fill_diagonal_(np.float32(2.5))
        results.append(target.numpy())
    np.testing.assert_array_equal(*results)


def test_the_gpu_path_names_its_tensor_type(gpu_path):
    target = mg.zeros(3, device="gpu")
    with pytest.raises(TypeError, match=r"^can't assign a numpy\.ndarray to a torch\.cuda\.FloatTensor$"):
        target[...] = np.ones(3)
    target[...] = mg.tensor([1.0, 2.0, 3.0], device="gpu")
    assert target.tolist() == [1.0, 2.0, 3.0]
