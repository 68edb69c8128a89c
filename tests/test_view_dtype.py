"""torch's view(dtype), storage_offset and data_ptr: the same bytes read as another dtype, sharing memory, with
torch's errors where the last dim cannot be read so; checked against torch."""
import numpy as np
import pytest
import torch
from conftest import assert_raises_as_torch

import minigrad as mg


def _values(library):
    return library.tensor(np.linspace(-3, 5, 24, dtype=np.float32).reshape(2, 12), requires_grad=True)


@pytest.mark.parametrize("dtype", ["int32", "float16", "float64", "uint8", "int64", "float32", "bool_as_uint8"])
def test_the_bytes_read_as_another_dtype_as_torchs(dtype):
    def run(library):
        x = _values(library)
        if dtype == "bool_as_uint8":
            x, target = x > 0, library.uint8
        else:
            target = getattr(library, dtype)
        y = x.view(target)
        return tuple(y.shape), str(y.dtype).rpartition(".")[2], y.requires_grad, y.grad_fn, y.detach().numpy()

    (*mine, my_bytes), (*theirs, their_bytes) = run(mg), run(torch)
    assert mine == theirs
    np.testing.assert_array_equal(my_bytes, their_bytes)


def test_a_write_through_the_view_is_seen_by_the_tensor_as_torchs():
    results = []
    for library in (torch, mg):
        x = library.zeros(2, 4)
        bits = x.view(dtype=library.int32)
        bits[0, 1] = 1065353216  # the bits of 1.0
        x[1].view(library.float16)[3] = 2.0
        results.append((x.tolist(), x[1].storage_offset(), x[1].view(library.float16).storage_offset()))
    assert results[0] == results[1]


@pytest.mark.parametrize("call", [
    lambda lib: lib.ones(2, 3).view(lib.float64),
    lambda lib: lib.ones(3, 2).t().view(lib.float16),
    lambda lib: lib.ones(()).view(lib.float16),
    lambda lib: lib.ones(6)[1:5].view(lib.float64),
], ids=["size", "stride", "0-d", "offset"])
def test_a_last_dim_that_cannot_be_read_so_is_refused_as_torchs(call):
    assert_raises_as_torch(lambda: call(torch), lambda: call(mg))


def test_storage_offset_and_data_ptr_count_in_the_viewed_memory_as_torchs():
    def run(library):
        x = library.ones(4, 6)
        views = [x, x[1], x[:, 2:], x.t()[3], x.view(-1)[6:].view(2, 9), x[2:].view(library.float64)]
        return [v.storage_offset() for v in views], [v.data_ptr() - x.data_ptr() for v in views]

    assert run(mg) == run(torch)


def test_the_gpu_path_reads_the_same_bytes(gpu_path):
    x = mg.tensor(np.linspace(-3, 5, 24, dtype=np.float32).reshape(2, 12))
    on_gpu = x.to("gpu")
    for dtype in (mg.int32, mg.float16, mg.float64):
        viewed = on_gpu[:, 4:].view(dtype)
        assert viewed.device == "gpu" and viewed.storage_offset() == x[:, 4:].view(dtype).storage_offset()
        np.testing.assert_array_equal(viewed.numpy(), x[:, 4:].view(dtype).numpy())
