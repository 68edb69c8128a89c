"""set_default_dtype and get_default_dtype, as torch's: what takes the default follows it (creation functions,
tensors of Python floats and lists, the float results of integers, complex numbers, new layers' parameters and
buffers, NAdam's product of momenta), while tensors and NumPy arrays of a dtype keep theirs; its errors. Each test
runs under both defaults, set alike on torch and minigrad, and the fixture puts float32 back after it."""
import threading

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error
from test_optim import inject_same_grads, make_optimizers, random_arrays

torch = pytest.importorskip("torch")

DEFAULTS = ["float32", "float64"]


@pytest.fixture(autouse=True)
def restore_default():
    """Whatever a test sets, the next one (of any file) starts from float32 in both libraries."""
    yield
    mg.set_default_dtype(mg.float32)
    torch.set_default_dtype(torch.float32)


@pytest.fixture(params=DEFAULTS)
def default(request):
    """Each default in turn, in both libraries."""
    mg.set_default_dtype(getattr(mg, request.param))
    torch.set_default_dtype(getattr(torch, request.param))
    return request.param


def dtype_name(t):
    return str(t.dtype).removeprefix("torch.")


def _ints(lib):
    return lib.tensor([1, 2, 3])


def _seeded(lib):
    return lib.Generator().manual_seed(3)


# Values too where they are not drawn (torch's random streams are not minigrad's).
CREATION = {
    "zeros": lambda lib: lib.zeros(2, 3),
    "ones": lambda lib: lib.ones(2),
    "empty": lambda lib: lib.empty(2).zero_(),
    "zeros_like int64": lambda lib: lib.zeros_like(_ints(lib)),
    "full float": lambda lib: lib.full((2,), 1.5),
    "full int": lambda lib: lib.full((2,), 1),
    "full bool": lambda lib: lib.full((2,), True),
    "full complex": lambda lib: lib.full((2,), 1.5j),
    "arange ints": lambda lib: lib.arange(5),
    "arange float end": lambda lib: lib.arange(5.0),
    "arange float step": lambda lib: lib.arange(0, 1, 0.1),
    "linspace": lambda lib: lib.linspace(0, 1, 7),
    "logspace": lambda lib: lib.logspace(0, 1, 7),
    "linspace float32": lambda lib: lib.linspace(0, 1, 7, dtype=lib.float32),
    "eye": lambda lib: lib.eye(3),
    "eye n m": lambda lib: lib.eye(2, 3),
    "scalar_tensor int": lambda lib: lib.scalar_tensor(1),
    "scalar_tensor float": lambda lib: lib.scalar_tensor(0.1),
    "tensor float": lambda lib: lib.tensor(0.1),
    "tensor int": lambda lib: lib.tensor(2),
    "tensor bool": lambda lib: lib.tensor(True),
    "tensor list of floats": lambda lib: lib.tensor([0.1, 2]),
    "tensor nested lists": lambda lib: lib.tensor([[0.1], [2.0]]),
    "tensor list of ints": lambda lib: lib.tensor([1, 2]),
    "tensor complex": lambda lib: lib.tensor(0.1j),
    "tensor list with a complex": lambda lib: lib.tensor([1, 0.1j]),
    "tensor floats and numpy float32": lambda lib: lib.tensor([0.1, np.float32(2)]),
    "tensor list of numpy float32": lambda lib: lib.tensor([np.float32(0.1), np.float32(2)]),
    "tensor numpy float64 scalar": lambda lib: lib.tensor(np.float64(0.1)),
    "tensor list of numpy float64": lambda lib: lib.tensor([np.float64(0.1)]),
    "tensor floats and numpy float64": lambda lib: lib.tensor([[0.5], [np.float64(0.1)]]),
    "tensor numpy float64 and a complex": lambda lib: lib.tensor([np.float64(0.1), 1j]),
    "tensor numpy int64 and a float": lambda lib: lib.tensor([np.int64(2), 0.5]),
    "tensor list of numpy complex128": lambda lib: lib.tensor([np.complex128(0.1j), 2.0]),
    "tensor numpy float32 scalar": lambda lib: lib.tensor(np.float32(0.1)),
    "tensor numpy float64": lambda lib: lib.tensor(np.array([0.1])),
    "tensor numpy float32": lambda lib: lib.tensor(np.array([0.1], np.float32)),
    "tensor numpy complex64": lambda lib: lib.tensor(np.array([0.1j], np.complex64)),
    "as_tensor float": lambda lib: lib.as_tensor(0.1),
    "as_tensor list of floats": lambda lib: lib.as_tensor([0.1, 2.5]),
    "as_tensor numpy float32": lambda lib: lib.as_tensor(np.array([0.1], np.float32)),
    "from_numpy float32": lambda lib: lib.from_numpy(np.array([0.1], np.float32)),
    "from_numpy float64": lambda lib: lib.from_numpy(np.array([0.1])),
    "new_tensor of a float32 tensor": lambda lib: lib.zeros(1, dtype=lib.float32).new_tensor([0.1]),
}
DRAWN = {
    "rand": lambda lib: lib.rand(2),
    "randn": lambda lib: lib.randn(2),
    "rand with a generator": lambda lib: lib.rand(2, generator=_seeded(lib)),
    "randn with a generator": lambda lib: lib.randn(2, generator=_seeded(lib)),
    "normal of numbers": lambda lib: lib.normal(0.0, 1.0, (2,)),
    "normal of numbers with a generator": lambda lib: lib.normal(0.0, 1.0, (2,), generator=_seeded(lib)),
    "normal of a float32 mean": lambda lib: lib.normal(lib.zeros(2, dtype=lib.float32), 1.0),
    "rand_like float32": lambda lib: lib.rand_like(lib.zeros(2, dtype=lib.float32)),
    "randint": lambda lib: lib.randint(0, 5, (2,)),
    "randperm": lambda lib: lib.randperm(3),
    "uniform_ of empty": lambda lib: lib.empty(2).uniform_(-1, 1, generator=_seeded(lib)),
    "normal_ of empty": lambda lib: lib.empty(2).normal_(generator=_seeded(lib)),
    "nn.init.uniform_ of empty": lambda lib: lib.nn.init.uniform_(lib.empty(2, 2)),
    "nn.init.kaiming_uniform_ of empty": lambda lib: lib.nn.init.kaiming_uniform_(lib.empty(2, 2)),
    "nn.init.trunc_normal_ of a float32 tensor": lambda lib: lib.nn.init.trunc_normal_(
        lib.empty(2, 2, dtype=lib.float32)),
    "bernoulli of a float32 tensor": lambda lib: lib.bernoulli(lib.full((2,), 0.5, dtype=lib.float32)),
    "multinomial": lambda lib: lib.multinomial(lib.tensor([0.5, 0.5]), 2),
}


