"""Both cores for the big ops: split work over a few Python threads, with BLAS pinned to one thread.

NumPy's BLAS and its large array loops release the GIL, so two Python threads that each take half
of a batch run truly in parallel. BLAS's own threading would compete with them, so it is pinned to
one thread (with threadpoolctl) while minigrad splits the work itself. Without threadpoolctl BLAS
keeps its threads and minigrad does not split.
"""
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
    """Use `threads` worker threads for splittable ops (1 turns splitting off)."""
    global _threads, _pool
    threads = max(1, int(threads))
    if threadpool_limits is None:
        threads = 1
    else:
        threadpool_limits(limits=1 if threads > 1 else None, user_api="blas")
    if _pool is not None:
        _pool.shutdown()
    _threads = threads
    _pool = ThreadPoolExecutor(threads - 1, thread_name_prefix="minigrad") if threads > 1 else None


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


def worth_splitting(xp, work):
    """Whether `work` elements of work on xp's arrays pay for the threads: never on a GPU, which runs
    one kernel over it all."""
    return xp is np and work >= SPLIT_MIN_ELEMENTS


def elementwise(function, *operands, out=None, whole_axes=()):
    """function(*operand chunks, out=out chunk) over chunks of the first splittable axis, one per thread.

    `function` is a ufunc or any fill with an `out` argument. It may reduce along
    `whole_axes`, which are never split (softmax's dim); every other axis of out longer than 1 is
    splittable. Operands broadcast against out; one that does not span the split axis (fewer dims, or
    a 1 there) goes whole to every chunk. Small arrays and CuPy arrays are not split. Returns out, a
    new array of the operands' broadcast shape unless given.
    """
    xp = get_array_module(operands[0])
    if out is None:
        out = memory.empty(xp, np.broadcast_shapes(*(operand.shape for operand in operands)), xp.result_type(*operands))
    shape = out.shape
    whole = {axis % len(shape) for axis in whole_axes}
    axis = next((axis for axis, length in enumerate(shape) if length > 1 and axis not in whole), None)
    if axis is None or not worth_splitting(xp, out.size):
        function(*operands, out=out)
        return out

    def chunk(array, start, stop):
        array_axis = axis - (len(shape) - array.ndim)                   # broadcasting aligns the last dims
        if array_axis < 0 or array.shape[array_axis] == 1:
            return array
        return array[(slice(None),) * array_axis + (slice(start, stop),)]

    split(lambda start, stop: function(*(chunk(o, start, stop) for o in operands), out=chunk(out, start, stop)),
          shape[axis])
    return out


set_num_threads(os.cpu_count() or 1)
