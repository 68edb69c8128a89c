"""cuBLAS's strided-batched GEMM, called directly through ctypes.

CuPy refuses every cuBLAS call while a stream captures a CUDA graph ("calling cuBLAS API during stream capture is
currently unsupported"), which would keep every convolution and matrix product out of minigrad.cuda.graph. cuBLAS
itself captures GEMMs; this calls it with a handle of minigrad's own, and a workspace of its own that lives as long
as the handle, so that a graph's GEMMs never use memory that cuBLAS could free or hand to another stream.
"""
import ctypes
import ctypes.util

import numpy as np

WORKSPACE_BYTES = 32 << 20          # what cuBLAS asks for on Hopper; ample elsewhere
CUDA_TYPES = {np.dtype(np.float32): 0, np.dtype(np.float64): 1}                 # cudaDataType: CUDA_R_32F, CUDA_R_64F
COMPUTE_64F, COMPUTE_32F, COMPUTE_32F_FAST_TF32 = 70, 68, 77                   # cublasComputeType_t
OP_N, OP_T = 0, 1
GEMM_DEFAULT = -1
MADE = []                           # every handle made, never freed (see Cublas)


class CublasError(RuntimeError):
    pass


def _loaded_library():
    """The libcublas that CuPy loaded (found in the process's mappings), else the system's."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "/libcublas.so" in line}
    except OSError:
        paths = set()
    path = min(paths, default=None) or ctypes.util.find_library("cublas")
    if path is None:
        raise CublasError("libcublas was not found")
    return ctypes.CDLL(path)


class Cublas:
    """A cuBLAS handle with its own workspace, and the GEMM calls that minigrad.kernels.matmul makes. One thread's,
    as a handle's stream and workspace serve one call at a time; each is kept for the process's life (MADE), as a
    graph captured in a thread replays its GEMMs, workspace included, after the thread has ended."""

    def __init__(self, cupy):
        cupy.cuda.device.get_cublas_handle()  # CuPy loads its cuBLAS, which this then finds mapped
        self.cupy, self.library = cupy, _loaded_library()
        self.handle = ctypes.c_void_p()
        self._check(self.library.cublasCreate_v2(ctypes.byref(self.handle)))
        self.workspace = cupy.cuda.memory.Memory(WORKSPACE_BYTES)  # outside every pool, kept with the handle
        self._check(self.library.cublasSetWorkspace_v2(self.handle, ctypes.c_void_p(self.workspace.ptr),
                                                       ctypes.c_size_t(WORKSPACE_BYTES)))
        MADE.append(self)
        self.library.cublasGemmStridedBatchedEx.argtypes = [
            ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int,
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_longlong,
            ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_longlong,
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_longlong,
            ctypes.c_int, ctypes.c_int, ctypes.c_int]

    @staticmethod
    def _check(status):
        if status != 0:
            raise CublasError(f"cuBLAS returned status {status}")

    def gemm(self, call, dtype, tf32):
        """Queues `call` (a kernels.Gemm) on CuPy's current stream."""
        dtype = np.dtype(dtype)
        if dtype == np.float64:
            compute, one, zero = COMPUTE_64F, ctypes.c_double(1), ctypes.c_double(0)
        else:
            compute, one, zero = COMPUTE_32F_FAST_TF32 if tf32 else COMPUTE_32F, ctypes.c_float(1), ctypes.c_float(0)
        stream = self.cupy.cuda.get_current_stream().ptr
        self._check(self.library.cublasSetStream_v2(self.handle, ctypes.c_void_p(stream)))
        data_type = CUDA_TYPES[dtype]
        self._check(self.library.cublasGemmStridedBatchedEx(
            self.handle, OP_T if call.transa else OP_N, OP_T if call.transb else OP_N, call.m, call.n, call.k,
            ctypes.byref(one), call.a.data.ptr, data_type, call.lda, call.stride_a,
            call.b.data.ptr, data_type, call.ldb, call.stride_b,
            ctypes.byref(zero), call.c.data.ptr, data_type, call.ldc, call.stride_c,
            call.batch, compute, GEMM_DEFAULT))
