"""The device boilerplate that ported PyTorch scripts start with: torch.device, torch.cuda's functions, Tensor.cuda
and its kin, torch.backends' switches, deterministic algorithms and the float32 matmul precision. torch (a CPU-only
build) is the oracle for what it answers without a GPU; the gpu_path fixture runs the GPU's side."""
import copy
import gc
import pickle
import re
import warnings
import weakref

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, error_of
from minigrad import backend

torch = pytest.importorskip("torch")

no_gpu = pytest.mark.skipif(mg.gpu_available(), reason="compares with torch's answers where there is no GPU")
CUDNN_SWITCHES = ("enabled", "benchmark", "deterministic", "allow_tf32")


@pytest.fixture(autouse=True)
def settings_restored():
    """Each test leaves both libraries' process-wide switches as it found them."""
    libraries = (torch, mg)
    saved = [(lib.get_float32_matmul_precision(), lib.are_deterministic_algorithms_enabled(),
              lib.is_deterministic_algorithms_warn_only_enabled(),
              {name: getattr(lib.backends.cudnn, name) for name in CUDNN_SWITCHES}) for lib in libraries]
    yield
    for lib, (precision, deterministic, warn_only, cudnn) in zip(libraries, saved):
        lib.set_float32_matmul_precision(precision)
        lib.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        for name, value in cudnn.items():
            setattr(lib.backends.cudnn, name, value)


# ---- torch.device ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, name", [(("cpu",), "cpu"), (("cuda",), "gpu"), (("cuda:0",), "gpu"),
                                        (("cuda", 0), "gpu"), (("cpu", 0), "cpu")])
def test_device_is_torchs_and_equals_minigrads_name(args, name):
    ours, theirs = mg.device(*args), torch.device(*args)
    assert (ours.type, ours.index, repr(ours)) == (theirs.type, theirs.index, repr(theirs))
    assert isinstance(ours, str) and ours == name and hash(ours) == hash(name) and str(ours) == name
    assert mg.device(ours) is ours and mg.device(type=args[0], index=args[1] if len(args) > 1 else None) == ours
    for copied in (pickle.loads(pickle.dumps(ours)), copy.deepcopy(ours)):
        assert repr(copied) == repr(ours) and copied == ours


def test_gpu_is_a_name_of_cuda():
    assert repr(mg.device("gpu")) == "device(type='cuda')" and repr(mg.device("gpu:0")) == repr(mg.device("cuda:0"))


def test_device_attributes_are_read_only():
    with pytest.raises(AttributeError):
        mg.device("cuda").index = 1


@pytest.mark.parametrize("args", [("cuda:-1",), ("cuda:a",), (" cuda",), ("cuda:",), ("cuda:01",), ("cuda:0:1",),
                                  ("cuda", -1), ("cuda:0", 0), ("cuda", "0"), ("cuda", True), (None,), (1.5,),
                                  (("cuda", 0),), (["cuda"],), (mg.device("cpu"), 0)],
                         ids=lambda args: repr(args))
def test_device_refuses_what_torch_refuses(args):
    theirs = tuple(torch.device(a) if isinstance(a, mg.device) else a for a in args)
    assert_raises_as_torch(lambda: torch.device(*theirs), lambda: mg.device(*args))


@pytest.mark.parametrize("name", ["xyz", "gpus", "CUDA", "tpu"])
def test_unknown_device_type_is_torchs_error_naming_minigrads_types(name):
    expected_type, expected = error_of(lambda: torch.device(name))
    with pytest.raises(expected_type) as got:
        mg.device(name)
    assert str(got.value) == re.sub(r"one of .* device type", "one of cpu, cuda, gpu device type", expected)


def test_device_refuses_a_second_gpu():
    for args in (("cuda:1",), ("cuda", 1)):
        with pytest.raises(mg.DeviceError, match="minigrad uses one GPU, cuda:0"):
            mg.device(*args)


@no_gpu
def test_device_index_alone_needs_a_gpu_as_torchs():
    assert_raises_as_torch(lambda: torch.device(0), lambda: mg.device(0))


def test_tensor_device_is_a_device_as_torchs():
    ours, theirs = mg.zeros(2), torch.zeros(2)
    assert (ours.device.type, ours.device.index, repr(ours.device)) == \
           (theirs.device.type, theirs.device.index, repr(theirs.device))
    assert ours.device is mg.ones(3).device and ours.device == "cpu"
    assert (ours.is_cpu, ours.is_cuda, ours.get_device()) == (theirs.is_cpu, theirs.is_cuda, theirs.get_device())


def test_factories_and_to_take_devices():
    cpu = mg.device("cpu")
    x = mg.zeros(2, device=cpu)
    assert x.device == "cpu" and mg.tensor([1.0], device=cpu).device == "cpu"
    assert x.to(cpu) is x and x.to(cpu, mg.float64).dtype == np.float64 and x.to(device=cpu) is x
    assert mg.nn.Linear(2, 3, device=cpu).to(cpu).weight.device == "cpu"


