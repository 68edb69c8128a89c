"""`t[index] = value_tensor` of another dtype than t's, against torch: a basic index (ints, slices, None, Ellipsis, a
lone bool) copies the value in, cast; an index of tensors (lists, arrays, tensors) goes through index_put_, which
refuses another dtype, but for a single bool mask filled with one number on the host, as masked_fill (refused where
t's dtype cannot hold it); index_put itself alike."""
import math

import pytest

import minigrad as mg
from conftest import assert_equals_torchs, assert_raises_as_torch, torch_cases

torch = pytest.importorskip("torch")


def written(dtype, shape, index, value, value_dtype):
    """A call(lib) that writes value (a list, or a number for a 0-d tensor) of value_dtype into zeros of dtype at
    index (a function of lib), and gives the tensor back."""
    def call(lib):
        tensor = lib.zeros(shape, dtype=getattr(lib, dtype))
        tensor[index(lib)] = lib.tensor(value, dtype=getattr(lib, value_dtype))
        return tensor
    return call


def mask(lib):
    return lib.tensor([True, False, True])


REFUSED = {
    "float64 into float32 at positions": written("float32", 3, lambda lib: [0, 2], [1.0, 2.0], "float64"),
    "int64 into float32 at a tensor of positions": written("float32", 3, lambda lib: lib.tensor([0, 2]), [1, 2],
                                                           "int64"),
    "float32 into int64 at a mask": written("int64", 3, mask, [1.5, 2.5], "float32"),
    "bool into float32 at a mask": written("float32", 3, mask, [True, False], "bool"),
    "float32 into bool at positions": written("bool", 3, lambda lib: [1], [1.0], "float32"),
    "one float64 number at positions": written("float32", 3, lambda lib: [0, 2], 2.0, "float64"),
    "one float64 number at a 0-d bool": written("float32", 3, lambda lib: lib.tensor(True), 2.0, "float64"),
    "one float64 number at a mask beside positions": written("float32", (3, 2), lambda lib: (mask(lib), [0, 1]), 2.0,
                                                             "float64"),
    "one float64 number at a mask beside a bool": written("float32", 3, lambda lib: (True, mask(lib)), 2.0,
                                                          "float64"),
    "float64 at a slice and positions": written("float32", (2, 3), lambda lib: (slice(None), [0, 1]),
                                                [[1.0, 2.0]] * 2, "float64"),
    "int64 of a shape that does not broadcast, its shape first": written("float32", (3, 4), lambda lib: [0, 2],
                                                                         [1, 2, 3], "int64"),
    "one number beyond float32 filling a mask": written("float32", 3, mask, 1e300, "float64"),
    "one NaN filling a mask of int64": written("int64", 3, mask, math.nan, "float64"),
    "one number beyond uint8 filling a mask": written("uint8", 3, mask, 300, "int64"),
    "one number beyond float16 filling a mask": written("float16", 3, mask, 2 ** 40, "int64"),
    "index_put of another dtype": lambda lib: lib.zeros(3).index_put((lib.tensor([0]),),
                                                                     lib.tensor(1.0, dtype=lib.float64)),
    "index_put of another dtype, accumulating at a mask": lambda lib: lib.zeros(3).index_put_(
        (mask(lib),), lib.tensor(1.0, dtype=lib.float64), accumulate=True),
    "index_put of one number beyond float32 at a mask": lambda lib: lib.zeros(3).index_put_(
        (mask(lib),), lib.tensor(1e300, dtype=lib.float64)),
    "index_put of int64 of a shape that does not broadcast": lambda lib: lib.zeros(3, 4).index_put_(
        (lib.tensor([0, 2]),), lib.tensor([1, 2, 3])),
}


@pytest.mark.parametrize("call", torch_cases(REFUSED))
def test_a_value_that_index_put_refuses_is_torchs_error(call):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


