"""Batch, layer and group norm against torch: float64 gradchecks, float32 forward and gradients, running
statistics, torch's state dicts, reprs and errors, and the GPU path."""
import inspect
import re

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as F
from minigrad import parallel
from conftest import relative_error, torch_since

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def random(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def both(array, requires_grad=True):
    """The same values as a minigrad tensor and a torch tensor."""
    return mg.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def running_statistics(channels, library):
    """A running mean and variance of `channels` values, as the library's tensors."""
    return library.tensor(random(channels, seed=7) * 0.1), library.tensor(np.abs(random(channels, seed=8)) + 0.5)


# Each case: (input shape, affine shape or None, a call of the functional form given the library's functional
# module, the input, weight and bias). Batch norm's running statistics are made fresh by the call, in both
# libraries alike.
def _batch_norm(training):
    def call(functional, library, x, weight, bias):
        return functional.batch_norm(x, *running_statistics(x.shape[1], library), weight, bias, training=training,
                                     momentum=0.3)
    return call


CASES = {
    "batch_norm-train-2d": ((5, 3, 4, 6), (3,), _batch_norm(True)),
    "batch_norm-train-1d": ((7, 4), (4,), _batch_norm(True)),
    "batch_norm-train-3d": ((3, 4, 5), (4,), _batch_norm(True)),
    "batch_norm-eval-2d": ((5, 3, 4, 6), (3,), _batch_norm(False)),
    "batch_norm-eval-1d": ((7, 4), (4,), _batch_norm(False)),
    "layer_norm-last": ((4, 5, 6), (6,), lambda functional, _, x, w, b: functional.layer_norm(x, (6,), w, b)),
    "layer_norm-last-two": ((4, 5, 6), (5, 6), lambda functional, _, x, w, b: functional.layer_norm(x, [5, 6], w, b)),
    "layer_norm-eps": ((3, 8), (8,), lambda functional, _, x, w, b: functional.layer_norm(x, (8,), w, b, eps=0.5)),
    "group_norm-2d": ((3, 6, 4, 5), (6,), lambda functional, _, x, w, b: functional.group_norm(x, 3, w, b)),
    "group_norm-1d": ((4, 6), (6,), lambda functional, _, x, w, b: functional.group_norm(x, 2, w, b)),
    "group_norm-one-group": ((2, 4, 3), (4,), lambda functional, _, x, w, b: functional.group_norm(x, 1, w, b)),
    "group_norm-each-channel": ((2, 4, 3), (4,), lambda functional, _, x, w, b: functional.group_norm(x, 4, w, b)),
}
AFFINES = ["weight-and-bias", "weight", "bias", "none"]


class TorchLibrary:
    tensor = staticmethod(torch.tensor)


class MinigradLibrary:
    tensor = staticmethod(mg.tensor)


class Float64Library:
    @staticmethod
    def tensor(array):
        return mg.tensor(np.asarray(array, np.float64))


def affine_arrays(shape, affine, dtype):
    weight = 1 + 0.5 * random(shape, seed=1, dtype=dtype) if "weight" in affine else None
    bias = random(shape, seed=2, dtype=dtype) if "bias" in affine else None
    return weight, bias


@pytest.mark.parametrize("affine", AFFINES)
@pytest.mark.parametrize("case", CASES)
def test_gradcheck_float64(case, affine):
    assert_gradcheck(*CASES[case], affine)


def assert_gradcheck(shape, affine_shape, call, affine):
    """A case (as CASES') passes the float64 gradcheck for its input and the `affine` parameters."""
    weight, bias = affine_arrays(affine_shape, affine, np.float64)
    inputs = [mg.tensor(random(shape, seed=3, dtype=np.float64), requires_grad=True)]
    inputs += [mg.tensor(a, requires_grad=True) for a in (weight, bias) if a is not None]

    def fn(x, *affine_tensors):
        given = iter(affine_tensors)
        w = next(given) if weight is not None else None
        b = next(given) if bias is not None else None
        return call(F, Float64Library, x, w, b)

    assert mg.gradcheck(fn, inputs)


@pytest.fixture(params=["whole", "split"])
def threads(request, monkeypatch):
    """Normalize run whole, and split over two worker threads into blocks of uneven sizes (the cases' split
    axes have odd lengths), as big inputs are."""
    if request.param == "split":
        monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)
        threads = parallel.get_num_threads()
        parallel.set_num_threads(2)
        yield
        parallel.set_num_threads(threads)
    else:
        yield


@pytest.mark.parametrize("affine", AFFINES)
@pytest.mark.parametrize("case", CASES)
def test_forward_and_gradients_match_torch_float32(case, affine, threads):
    if case.startswith("group_norm") and affine == "bias":
        pytest.skip("torch's group_norm backward fails with a bias and no weight (the gradcheck covers it)")
    assert_matches_torch_float32(*CASES[case], affine)


