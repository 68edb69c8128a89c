"""Seeded generators for parameter initialisation and random tensors: torch's default one (mg.manual_seed) and
Generator objects of their own, which the random functions take as `generator=`."""
import numbers
import secrets

import numpy as np

from . import batching


class Generator:
    """torch.Generator: a stream of random numbers of its own, seeded apart from the default one, so that a draw
    made with it (generator=g) neither moves nor follows the default stream. Values come from NumPy's PCG64, so
    they differ from torch's, while a seed gives the same values every time."""

    def __init__(self, device="cpu"):
        self.device = device
        self.manual_seed(67280421310721)  # torch's default seed

    def manual_seed(self, seed):
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
        if not -2 ** 63 <= seed < 2 ** 64:
            raise ValueError("Overflow when unpacking long long")
        self._initial_seed = int(seed) % 2 ** 64  # a negative seed wraps to uint64, as torch's
        self.numpy_generator = np.random.default_rng(self._initial_seed)
        return self

    def seed(self):
        """Seeds this generator from the operating system's entropy and returns that seed."""
        seed = secrets.randbits(64)
        self.manual_seed(seed)
        return seed

    def initial_seed(self):
        return self._initial_seed

    def get_state(self):
        """The state of the stream (a dict of NumPy's bit generator, where torch gives a byte tensor)."""
        return self.numpy_generator.bit_generator.state

    def set_state(self, new_state):
        if not isinstance(new_state, dict):
            raise TypeError(f"expected a generator state as get_state gives it, but got {type(new_state).__name__}")
        self.numpy_generator.bit_generator.state = new_state
        return self


default_generator = Generator()
default_generator.manual_seed(0)


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def generator(source=None):
    """The NumPy generator that draws for `source`, a Generator given as generator=, or the default one."""
    if batching.refuses_randomness():
        raise RuntimeError("vmap: called random operation while in randomness error mode. Please either use the "
                           "'same' or 'different' randomness flags on vmap or perform the randomness operation out "
                           "of vmap")
    if source is None:
        return default_generator.numpy_generator
    if not isinstance(source, Generator):
        raise TypeError(f"generator must be a minigrad Generator, not {type(source).__name__}")
    return source.numpy_generator


def draw_categories(weights, num_samples, replacement, numpy_generator):
    """num_samples category indices for each row of `weights` (rows x categories, non-negative, each row with a
    positive sum) as int64. With replacement, uniform draws looked up in the rows' cumulative distributions, all
    rows in one search (row r's offset by 2r). Without, the categories of the smallest E / weight for exponential
    draws E, which picks them in turn with probabilities proportional to the weights left (categories of weight 0
    come last, as in torch)."""
    rows, categories = weights.shape
    if replacement:
        cumulative = np.cumsum(weights, axis=1)
        cumulative /= cumulative[:, -1:]
        offsets = 2.0 * np.arange(rows)[:, None]  # apart by 2, so that rounding keeps a point in its row
        points = numpy_generator.random((rows, num_samples)) + offsets
        found = np.searchsorted((cumulative + offsets).ravel(), points.ravel(), side="right").reshape(points.shape)
        found -= categories * np.arange(rows)[:, None]
        # a point that the offset's rounding carried past the row's end is its last category of positive weight
        last_positive = categories - 1 - np.argmax(weights[:, ::-1] > 0, axis=1)
        return np.where(found == categories, last_positive[:, None], found)
    with np.errstate(divide="ignore"):
        keys = numpy_generator.standard_exponential((rows, categories)) / weights
    return np.argsort(keys, axis=1, kind="stable")[:, :num_samples].astype(np.int64)


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(new_state):
    default_generator.set_state(new_state)
