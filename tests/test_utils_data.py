"""minigrad.utils.data against torch.utils.data: batches, lengths, collation, samplers, argument errors, and the
reproducibility of shuffled orders."""
import collections

import numpy as np
import pytest

import minigrad as mg
import minigrad.utils.data as mud

torch = pytest.importorskip("torch")
tud = pytest.importorskip("torch.utils.data")
pytestmark = [pytest.mark.filterwarnings("ignore:'pin_memory' argument is set as true"),  # torch's notes on its
              pytest.mark.filterwarnings("ignore:This DataLoader will create")]           # processes and memory

Pair = collections.namedtuple("Pair", "image label")


def plain(batch):
    """A batch of either library as comparable Python data: tensors as (dtype name, shape, values), containers
    kept with their type (namedtuples by name)."""
    if isinstance(batch, (mg.Tensor, torch.Tensor)):
        array = np.asarray(batch.numpy())
        return ("tensor", array.dtype.name, array.shape, array.tolist())
    if isinstance(batch, dict):
        return {key: plain(value) for key, value in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return (type(batch).__name__,) + tuple(plain(value) for value in batch)
    if isinstance(batch, (list, tuple)):
        return type(batch)(plain(value) for value in batch)
    return batch


class Squares:
    """A map-style data set that is a plain class (no base), as torch allows."""

    def __init__(self, size):
        self.size = size

    def __len__(self):
        return self.size

    def __getitem__(self, index):
        return {"x": np.full(2, index, np.float32), "y": index * index, "name": f"s{index}"}


def make_stream(base):
    class Stream(base):
        def __init__(self, size):
            self.size = size

        def __iter__(self):
            return iter(range(self.size))

        def __len__(self):
            return self.size
    return Stream


MgStream, TorchStream = make_stream(mud.IterableDataset), make_stream(tud.IterableDataset)


def tensor_datasets(rows=10):
    features = np.arange(rows * 3, dtype=np.float32).reshape(rows, 3)
    labels = np.arange(rows) % 3
    return (mud.TensorDataset(mg.tensor(features), mg.tensor(labels)),
            tud.TensorDataset(torch.tensor(features), torch.tensor(labels)))


@pytest.mark.parametrize("options", [dict(), dict(batch_size=4), dict(batch_size=4, drop_last=True),
                                     dict(batch_size=3, num_workers=2), dict(batch_size=10), dict(batch_size=11),
                                     dict(batch_size=None), dict(batch_size=4, drop_last=True, num_workers=3,
                                                                 prefetch_factor=1)])
def test_tensor_dataset_batches_match_torch(options):
    ours, theirs = tensor_datasets()
    loader, torch_loader = mud.DataLoader(ours, **options), tud.DataLoader(theirs, **options)
    assert len(loader) == len(torch_loader)
    assert [plain(batch) for batch in loader] == [plain(batch) for batch in torch_loader]


@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("options", [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)])
def test_dict_samples_with_strings_match_torch(options, num_workers):
    loader, torch_loader = (loader_type(Squares(7), num_workers=num_workers, **options)
                            for loader_type in (mud.DataLoader, tud.DataLoader))
    assert len(loader) == len(torch_loader)
    assert [plain(batch) for batch in loader] == [plain(batch) for batch in torch_loader]


# torch's loader says that its workers' copies of the stream give more samples than its len: they are meant to here
@pytest.mark.filterwarnings("ignore:Length of IterableDataset")
@pytest.mark.parametrize("num_workers", [0, 2])
@pytest.mark.parametrize("options", [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None)])
def test_iterable_dataset_matches_torch(options, num_workers):
    """Each worker replays the whole stream (nothing shards it here), its batches interleaved as torch's."""
    loader, torch_loader = (loader_type(stream(8), num_workers=num_workers, **options)
                            for loader_type, stream in ((mud.DataLoader, MgStream), (tud.DataLoader, TorchStream)))
    assert len(loader) == len(torch_loader)
    assert [plain(batch) for batch in loader] == [plain(batch) for batch in torch_loader]