@pytest.mark.parametrize("name", CREATION)
def test_creation_gives_torchs_dtypes_and_values(name, default):
    ours, theirs = CREATION[name](mg), CREATION[name](torch)
    assert dtype_name(ours) == dtype_name(theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize("name", DRAWN)
def test_random_draws_give_torchs_dtypes(name, default):
    assert dtype_name(DRAWN[name](mg)) == dtype_name(DRAWN[name](torch))


# int64 or bool tensors with floats, the ops torch computes in the default dtype for them, and the ones whose
# dtype comes from a tensor (a float32 tensor with a float, a 0-d float32 tensor with an int64 one).
PROMOTION = {
    "int64 times float": lambda lib: _ints(lib) * 1.5,
    "float times int64": lambda lib: 1.5 * _ints(lib),
    "int64 plus float": lambda lib: _ints(lib) + 0.1,
    "bool plus float": lambda lib: lib.tensor([True, False]) + 0.1,
    "int64 over int64": lambda lib: _ints(lib) / (_ints(lib) + 2),
    "int64 over int": lambda lib: _ints(lib) / 3,
    "int over int64": lambda lib: 2 / _ints(lib),
    "bool over int": lambda lib: lib.tensor([True, False]) / 3,
    "int64 floor-divided by int": lambda lib: _ints(lib) // 2,
    "int64 divided by int, floor": lambda lib: _ints(lib).div(2, rounding_mode="floor"),
    "true_divide of int64": lambda lib: lib.true_divide(_ints(lib), 3),
    "int64 remainder float": lambda lib: _ints(lib).remainder(1.5),
    "float32 times float": lambda lib: lib.ones(2, dtype=lib.float32) * 0.1,
    "float64 times float": lambda lib: lib.ones(2, dtype=lib.float64) * 0.1,
    "int64 times 0-d float32": lambda lib: _ints(lib) * lib.tensor(0.1, dtype=lib.float32),
    "int64 maximum 0-d default": lambda lib: _ints(lib).maximum(lib.tensor(1.5)),
    "0-d default plus 0-d int64": lambda lib: lib.tensor(0.1) + lib.tensor(1),
    "int64 to the float": lambda lib: _ints(lib) ** 0.5,
    "float to the int64": lambda lib: 2.5 ** _ints(lib),
    "int64 to the int": lambda lib: _ints(lib) ** 2,
    "sqrt of int64": lambda lib: _ints(lib).sqrt(),
    "exp of int64": lambda lib: _ints(lib).exp(),
    "log of int64": lambda lib: _ints(lib).log(),
    "sin of int64": lambda lib: _ints(lib).sin(),
    "sigmoid of int64": lambda lib: _ints(lib).sigmoid(),
    "tanh of int64": lambda lib: _ints(lib).tanh(),
    "tanh of bool": lambda lib: lib.tensor([True, False]).tanh(),
    "reciprocal of int64": lambda lib: _ints(lib).reciprocal(),
    "erf of int64": lambda lib: _ints(lib).erf(),
    "expit of int64": lambda lib: lib.special.expit(_ints(lib)),
    "atan2 of int64": lambda lib: lib.atan2(_ints(lib), _ints(lib) + 1),
    "xlogy of int64": lambda lib: _ints(lib).xlogy(2),
    "clamp of int64 to a float": lambda lib: _ints(lib).clamp(1.5),
    "clamp of int64 to ints": lambda lib: _ints(lib).clamp(0, 2),
    "logsumexp of int64": lambda lib: _ints(lib).logsumexp(0),
    "cov of int64": lambda lib: lib.cov(_ints(lib)),
    "sum of int64": lambda lib: _ints(lib).sum(),
    "cumprod of int64": lambda lib: _ints(lib).cumprod(0),
    "where of two floats": lambda lib: lib.where(lib.tensor([True, False]), 1.5, 0.1),
    "where of int64 and a float": lambda lib: lib.where(lib.tensor([True, False, True]), _ints(lib), 0.1),
    "masked_fill of float32": lambda lib: lib.zeros(2, dtype=lib.float32).masked_fill(lib.tensor([True, False]), 0.1),
    "float() of int64": lambda lib: _ints(lib).float(),
    "double() of int64": lambda lib: _ints(lib).double(),
    "int64 times complex": lambda lib: _ints(lib) * 1.5j,
    "float32 times complex": lambda lib: lib.ones(2, dtype=lib.float32) * 1.5j,
    "float64 times complex": lambda lib: lib.ones(2, dtype=lib.float64) * 1.5j,
    "new_full of int64": lambda lib: _ints(lib).new_full((2,), 1.5),
}


@pytest.mark.parametrize("name", PROMOTION)
def test_promotion_gives_torchs_dtypes_and_values(name, default):
    ours, theirs = PROMOTION[name](mg), PROMOTION[name](torch)
    assert dtype_name(ours) == dtype_name(theirs)
    rtol = 1e-6 if ours.dtype in (np.float32, np.complex64) else 1e-14
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=rtol)


