"""torch.utils.data: data sets, samplers, collation and the DataLoader, as torch's for ported training loops.

Randomness (shuffling, random samplers, random_split) comes from a `generator=`: a `minigrad.Generator`, as
torch's, or a NumPy Generator, or a seed for one. Without one, every epoch draws a fresh seed from minigrad's
generator, so orders are reproducible under `mg.manual_seed` as torch's are under `torch.manual_seed`.
"""
import bisect
import collections.abc
import copy
import itertools
import math
import multiprocessing
import numbers
import os
import warnings

import numpy as np

from .. import random
from ..backend import get_array_module
from ..functional import stack
from ..tensor import Tensor
from .workers import Workers, get_worker_info

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler",
    "Sampler", "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler",
    "default_collate", "default_convert", "get_worker_info", "random_split",
]


def _drawn_seed(generator=None):
    """A seed in [0, 2**63) drawn from `generator` (as for _numpy_generator), or from minigrad's generator."""
    source = random.generator() if generator is None else _numpy_generator(generator)
    return int(source.integers(2 ** 63))


def _numpy_generator(generator):
    """generator= as a NumPy Generator: a minigrad Generator's stream, a NumPy Generator itself, one seeded with an
    integer, or (None) one seeded from minigrad's generator, drawn anew at every call as torch does for each epoch."""
    if generator is None:
        return np.random.default_rng(_drawn_seed())
    if isinstance(generator, random.Generator):
        return random.generator(generator)
    if isinstance(generator, np.random.Generator):
        return generator
    if isinstance(generator, numbers.Integral) and not isinstance(generator, bool):
        return np.random.default_rng(generator)
    raise TypeError(f"generator must be a minigrad.Generator, a numpy.random.Generator, an integer seed or None, not "
                    f"{type(generator).__name__}")


def _seeded(generator):
    """A seed is made a Generator once, so that successive epochs continue its stream rather than repeat it."""
    return generator if generator is None else _numpy_generator(generator)


class Dataset:
    """A map-style data set: `dataset[index]` gives a sample; `len(dataset)` is usually defined too."""

    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """An iterable-style data set: iterating it gives the samples (a stream, no indices)."""

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """The samples of several iterable-style data sets one after the other (also `stream_a + stream_b`)."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for dataset in self.datasets:
            _require_iterable(dataset)
            yield from dataset

    def __len__(self):
        return sum(len(_require_iterable(dataset)) for dataset in self.datasets)


def _require_iterable(dataset):
    if not isinstance(dataset, IterableDataset):
        raise AssertionError("ChainDataset only supports IterableDataset")
    return dataset


class TensorDataset(Dataset):
    """Sample i is (tensors[0][i], tensors[1][i], ...)."""

    def __init__(self, *tensors):
        if any(tensor.size(0) != tensors[0].size(0) for tensor in tensors):
            raise AssertionError("Size mismatch between tensors")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(tensor[index] for tensor in self.tensors)

    def __getitems__(self, indices):
        """A batch at once (the DataLoader calls it): one gather per tensor, cut into samples, where no tensor
        requires grad; otherwise sample by sample, so that the samples keep their history."""
        if any(tensor.requires_grad for tensor in self.tensors):
            return [self[index] for index in indices]
        columns = [tensor.data[indices] for tensor in self.tensors]
        return [tuple(Tensor(column[row, ...]) for column in columns) for row in range(len(indices))]

    def __len__(self):
        return self.tensors[0].size(0)


class Subset(Dataset):
    """The samples of `dataset` at `indices`, in that order."""

    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices):
        """A batch at once, by the data set's own __getitems__ where it has one (the DataLoader calls it)."""
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