SAMPLES = {
    "float": [1.5, 2.0, -3.0],
    "int": [1, 2, 3],
    "bool": [True, False, True],
    "numpy scalars": [np.float32(1.5), np.float32(2)],
    "numpy float64 scalars": [np.float64(1.5), np.float64(2)],
    "numpy int16 scalars": [np.int16(4), np.int16(-2)],
    "arrays": [np.ones((2, 2), np.float64), np.zeros((2, 2), np.float64)],
    "uint8 arrays": [np.arange(4, dtype=np.uint8), np.arange(4, 8, dtype=np.uint8)],
    "strings": ["a", "bc"],
    "tuples": [(1, 2.0, "a"), (3, 4.0, "b")],
    "lists": [[1, 2], [3, 4]],
    "namedtuples": [Pair(np.ones(2, np.float32), 1), Pair(np.zeros(2, np.float32), 0)],
    "nested": [{"a": (1, [2.0, 3.0]), "b": {"c": np.int64(5)}}, {"a": (4, [5.0, 6.0]), "b": {"c": np.int64(6)}}],
}


@pytest.mark.parametrize("kind", SAMPLES)
def test_default_collate_matches_torch(kind):
    batch = SAMPLES[kind]
    assert plain(mud.default_collate(batch)) == plain(tud.default_collate(batch))


def test_default_collate_of_tensors_stacks_with_dtype():
    rows = np.arange(12).reshape(3, 4)
    for dtype in (np.float32, np.float64, np.int64, np.int32, np.bool_):
        ours = mud.default_collate([mg.tensor(row.astype(dtype)) for row in rows])
        theirs = tud.default_collate([torch.tensor(row.astype(dtype)) for row in rows])
        assert plain(ours) == plain(theirs)


@pytest.mark.parametrize("batch", [[np.array(["a", "b"]), np.array(["c", "d"])], [object(), object()],
                                   [[1, 2], [3]]])
def test_default_collate_errors_match_torch(batch):
    with pytest.raises(Exception) as theirs:
        tud.default_collate(batch)
    with pytest.raises(type(theirs.value)) as ours:
        mud.default_collate(batch)
    assert str(ours.value) == str(theirs.value)


def test_default_collate_of_unequal_tensors_is_torch_error():
    with pytest.raises(RuntimeError) as theirs:
        tud.default_collate([torch.zeros(2), torch.zeros(3)])
    with pytest.raises(RuntimeError) as ours:
        mud.default_collate([mg.zeros(2), mg.zeros(3)])
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("data", [np.arange(3, dtype=np.int16), np.float32(2.5), (np.ones(2), "a", 3),
                                  {"a": [np.zeros(1), 1.0]}, Pair(np.ones(1), np.bool_(True)), np.array(["x"]),
                                  "text", 4])
def test_default_convert_matches_torch(data):
    assert plain(mud.default_convert(data)) == plain(tud.default_convert(data))


def test_subset_concat_and_add_match_torch():
    ours, theirs = tensor_datasets(6)
    our_sets = [mud.Subset(ours, [5, 0, 3]), ours + mud.Subset(ours, [1]), mud.ConcatDataset([ours, ours])]
    their_sets = [tud.Subset(theirs, [5, 0, 3]), theirs + tud.Subset(theirs, [1]), tud.ConcatDataset([theirs, theirs])]
    for our_set, their_set in zip(our_sets, their_sets):
        assert len(our_set) == len(their_set)
        assert [plain(our_set[i]) for i in range(-len(our_set), len(our_set))] == \
            [plain(their_set[i]) for i in range(-len(their_set), len(their_set))]
        assert [plain(b) for b in mud.DataLoader(our_set, batch_size=2)] == \
            [plain(b) for b in tud.DataLoader(their_set, batch_size=2)]
    assert our_sets[2].cumulative_sizes == their_sets[2].cumulative_sizes


@pytest.mark.parametrize("make, args", [
    ("ConcatDataset", lambda lib: ([],)),
    ("ConcatDataset", lambda lib: ([(MgStream if lib is mud else TorchStream)(3)],)),
    ("TensorDataset", lambda lib: tuple(lib_zeros(lib, n) for n in (3, 4))),
])
def test_dataset_errors_match_torch(make, args):
    with pytest.raises(Exception) as theirs:
        getattr(tud, make)(*args(tud))
    with pytest.raises(type(theirs.value)) as ours:
        getattr(mud, make)(*args(mud))
    assert str(ours.value) == str(theirs.value)


