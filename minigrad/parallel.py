"""Both cores for the big ops: split work over a few Python threads, with BLAS pinned to one thread.

NumPy's BLAS and its large array loops release the GIL, so two Python threads that each take half
of a batch run truly in parallel. BLAS's own threading would compete with them, so it is pinned to
one thread (with threadpoolctl) while minigrad splits the work itself. Without threadpoolctl BLAS
keeps its threads and minigrad does not split.
"""
import functools
import importlib
import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import memory
from .backend import get_array_module

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # optional: without it BLAS threads itself and minigrad stays single-threaded
    threadpool_limits = None

_threads = 1
_pool = None


def set_num_threads(threads):
    """Use `threads` worker threads for splittable ops (1 turns splitting off), with torch's errors as
    torch.set_num_threads; without threadpoolctl, one."""
    global _threads, _pool
    if not isinstance(threads, int) or isinstance(threads, bool):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(threads).__name__}")
    if threads < 1:
        raise RuntimeError("set_num_threads expects a positive integer")
    if threadpool_limits is None:
        threads = 1
    else:
        # SciPy's own BLAS (the ops' LAPACK calls) loaded first, so that the pin covers it
        importlib.import_module("scipy.linalg")
        threadpool_limits(limits=1 if threads > 1 else None, user_api="blas")
    if _pool is not None:
        _pool.shutdown()
    _threads = threads
    _pool = _new_pool()


def _new_pool():
    """The pool of _threads - 1 threads (None for one), whose threads run parts of ops, quiet about inf and NaN
    as the ops are (see Function.apply)."""
    return ThreadPoolExecutor(_threads - 1, thread_name_prefix="minigrad", initializer=functools.partial(
        np.seterr, all="ignore")) if _threads > 1 else None


def _renew_pool_after_fork():
    """A forked child has none of its parent's pool threads (a pool that believes it has them waits on them
    forever): it starts a pool of its own, whose threads start at its first split."""
    global _pool
    _pool = _new_pool()


def get_num_threads():
    return _threads