def assert_matches_torch_float32(shape, affine_shape, call, affine):
    """A case (as CASES') gives torch's values and gradients of the input and the `affine` parameters."""
    x, tx = both(random(shape, seed=3) * 2 + 0.5)
    weight, bias = affine_arrays(affine_shape, affine, np.float32)
    w, tw = both(weight) if weight is not None else (None, None)
    b, tb = both(bias) if bias is not None else (None, None)
    out = call(F, MinigradLibrary, x, w, b)
    expected = call(TF, TorchLibrary, tx, tw, tb)
    direction = random(shape, seed=4)
    (out * mg.tensor(direction)).sum().backward()
    (expected * torch.tensor(direction)).sum().backward()
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    for mine, theirs in [(x, tx), (w, tw), (b, tb)]:
        if mine is not None:
            assert mine.grad.shape == mine.shape
            assert relative_error(mine.grad.numpy(), theirs.grad.numpy()) < 2e-6


# ----------------------------------------------------------------------------- modules


def torch_pair(name, *args, **kwargs):
    """The same layer in both libraries, minigrad's loaded with torch's (randomised) parameters and buffers. A
    keyword the installed torch's layer does not take yet (BatchNorm's bias=, new in recent releases) skips."""
    missing = set(kwargs) - set(inspect.signature(getattr(torch.nn, name)).parameters)
    if missing:
        pytest.skip(f"torch {torch.__version__}'s {name} takes no {', '.join(sorted(missing))}")
    torch.manual_seed(0)
    reference = getattr(torch.nn, name)(*args, **kwargs)
    with torch.no_grad():
        for param in reference.parameters():
            param.copy_(torch.randn_like(param) * 0.5 + 1)
    module = getattr(mg.nn, name)(*args, **kwargs)
    module.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    return module, reference


def assert_module_matches_torch(module, reference, shape, steps=4):
    """Several training steps (forward, the gradients of input and parameters, the running statistics), then
    evaluation."""
    for step in range(steps):
        x, tx = both(random(shape, seed=10 + step) * (step + 1) + step)
        direction = random(shape, seed=20 + step)
        module.zero_grad()
        reference.zero_grad()
        out, expected = module(x), reference(tx)
        (out * mg.tensor(direction)).sum().backward()
        (expected * torch.tensor(direction)).sum().backward()
        np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
        assert relative_error(x.grad.numpy(), tx.grad.numpy()) < 2e-6
        for (name, param), theirs in zip(module.named_parameters(), reference.parameters()):
            assert relative_error(param.grad.numpy(), theirs.grad.numpy()) < 2e-6, name
        assert_states_match(module, reference)
    module.eval()
    reference.eval()
    x, tx = both(random(shape, seed=30) * 3 + 1, requires_grad=False)
    with torch.no_grad():
        np.testing.assert_allclose(module(x).numpy(), reference(tx).numpy(), rtol=1e-5, atol=1e-6)
    assert_states_match(module, reference)


def assert_states_match(module, reference):
    expected = reference.state_dict()
    state = module.state_dict()
    assert list(state) == list(expected)
    for key, value in state.items():
        assert value.dtype == expected[key].numpy().dtype, key
        np.testing.assert_allclose(value, expected[key].numpy(), rtol=1e-6, atol=1e-7, err_msg=key)


MODULES = [
    ("BatchNorm2d", (3,), {}, (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), dict(momentum=None), (4, 3, 5, 5)),
    ("BatchNorm2d", (3,), dict(momentum=0.5, eps=1e-3, affine=False), (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), dict(bias=False), (2, 3, 4, 4)),
    ("BatchNorm2d", (3,), dict(track_running_stats=False), (2, 3, 4, 4)),
    ("BatchNorm1d", (5,), {}, (6, 5)),
    ("BatchNorm1d", (5,), dict(momentum=None), (3, 5, 7)),
    ("LayerNorm", ((4, 5),), {}, (3, 4, 5)),
    ("LayerNorm", (5,), dict(bias=False, eps=1e-3), (2, 3, 5)),
    ("LayerNorm", (5,), dict(elementwise_affine=False), (2, 3, 5)),
    ("GroupNorm", (2, 6), {}, (3, 6, 4, 4)),
    ("GroupNorm", (3, 6), dict(affine=False), (3, 6, 5)),
]


MODULE_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, _, kw, _ in MODULES]


@pytest.mark.parametrize("name, args, kwargs, shape", MODULES, ids=MODULE_IDS)
def test_modules_train_and_evaluate_like_torch(name, args, kwargs, shape):
    assert_module_matches_torch(*torch_pair(name, *args, **kwargs), shape)


