"""Small points of parity with torch: abs of a bool tensor refused, a lazy module's uninitialized tensor refused by
the functions that read its shape, ParameterList's and ParameterDict's reprs, and DataLoader's in_order=False."""
import time

import numpy as np
import pytest

import minigrad as mg
import minigrad.utils.data as mud
from conftest import assert_raises_as_torch
from test_dataloader_workers import assert_no_workers_left
from test_module_edges_port import assert_uninitialized_use_raises_as_torch

torch = pytest.importorskip("torch")
tud = pytest.importorskip("torch.utils.data")

ABS_OF_BOOL = {
    "abs": lambda lib, t: lib.abs(t),
    "method": lambda lib, t: t.abs(),
    "builtin": lambda lib, t: abs(t),
    "in-place": lambda lib, t: t.abs_(),
    "function-in-place": lambda lib, t: lib.abs_(t),
    "absolute": lambda lib, t: lib.absolute(t),
    "absolute-method": lambda lib, t: t.absolute(),
    "absolute-in-place": lambda lib, t: t.absolute_(),
}


@pytest.mark.parametrize("name", ABS_OF_BOOL)
def test_abs_of_a_bool_tensor_raises_as_torch(name):
    use = ABS_OF_BOOL[name]
    assert_raises_as_torch(lambda: use(torch, torch.tensor([True, False])),
                           lambda: use(mg, mg.tensor([True, False])))


@pytest.mark.parametrize("dtype", ["int64", "float32"])
def test_abs_of_numbers_is_torchs(dtype):
    values = np.array([-3, 0, 2], dtype)
    for name in ("abs", "method", "builtin", "absolute-in-place"):
        ours, theirs = (ABS_OF_BOOL[name](lib, lib.tensor(values)) for lib in (mg, torch))
        assert ours.dtype == theirs.numpy().dtype
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# functions that read their tensors' shapes before any op, given a lazy module's uninitialized tensor: (the lazy
# module's maker, its tensor's name, the use)
WEIGHT = (lambda nn: nn.LazyLinear(3), "weight")
SHAPE_READERS = {
    "stack": (*WEIGHT, lambda lib, w: lib.stack([w, w])),
    "stack-second": (*WEIGHT, lambda lib, w: lib.stack([lib.ones(1), w])),
    "cat": (*WEIGHT, lambda lib, w: lib.cat([w, lib.ones(1)])),
    "zeros_like": (*WEIGHT, lambda lib, w: lib.zeros_like(w)),
    "ones_like": (*WEIGHT, lambda lib, w: lib.ones_like(w, dtype=lib.float64)),
    "empty_like": (*WEIGHT, lambda lib, w: lib.empty_like(w)),
    "full_like": (*WEIGHT, lambda lib, w: lib.full_like(w, 2.0)),
    "rand_like": (*WEIGHT, lambda lib, w: lib.rand_like(w)),
    "randn_like": (*WEIGHT, lambda lib, w: lib.randn_like(w)),
    "randint_like": (*WEIGHT, lambda lib, w: lib.randint_like(w, 3)),
    "buffer-zeros_like": (lambda nn: nn.LazyBatchNorm1d(), "running_mean", lambda lib, w: lib.zeros_like(w)),
    "broadcast_tensors": (*WEIGHT, lambda lib, w: lib.broadcast_tensors(w, lib.ones(1))),
    "vstack": (*WEIGHT, lambda lib, w: lib.vstack([w, w])),
    "block_diag": (*WEIGHT, lambda lib, w: lib.block_diag(w)),
    "tensordot": (*WEIGHT, lambda lib, w: lib.tensordot(w, w, 1)),
}


@pytest.mark.parametrize("name", SHAPE_READERS)
def test_uninitialized_tensor_given_to_a_function_reading_shapes_raises_as_torch(name):
    assert_uninitialized_use_raises_as_torch(*SHAPE_READERS[name])


def test_uninitialized_tensor_shape_and_initialized_ones_as_before():
    theirs, ours = torch.nn.LazyLinear(3).weight, mg.nn.LazyLinear(3).weight
    assert_raises_as_torch(lambda: theirs.shape, lambda: ours.shape)
    lazy = mg.nn.LazyLinear(3)
    lazy(mg.ones(2, 4))
    assert mg.stack([lazy.weight, lazy.weight]).shape == (2, 3, 4)
    assert mg.zeros_like(lazy.weight).shape == (3, 4)


