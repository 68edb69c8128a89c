"""torch's strided views as minigrad ports them: Tensor.unfold (sliding windows along a dim, not
nn.functional.unfold's patches) and as_strided, which reads its input as contiguous, row by row. Both are views
that writes go through; where windows overlap, an element's gradient is the sum of its windows'."""
import numpy as np
import pytest
from conftest import assert_gpu_matches_cpu, assert_raises_as_torch, differentiable_case_tests, made, normal

import minigrad as mg

torch = pytest.importorskip("torch")


def _changed_base_then_read(lib, x):
    """Overlapping windows of a non-leaf, then an in-place change of it, which the windows see."""
    base = x * 1
    windows = base.unfold(0, 4, 2)
    base.mul_(3)
    return windows * base[:1]


def _written_through_view(lib, x):
    """A recorded write into non-overlapping windows, which changes their base."""
    base = x * 1
    base.as_strided((3, 2), (3, 1), 1).mul_(2)
    return base


CASES = {
    "unfold_overlapping": (lambda lib, x: x.unfold(1, 3, 1), [normal(2, 6, 3)]),
    "unfold_step_below_size": (lambda lib, x: x.unfold(-1, 4, 2), [normal(3, 9)]),
    "unfold_gaps_and_a_tail_left_out": (lambda lib, x: x.unfold(0, 2, 3), [normal(8, 2)]),
    "unfold_of_windows": (lambda lib, x: x.unfold(0, 3, 1).unfold(1, 2, 1), [normal(6, 5)]),
    "unfold_0d": (lambda lib, x: x.unfold(0, 1, 2) * x, [normal()]),
    "as_strided_overlapping": (lambda lib, x: x.as_strided((4, 3), (2, 1), 1), [normal(3, 4)]),
    "as_strided_repeating": (lambda lib, x: x.as_strided((2, 3, 2), (0, 2, 1)), [normal(6)]),
    "as_strided_transposing": (lambda lib, x: lib.as_strided(x, (3, 2), (1, 3)), [normal(2, 3)]),
    "as_strided_of_a_slice": (lambda lib, x: x[1:].as_strided((2, 2), (1, 2)), [normal(7)]),
    "changed_base_then_read": (_changed_base_then_read, [normal(9)]),
    "written_through_view": (_written_through_view, [normal(3, 3)]),
}
test_values_and_gradients_match_torch, test_gradcheck, _ = differentiable_case_tests(torch, CASES)


def test_gpu_path_matches_cpu(gpu_path):
    for name in ("unfold_step_below_size", "as_strided_overlapping", "changed_base_then_read"):
        fn, makers = CASES[name]
        assert_gpu_matches_cpu(fn, made(makers))


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float64"])
def test_dtypes_and_shapes_as_torch(dtype):
    array = (np.arange(12) % 5).astype(dtype).reshape(3, 4)
    for view in (lambda t: t.unfold(1, 2, 1), lambda t: t.as_strided((2, 5), (2, 1), 1)):
        ours, theirs = view(mg.tensor(array)), view(torch.tensor(array))
        assert ours.dtype == getattr(mg, dtype) and str(theirs.dtype) == f"torch.{dtype}"
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


ERRORS = {
    "step_0": lambda lib, x: x.unfold(0, 3, 0),
    "step_negative": lambda lib, x: x.unfold(0, 3, -1),
    "size_over_dim": lambda lib, x: x.unfold(1, 5, 1),
    "size_negative": lambda lib, x: x.unfold(0, -1, 1),
    "size_over_dim_before_step": lambda lib, x: x.unfold(0, 4, 0),
    "dim_out_of_range": lambda lib, x: x.unfold(2, 1, 1),
    "dim_out_of_range_of_0d": lambda lib, x: x.sum().unfold(1, 1, 1),
    "size_over_0d": lambda lib, x: x.sum().unfold(0, 2, 1),
    "float_size": lambda lib, x: x.unfold(0, 1.5, 1),
    "bool_step": lambda lib, x: x.unfold(0, 1, True),
    "out_of_bounds": lambda lib, x: x.as_strided((3, 3), (5, 1)),
    "out_of_bounds_by_offset": lambda lib, x: x.as_strided((2, 2), (4, 1), 7),
    "negative_stride": lambda lib, x: x.as_strided((2, 2), (-1, 1)),
    "negative_offset": lambda lib, x: x.as_strided((2,), (1,), -1),
    "negative_size": lambda lib, x: x.as_strided((2, -2), (1, 1)),
    "lengths_differ": lambda lib, x: lib.as_strided(x, (2, 2), (1,)),
    "size_an_int": lambda lib, x: x.as_strided(2, (1,)),
    "float_in_stride": lambda lib, x: x.as_strided((2, 2), (1, 0.5)),
    "float_first_in_size": lambda lib, x: x.as_strided((2.0, 2), (1, 1)),
    "float_offset": lambda lib, x: x.as_strided((2,), (1,), 1.0),
    "not_a_tensor": lambda lib, x: lib.as_strided([1.0, 2.0], (2,), (1,)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_argument_errors_as_torch(name):
    call, array = ERRORS[name], np.arange(12.0, dtype=np.float32).reshape(3, 4)
    assert_raises_as_torch(lambda: call(torch, torch.tensor(array)), lambda: call(mg, mg.tensor(array)))


def test_empty_views_as_torch():
    """An empty view reads nothing, so its offset may lie past the end."""
    for lib in (mg, torch):
        x = lib.zeros(10)
        assert tuple(x.as_strided((0, 3), (100, 1), 11).shape) == (0, 3)
        assert tuple(x.unfold(0, 0, 1).shape) == (11, 0)
        assert tuple(lib.zeros(0, 3).unfold(0, 0, 1).shape) == (1, 3, 0)


def test_writes_go_through_both_ways_as_torch():
    """Unrecorded writes into a view reach its base, and writes into the base its views, as torch's."""
    results = []
    for lib in (torch, mg):
        x = lib.arange(10.0)
        windows, strided = x.unfold(0, 3, 2), x.as_strided((3, 3), (1, 1), 2)
        windows[1, 1] = 50.0
        strided[0, 2] = -4.0
        x[6] = 60.0
        results.append([t.numpy().copy() for t in (x, windows, strided)])
    for ours, theirs in zip(results[1], results[0]):
        np.testing.assert_array_equal(ours, theirs)


def test_as_strided_reads_a_non_contiguous_tensor_row_by_row():
    """Where torch reads a transposed tensor's storage, minigrad reads the tensor as it is, row-major: as torch
    reads it made contiguous."""
    array = np.arange(6.0).reshape(2, 3)
    ours = mg.tensor(array).t().as_strided((2, 2), (1, 2), 1)
    theirs = torch.tensor(array).t().contiguous().as_strided((2, 2), (1, 2), 1)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_a_no_grad_write_through_windows_is_seen_by_backward():
    """A write into windows, outside the graph, changes memory that an op saved: backward refuses, as torch's."""
    for lib in (torch, mg):
        x = lib.ones(6, requires_grad=True)
        y = x.exp()
        with lib.no_grad():
            y.unfold(0, 2, 2).add_(1)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_graph_nodes_named_as_torchs():
    names = []
    for lib in (torch, mg):
        x = lib.ones(6, requires_grad=True)
        names.append([t.grad_fn.name() for t in (x.unfold(0, 2, 1), lib.as_strided(x, (2, 2), (1, 1)))])
    assert names[1] == names[0]
