"""minigrad.memory: with glibc keeping freed memory, a big array reuses the pages of the one before it."""
import platform
import subprocess
import sys

import pytest

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
