"""Build minigrad's CUDA kernels for the host with a C++ compiler, to run them on NumPy arrays.

A few definitions stand in for CUDA's. A launch runs a small grid (BLOCKS blocks of THREADS threads)
one thread after another, so every grid-stride loop must share its work items out among them
exactly as on a GPU. That checks each kernel's index arithmetic and the Python code that launches
it, wherever a C++ compiler exists, GPU or not. (Threads that run one by one cannot race; the kernels
avoid races by design: every work item writes only its own outputs.)
"""
import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

from minigrad import kernels

HOST_PRELUDE = """
#include <cmath>
using std::exp;
using std::sqrt;
struct HostDim { unsigned x, y, z; };
static HostDim threadIdx, blockIdx, blockDim, gridDim;
extern "C" void set_thread(unsigned block, unsigned thread, unsigned blocks, unsigned threads) {
    blockIdx = {block, 0, 0}; threadIdx = {thread, 0, 0}; gridDim = {blocks, 1, 1}; blockDim = {threads, 1, 1};
}
#define __global__
#define __device__
"""
BLOCKS, THREADS = 2, 3
COMPILER = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")


class HostRunner:
    """kernels' runner interface (see minigrad.kernels.CupyRunner), on the host through ctypes."""

    def __init__(self, build_dir):
        self.build_dir = Path(build_dir)
        self.libraries = {}
        self.launches = []                               # kernel names, in launch order

    def library(self, file, dtype):
        key = (file, np.dtype(dtype))
        if key not in self.libraries:
            source = self.build_dir / f"{Path(file).stem}_{np.dtype(dtype).name}.cpp"
            source.write_text(HOST_PRELUDE + kernels.source(file))
            built = source.with_suffix(".so")
            result = subprocess.run([COMPILER, "-O1", "-shared", "-fPIC", *kernels.compile_options(dtype), str(source),
                                     "-o", str(built)], capture_output=True, text=True)
            if result.returncode:
                raise RuntimeError(f"{file} does not build for the host:\n{result.stderr}")
            self.libraries[key] = ctypes.CDLL(str(built))
        return self.libraries[key]

    def __call__(self, file, kernel, dtype, total, args):
        self.launches.append(kernel)
        library = self.library(file, dtype)
        c_args = [self._c_value(arg) for arg in args]
        for block in range(BLOCKS):
            for thread in range(THREADS):
                library.set_thread(block, thread, BLOCKS, THREADS)
                getattr(library, kernel)(*c_args)

    @staticmethod
    def _c_value(arg):
        if isinstance(arg, np.ndarray):
            return ctypes.c_void_p(arg.ctypes.data)
        return {np.int64: ctypes.c_longlong, np.float32: ctypes.c_float, np.float64: ctypes.c_double}[type(arg)](arg)

    @staticmethod
    def address(array):
        return array.ctypes.data