def _parameters(lib, device="cpu"):
    """Parameters of float32 (a matrix and a scalar), float64 and int64 (no gradient, as an integer has none)."""
    def parameter(values, dtype, requires_grad=True):
        return lib.nn.Parameter(lib.tensor(values, dtype=getattr(lib, dtype), device=device),
                                requires_grad=requires_grad)

    return {"weight": parameter(np.ones((2, 3)), "float32"), "scale": parameter(1.5, "float32"),
            "bias": parameter([0.5] * 4, "float64"), "counts": parameter([1, 2], "int64", requires_grad=False)}


@pytest.mark.parametrize("container", ["ParameterDict", "ParameterList"])
def test_parameter_containers_repr_as_torch(container):
    def built(lib):
        parameters = _parameters(lib)
        return getattr(lib.nn, container)(parameters if container == "ParameterDict" else list(parameters.values()))

    assert repr(built(mg)) == repr(built(torch))


def test_gpu_path_parameter_containers_repr_name_the_device(gpu_path):
    """As torch's on CUDA: the dict's type names are torch.cuda's, and each line ends with the device."""
    cpu, gpu = (mg.nn.ParameterDict(_parameters(mg, device)) for device in ("cpu", "gpu"))
    assert repr(gpu) == repr(cpu).replace("torch.", "torch.cuda.").replace("]\n", " (gpu)]\n")
    listed = mg.nn.ParameterList(list(_parameters(mg, "gpu").values()))
    assert repr(listed).count(" (gpu)]") == 4 and "torch.float64 of size 4" in repr(listed)
    assert_raises_as_torch(lambda: torch.tensor([True]).abs(), lambda: mg.tensor([True], device="gpu").abs())


class SlowFirst:
    """Indices as samples, the first slow to load: a loader that waits for nothing hands it out later."""

    def __init__(self, size=8):
        self.size = size

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        if index == 0:
            time.sleep(0.3)
        return index


def _indices(loader):
    return [int(index) for batch in loader for index in np.ravel(batch.tolist())]


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # 2 workers on a machine of 1 CPU
@pytest.mark.parametrize("persistent_workers", [False, True])
def test_dataloader_out_of_order_hands_out_batches_as_they_arrive(persistent_workers):
    loader = mud.DataLoader(SlowFirst(), num_workers=2, in_order=False, persistent_workers=persistent_workers)
    for _ in range(1 + persistent_workers):
        indices = _indices(loader)
        assert sorted(indices) == list(range(8))
        assert indices[0] != 0  # the other worker's batches overtake the slow one
    del loader
    assert_no_workers_left()


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # 2 workers on a machine of 1 CPU
def test_dataloader_in_order_keeps_the_order_as_torchs():
    # torch's order with workers in order is its order without them, taken here without torch's worker processes
    expected = _indices(tud.DataLoader(SlowFirst(), batch_size=3, in_order=True))
    assert _indices(mud.DataLoader(SlowFirst(), batch_size=3, num_workers=2, in_order=True)) == expected
    assert _indices(mud.DataLoader(SlowFirst(), batch_size=3, in_order=False)) == expected  # no workers: in order


class Stream(mud.IterableDataset):
    """0 .. size-1, each worker streaming its share, as torch's documentation shards a stream."""

    def __init__(self, size):
        self.size = size

    def __iter__(self):
        info = mud.get_worker_info()
        return iter(range(info.id, self.size, info.num_workers))


@pytest.mark.filterwarnings("ignore:This DataLoader will create")  # 2 workers on a machine of 1 CPU
def test_dataloader_out_of_order_over_a_stream_hands_out_every_batch_once():
    loader = mud.DataLoader(Stream(9), batch_size=2, num_workers=2, in_order=False)
    batches = [batch.tolist() for batch in loader]
    assert sorted(index for batch in batches for index in batch) == list(range(9))
    assert len(batches) == 5  # worker 0's [0, 2], [4, 6], [8]; worker 1's [1, 3], [5, 7]
    assert_no_workers_left()