@torch_since((2, 13), "the repr (which shows bias=)")
@pytest.mark.parametrize("name, args, kwargs, shape", MODULES, ids=MODULE_IDS)
def test_modules_print_as_torchs(name, args, kwargs, shape):
    module, reference = torch_pair(name, *args, **kwargs)
    assert repr(module) == repr(reference)


def test_batch_norm_counts_batches_and_uses_its_running_statistics_in_evaluation():
    module = mg.nn.BatchNorm2d(2, momentum=None)
    batches = [random((3, 2, 4, 4), seed=s) * (s + 1) + s for s in range(3)]
    for batch in batches:
        module(mg.tensor(batch))
    assert module.num_batches_tracked.item() == 3 and module.num_batches_tracked.dtype == np.int64
    # momentum=None: the running statistics are the plain averages of the batches' (the variance unbiased)
    np.testing.assert_allclose(module.running_mean.numpy(), np.mean([b.mean(axis=(0, 2, 3)) for b in batches], 0),
                               rtol=1e-5)
    np.testing.assert_allclose(module.running_var.numpy(),
                               np.mean([b.var(axis=(0, 2, 3), ddof=1) for b in batches], 0), rtol=1e-5)
    module.eval()
    x = random((2, 2, 3, 3), seed=9)
    expected = ((x - module.running_mean.numpy()[:, None, None])
                / np.sqrt(module.running_var.numpy()[:, None, None] + module.eps))
    np.testing.assert_allclose(module(mg.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)
    assert module.num_batches_tracked.item() == 3


def test_a_torch_conv_bn_relu_net_loads_and_gives_torchs_outputs():
    def build(nn):
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.Conv2d(8, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())

    model = assert_trained_torch_net_loads(build)
    assert model[1].num_batches_tracked.item() == 3


def assert_trained_torch_net_loads(build):
    """build(nn) of torch, run for three training batches of (4, 3, 8, 8) inputs, then loaded into build(mg.nn):
    the same state dict keys, and in evaluation torch's outputs. Returns minigrad's model."""
    torch.manual_seed(0)
    reference = build(torch.nn)
    with torch.no_grad():  # a few training batches give the running statistics values of their own
        for step in range(3):
            reference(torch.randn(4, 3, 8, 8) * 2 + step)
    reference.eval()
    model = build(mg.nn)
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    model.eval()
    assert list(model.state_dict()) == list(reference.state_dict())
    x = random((2, 3, 8, 8), seed=5)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    assert relative_error(model(mg.tensor(x)).numpy(), expected) < 1e-5
    return model


def test_a_net_with_batch_norm_trains_like_torch():
    """Conv, BatchNorm and ReLU trained by SGD for a few steps: parameters and running statistics stay torch's."""
    def build(nn):
        return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 1, 1))

    torch.manual_seed(1)
    reference = build(torch.nn)
    model = build(mg.nn)
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for step in range(5):
        x = random((3, 2, 6, 6), seed=step)
        for net, opt, tensor in ((model, optimizer, mg.tensor), (reference, torch_optimizer, torch.tensor)):
            opt.zero_grad()
            (net(tensor(x)) ** 2).mean().backward()
            opt.step()
    for key, value in reference.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[key], value.numpy(), rtol=1e-4, atol=1e-5, err_msg=key)


# ----------------------------------------------------------------------------- errors


def error_of(call):
    with pytest.raises(Exception) as info:
        call()
    return info.type, str(info.value)


