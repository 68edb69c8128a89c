"""Optimizer details that ported torch code relies on: a parameter listed twice in a group (torch's warning, two
updates), the state dict's entries (every one the state holds, an empty one too, and none where torch's optimizer
keeps none), the step hooks run once per step call by a subclass whose step calls super().step(), state dicts that
cross to torch and back in their own dtypes (a float64 state at full precision), and the state itself as torch's:
tensors that the step updates in place, the step count a 0-d float32 tensor on the CPU. And the GPU path."""
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import relative_error
from unet.torch_reference import numpy_to_state_dict, state_dict_to_numpy

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (5,)]


def arrays_of(seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for shape in SHAPES]


def parameters(lib, arrays, device=None):
    if lib is mg:
        return [mg.nn.Parameter(mg.tensor(array.copy(), device=device)) for array in arrays]
    return [torch.nn.Parameter(torch.from_numpy(array.copy())) for array in arrays]


def set_grads(lib, params, arrays, device=None):
    for param, array in zip(params, arrays, strict=True):
        param.grad = mg.tensor(array.copy(), device=device) if lib is mg else torch.from_numpy(array.copy())


def train(lib, optimizer, params, steps, seed=1, device=None):
    """`steps` steps on the same random gradients in either library (one per distinct parameter)."""
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        set_grads(lib, params, [rng.standard_normal(p.shape).astype(np.dtype(str(p.dtype).removeprefix("torch.")))
                                for p in params], device)
        optimizer.step()


def numpy_of(tensor):
    return tensor.numpy() if isinstance(tensor, mg.Tensor) else tensor.detach().numpy()


def assert_close(ours, theirs, tolerance=1e-5):
    for mine, reference in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(numpy_of(mine), numpy_of(reference), rtol=tolerance, atol=tolerance / 10)


def torch_dtype_name(value):
    return str(value.dtype).removeprefix("torch.")


# ----------------------------------------------------------------------------- a parameter listed twice


@pytest.mark.parametrize("name, kwargs", [("SGD", dict(lr=0.1)), ("Adam", dict(lr=0.1, amsgrad=True))])
def test_a_parameter_listed_twice_is_stepped_twice_with_torchs_warning(name, kwargs):
    """Each listing of the parameter updates it with its gradient, on one state; its state dict lists its last
    index twice, as torch's."""
    results = []
    for lib in (torch, mg):
        params = parameters(lib, arrays_of(0))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            optimizer = getattr(lib.optim, name)([params[0], params[1], params[1]], **kwargs)
            added = lib.nn.Parameter(lib.ones(2))
            optimizer.add_param_group({"params": [added, added]})
        train(lib, optimizer, params, 3)
        saved = optimizer.state_dict()
        results.append(([(w.category, str(w.message)) for w in caught], params,
                        [group["params"] for group in saved["param_groups"]],
                        {index: list(state) for index, state in saved["state"].items()}))
    (torch_warnings, torch_params, *torch_layout), (mg_warnings, mg_params, *mg_layout) = results
    assert len(torch_warnings) == 2 and mg_warnings == torch_warnings
    assert mg_layout == torch_layout and torch_layout[0] == [[0, 2, 2], [4, 4]]
    assert_close(mg_params, torch_params)


# ----------------------------------------------------------------------------- the state dict's entries


def state_entries(lib):
    """The state that SGD without momentum keeps, and Adam's state dict where one parameter had no gradient and
    another's state was looked up (opt.state[p], as code may do before a first step)."""
    params = parameters(lib, arrays_of(0)) + [lib.nn.Parameter(lib.ones(2))]
    sgd = lib.optim.SGD(params, lr=0.1)
    train(lib, sgd, params[:2], 2)
    adam = lib.optim.Adam(params, lr=0.1)
    adam.zero_grad()
    train(lib, adam, params[:1], 2)
    assert len(adam.state[params[2]]) == 0
    return len(sgd.state), sgd.state_dict()["state"], {i: list(s) for i, s in adam.state_dict()["state"].items()}


def test_state_dict_holds_every_entry_of_the_state_as_torchs():
    assert state_entries(mg) == state_entries(torch) == (0, {}, {0: ["step", "exp_avg", "exp_avg_sq"], 2: []})


