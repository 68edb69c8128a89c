"""minigrad.memory: big arrays reuse the memory of freed ones, through minigrad's pool or glibc's heap."""
import platform
import subprocess
import sys

import numpy as np
import pytest

from minigrad import memory
from minigrad.memory import ArrayPool

PAGE_FAULTS_OF_SECOND_ARRAY = """
import resource, sys
import numpy as np
from minigrad.memory import keep_freed_memory
if sys.argv[1] == "keep":
    assert keep_freed_memory()
np.ones(64 << 18, dtype=np.float32)                 # 64 MiB, freed at once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
np.ones(64 << 18, dtype=np.float32)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode):
    result = subprocess.run([sys.executable, "-c", PAGE_FAULTS_OF_SECOND_ARRAY, mode],
                            capture_output=True, text=True, check=True)
    return int(result.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_kept_memory_is_reused_without_page_faults():
    huge_pages = (64 << 20) // (2 << 20)           # the fewest faults a fresh 64 MiB mapping can take
    assert _faults("default") >= huge_pages
    assert _faults("keep") < huge_pages // 4


MiB = 1 << 20


def _address(array):
    return array.__array_interface__["data"][0]


def test_pool_reuses_a_freed_buffer_and_never_one_in_use():
    pool = ArrayPool()
    first = pool.empty((2, MiB), np.float32)
    address = _address(first)
    view = first[1:]
    del first
    second = pool.empty((2, MiB), np.float32)                  # the view keeps the first buffer busy
    assert not np.shares_memory(second, view)
    del view, second
    third = pool.empty((MiB, 2), np.float32)
    assert third.shape == (MiB, 2) and third.dtype == np.float32 and third.flags.c_contiguous
    assert _address(third) == address                              # the first idle buffer of that size
    assert pool.idle_bytes() == 8 * MiB


def test_pool_serves_near_sizes_from_one_buffer_within_the_slack():
    pool = ArrayPool(max_slack=2.0)
    big = pool.empty((4 * MiB,), np.uint8)
    address = _address(big)
    del big
    half = pool.empty((2 * MiB,), np.uint8)                     # half the size: within the slack
    assert _address(half) == address
    del half
    small = pool.empty((MiB + 1,), np.uint8)                   # under half: a buffer of its own
    assert _address(small) != address


def test_pool_gives_back_idle_buffers_over_its_limit_oldest_first():
    pool = ArrayPool(max_slack=1.0, max_idle_bytes=5 * MiB)
    arrays = [pool.empty((size * MiB,), np.uint8) for size in (1, 2, 3)]
    del arrays
    assert pool.idle_bytes() == 6 * MiB
    fresh = pool.empty((4 * MiB,), np.uint8)                    # no fit: the oldest idle (1 MiB) goes
    assert pool.idle_bytes() == 5 * MiB and fresh.nbytes == 4 * MiB
    pool.release()
    assert pool.idle_bytes() == 0


def test_pool_tells_its_buffers_from_other_arrays():
    pool = ArrayPool()
    array = pool.empty((MiB,), np.float32)
    assert pool.holds(array.base) and not pool.holds(array) and not pool.holds(np.empty(4 * MiB, np.uint8))
    assert not ArrayPool().holds(array.base)


def test_pool_zeros_are_zero_in_a_reused_buffer():
    first = memory.pool.empty((MiB,), np.float32)
    first.fill(7)
    del first
    assert not memory.zeros(np, (MiB,), np.float32).any()


def test_small_arrays_bypass_the_pool():
    pool = ArrayPool(min_bytes=MiB)
    small = pool.empty((10,), np.float64)
    assert small.base is None and pool.idle_bytes() == 0


PAGE_FAULTS_OF_POOLED_ARRAY = """
import resource
import numpy as np
from minigrad import memory
memory.pool.empty((64 << 18,), np.float32).fill(1)   # 64 MiB, idle at once
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
memory.pool.empty((64 << 18,), np.float32).fill(1)
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def test_pooled_array_takes_no_page_faults():
    result = subprocess.run([sys.executable, "-c", PAGE_FAULTS_OF_POOLED_ARRAY], capture_output=True, text=True, check=True)
    assert int(result.stdout) < 8