# ---- torch.cuda, Tensor.cuda, Module.cuda without a GPU ---------------------------------------------------------
@no_gpu
def test_cuda_functions_answer_as_torchs_cpu_build():
    assert mg.cuda.is_available() is torch.cuda.is_available() is False
    assert mg.cuda.device_count() == torch.cuda.device_count() == 0
    for name in ("manual_seed", "manual_seed_all"):
        assert getattr(mg.cuda, name)(3) is getattr(torch.cuda, name)(3) is None
    assert mg.cuda.empty_cache() is torch.cuda.empty_cache() is None
    assert mg.backends.cudnn.is_available() is torch.backends.cudnn.is_available() is False
    assert mg.backends.cudnn.version() is torch.backends.cudnn.version() is None


@no_gpu
@pytest.mark.parametrize("call", [lambda lib: lib.cuda.current_device(), lambda lib: lib.cuda.synchronize(),
                                  lambda lib: lib.cuda.get_device_name(), lambda lib: lib.zeros(2).cuda(),
                                  lambda lib: lib.nn.Linear(2, 2).cuda()],
                         ids=["current_device", "synchronize", "get_device_name", "Tensor.cuda", "Module.cuda"])
def test_what_needs_a_gpu_raises_as_torch_does_naming_the_fix(call):
    assert error_of(lambda: call(torch))[0] is AssertionError  # torch's CPU build: "Torch not compiled with CUDA"
    with pytest.raises(mg.DeviceError, match=r'pip install -e "\.\[gpu\]"'):
        call(mg)


def test_cuda_seeds_leave_the_cpu_stream_as_torchs_do():
    draws = []
    for lib in (torch, mg):
        lib.manual_seed(0)
        first = lib.rand(3).numpy()
        lib.manual_seed(0)
        lib.cuda.manual_seed(5)
        lib.cuda.manual_seed_all(5)
        draws.append((first, lib.rand(3).numpy()))
    for first, after_cuda_seeds in draws:
        np.testing.assert_array_equal(after_cuda_seeds, first)


def test_cuda_refuses_the_cpu_as_torch():
    assert_raises_as_torch(lambda: torch.zeros(2).cuda(device="cpu"), lambda: mg.zeros(2).cuda(device="cpu"))


# ---- the GPU path ----------------------------------------------------------------------------------------------
def test_gpu_path_cuda_moves_and_reports_as_torchs(gpu_path):
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    for on_gpu in (x.cuda(), x.cuda(0), x.cuda("cuda:0"), x.cuda(mg.device("cuda")), x.to(mg.device("cuda:0")),
                   x.to(0), x.to(0, mg.float64), mg.zeros(2, device=0)):
        assert (on_gpu.is_cuda, on_gpu.is_cpu, on_gpu.get_device()) == (True, False, 0)
        assert on_gpu.device == "gpu" and repr(on_gpu.device) == "device(type='cuda', index=0)"
        assert on_gpu.device.type == "cuda" and on_gpu.device.index == 0
    y = x.cuda()
    assert y.cuda() is y
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.detach().numpy())
    np.testing.assert_array_equal(y.cpu().numpy(), x.detach().numpy())

    model = mg.nn.Linear(3, 2)
    assert model.cuda() is model and all(p.is_cuda for p in model.parameters())
    assert model.cpu() is model and all(p.is_cpu for p in model.parameters())


def test_gpu_path_moves_pass_gradcheck(gpu_path):
    """The moves to the device and back, nodes of the graph (ToDevice): each hands the gradient back to where its input
    was, unchanged."""
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3)), requires_grad=True)
    assert mg.gradcheck(lambda t: (t.cuda() * t.to("cuda").exp()).cpu(), [x])


def test_gpu_path_cuda_functions(gpu_path):
    assert mg.cuda.is_available() and mg.cuda.device_count() == 1 and mg.cuda.current_device() == 0
    assert mg.cuda.synchronize() is None and mg.cuda.synchronize(0) is None and mg.cuda.empty_cache() is None
    assert isinstance(mg.cuda.get_device_name(), str) and mg.cuda.get_device_name("cuda:0")
    assert mg.device(0) == "gpu"


def _float32_compute_type():
    """The compute type of CuPy's float32 matmuls, and its TF32 and FP32 values."""
    linalg = backend.loaded_cupy()._core._routines_linalg
    return linalg.get_compute_type(np.float32), linalg.COMPUTE_TYPE_TF32, linalg.COMPUTE_TYPE_FP32


def test_gpu_path_matmul_precision_switches_tf32(gpu_path):
    mg.backends.cuda.matmul.allow_tf32 = True
    current, tf32, fp32 = _float32_compute_type()
    assert current == tf32
    mg.set_float32_matmul_precision("highest")
    assert _float32_compute_type()[0] == fp32
    mg.set_float32_matmul_precision("medium")
    assert _float32_compute_type()[0] == tf32
    mg.backends.cuda.matmul.allow_tf32 = False
    assert _float32_compute_type()[0] == fp32