def test_torchs_state_dict_with_an_empty_entry_round_trips_through_minigrad():
    """torch's state dict loaded into minigrad gives it back (through numpy_to_state_dict) as it was: the same
    entries, dtypes and values; loaded back into torch, it goes on as the original."""
    params = parameters(torch, arrays_of(0))
    original = torch.optim.Adam(params, lr=0.1, amsgrad=True)
    train(torch, original, params[:1], 3)
    assert original.state[params[1]] == {}
    saved = original.state_dict()

    ours = mg.optim.Adam(parameters(mg, [numpy_of(p) for p in params]))
    ours.load_state_dict(saved)
    back = numpy_to_state_dict(ours.state_dict())
    assert back["param_groups"] == saved["param_groups"]
    assert list(back["state"]) == list(saved["state"]) == [0, 1]
    for index, state in saved["state"].items():
        assert list(back["state"][index]) == list(state)
        for key, value in state.items():
            assert back["state"][index][key].dtype == value.dtype and torch.equal(back["state"][index][key], value)

    resumed_params = parameters(torch, [numpy_of(p) for p in params])
    resumed = torch.optim.Adam(resumed_params)
    resumed.load_state_dict(back)
    train(torch, original, params, 2, seed=2)
    train(torch, resumed, resumed_params, 2, seed=2)
    for mine, reference in zip(resumed_params, params, strict=True):
        assert torch.equal(mine, reference)


# ----------------------------------------------------------------------------- step hooks


def custom_sgd():
    class PlainSGD(mg.optim.Optimizer):
        def __init__(self, params, lr=0.1):
            super().__init__(params, dict(lr=lr))

        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    p.data -= group["lr"] * p.grad.data

    return PlainSGD


@pytest.mark.parametrize("base", ["Adam", "custom"])
def test_a_subclass_whose_step_calls_super_runs_the_step_hooks_once(base):
    """torch's wrapped step runs the hooks around the subclass's step, and its super().step() without them (torch
    does so unless an instance of the base class was made first in the process, which wraps the base's step too);
    two levels of subclasses likewise. The pre-hook's new arguments reach the subclass's step."""
    parent = mg.optim.Adam if base == "Adam" else custom_sgd()

    class Clipped(parent):
        def step(self, closure=None):
            log.append(("step", closure))
            for p in self.param_groups[0]["params"]:
                p.grad.data.clip(-1, 1, out=p.grad.data)
            return super().step()

    class Logged(Clipped):
        def step(self, closure=None):
            return super().step(closure)

    log = []
    params = parameters(mg, arrays_of(0))
    optimizer = Logged(params, lr=0.1)
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: log.append("pre") or ((opt, "replaced"), kwargs))
    optimizer.register_step_post_hook(lambda opt, args, kwargs: log.append(("post", args[1:])))
    train(mg, optimizer, params, 2)
    assert log == ["pre", ("step", "replaced"), ("post", ("replaced",))] * 2

    reference_params = parameters(torch, arrays_of(0))
    reference = (torch.optim.Adam if base == "Adam" else torch.optim.SGD)(reference_params, lr=0.1)
    rng = np.random.default_rng(1)
    for _ in range(2):
        set_grads(torch, reference_params, [rng.standard_normal(p.shape).astype(np.float32) for p in reference_params])
        for p in reference_params:
            p.grad.clamp_(-1, 1)
        reference.step()
    assert_close(params, reference_params)


# ----------------------------------------------------------------------------- state dicts in their own dtypes


def test_a_float64_state_crosses_to_torch_and_back_at_full_precision():
    """minigrad's float64 Adam state through numpy_to_state_dict into torch, and torch's through state_dict_to_numpy
    into minigrad: the float64 buffers stay float64 (the step float32, as torch's), and each goes on as a float64
    run in one library alone."""
    arrays = arrays_of(0, np.float64)
    alone = parameters(torch, arrays)
    reference = torch.optim.Adam(alone, lr=0.05)
    train(torch, reference, alone, 2)
    train(torch, reference, alone, 2, seed=2)

    ours_params = parameters(mg, arrays)
    ours = mg.optim.Adam(ours_params, lr=0.05)
    train(mg, ours, ours_params, 2)
    crossed = numpy_to_state_dict(ours.state_dict())
    assert [(key, torch_dtype_name(value)) for key, value in crossed["state"][0].items()] == [
        ("step", "float32"), ("exp_avg", "float64"), ("exp_avg_sq", "float64")]
    theirs_params = parameters(torch, [numpy_of(p) for p in ours_params])
    theirs = torch.optim.Adam(theirs_params)
    theirs.load_state_dict(crossed)
    back = state_dict_to_numpy(theirs.state_dict())
    assert [(key, value.dtype) for key, value in back["state"][1].items()] == [
        ("step", np.float32), ("exp_avg", np.float64), ("exp_avg_sq", np.float64)]
    resumed_params = parameters(mg, [numpy_of(p) for p in theirs_params])
    resumed = mg.optim.Adam(resumed_params)
    resumed.load_state_dict(back)

    train(torch, theirs, theirs_params, 2, seed=2)
    train(mg, resumed, resumed_params, 2, seed=2)
    for params in (theirs_params, resumed_params):
        assert_close(params, alone, tolerance=1e-12)


