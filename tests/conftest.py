"""Shared test helpers: where the released weights live, and the array backends to run on."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg

REPO_ROOT = Path(__file__).resolve().parents[1]
RELEASED_WEIGHTS = REPO_ROOT.parent / "shared" / "reference" / "kla_unet_sca_nl_released.pth"


def load_script(name):
    """Import a top-level script (train.py, evaluate.py) as a module, to call its main() in-process."""
    spec = importlib.util.spec_from_file_location(f"{name}_script", REPO_ROOT / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def relative_error(actual, expected):
    """max |actual - expected| / max |expected|: one number per array, robust to tiny entries."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"shape {actual.shape} != {expected.shape}"
    scale = max(np.abs(expected).max(initial=0.0), 1e-30)
    return float(np.abs(actual - expected).max(initial=0.0) / scale)


requires_gpu = pytest.mark.skipif(not mg.gpu_available(), reason="needs CuPy and a CUDA device (pip install -e \".[gpu]\")")


@pytest.fixture(scope="session")
def host_runner(tmp_path_factory):
    """minigrad's CUDA kernels built for the host (tests/kernel_host.py); skips without a C++ compiler."""
    from kernel_host import COMPILER, HostRunner
    if COMPILER is None:
        pytest.skip("needs a C++ compiler (g++ or clang++) to build the GPU kernels for the host")
    return HostRunner(tmp_path_factory.mktemp("host_kernels"))


@pytest.fixture
def host_kernels(host_runner):
    """Within the test, ops on NumPy arrays run their GPU variants, with the kernels built for the host."""
    from minigrad import kernels
    host_runner.launches.clear()
    with kernels.use_host_runner(host_runner):
        yield host_runner


@pytest.fixture
def fake_gpu(host_runner, monkeypatch):
    """Within the test, minigrad's GPU is a strict stand-in for CuPy (tests/fake_cupy.py) whose kernels
    run on the host: the GPU code path, end to end, on any machine with a C++ compiler."""
    import fake_cupy
    host_runner.launches.clear()
    fake_cupy.install(monkeypatch, host_runner)
    return host_runner  # its `launches` are the kernels the GPU path ran