class ConcatDataset(Dataset):
    """The samples of several map-style data sets one after the other (also `dataset_a + dataset_b`)."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        if any(isinstance(dataset, IterableDataset) for dataset in self.datasets):
            raise AssertionError("ConcatDataset does not support IterableDataset")
        self.cumulative_sizes = list(itertools.accumulate(len(dataset) for dataset in self.datasets))

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        if index < 0:
            if -index > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            index += len(self)
        dataset_index = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[dataset_index - 1] if dataset_index else 0
        return self.datasets[dataset_index][index - start]


def random_split(dataset, lengths, generator=None):
    """Disjoint random Subsets of the given lengths, or of fractions of len(dataset) that sum to 1 (the remainder
    of flooring them is spread one by one from the first split on, as torch does)."""
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        for i, fraction in enumerate(lengths):
            if fraction < 0 or fraction > 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
        counts = [math.floor(len(dataset) * fraction) for fraction in lengths]
        for i in range(len(dataset) - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an empty dataset.",
                              stacklevel=2)
        lengths = counts
    if sum(lengths) != len(dataset):
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    indices = _numpy_generator(generator).permutation(sum(lengths)).tolist()
    return [Subset(dataset, indices[end - length:end]) for end, length in zip(itertools.accumulate(lengths), lengths)]


class Sampler:
    """Iterating a sampler gives the indices (or, for a batch sampler, lists of indices) to load."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random permutation of the indices (repeated, then cut, to give num_samples), or with replacement
    num_samples independent draws."""

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={replacement}")
        self.data_source, self.replacement, self._num_samples = data_source, replacement, num_samples
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")
        self.generator = _seeded(generator)

    @property
    def num_samples(self):
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self):
        size, rng = len(self.data_source), _numpy_generator(self.generator)
        if self.replacement:
            return iter(rng.integers(size, size=self.num_samples).tolist())
        order = np.concatenate([rng.permutation(size) for _ in range(-(-self.num_samples // size))])
        return iter(order[:self.num_samples].tolist())

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order."""

    def __init__(self, indices, generator=None):
        self.indices, self.generator = indices, _seeded(generator)

    def __iter__(self):
        return (self.indices[i] for i in _numpy_generator(self.generator).permutation(len(self.indices)).tolist())

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """num_samples indices drawn with probabilities proportional to `weights`."""

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights = np.asarray(weights.numpy() if isinstance(weights, Tensor) else weights, dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape {tuple(weights.shape)}")
        self.weights, self.num_samples, self.replacement = weights, num_samples, replacement
        self.generator = _seeded(generator)

    def __iter__(self):
        rng = _numpy_generator(self.generator)
        drawn = rng.choice(len(self.weights), self.num_samples, self.replacement, self.weights / self.weights.sum())
        return iter(drawn.tolist())

    def __len__(self):
        return self.num_samples


class BatchSampler(Sampler):
    """The indices of `sampler` in lists of batch_size (the last one shorter, unless drop_last drops it)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler, self.batch_size, self.drop_last = sampler, batch_size, drop_last

    def __iter__(self):
        return _chunks(iter(self.sampler), self.batch_size, self.drop_last)

    def __len__(self):
        return _batch_count(len(self.sampler), self.batch_size, self.drop_last)


def _batch_count(samples, batch_size, drop_last):
    return samples // batch_size if drop_last else -(-samples // batch_size)


def _chunks(iterator, size, drop_last):
    """Lists of `size` consecutive items; the last one shorter, unless drop_last."""
    while chunk := list(itertools.islice(iterator, size)):
        if len(chunk) < size and drop_last:
            return
        yield chunk


_COLLATE_ERROR = "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"


def _is_text_or_object(array):
    return array.dtype.kind in "SaUO"


def default_collate(batch):
    """A list of samples as one batch, as torch's: tensors, NumPy arrays and NumPy scalars stacked along a new first
    dimension (keeping their dtype), Python floats as float64, ints as int64 and bools as bool tensors; mappings,
    namedtuples and sequences collated field by field (tuples become lists); strings and bytes kept as a list."""
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stacked(batch)
    if isinstance(elem, np.ndarray):
        if _is_text_or_object(elem):
            raise TypeError(_COLLATE_ERROR.format(elem.dtype))
        return default_collate([Tensor(array) for array in batch])
    if isinstance(elem, (np.bool_, np.number, np.object_)):
        return Tensor(np.asarray(batch))
    if isinstance(elem, float):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(elem, int):
        return Tensor(np.asarray(batch, dtype=np.bool_ if isinstance(elem, bool) else np.int64))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        return _rebuilt_mapping(elem, {key: default_collate([sample[key] for sample in batch]) for key in elem})
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return type(elem)(*(default_collate(field) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        if any(len(sample) != len(elem) for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        fields = [default_collate(field) for field in zip(*batch)]
        return fields if isinstance(elem, tuple) else _rebuilt_sequence(elem, fields)
    raise TypeError(_COLLATE_ERROR.format(type(elem)))


def _stacked(tensors):
    """mg.stack(tensors), without recording a graph node per tensor where none requires grad (the usual batch)."""
    if any(tensor.requires_grad or tensor.shape != tensors[0].shape for tensor in tensors):
        return stack(tensors)
    return Tensor(get_array_module(tensors[0].data).stack([tensor.data for tensor in tensors]))


def default_convert(data):
    """One sample's NumPy arrays and scalars as tensors (text and object arrays kept), recursively through
    mappings, namedtuples and sequences (tuples become lists); the collate_fn when batch_size is None."""
    if isinstance(data, np.ndarray):
        return data if _is_text_or_object(data) else Tensor(data)
    if isinstance(data, (np.bool_, np.number)):
        return Tensor(np.asarray(data))
    if isinstance(data, collections.abc.Mapping):
        return _rebuilt_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(field) for field in data))
    if isinstance(data, tuple):
        return [default_convert(field) for field in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuilt_sequence(data, [default_convert(field) for field in data])
    return data


def _rebuilt_mapping(like, entries):
    """`entries` in a mapping of like's type where that type allows, else a dict (as torch does)."""
    try:
        if isinstance(like, collections.abc.MutableMapping):
            clone = copy.copy(like)
            clone.update(entries)
            return clone
        return type(like)(entries)
    except TypeError:
        return entries


def _rebuilt_sequence(like, items):
    """`items` in a sequence of like's type where that type allows, else a list (as torch does)."""
    try:
        if isinstance(like, collections.abc.MutableSequence):
            clone = copy.copy(like)
            clone[:] = items
            return clone
        return type(like)(items)
    except TypeError:
        return items


class DataLoader:
    """Batches of a data set, as torch's DataLoader: the same arguments, checks and order of batches.

    num_workers > 0 loads batches in that many worker processes, as torch's: each makes whole batches in its copy of
    the data set (an iterable-style one is iterated by every worker, which picks its share by get_worker_info()),
    up to prefetch_factor * num_workers ahead, handed out in order (as they arrive, with in_order=False). Worker i
    is seeded with base_seed + i (Python's, NumPy's and minigrad's global generators), base_seed drawn from
    `generator` (else minigrad's) as torch draws it, so augmentations differ across workers and repeat for a seed.
    A data set of GPU tensors needs num_workers=0, as CUDA does not survive a fork (in torch neither). pin_memory
    and pin_memory_device are accepted and change nothing: there is no pinned memory.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None, num_workers=0,
                 collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None,
                 multiprocessing_context=None, generator=None, *, prefetch_factor=None, persistent_workers=False,
                 pin_memory_device="", in_order=True):
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing.let num_workers > 0 "
                             "to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None:
            multiprocessing_context = _context(multiprocessing_context, num_workers)
        if num_workers:
            _warn_of_workers_beyond_cpus(num_workers)
        iterable = isinstance(dataset, IterableDataset)
        if iterable:
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        shuffle = bool(shuffle)
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, sampler, and "
                                 "drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")
        self._generator = _seeded(generator)  # the sampler's and the workers' seeds come from one stream, as torch's
        if sampler is None and not iterable:
            sampler = RandomSampler(dataset, generator=self._generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.dataset, self.batch_size, self.drop_last, self.generator = dataset, batch_size, drop_last, generator
        self.sampler, self.batch_sampler, self._iterable = sampler, batch_sampler, iterable
        self._auto_collation = batch_size is not None or batch_sampler is not None
        self.collate_fn = collate_fn or (default_collate if self._auto_collation else default_convert)
        self.num_workers, self.prefetch_factor, self.worker_init_fn = num_workers, prefetch_factor, worker_init_fn
        self.pin_memory, self.pin_memory_device, self.timeout = pin_memory, pin_memory_device, timeout
        self.multiprocessing_context, self.persistent_workers, self.in_order = (multiprocessing_context,
                                                                                persistent_workers, in_order)
        self._workers = None  # the persistent workers, once started

    def __len__(self):
        if self._iterable:
            if self.batch_size is None:
                return len(self.dataset)
            return _batch_count(len(self.dataset), self.batch_size, self.drop_last)
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def __iter__(self):
        if self.persistent_workers:
            if self._workers is None or self._workers.closed:
                self._workers = self._started_workers(_drawn_seed(self._generator))
            return self._workers.batches(self._keys(), close_at_end=False, in_order=self.in_order)
        base_seed = _drawn_seed(self._generator)  # drawn without workers too, so that they leave the orders alike
        if self.num_workers:
            return self._started_workers(base_seed).batches(self._keys(), close_at_end=True, in_order=self.in_order)
        fetcher = _Fetcher(self)
        return fetcher.stream() if fetcher.iterable else map(fetcher, self._keys())

    def _keys(self):
        """What each batch is made from: the sampler's index lists (indices without auto-batching), or, for an
        iterable-style data set, None for as long as the workers' streams last."""
        if self._iterable:
            return itertools.repeat(None)
        return iter(self.batch_sampler if self._auto_collation else self.sampler)

    def _started_workers(self, base_seed):
        return Workers(_Fetcher(self), self.num_workers, base_seed, self.worker_init_fn,
                       self.multiprocessing_context or multiprocessing.get_context(),
                       self.prefetch_factor * self.num_workers, self.timeout)


def _warn_of_workers_beyond_cpus(num_workers):
    """torch's warning where there are more workers than CPUs this process may run on."""
    cpuset_checked = hasattr(os, "sched_getaffinity")
    cpus = len(os.sched_getaffinity(0)) if cpuset_checked else os.cpu_count()
    if cpus is not None and num_workers <= cpus:
        return
    if cpus is None:
        suggestion = "DataLoader is not able to compute a suggested max number of worker in current system."
    else:
        suggestion = (f"Our suggested max number of worker in current system is {cpus}"
                      f"{'' if cpuset_checked else ' (`cpuset` is not taken into account)'}, which is smaller than "
                      f"what this DataLoader is going to create.")
    warnings.warn(f"This DataLoader will create {num_workers} worker processes in total. {suggestion} Please be "
                  f"aware that excessive worker creation might get DataLoader running slow or even freeze, lower the "
                  f"worker number to avoid potential slowness/freeze if necessary.", stacklevel=3)


def _context(context, num_workers):
    """multiprocessing_context= as a multiprocessing context (a start method's name, or a context), checked as
    torch checks it."""
    if num_workers == 0:
        raise ValueError(f"multiprocessing_context can only be used with multi-process loading (num_workers > 0), "
                         f"but got num_workers={num_workers}")
    if isinstance(context, str):
        methods = multiprocessing.get_all_start_methods()
        if context not in methods:
            raise ValueError(f"multiprocessing_context option should specify a valid start method in {methods!r}, "
                             f"but got multiprocessing_context={context!r}")
        context = multiprocessing.get_context(context)
    if not isinstance(context, multiprocessing.context.BaseContext):
        raise TypeError(f"multiprocessing_context option should be a valid context object or a string specifying "
                        f"the start method, but got multiprocessing_context={context}")
    return context


class _Fetcher:
    """Makes a DataLoader's batches, in the main process or, as a copy, in a worker process: from keys (index
    lists, or indices without auto-batching) of a map-style data set, or from the stream of an iterable-style one."""

    def __init__(self, loader):
        self.dataset, self.collate_fn, self.iterable = loader.dataset, loader.collate_fn, loader._iterable
        self.batch_size, self.drop_last, self.auto_collation = (loader.batch_size, loader.drop_last,
                                                                loader._auto_collation)

    def __call__(self, key):
        """The collated batch of the indices `key` (the sample at `key` without auto-batching), read through the
        data set's __getitems__ where it has one."""
        if not self.auto_collation:
            return self.collate_fn(self.dataset[key])
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.collate_fn(self.dataset.__getitems__(key))
        return self.collate_fn([self.dataset[index] for index in key])

    def stream(self):
        """The batches of an iterable-style data set, from a new iterator of it (made at the first batch)."""
        samples = iter(self.dataset)
        if self.auto_collation:
            samples = _chunks(samples, self.batch_size, self.drop_last)
        yield from map(self.collate_fn, samples)
