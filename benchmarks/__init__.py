"""minigrad against PyTorch in one process: `ops` op by op, `train_step` a whole training step.

Both libraries' OpenMP/OpenBLAS pools spin-wait by default and slow each other down by up to 2x when
they share a process. These settings must be in place before either library loads, so the package
sets them here, before any benchmark module imports numpy or torch.
"""
import argparse
import os

THREAD_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
for _name, _value in THREAD_ENV.items():
    os.environ.setdefault(_name, _value)

GPU_MISSING = "--device gpu needs CuPy and a CUDA GPU visible to both CuPy and torch; none found"


def image_side(text):
    """An argparse type: the side of the square inputs, a positive multiple of 8 (the U-Net halves them three
    times)."""
    value = int(text)
    if value <= 0 or value % 8:
        raise argparse.ArgumentTypeError(f"must be a positive multiple of 8, got {text}")
    return value


def gpu_ready():
    import torch

    import minigrad as mg

    return mg.gpu_available() and torch.cuda.is_available()


def synchronizers(device):
    """(minigrad's, torch's) wait for the device's queued work: a GPU runs kernels after their launch returns."""
    if device != "gpu":
        return (lambda: None), (lambda: None)
    import torch

    from minigrad.backend import cupy_module

    cupy = cupy_module()
    return (lambda: cupy.cuda.Device().synchronize()), torch.cuda.synchronize