def chunks(count, parts):
    """`parts` contiguous (start, stop) ranges covering range(count), sizes differing by at most 1."""
    parts = max(1, min(parts, count))
    bounds = [count * k // parts for k in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def split(work, count):
    """Run work(start, stop) on contiguous chunks of range(count), one per thread; results in order.

    The calling thread takes the first chunk itself, so one thread never waits idle.
    """
    ranges = chunks(count, _threads)
    if len(ranges) == 1 or _pool is None:
        return [work(start, stop) for start, stop in ranges]
    futures = [_pool.submit(work, start, stop) for start, stop in ranges[1:]]
    first = work(*ranges[0])
    return [first] + [future.result() for future in futures]


def split_blocks(work, count, block):
    """Run work(start, stop) on blocks of at most `block` items of range(count), sizes even, the blocks shared
    out over the threads (several passes over a block that fits the cache beat passes over a thread's share)."""
    blocks = chunks(count, -(-count // max(1, block)))
    return split(lambda first, last: [work(*bounds) for bounds in blocks[first:last]], len(blocks))


# Below this many elements of work a pass is cheaper than handing it to a thread.
SPLIT_MIN_ELEMENTS = 1 << 18


def worth_splitting(xp, work, minimum=SPLIT_MIN_ELEMENTS):
    """Whether `work` elements of work (at least `minimum`) on xp's arrays pay for the threads: never on a GPU,
    which runs one kernel over it all."""
    return xp is np and work >= minimum


def elementwise(function, *operands, out=None, whole_axes=()):
    """function(*operand chunks, out=out chunk) over chunks of the first splittable axis, one per thread.

    `function` is a ufunc or any fill with an `out` argument. It may reduce along
    `whole_axes`, which are never split (softmax's dim); every other axis of out longer than 1 is
    splittable. Operands broadcast against out; one that does not span the split axis (fewer dims, or
    a 1 there) goes whole to every chunk. out may also be smaller than the operands, a reduction's
    result with 1 along the axes it reduces. Small arrays and CuPy arrays are not split. Returns out,
    a new array of the operands' broadcast shape unless given.
    """
    xp = get_array_module(operands[0])
    if out is None:
        out = memory.empty(xp, broadcast_shape(operands), xp.result_type(*operands))
    if not worth_splitting(xp, max(out.size, *[operand.size for operand in operands])):
        function(*operands, out=out)
        return out
    shape = out.shape
    whole = {axis % len(shape) for axis in whole_axes}
    axis = next((axis for axis, length in enumerate(shape) if length > 1 and axis not in whole), None)
    if axis is None:
        function(*operands, out=out)
        return out

    def chunk(array, start, stop):
        return _part(array, (slice(None),) * axis + (slice(start, stop),) + (slice(None),) * (len(shape) - axis - 1),
                     len(shape))

    split(lambda start, stop: function(*(chunk(o, start, stop) for o in operands), out=chunk(out, start, stop)),
          shape[axis])
    return out


def broadcast_shape(arrays):
    """The shape the arrays broadcast to; operands of one shape beside 0-d ones (a number), the common cases, skip
    NumPy's general (and, next to a small op, slow) rule."""
    shapes = {array.shape for array in arrays if array.ndim}
    if len(shapes) <= 1:
        return shapes.pop() if shapes else ()
    return np.broadcast_shapes(*shapes)


# Elements per block of `blockwise`: four buffers of this many float32s fit a 2 MiB L2 cache. Half as many measured
# 8-15% slower on 2 cores (gelu, silu, batch and group norm, forward and backward): the passes' per-call cost
# outweighed what the smaller blocks kept in cache.
BLOCK_ELEMENTS = 1 << 17


def blockwise(function, *operands, out=None):
    """elementwise for a fill that makes many passes (a chain of ufuncs with `out`): function(*operand blocks,
    out=out block) over blocks of at most BLOCK_ELEMENTS of out, the threads taking turns at them, so that every
    pass after a block's first reads it from cache, not memory. Small arrays and CuPy arrays are not cut.
    Returns out, a new array of the operands' broadcast shape unless given.
    """
    xp = get_array_module(operands[0])
    if out is None:
        out = memory.empty(xp, broadcast_shape(operands), xp.result_type(*operands))
    if not worth_splitting(xp, out.size):
        function(*operands, out=out)
        return out
    parts = blocks(out.shape)

    def work(start, stop):
        for index in parts[start:stop]:
            function(*(_part(operand, index, out.ndim) for operand in operands), out=out[index])

    split(work, len(parts))
    return out


def blocks(shape, size=None):
    """Indices (tuples of slices, in C order) that cut an array of `shape` into blocks of at most `size`
    (BLOCK_ELEMENTS) elements."""
    size = size or BLOCK_ELEMENTS

    def cut(axis):
        length, inner = shape[axis], math.prod(shape[axis + 1:])
        if inner <= size:                       # a few indices of this axis a block, the later axes whole
            step = size // max(inner, 1)
            return [(slice(start, start + step),) + (slice(None),) * (len(shape) - axis - 1)
                    for start in range(0, length, step)]
        return [(slice(i, i + 1),) + rest for i in range(length) for rest in cut(axis + 1)]

    return cut(0) if shape else [()]


def _part(array, index, ndim):
    """array's part of out[index] (out of `ndim` dims), array broadcasting against out: its size-1 axes whole."""
    if array.ndim == 0:
        return array
    own = index[ndim - array.ndim:]                                     # broadcasting aligns the last dims
    return array[tuple(slice(None) if length == 1 else part for part, length in zip(own, array.shape))]


set_num_threads(os.cpu_count() or 1)
if hasattr(os, "register_at_fork"):  # no fork, no hook (Windows)
    os.register_at_fork(after_in_child=_renew_pool_after_fork)
