"""Shared test helpers: where the released weights live, and the array backends to run on."""
import importlib.util
from importlib import metadata
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


def load_with_vector_parameters_drawn(reference, ours):
    """ours loaded with the torch module's state dict, after drawing its one-dim parameters (norms and biases) from
    N(0, 1), away from their init, so that their use shows."""
    state = reference.state_dict()
    for value in state.values():
        if value.ndim == 1:
            value.normal_()
    ours.load_state_dict(state)


def normal(*shape, scale=1.0):
    """A maker of test inputs (given a NumPy Generator): standard normal entries times scale."""
    return lambda rng: np.asarray(rng.standard_normal(shape) * scale)


def uniform(low, high, *shape):
    return lambda rng: np.asarray(rng.uniform(low, high, shape))


def eval_outputs(model, reference, inputs):
    """(minigrad's, torch's) outputs of a model and its torch twin in evaluation mode on the same NumPy inputs."""
    torch = pytest.importorskip("torch")
    model.eval(), reference.eval()
    with mg.no_grad():
        ours = model(mg.tensor(inputs)).numpy()
    with torch.no_grad():
        theirs = reference(torch.tensor(inputs)).numpy()
    return ours, theirs


def error_of(call):
    """(type, message) of the exception call() raises, for comparing two libraries' errors."""
    with pytest.raises(Exception) as info:
        call()
    return info.type, str(info.value)


def assert_raises_as_torch(theirs, ours, first_line=False):
    """ours() raises what theirs(), the same call on torch, raises: the exception's type and its message (the first
    line only, with first_line, where torch adds advice below)."""
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(expected.type) as got:
        ours()
    message, expected_message = str(got.value), str(expected.value)
    if first_line:
        message, expected_message = message.splitlines()[0], expected_message.splitlines()[0]
    assert message == expected_message


def assert_equals_torchs(ours, theirs):
    """ours, a minigrad tensor, is theirs, torch's: its dtype and its values exactly."""
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.detach().numpy())


def differentiable_case_tests(torch, cases):
    """The tests of a table of differentiable ops, name -> (fn(lib, *tensors), makers of the inputs), fn running
    on torch and minigrad alike: float32 values and gradients as torch's (dtypes and shapes too), a float64
    gradcheck, and the GPU path's values and gradients as the CPU's (up to the order of a GPU's sums). A test
    module takes them as its own: `test_a, test_b, test_c = differentiable_case_tests(torch, CASES)`."""
    each_case = pytest.mark.parametrize("name", cases)

    @each_case
    def test_values_and_gradients_match_torch(name):
        fn, makers = cases[name]
        assert_matches_torch(torch, fn, made(makers))

    @each_case
    def test_gradcheck(name):
        fn, makers = cases[name]
        inputs = [mg.tensor(a, requires_grad=True) for a in made(makers, seed=2)]
        assert mg.gradcheck(lambda *xs: fn(mg, *xs), inputs)

    @each_case
    def test_gpu_path_matches_cpu(name, gpu_path):
        fn, makers = cases[name]
        assert_gpu_matches_cpu(fn, made(makers))

    return test_values_and_gradients_match_torch, test_gradcheck, test_gpu_path_matches_cpu


NEEDS_GPU = "needs CuPy and a CUDA device (pip install -e \".[gpu]\")"
requires_gpu = pytest.mark.skipif(not mg.gpu_available(), reason=NEEDS_GPU)


def _installed_torch():
    """The installed torch's (major, minor) release, read without importing torch; None without torch."""
    try:
        return tuple(int(part) for part in metadata.version("torch").split(".")[:2])
    except metadata.PackageNotFoundError:
        return None


def torch_since(release, what):
    """Mark a test that compares minigrad with `what` of torch `release` (a message, a repr), which an older torch
    does otherwise: minigrad follows the torch that the CI installs, and the test skips on an older one."""
    installed = _installed_torch()
    return pytest.mark.skipif(installed is not None and installed < release,
                              reason=f"compares with {what} of torch {'.'.join(map(str, release))}, "
                                     f"newer than the installed torch {'.'.join(map(str, installed or ()))}")


def torch_cases(table, worded_so_since_2_13=()):
    """pytest params of a {name: case} table, each named by its key; the names in `worded_so_since_2_13` compare
    with a message torch 2.13 words otherwise than older releases (torch_since)."""
    newer_wording = torch_since((2, 13), "the message")
    return [pytest.param(*(case if isinstance(case, tuple) else (case,)), id=name,
                         marks=[newer_wording] if name in worded_so_since_2_13 else [])
            for name, case in table.items()]


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


class RecordingRunner:
    """minigrad's CUDA runner, noting each kernel it launches as the host runner does, so that a test's check
    of which kernels ran holds on a real GPU too."""

    def __init__(self, runner):
        self.runner, self.launches = runner, []

    def __call__(self, file, kernel, dtype, total, args):
        self.launches.append(kernel)
        self.runner(file, kernel, dtype, total, args)

    def address(self, array):
        return self.runner.address(array)

    def gemm(self, call, dtype):
        return self.runner.gemm(call, dtype)


@pytest.fixture(params=["stand-in", "cuda"])
def gpu_path(request, monkeypatch):
    """The GPU code path, twice: on the CuPy stand-in (any machine with a C++ compiler) and on a real CUDA
    device (skipped without one). Returns the runner whose `launches` are the kernels the test ran."""
    if request.param == "stand-in":
        return request.getfixturevalue("fake_gpu")
    if not mg.gpu_available():
        pytest.skip(NEEDS_GPU)
    from minigrad import kernels
    runner = RecordingRunner(kernels._cupy_runner)
    monkeypatch.setattr(kernels, "_cupy_runner", runner)
    return runner


def forward_backward(lib, fn, arrays, dtype, device=None):
    """fn(lib, *inputs)'s output and the gradients of its inputs (the arrays as differentiable tensors of `dtype`) for a
    fixed random direction, as NumPy arrays; lib is torch or minigrad, fn the same call on either."""
    if lib is mg:
        inputs = [mg.tensor(a.astype(dtype), requires_grad=True, device=device) for a in arrays]
    else:
        inputs = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = fn(lib, *inputs)
    to_numpy = (lambda t: t.numpy()) if lib is mg else (lambda t: t.detach().numpy())
    direction = np.random.default_rng(1).standard_normal(tuple(out.shape)).astype(to_numpy(out).dtype)
    (out * (mg.tensor(direction, device=device) if lib is mg else lib.tensor(direction))).sum().backward()
    return to_numpy(out), [to_numpy(t.grad) for t in inputs]


def assert_matches_torch(torch, fn, arrays):
    """fn's float32 output and input gradients on minigrad as on torch: dtypes, shapes, values within 1e-5."""
    ours, theirs = (forward_backward(lib, fn, arrays, np.float32) for lib in (mg, torch))
    for mine, reference in zip([ours[0], *ours[1]], [theirs[0], *theirs[1]]):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def assert_gpu_matches_cpu(fn, arrays):
    """fn's float32 output and input gradients on the device as on the host (sums within 1e-5, in another order)."""
    cpu, gpu = (forward_backward(mg, fn, arrays, np.float32, device) for device in ("cpu", "gpu"))
    for ours, reference in zip([gpu[0], *gpu[1]], [cpu[0], *cpu[1]]):
        assert ours.dtype == reference.dtype
        assert relative_error(ours, reference) <= 1e-5


def made(makers, seed=0):
    """The arrays that `makers` (functions of a NumPy Generator) make, from one generator seeded by `seed`."""
    rng = np.random.default_rng(seed)
    return [make(rng) for make in makers]