CAST = {
    "float64 into a row of float32": written("float32", (2, 3), lambda lib: 1, [1.5, 2.5, 3.5], "float64"),
    "int64 into a slice of float32": written("float32", 3, lambda lib: slice(1, None), [7, 8], "int64"),
    "float64 into a slice of int64, truncated": written("int64", 3, lambda lib: slice(0, 2), [-1.5, 2.5], "float64"),
    "bool into float32 at an Ellipsis": written("float32", 2, lambda lib: Ellipsis, [True, False], "bool"),
    "float32 into bool at None": written("bool", 2, lambda lib: None, [0.0, 0.5], "float32"),
    "float64 at a lone bool": written("float32", 2, lambda lib: True, [1.5, 2.5], "float64"),
    "float64 at a 0-d int64 tensor": written("float32", (2, 2), lambda lib: lib.tensor(1), [1.5, 2.5], "float64"),
    "one float64 number filling a mask": written("float32", 3, mask, 2.5, "float64"),
    "one float16 number of a 1-d tensor filling a mask": written("float32", 3, mask, [65504.0], "float16"),
    "one -1 filling a mask of uint8, wrapped": written("uint8", 3, mask, -1, "int64"),
    "one 2.5 filling a mask of int64, truncated": written("int64", 3, mask, 2.5, "float32"),
    "one bool filling a mask of float32": written("float32", 3, mask, True, "bool"),
    "one float64 number filling a mask after an int": written("float32", (2, 3), lambda lib: (0, mask(lib)), 2.5,
                                                              "float64"),
    "one float64 number filling a mask after a slice": written("float32", (2, 3), lambda lib: (slice(None), mask(lib)),
                                                               2.5, "float64"),
    "one float64 number filling a list of bools": written("float32", 3, lambda lib: [True, False, True], 2.5,
                                                          "float64"),
    "one float64 number filling an empty mask, beyond float32": written("float32", 3,
                                                                        lambda lib: lib.zeros(3, dtype=lib.bool),
                                                                        math.inf, "float64"),
    "index_put of one float64 number at a mask": lambda lib: lib.zeros(3).index_put((mask(lib),),
                                                                                    lib.tensor(2.5, dtype=lib.float64)),
}


@pytest.mark.parametrize("call", torch_cases(CAST))
def test_a_value_that_torch_casts_gives_its_values(call):
    assert_equals_torchs(call(mg), call(torch))


def test_one_float64_number_filling_a_mask_of_float32_gets_torchs_gradient():
    grads = []
    for lib in (mg, torch):
        value = lib.tensor(2.5, dtype=lib.float64, requires_grad=True)
        weights = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = weights * 1
        out[mask(lib)] = value
        (out * lib.tensor([3.0, 5.0, 7.0])).sum().backward()
        grads.append((value.grad, weights.grad))
    for ours, theirs in zip(*grads):
        assert_equals_torchs(ours, theirs)


def _written_ones(shape, index, value_shape, recorded=False):
    """A call(lib) that writes ones of value_shape into zeros of `shape` at index (a function of lib), the zeros
    recorded by autograd where `recorded`."""
    def call(lib):
        tensor = lib.zeros(shape, requires_grad=recorded) * 1
        tensor[index(lib)] = lib.ones(value_shape)
        return tensor
    return call


SHAPES_REFUSED = {  # a value that the part indexed cannot take: torch's copy's errors, or index_put_'s
    "longer than a slice": _written_ones(3, lambda lib: slice(0, 2), 4),
    "more dims than a slice": _written_ones(3, lambda lib: slice(0, 2), (2, 2)),
    "more dims than rows, not leading ones": _written_ones((3, 2), lambda lib: slice(0, 2), (5, 1, 2)),
    "the whole, transposed": _written_ones((3, 2), lambda lib: Ellipsis, (2, 3)),
    "a column of another length": _written_ones((3, 2), lambda lib: (slice(None), 0), 2),
    "a strided slice": _written_ones(4, lambda lib: slice(0, 4, 2), 3),
    "recorded": _written_ones(3, lambda lib: slice(0, 2), 4, recorded=True),
    "at positions": _written_ones(3, lambda lib: lib.tensor([0, 1]), 4),
    "at a mask": _written_ones(3, mask, 4),
    "rows at positions": _written_ones((3, 2), lambda lib: lib.tensor([0, 2]), 3),
}


@pytest.mark.parametrize("name", SHAPES_REFUSED)
def test_a_value_of_a_shape_the_part_cannot_take_is_torchs_error(name):
    """Where NumPy's ValueError said it could not broadcast, in its own words."""
    assert_raises_as_torch(lambda: SHAPES_REFUSED[name](torch), lambda: SHAPES_REFUSED[name](mg))


def test_a_value_with_leading_ones_fills_a_slice_as_torchs():
    call = _written_ones((3, 2), lambda lib: slice(0, 2), (1, 1, 2))
    assert_equals_torchs(call(mg), call(torch))