@pytest.mark.parametrize("operands", [(lambda lib: _ints(lib), 1.5), (lambda lib: _ints(lib), 1.5j),
                                      (lambda lib: lib.tensor([True]), 2.5), (lambda lib: 1, 2.5)],
                         ids=["int64 and float", "int64 and complex", "bool and float", "int and float"])
def test_result_type_gives_torchs(operands, default):
    make, number = operands
    ours, theirs = (lib.result_type(make(lib), number) for lib in (mg, torch))
    assert ours.name == str(theirs).removeprefix("torch.")


@pytest.mark.parametrize("name", ["mean", "var", "std", "nanmean"])
def test_statistics_of_integers_are_refused_as_torchs(name, default):
    assert_raises_as_torch(lambda: getattr(_ints(torch), name)(), lambda: getattr(_ints(mg), name)())


LAYERS = {
    "Linear": lambda nn: nn.Linear(2, 3),
    "Bilinear": lambda nn: nn.Bilinear(2, 2, 3),
    "Conv1d": lambda nn: nn.Conv1d(2, 3, 3),
    "Conv2d": lambda nn: nn.Conv2d(2, 3, 3),
    "ConvTranspose2d": lambda nn: nn.ConvTranspose2d(2, 3, 3),
    "BatchNorm1d": lambda nn: nn.BatchNorm1d(3),
    "BatchNorm2d": lambda nn: nn.BatchNorm2d(3),
    "InstanceNorm2d": lambda nn: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
    "LayerNorm": lambda nn: nn.LayerNorm(3),
    "RMSNorm": lambda nn: nn.RMSNorm(3),
    "GroupNorm": lambda nn: nn.GroupNorm(1, 3),
    "Embedding": lambda nn: nn.Embedding(4, 3),
    "PReLU": lambda nn: nn.PReLU(),
    "MultiheadAttention": lambda nn: nn.MultiheadAttention(4, 2, add_bias_kv=True),
    "MultiheadAttention kdim vdim": lambda nn: nn.MultiheadAttention(4, 2, kdim=3, vdim=5),
    "TransformerEncoderLayer": lambda nn: nn.TransformerEncoderLayer(4, 2, dim_feedforward=8),
    "Conv3d": lambda nn: nn.Conv3d(2, 3, 3),
    "BatchNorm3d": lambda nn: nn.BatchNorm3d(3),
    "LSTM": lambda nn: nn.LSTM(2, 3, proj_size=2, bidirectional=True),
    "GRUCell": lambda nn: nn.GRUCell(2, 3),
}


