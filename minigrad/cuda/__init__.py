"""torch.cuda's functions that ported scripts call, for minigrad's one GPU: CuPy's current device, cuda:0.

Without a usable GPU they answer as torch's CPU-only build does: is_available() is False, device_count() 0, the seeds
and empty_cache are taken without effect, and what needs the GPU raises minigrad's DeviceError, which names the fix
(where torch's build raises AssertionError("Torch not compiled with CUDA enabled")).
"""
from ..backend import cuda_device, cupy_module, gpu_available, loaded_cupy
from . import amp
from .graphs import CUDAGraph, graph, is_current_stream_capturing

__all__ = ["CUDAGraph", "amp", "current_device", "device_count", "empty_cache", "get_device_name", "graph",
           "is_available", "is_current_stream_capturing", "manual_seed", "manual_seed_all", "synchronize"]


def is_available():
    """Whether CuPy imports and finds a CUDA device (it is imported on the first call)."""
    return gpu_available()


def device_count():
    """1 where there is a GPU: minigrad uses one, cuda:0, however many the machine has."""
    return int(gpu_available())


def current_device():
    _runtime(None)
    return 0


def synchronize(device=None):
    """Waits for the GPU's queued work, as before timing it."""
    _runtime(device).deviceSynchronize()


def get_device_name(device=None):
    return _runtime(device).getDeviceProperties(0)["name"].decode()


def manual_seed(seed):
    """Taken, without effect: minigrad draws every random tensor, the GPU's too, on the host, from the stream that
    minigrad.manual_seed seeds (as torch.manual_seed seeds every device's), so that a script seeding both draws the
    same values either way. Seeding that stream here would move the CPU's draws, which torch's never does."""


def manual_seed_all(seed):
    manual_seed(seed)


def empty_cache():
    """Frees the blocks that CuPy's memory pool holds and no array uses; nothing to free before the GPU is used."""
    cupy = loaded_cupy()
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()


def _runtime(device):
    """CUDA's runtime (CuPy's), once `device` is checked to be the GPU; DeviceError without one."""
    cuda_device(device)
    return cupy_module().cuda.runtime