def lib_zeros(lib, rows):
    return mg.zeros(rows, 2) if lib is mud else torch.zeros(rows, 2)


def test_concat_index_beyond_length_is_torch_error():
    ours, theirs = tensor_datasets(3)
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        tud.ConcatDataset([theirs])[-4]
    with pytest.raises(ValueError, match="absolute value of index should not exceed dataset length"):
        mud.ConcatDataset([ours])[-4]


@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.5, 0.25, 0.25], [0.33, 0.33, 0.34], [1 / 3] * 3])
def test_random_split_sizes_match_torch_and_partition(lengths):
    ours, theirs = tensor_datasets(10)
    our_parts, their_parts = mud.random_split(ours, lengths, generator=1), tud.random_split(theirs, lengths)
    assert [len(part) for part in our_parts] == [len(part) for part in their_parts]
    assert sorted(i for part in our_parts for i in part.indices) == list(range(10))
    again = mud.random_split(ours, lengths, generator=np.random.default_rng(1))
    assert [part.indices for part in again] == [part.indices for part in our_parts]


@pytest.mark.parametrize("lengths", [[3, 8], [1.2, -0.2], [0.5, 0.6]])
def test_random_split_errors_match_torch(lengths):
    ours, theirs = tensor_datasets(10)
    with pytest.raises(ValueError) as their_error:
        tud.random_split(theirs, lengths)
    with pytest.raises(ValueError) as our_error:
        mud.random_split(ours, lengths)
    assert str(our_error.value) == str(their_error.value)


def test_random_split_warns_of_an_empty_split_as_torch():
    ours, theirs = tensor_datasets(2)
    with pytest.warns(UserWarning) as their_warnings:
        tud.random_split(theirs, [0.9, 0.1, 0.0])
    with pytest.warns(UserWarning) as our_warnings:
        mud.random_split(ours, [0.9, 0.1, 0.0])
    assert [str(w.message) for w in our_warnings] == [str(w.message) for w in their_warnings]


def test_random_split_follows_manual_seed():
    ours, _ = tensor_datasets(20)
    mg.manual_seed(3)
    first = [part.indices for part in mud.random_split(ours, [10, 10])]
    mg.manual_seed(3)
    assert [part.indices for part in mud.random_split(ours, [10, 10])] == first


@pytest.mark.parametrize("size, drop_last", [(10, False), (10, True), (12, True), (3, False)])
def test_sequential_and_batch_samplers_match_torch(size, drop_last):
    data = list(range(size))
    assert list(mud.SequentialSampler(data)) == list(tud.SequentialSampler(data))
    ours = mud.BatchSampler(mud.SequentialSampler(data), 4, drop_last)
    theirs = tud.BatchSampler(tud.SequentialSampler(data), 4, drop_last)
    assert len(ours) == len(theirs) and list(ours) == list(theirs)
    custom = mud.DataLoader(data, batch_sampler=mud.BatchSampler(range(size), 4, drop_last))
    assert [plain(b) for b in custom] == [plain(b) for b in tud.DataLoader(data, batch_sampler=theirs)]


