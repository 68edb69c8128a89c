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

    def gemm(self, call, dtype):
        """cuBLAS's strided-batched GEMM (kernels.Gemm), read from the arrays' memory as cuBLAS reads it."""
        def matrices(array, rows, cols, ld, stride, transposed):
            stored = (cols, rows) if transposed else (rows, cols)
            view = _column_major(array, call.batch, *stored, ld, stride)
            return view.transpose(0, 2, 1) if transposed else view
        a = matrices(call.a, call.m, call.k, call.lda, call.stride_a, call.transa)
        b = matrices(call.b, call.k, call.n, call.ldb, call.stride_b, call.transb)
        np.matmul(a, b, out=_column_major(call.c, call.batch, call.m, call.n, call.ldc, call.stride_c))
        return True

    @staticmethod
    def _c_value(arg):
        if isinstance(arg, np.ndarray):
            return ctypes.c_void_p(arg.ctypes.data)
        return {np.int64: ctypes.c_longlong, np.float32: ctypes.c_float, np.float64: ctypes.c_double}[type(arg)](arg)

    @staticmethod
    def address(array):
        return array.ctypes.data


def _column_major(array, batch, rows, cols, ld, stride):
    """The (batch, rows, cols) column-major matrices at `array`'s first element, ld and stride in elements."""
    item = array.itemsize
    return np.lib.stride_tricks.as_strided(array, (batch, rows, cols), (stride * item, item, ld * item))