def state_dtypes(module):
    return {name: dtype_name(t) for name, t in [*module.named_parameters(), *module.named_buffers()]}


@pytest.mark.parametrize("name", LAYERS)
def test_new_layers_parameters_and_buffers_are_in_torchs_dtypes(name, default):
    ours, theirs = state_dtypes(LAYERS[name](mg.nn)), state_dtypes(LAYERS[name](torch.nn))
    assert ours == theirs
    assert default in ours.values()


def small_model(lib):
    nn = lib.nn
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.BatchNorm2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3),
                         nn.LayerNorm(3))


@pytest.mark.parametrize("made, used", [("float32", "float64"), ("float64", "float32")])
def test_a_model_keeps_the_dtype_it_was_made_in_as_torchs(made, used):
    """Made under one default and trained under the other: parameters, gradients, buffers and the loss stay in
    the dtype they were made in, as torch's."""
    dtypes = []
    for lib in (mg, torch):
        lib.set_default_dtype(getattr(lib, made))
        model = small_model(lib)
        lib.set_default_dtype(getattr(lib, used))
        x = lib.tensor(np.random.default_rng(0).standard_normal((2, 1, 2, 2)).astype(made))
        optimizer = lib.optim.NAdam(model.parameters())
        loss = lib.nn.functional.cross_entropy(model(x), lib.tensor([0, 2]))
        loss.backward()
        optimizer.step()
        grads = {name: dtype_name(p.grad) for name, p in model.named_parameters()}
        dtypes.append((state_dtypes(model), grads, dtype_name(loss)))
    assert dtypes[0] == dtypes[1]
    assert dtypes[0][2] == made