@pytest.mark.parametrize("make, kwargs", [
    ("BatchSampler", dict(sampler=range(3), batch_size=0, drop_last=False)),
    ("BatchSampler", dict(sampler=range(3), batch_size=True, drop_last=False)),
    ("BatchSampler", dict(sampler=range(3), batch_size=2, drop_last=1)),
    ("RandomSampler", dict(data_source=range(3), replacement=1)),
    ("RandomSampler", dict(data_source=range(3), num_samples=0)),
    ("RandomSampler", dict(data_source=range(0))),
    ("WeightedRandomSampler", dict(weights=[1, 2], num_samples=0)),
    ("WeightedRandomSampler", dict(weights=[1, 2], num_samples=2, replacement=0)),
    ("WeightedRandomSampler", dict(weights=[[1, 2]], num_samples=2)),
])
def test_sampler_errors_match_torch(make, kwargs):
    with pytest.raises(Exception) as theirs:
        getattr(tud, make)(**kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        getattr(mud, make)(**kwargs)
    assert str(ours.value) == str(theirs.value)


def test_random_sampler_is_a_fresh_permutation_each_epoch_and_follows_seeds():
    data = list(range(50))
    mg.manual_seed(0)
    sampler = mud.RandomSampler(data)
    first, second = list(sampler), list(sampler)
    assert sorted(first) == sorted(second) == data and first != second
    mg.manual_seed(0)
    assert [list(sampler), list(sampler)] == [first, second]
    seeded = [list(mud.RandomSampler(data, generator=np.random.default_rng(5))) for _ in range(2)]
    assert seeded[0] == seeded[1] and sorted(seeded[0]) == data
    assert list(mud.RandomSampler(data, generator=5)) == seeded[0]


@pytest.mark.parametrize("num_samples", [7, 50, 120])
def test_random_sampler_lengths_match_torch(num_samples):
    data = list(range(50))
    for replacement in (False, True):
        ours = list(mud.RandomSampler(data, replacement, num_samples, generator=0))
        theirs = list(tud.RandomSampler(data, replacement, num_samples))
        assert len(ours) == len(theirs) == len(mud.RandomSampler(data, replacement, num_samples))
        assert all(0 <= i < 50 for i in ours)
        if not replacement:  # whole permutations first, then part of one, as torch's
            whole = num_samples // 50 * 50
            assert all(sorted(ours[start:start + 50]) == data for start in range(0, whole, 50))
            assert len(set(ours[whole:])) == num_samples - whole


def test_subset_and_weighted_samplers():
    indices = [3, 9, 4, 7]
    ours = mud.SubsetRandomSampler(indices, generator=2)
    assert len(ours) == len(tud.SubsetRandomSampler(indices))
    first, second = list(ours), list(ours)
    assert sorted(first) == sorted(second) == sorted(indices)
    weights = [0.0, 1.0, 0.0, 3.0]
    sampler = mud.WeightedRandomSampler(weights, 400, generator=0)
    drawn = np.array(list(sampler))
    assert len(sampler) == len(tud.WeightedRandomSampler(weights, 400)) == len(drawn)
    assert set(drawn) == {1, 3} and 0.65 < (drawn == 3).mean() < 0.85
    without = list(mud.WeightedRandomSampler(mg.tensor([1.0, 1.0, 0.0, 2.0]), 3, replacement=False, generator=0))
    assert sorted(without) == [0, 1, 3]


def test_shuffled_loader_epochs_are_permutations_reproducible_and_different():
    ours, _ = tensor_datasets(30)

    def epochs(loader):
        return [np.concatenate([labels_of(features) for features, _ in loader]).tolist() for _ in range(2)]

    def labels_of(features):
        return (features.numpy()[:, 0] // 3).astype(int)

    mg.manual_seed(7)
    first = epochs(mud.DataLoader(ours, batch_size=4, shuffle=True))
    assert sorted(first[0]) == sorted(first[1]) == list(range(30)) and first[0] != first[1]
    mg.manual_seed(7)
    assert epochs(mud.DataLoader(ours, batch_size=4, shuffle=True, num_workers=2)) == first
    seeded = epochs(mud.DataLoader(ours, batch_size=4, shuffle=True, generator=11))
    assert seeded[0] != seeded[1]
    assert epochs(mud.DataLoader(ours, batch_size=4, shuffle=True, generator=np.random.default_rng(11))) == seeded
    def generator():  # torch's form: a Generator of its own, seeded
        return mg.Generator().manual_seed(5)

    generated = epochs(mud.DataLoader(ours, batch_size=4, shuffle=True, generator=generator()))
    assert generated[0] != generated[1]
    assert epochs(mud.DataLoader(ours, batch_size=4, shuffle=True, generator=generator())) == generated
    halves = [part.indices for part in mud.random_split(ours, [0.5, 0.5], generator=generator())]
    assert halves == [part.indices for part in mud.random_split(ours, [15, 15], generator=generator())]


CONFLICTS = [
    dict(num_workers=-1), dict(timeout=-1), dict(prefetch_factor=2), dict(num_workers=1, prefetch_factor=-1),
    dict(persistent_workers=True), dict(sampler=[0, 1], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
    dict(batch_sampler=[[0]], shuffle=True), dict(batch_sampler=[[0]], sampler=[0]),
    dict(batch_sampler=[[0]], drop_last=True), dict(batch_size=None, drop_last=True),
]


@pytest.mark.parametrize("options", CONFLICTS)
def test_loader_option_errors_match_torch(options):
    with pytest.raises(ValueError) as theirs:
        tud.DataLoader(list(range(4)), **options)
    with pytest.raises(ValueError) as ours:
        mud.DataLoader(list(range(4)), **options)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("options", [dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])])
def test_iterable_dataset_option_errors_match_torch(options):
    with pytest.raises(ValueError) as theirs:
        tud.DataLoader(TorchStream(3), **options)
    with pytest.raises(ValueError) as ours:
        mud.DataLoader(MgStream(3), **options)
    assert str(ours.value) == str(theirs.value)


def test_loader_accepts_torchs_process_options():
    ours, theirs = tensor_datasets(9)
    options = dict(batch_size=2, num_workers=2, pin_memory=True, persistent_workers=True, prefetch_factor=3,
                   timeout=5, in_order=True)
    assert [plain(b) for b in mud.DataLoader(ours, **options)] == [plain(b) for b in tud.DataLoader(theirs, **options)]


def test_custom_sampler_and_collate_fn():
    data = [np.float32(i) for i in range(6)]
    options = dict(sampler=[5, 1, 3, 0], batch_size=3, collate_fn=lambda batch: [float(x) * 2 for x in batch])
    assert list(mud.DataLoader(data, **options)) == list(tud.DataLoader(data, **options))


def test_training_over_a_loader_fits_a_line():
    mg.manual_seed(0)
    inputs = mg.randn(64, 2)
    targets = inputs @ mg.tensor([[2.0], [-1.0]]) + 0.5
    model = mg.nn.Linear(2, 1)
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    loader = mud.DataLoader(mud.TensorDataset(inputs, targets), batch_size=8, shuffle=True, num_workers=1,
                            persistent_workers=True)
    for _ in range(30):
        for features, target in loader:
            optimizer.zero_grad()
            loss = mg.nn.functional.mse_loss(model(features), target)
            loss.backward()
            optimizer.step()
    np.testing.assert_allclose(model.weight.numpy(), [[2.0, -1.0]], atol=1e-3)
    np.testing.assert_allclose(model.bias.numpy(), [0.5], atol=1e-3)


def test_gpu_path_batches_stay_on_the_device(gpu_path):
    features = np.random.default_rng(0).standard_normal((10, 3)).astype(np.float32)
    batches = {}
    for device in ("cpu", "gpu"):
        dataset = mud.TensorDataset(mg.tensor(features, device=device), mg.tensor(np.arange(10), device=device))
        batches[device] = list(mud.DataLoader(dataset, batch_size=4, sampler=[9, 2, 5, 0, 1, 3]))
    for (gpu_x, gpu_y), (cpu_x, cpu_y) in zip(batches["gpu"], batches["cpu"]):
        assert gpu_x.device == gpu_y.device == "gpu" and gpu_x.dtype == cpu_x.dtype and gpu_y.dtype == cpu_y.dtype
        np.testing.assert_array_equal(gpu_x.numpy(), cpu_x.numpy())
        np.testing.assert_array_equal(gpu_y.numpy(), cpu_y.numpy())


def test_batches_of_tensors_that_require_grad_keep_their_history():
    features = np.arange(12, dtype=np.float32).reshape(6, 2)
    ours = mg.tensor(features, requires_grad=True)
    theirs = torch.tensor(features, requires_grad=True)
    for dataset, leaf in ((mud.TensorDataset(ours), ours), (tud.TensorDataset(theirs), theirs)):
        (batch,) = next(iter((mud if leaf is ours else tud).DataLoader(dataset, batch_size=3, sampler=[4, 1, 4])))
        (batch * batch).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_chained_streams_match_torch():
    ours, theirs = MgStream(3) + MgStream(2), TorchStream(3) + TorchStream(2)
    assert type(ours).__name__ == type(theirs).__name__ == "ChainDataset"
    assert len(ours) == len(theirs) and list(ours) == list(theirs)
    assert [plain(b) for b in mud.DataLoader(ours, batch_size=2)] == [plain(b) for b in tud.DataLoader(theirs,
                                                                                                      batch_size=2)]
    for lib, stream in ((tud, TorchStream), (mud, MgStream)):
        chained = lib.ChainDataset([stream(1), [1, 2]])
        with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
            list(chained)
        with pytest.raises(AssertionError, match="ChainDataset only supports IterableDataset"):
            len(chained)