# ----------------------------------------------------------------------------- the state as torch's tensors


STATE_CASES = {
    "Adam-amsgrad": ("Adam", dict(lr=0.05, amsgrad=True)),
    "SGD-momentum": ("SGD", dict(lr=0.05, momentum=0.9)),
    "NAdam": ("NAdam", dict(lr=0.05)),  # mu_product, a 0-d tensor beside the step
    "ASGD": ("ASGD", dict(lr=0.05, t0=1)),  # eta and mu, the same
    "Rprop": ("Rprop", dict(lr=0.05)),
    "Adagrad": ("Adagrad", dict(lr=0.1)),
}


@pytest.mark.parametrize("case", STATE_CASES)
def test_state_holds_tensors_as_torchs_which_the_step_updates_in_place(case):
    """Ported code reads the state as torch's (state["step"].item(), state["exp_avg"].norm()) and changes it in
    place (a buffer's mul_), and the next step reads the change: each value is the same tensor before and after a
    step, as torch's."""
    name, kwargs = STATE_CASES[case]
    runs = []
    for lib in (torch, mg):
        params = parameters(lib, arrays_of(0))
        optimizer = getattr(lib.optim, name)(params, **kwargs)
        train(lib, optimizer, params, 3)
        state = optimizer.state[params[0]]
        held = dict(state)
        read = {key: value.norm().item() if value.ndim else value.item() for key, value in held.items()}
        for value in held.values():
            if value.ndim:
                value.mul_(0.5)
        train(lib, optimizer, params, 2, seed=2)
        assert all(state[key] is value for key, value in held.items())
        runs.append((held, read, params))
    (theirs, their_reads, their_params), (ours, our_reads, our_params) = runs
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        mine = ours[key]
        assert isinstance(mine, mg.Tensor) and not mine.requires_grad
        assert (str(mine.dtype), mine.shape, mine.device) == (torch_dtype_name(value), tuple(value.shape), "cpu")
        np.testing.assert_allclose(numpy_of(mine), numpy_of(value), rtol=1e-5, atol=1e-7, err_msg=key)
        np.testing.assert_allclose(our_reads[key], their_reads[key], rtol=1e-5, atol=1e-7, err_msg=key)
    if "step" in theirs:
        assert our_reads["step"] == their_reads["step"] == 3.0
    assert_close(our_params, their_params)


def test_gpu_path_matches_cpu(gpu_path):
    """Adam's GPU kernel steps a parameter listed twice twice, on its state's tensors (the buffers on the device, the
    step on the CPU); the state dict goes to torch from either device alike."""
    results = []
    for device in ("cpu", "gpu"):
        params = parameters(mg, arrays_of(0), device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            optimizer = mg.optim.Adam([params[0], params[1], params[1]], lr=0.05)
        train(mg, optimizer, params, 3, device=device)
        state = optimizer.state[params[1]]
        assert (state["step"].item(), state["step"].device, state["exp_avg"].device) == (6.0, "cpu", device)
        results.append((params, numpy_to_state_dict(optimizer.state_dict())))
    assert "adam" in gpu_path.launches
    (cpu_params, cpu_saved), (gpu_params, gpu_saved) = results
    for mine, expected in zip(gpu_params, cpu_params, strict=True):
        assert relative_error(mine.numpy(), expected.numpy()) <= 1e-5
    for index, state in cpu_saved["state"].items():
        for key, value in state.items():
            assert gpu_saved["state"][index][key].dtype == value.dtype
            assert relative_error(gpu_saved["state"][index][key].numpy(), value.numpy()) <= 1e-5


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta",
                                  "Rprop", "ASGD", "LBFGS"])
def test_the_defaults_are_torchs_as_the_repr_and_the_groups_show_them(name):
    """torch's defaults of 0 are ints (weight_decay: 0, not 0.0), which a repr or a logged config shows."""
    optimizers = [getattr(lib.optim, name)([lib.nn.Parameter(lib.ones(2))], **({"lr": 0.1} if name == "SGD" else {}))
                  for lib in (torch, mg)]
    assert repr(optimizers[1]) == repr(optimizers[0])
    theirs, ours = ({key: value for key, value in optimizer.param_groups[0].items() if key != "params"}
                    for optimizer in optimizers)
    assert {key: (value, type(value)) for key, value in ours.items()} == {
        key: (value, type(value)) for key, value in theirs.items()}