ERRORS = {
    "one value per channel": lambda nn, t: nn.BatchNorm1d(3)(t(np.ones((1, 3), np.float32))),
    "one value per channel 2d": lambda nn, t: nn.BatchNorm2d(3)(t(np.ones((1, 3, 1, 1), np.float32))),
    "BatchNorm2d of 3d": lambda nn, t: nn.BatchNorm2d(3)(t(np.ones((2, 3, 4), np.float32))),
    "BatchNorm1d of 4d": lambda nn, t: nn.BatchNorm1d(3)(t(np.ones((2, 3, 4, 4), np.float32))),
    "GroupNorm channels": lambda nn, t: nn.GroupNorm(4, 6),
}
FUNCTIONAL_ERRORS = {
    "no running stats in evaluation": lambda f, t: f.batch_norm(t(np.ones((2, 3), np.float32)), None, None),
    "running stats of another size": lambda f, t: f.batch_norm(t(np.ones((2, 4), np.float32)),
                                                                t(np.zeros(3, np.float32)), t(np.ones(3, np.float32))),
    "normalized_shape": lambda f, t: f.layer_norm(t(np.ones((2, 3), np.float32)), (4,)),
    "normalized_shape too long": lambda f, t: f.layer_norm(t(np.ones((3,), np.float32)), (2, 3)),
    "layer_norm weight": lambda f, t: f.layer_norm(t(np.ones((2, 3), np.float32)), (3,), t(np.ones(4, np.float32))),
    "layer_norm int shape": lambda f, t: f.layer_norm(t(np.ones((2, 3), np.float32)), 3),
    "group_norm groups": lambda f, t: f.group_norm(t(np.ones((2, 6, 4), np.float32)), 4),
    "batch_norm of integers": lambda f, t: f.batch_norm(t(np.arange(24).reshape(2, 3, 4)), None, None, training=True),
    "batch_norm of integers in evaluation": lambda f, t: f.batch_norm(t(np.arange(6).reshape(2, 3)),
                                                                     t(np.zeros(3)), t(np.ones(3))),
    "instance_norm of integers": lambda f, t: f.instance_norm(t(np.arange(24).reshape(2, 3, 4))),
    "layer_norm of integers": lambda f, t: f.layer_norm(t(np.arange(24).reshape(2, 3, 4)), (4,)),
    "group_norm of bools": lambda f, t: f.group_norm(t(np.ones((2, 3, 4), bool)), 3),
}
# minigrad's own words (test_nn's too), where torch's CPU says "mixed dtype (CPU): expect parameter to have scalar
# type of Float": a float64 weight would run a float32 network in float64
DTYPE_ERRORS = {
    "group_norm": (lambda f, t: f.group_norm(t(np.ones((2, 4, 3), np.float32)), 2, t(np.ones(4))),
                   "group_norm: expected input and weight to have the same dtype"),
    "layer_norm": (lambda f, t: f.layer_norm(t(np.ones((2, 3), np.float32)), (3,), None, t(np.ones(3))),
                   "layer_norm: expected input and bias to have the same dtype"),
}


def assert_error_is_torchs(call, ours, theirs):
    """call(*ours) raises the exception type and message that call(*theirs) does in torch."""
    mine = error_of(lambda: call(*ours))
    theirs_type, theirs = error_of(lambda: call(*theirs))
    assert mine == (theirs_type, re.sub(r"torch\.Size\(\[(.*)\]\)", r"(\1)", theirs))  # shapes are tuples here


@pytest.mark.parametrize("case", ERRORS)
def test_module_errors_are_torchs(case):
    assert_error_is_torchs(ERRORS[case], (mg.nn, mg.tensor), (torch.nn, torch.tensor))


@pytest.mark.parametrize("case", FUNCTIONAL_ERRORS)
def test_functional_errors_are_torchs(case):
    assert_error_is_torchs(FUNCTIONAL_ERRORS[case], (F, mg.tensor), (TF, torch.tensor))


@pytest.mark.parametrize("case", DTYPE_ERRORS)
def test_parameters_of_another_dtype_are_refused_as_torch_refuses_them(case):
    call, message = DTYPE_ERRORS[case]
    with pytest.raises(RuntimeError, match="mixed dtype"):
        call(TF, torch.tensor)
    with pytest.raises(RuntimeError, match=message):
        call(F, mg.tensor)


def test_mixed_dtypes_are_refused_as_torch():
    with pytest.raises(RuntimeError):
        TF.batch_norm(torch.ones(2, 3, dtype=torch.float64), torch.zeros(3), torch.ones(3))
    with pytest.raises(RuntimeError, match="same dtype"):
        F.batch_norm(mg.ones(2, 3, dtype=np.float64), mg.zeros(3), mg.ones(3))


# ----------------------------------------------------------------------------- GPU path


def test_batch_norm_trains_on_the_gpu_path_as_on_the_cpu(gpu_path):
    assert_trains_on_the_gpu_as_on_the_cpu(lambda: mg.nn.Sequential(
        mg.nn.Conv2d(2, 4, 3, padding=1), mg.nn.BatchNorm2d(4), mg.nn.ReLU(), mg.nn.GroupNorm(2, 4),
        mg.nn.Conv2d(4, 3, 1), mg.nn.LayerNorm(5)), loss=lambda out: (out ** 2).mean())


def assert_trains_on_the_gpu_as_on_the_cpu(build, loss):
    """build() (second a layer with running statistics, for (3, 2, 5, 5) inputs) trained for three SGD steps of
    loss(output), then evaluated, on the GPU gives the CPU's outputs and state."""
    def run(device):
        mg.manual_seed(0)
        model = build().to(device)
        optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
        for step in range(3):
            optimizer.zero_grad()
            loss(model(mg.tensor(random((3, 2, 5, 5), seed=step), device=device))).backward()
            optimizer.step()
        model.eval()
        out = model(mg.tensor(random((2, 2, 5, 5), seed=9), device=device))
        assert out.device == device and model[1].running_mean.device == device
        return [out.numpy()] + [np.asarray(mg.Tensor(v).numpy()) for v in model.state_dict().values()]

    for gpu, cpu in zip(run("gpu"), run("cpu"), strict=True):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)