# A float32 tensor keeps float32 through these under a float64 default, as in torch.
FLOAT32_OPS = {
    "mse_loss": lambda F, x, y: F.mse_loss(x, y),
    "cross_entropy smoothed": lambda F, x, y: F.cross_entropy(x, y.argmax(1), label_smoothing=0.1),
    "binary_cross_entropy_with_logits": lambda F, x, y: F.binary_cross_entropy_with_logits(x, y.sigmoid()),
    "kl_div": lambda F, x, y: F.kl_div(x, y, reduction="batchmean"),
    "gaussian_nll_loss": lambda F, x, y: F.gaussian_nll_loss(x, y, y.abs() + 1),
    "layer_norm": lambda F, x, y: F.layer_norm(x, (3,)),
    "normalize": lambda F, x, y: F.normalize(x),
    "dropout": lambda F, x, y: F.dropout(x),
    "interpolate bilinear": lambda F, x, y: F.interpolate(x[None, None], scale_factor=1.5, mode="bilinear"),
    "gelu tanh": lambda F, x, y: F.gelu(x, approximate="tanh"),
    "softmax": lambda F, x, y: F.softmax(x, 1),
    "scaled_dot_product_attention": lambda F, x, y: F.scaled_dot_product_attention(x[None], y[None], y[None]),
    "pad with a float": lambda F, x, y: F.pad(x, (1, 1), value=1.5),
    "var": lambda F, x, y: x.var(),
    "norm": lambda F, x, y: x.norm(),
    "quantile": lambda F, x, y: x.quantile(0.5),
    "lerp": lambda F, x, y: x.lerp(y, 0.5),
    "pow": lambda F, x, y: x ** 0.5,
    "where with a float": lambda F, x, y: x.where(x > 0, 1.5),
    "full_like": lambda F, x, y: x.new_full((2,), 1.5),
    "cdist": lambda F, x, y: F.pairwise_distance(x, y),
}


@pytest.mark.parametrize("name", FLOAT32_OPS)
def test_float32_tensors_stay_float32_under_a_float64_default(name):
    mg.set_default_dtype(mg.float64)
    torch.set_default_dtype(torch.float64)
    x, y = np.random.default_rng(0).standard_normal((2, 2, 3)).astype(np.float32)
    results = [FLOAT32_OPS[name](lib.nn.functional, lib.tensor(x), lib.tensor(y)) for lib in (mg, torch)]
    assert dtype_name(results[0]) == dtype_name(results[1]) == "float32"