def test_precision_set_before_the_gpu_is_used_applies_when_it_is(fake_gpu, monkeypatch):
    stand_in = backend.loaded_cupy()
    monkeypatch.setattr(backend, "_cupy", None)
    monkeypatch.setattr(backend, "_load_cupy", lambda: stand_in)
    mg.set_float32_matmul_precision("high")
    assert backend.loaded_cupy() is None
    backend.cupy_module()
    current, tf32, _ = _float32_compute_type()
    assert current == tf32


# ---- torch.backends, deterministic algorithms, float32 matmul precision ----------------------------------------
@pytest.mark.parametrize("name", CUDNN_SWITCHES)
def test_cudnn_switches_are_torchs(name):
    assert getattr(mg.backends.cudnn, name) == getattr(torch.backends.cudnn, name)
    for lib in (torch, mg):
        setattr(lib.backends.cudnn, name, not getattr(lib.backends.cudnn, name))
    assert getattr(mg.backends.cudnn, name) == getattr(torch.backends.cudnn, name)
    assert_raises_as_torch(lambda: setattr(torch.backends.cudnn, name, 1), lambda: setattr(mg.backends.cudnn, name, 1))


def test_cudnn_imports_as_ported_scripts_import_it():
    import minigrad.backends.cudnn as cudnn
    cudnn.benchmark = True
    assert mg.backends.cudnn.benchmark is True


def test_matmul_precision_and_allow_tf32_are_one_switch_as_torchs():
    steps = [("precision", "high"), ("allow_tf32", False), ("allow_tf32", True), ("precision", "medium"),
             ("precision", "highest"), ("allow_tf32", True), ("precision", "medium"), ("allow_tf32", False)]
    for lib in (torch, mg):
        lib.set_float32_matmul_precision("highest")
    for kind, value in steps:
        for lib in (torch, mg):
            if kind == "precision":
                lib.set_float32_matmul_precision(value)
            else:
                lib.backends.cuda.matmul.allow_tf32 = value
        assert mg.backends.cuda.matmul.allow_tf32 == torch.backends.cuda.matmul.allow_tf32
        if not (kind == "allow_tf32" and value is False):  # where torch 2.13 refuses to say, having been set by both
            assert mg.get_float32_matmul_precision() == torch.get_float32_matmul_precision()               # APIs
    assert mg.get_float32_matmul_precision() == "highest"


def test_matmul_precision_refuses_as_torch():
    assert_raises_as_torch(lambda: torch.set_float32_matmul_precision(1), lambda: mg.set_float32_matmul_precision(1))
    assert_raises_as_torch(lambda: setattr(torch.backends.cuda.matmul, "allow_tf32", "yes"),
                           lambda: setattr(mg.backends.cuda.matmul, "allow_tf32", "yes"))
    for access in (lambda lib: lib.backends.cuda.matmul.allow_fp32, lambda lib: setattr(lib.backends.cuda.matmul,
                                                                                       "allow_fp32", True)):
        assert_raises_as_torch(lambda: access(torch), lambda: access(mg))
    warned = []
    for lib in (torch, mg):
        lib.set_float32_matmul_precision("high")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib.set_float32_matmul_precision("HIGH")
        assert lib.get_float32_matmul_precision() == "high"
        warned.append([(w.category, str(w.message).split(" (Triggered internally")[0]) for w in caught])
    assert warned[0] == warned[1] and len(warned[1]) == 1


def test_deterministic_algorithms_as_torchs():
    for mode, warn_only in ((True, False), (True, True), (False, True), (False, False)):
        for lib in (torch, mg):
            lib.use_deterministic_algorithms(mode, warn_only=warn_only)
        assert mg.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled()
        assert mg.is_deterministic_algorithms_warn_only_enabled() == torch.is_deterministic_algorithms_warn_only_enabled()
    for args, kwargs in (((1,), {}), (("x",), {}), ((True,), {"warn_only": "x"}), ((), {})):
        assert_raises_as_torch(lambda: torch.use_deterministic_algorithms(*args, **kwargs),
                               lambda: mg.use_deterministic_algorithms(*args, **kwargs))


def test_a_move_to_the_gpu_keeps_no_host_copy_for_backward(fake_gpu):
    """Backward needs only the device a tensor came from, not its values: an activation moved to the GPU is freed on
    the host once nothing else holds it."""
    x = mg.tensor(np.arange(1000, dtype=np.float32), requires_grad=True)
    activation = x * 2
    on_the_host = weakref.ref(activation.data)
    moved = activation.to("gpu")
    del activation
    gc.collect()
    assert on_the_host() is None
    (moved * moved).sum().backward()
    assert x.grad.device == "cpu" and np.array_equal(x.grad.numpy(), 8 * np.arange(1000, dtype=np.float32))