def test_a_float64_default_trains_and_gradchecks_without_dtypes():
    """No dtype written anywhere: the data, the model and the loss are float64, so gradcheck takes them (it
    refuses float32), and a few steps of SGD lower the loss."""
    mg.set_default_dtype(mg.float64)
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(2, 8), mg.nn.Tanh(), mg.nn.Linear(8, 1))
    x = mg.randn(16, 2)
    target = (x[:, :1] * 0.5 - x[:, 1:] ** 2).detach()
    assert mg.gradcheck(lambda x: model(x), [x.detach().requires_grad_()])
    assert mg.gradcheck(lambda w: mg.nn.functional.linear(x, w).tanh().sum(), [model[0].weight])
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(20):
        loss = mg.nn.functional.mse_loss(model(x), target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert loss.dtype == np.float64 and model[0].weight.grad.dtype == np.float64
    assert losses[-1] < 0.5 * losses[0]


def test_gradcheck_refuses_a_float32_default():
    model = mg.nn.Linear(2, 1)
    with pytest.raises(ValueError, match="float32"):
        mg.gradcheck(lambda w: mg.nn.functional.linear(mg.ones(1, 2, dtype=mg.float64), w), [model.weight])


@pytest.mark.parametrize("default_name", DEFAULTS)
def test_nadams_momentum_product_is_kept_in_the_default_dtype_as_torchs(default_name):
    """torch keeps NAdam's mu_product in the default dtype: float64 products differ from float32 ones."""
    mg.set_default_dtype(getattr(mg, default_name))
    torch.set_default_dtype(getattr(torch, default_name))
    rng = np.random.default_rng(0)
    ours, theirs = make_optimizers("NAdam", dict(lr=0.05, momentum_decay=0.05), random_arrays(rng))
    for _ in range(5):
        inject_same_grads(ours, theirs, rng)
        ours.step()
        theirs.step()
    for index, state in theirs.state_dict()["state"].items():
        assert state["mu_product"].dtype == getattr(torch, default_name)
        assert ours.state_dict()["state"][index]["mu_product"] == state["mu_product"].item()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_get_default_dtype_is_what_was_set(dtype):
    assert mg.get_default_dtype() == mg.float32
    mg.set_default_dtype(getattr(mg, dtype))
    assert mg.get_default_dtype() == getattr(mg, dtype)
    assert isinstance(mg.get_default_dtype(), np.dtype)
    mg.set_default_dtype(np.dtype("float32"))
    assert mg.get_default_dtype() == mg.float32
    mg.set_default_dtype(mg.double)
    assert mg.get_default_dtype() == np.float64


# What each library is given: its dtype of that name, or the same object.
REFUSED = {"int64": "dtype", "complex64": "dtype", "bool": "dtype", "a dtype's name": "float64", "None": None,
           "Python's float": float, "a number": 1}


@pytest.mark.parametrize("name", REFUSED)
def test_arguments_torch_refuses(name):
    """Dtypes that are not floating point, and objects that are not dtypes, with torch's TypeError; the default
    stays as it was."""
    mg.set_default_dtype(mg.float64)
    given = REFUSED[name]
    torch_argument, our_argument = (getattr(torch, name), np.dtype(name)) if given == "dtype" else (given, given)
    assert_raises_as_torch(lambda: torch.set_default_dtype(torch_argument),
                           lambda: mg.set_default_dtype(our_argument))
    assert mg.get_default_dtype() == mg.float64


def test_calls_torch_refuses():
    assert_raises_as_torch(lambda: torch.set_default_dtype(), lambda: mg.set_default_dtype())
    assert_raises_as_torch(lambda: torch.set_default_dtype(d=torch.float64), lambda: mg.set_default_dtype(d=mg.float64))
    assert_raises_as_torch(lambda: torch.set_default_dtype(torch.float32, torch.float64),
                           lambda: mg.set_default_dtype(mg.float32, mg.float64))


def test_float16_is_refused():
    """torch takes float16 (complex numbers then become complex32, which NumPy lacks); minigrad refuses it."""
    with pytest.raises(TypeError, match="only float32 and float64 are supported as minigrad's default type, not "
                                        "float16"):
        mg.set_default_dtype(np.float16)
    assert mg.get_default_dtype() == mg.float32


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128", "int64"])
def test_repr_leaves_out_the_default_dtypes_as_torchs(dtype, default):
    numbers = [1j] if dtype.startswith("complex") else [1]
    ours = repr(mg.tensor(numbers, dtype=getattr(np, dtype)))
    theirs = repr(torch.tensor(numbers, dtype=getattr(torch, dtype)))
    assert ("dtype=" in ours) == ("dtype=" in theirs)


def test_the_default_is_one_for_all_threads():
    """As torch's, the default is the process's: a thread's setting is every thread's."""
    done = threading.Event()
    thread = threading.Thread(target=lambda: (mg.set_default_dtype(mg.float64), done.set()))
    thread.start()
    thread.join()
    assert done.is_set()
    assert mg.get_default_dtype() == mg.float64
    assert mg.zeros(1).dtype == mg.tensor([0.1]).dtype == (mg.tensor([1]) / 2).dtype == np.float64


def test_gpu_path_follows_the_default(gpu_path):
    """Tensors made on the device, and the float results of integers there, are in the default dtype, with the
    CPU's values."""
    mg.set_default_dtype(mg.float64)
    results = {}
    for device in ("cpu", "gpu"):
        ints = mg.tensor([1, 2, 3], device=device)
        made = [mg.zeros(2, device=device), mg.tensor([0.1, 2], device=device), mg.arange(0, 1, 0.25, device=device),
                mg.full((2,), 0.1, device=device), ints / (ints + 2), ints * 0.1, ints.tanh(), ints ** 0.5,
                ints.logsumexp(0)]
        assert all(t.device == device and t.dtype == np.float64 for t in made)
        results[device] = [t.numpy() for t in made]
    for ours, reference in zip(results["gpu"], results["cpu"]):
        assert relative_error(ours, reference) <= 1e-12
