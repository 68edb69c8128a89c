"""Optimizer state dicts interchangeable with torch's: minigrad's, its arrays made torch's tensors, is what torch's
load_state_dict takes, and torch's (its tensors, or NumPy arrays) is what minigrad's takes; either optimizer goes on
from the other's state as the other would. minigrad's own round trip, the layout of its earlier checkpoints (no
"params" in the groups, Python numbers for the step), torch's errors on a state dict of other groups, and the GPU
path."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error
from unet.torch_reference import numpy_to_state_dict, state_dict_to_numpy

torch = pytest.importorskip("torch")

CASES = {
    "Adam-amsgrad-l2": ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1)),
    "AdamW": ("AdamW", dict(lr=0.05, weight_decay=0.2)),
    "SGD-nesterov": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    "RMSprop-centered-momentum": ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    "Adagrad": ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
    "NAdam": ("NAdam", dict(lr=0.05)),  # mu_product, a 0-d tensor in torch beside the step
    "ASGD": ("ASGD", dict(lr=0.05, t0=2)),  # eta and mu, the same
}
SHAPES = [(4, 3), (5,), (2, 3)]
STEPS = 3


def make(library, name, arrays, kwargs=None):
    """The optimizer over copies of arrays in two groups, the second with its own lr; made without kwargs, with the
    defaults, it takes its hyper-parameters from a state dict."""
    params = [library.nn.Parameter(library.tensor(array.copy())) for array in arrays]
    second = {"lr": kwargs["lr"] / 2} if kwargs else {}
    return getattr(library.optim, name)([{"params": params[:1]}, {"params": params[1:], **second}], **(kwargs or {}))


def params_of(optimizer):
    return [param for group in optimizer.param_groups for param in group["params"]]


def values_of(optimizer):
    return [param.detach().numpy().copy() for param in params_of(optimizer)]


def step_pair(ours, theirs, rng, steps=STEPS):
    """Steps a minigrad and a torch optimizer with the same random gradients."""
    for _ in range(steps):
        for mine, reference in zip(params_of(ours), params_of(theirs), strict=True):
            grad = rng.standard_normal(mine.shape).astype(np.float32)
            mine.grad, reference.grad = mg.tensor(grad), torch.from_numpy(grad.copy())
        ours.step()
        theirs.step()


def assert_params_agree(ours, theirs):
    for mine, reference in zip(values_of(ours), values_of(theirs), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def stepped(case, seed=0):
    """A minigrad and a torch optimizer of the case, stepped alike from the same weights."""
    name, kwargs = CASES[case]
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES]
    ours, theirs = make(mg, name, arrays, kwargs), make(torch, name, arrays, kwargs)
    step_pair(ours, theirs, rng)
    return ours, theirs, rng


@pytest.mark.parametrize("case", CASES)
def test_state_dict_is_torchs_once_its_arrays_are_tensors(case):
    assert_state_dict_is_torchs(*stepped(case)[:2])


def assert_state_dict_is_torchs(ours, theirs):
    """minigrad's state dict, its arrays made tensors, is torch's: its groups, and each state's keys, in torch's
    order, and values (their dtypes and shapes too)."""
    mine, reference = numpy_to_state_dict(ours.state_dict()), theirs.state_dict()
    assert mine["param_groups"] == reference["param_groups"]  # the hyper-parameters and each group's indices
    assert list(mine["state"]) == list(reference["state"])
    for index, state in reference["state"].items():
        assert list(mine["state"][index]) == list(state)
        for key, value in state.items():
            assert (mine["state"][index][key].dtype, mine["state"][index][key].shape) == (value.dtype, value.shape)
            np.testing.assert_allclose(mine["state"][index][key], value, rtol=1e-5, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("case", CASES)
def test_state_moves_both_ways_and_each_goes_on_as_the_other(case):
    """torch's state dict (its tensors) into a minigrad optimizer made with the defaults, and minigrad's (its arrays
    made tensors) into a torch one: each pair goes on alike."""
    ours, theirs, rng = stepped(case)
    assert_each_goes_on_from_the_others_state(CASES[case][0], ours, theirs, rng)
    assert ours.param_groups[1]["lr"] == CASES[case][1]["lr"] / 2


def assert_each_goes_on_from_the_others_state(name, ours, theirs, rng):
    """torch's state dict into a minigrad optimizer made with the defaults, and minigrad's into a torch one: each
    takes the other's hyper-parameters, and each pair goes on alike."""
    ours_from_torch = make(mg, name, values_of(theirs))
    ours_from_torch.load_state_dict(theirs.state_dict())
    torch_from_ours = make(torch, name, values_of(ours))
    torch_from_ours.load_state_dict(numpy_to_state_dict(ours.state_dict()))
    assert torch_from_ours.param_groups[1]["lr"] == ours_from_torch.param_groups[1]["lr"] == ours.param_groups[1]["lr"]
    for pair in [(ours_from_torch, theirs), (ours, torch_from_ours)]:
        step_pair(*pair, rng)
        assert_params_agree(*pair)


def former_layout(state_dict):
    """A state dict as minigrad wrote it before it took torch's: no "params" in the groups, the step and the like
    Python numbers."""
    def number(key, value):
        return int(value) if key == "step" else float(value)
    return {"state": {index: {key: number(key, value) if np.ndim(value) == 0 else value for key, value in state.items()}
                      for index, state in state_dict["state"].items()},
            "param_groups": [{k: v for k, v in group.items() if k != "params"} for group in state_dict["param_groups"]]}


@pytest.mark.parametrize("layout", ["torch's", "former"])
@pytest.mark.parametrize("case", ["Adam-amsgrad-l2", "NAdam", "ASGD"])
def test_a_round_trip_through_a_file_goes_on_bit_for_bit(tmp_path, case, layout):
    ours, theirs, _ = stepped(case)
    state = ours.state_dict()
    mg.save({"optimizer": state if layout == "torch's" else former_layout(state)}, tmp_path / "optimizer.npz")
    resumed = make(mg, CASES[case][0], values_of(ours))
    resumed.load_state_dict(mg.load(tmp_path / "optimizer.npz")["optimizer"])
    step_pair(ours, theirs, np.random.default_rng(1))
    step_pair(resumed, theirs, np.random.default_rng(1))  # the same gradients as ours
    for mine, expected in zip(values_of(resumed), values_of(ours), strict=True):
        np.testing.assert_array_equal(mine, expected)


def test_torchs_state_dict_read_as_numpy_arrays_loads():
    ours, theirs, rng = stepped("Adam-amsgrad-l2")
    resumed = make(mg, "Adam", values_of(theirs))
    resumed.load_state_dict(state_dict_to_numpy(theirs.state_dict()))
    step_pair(resumed, theirs, rng)
    assert_params_agree(resumed, theirs)


def test_state_goes_to_the_parameter_its_group_lists_as_torchs_does():
    """The groups' "params" are ids, not positions: a state dict renumbered (here 12, 11, 10) loads the
    state of each id onto the parameter at the id's place in the groups, in both libraries."""
    ours, theirs, rng = stepped("SGD-nesterov")
    saved = theirs.state_dict()
    renumber = {index: 12 - index for index in saved["state"]}
    renumbered = {"state": {renumber[index]: state for index, state in saved["state"].items()},
                  "param_groups": [{**group, "params": [renumber[index] for index in group["params"]]}
                                   for group in saved["param_groups"]]}
    loaded = make(mg, "SGD", values_of(theirs))
    loaded.load_state_dict(renumbered)
    reference = make(torch, "SGD", values_of(theirs))
    reference.load_state_dict(renumbered)
    step_pair(loaded, reference, rng)
    assert_params_agree(loaded, reference)


@pytest.mark.parametrize("sizes", [[3], [1, 1, 1], [2, 1]], ids=["fewer-groups", "more-groups", "other-sizes"])
def test_a_state_dict_of_other_groups_is_torchs_error(sizes):
    """The saved optimizer has groups of sizes 1 and 2."""
    arrays = [np.ones(shape, np.float32) for shape in SHAPES]
    ours, theirs = stepped("Adam-amsgrad-l2")[:2]

    def loading(library, saved):
        params = [library.nn.Parameter(library.tensor(array)) for array in arrays]
        starts = np.cumsum([0] + sizes)
        target = library.optim.Adam([{"params": params[start:end]} for start, end in zip(starts, starts[1:])])
        return lambda: target.load_state_dict(saved)
    assert_raises_as_torch(loading(torch, theirs.state_dict()), loading(mg, ours.state_dict()))


def test_gpu_optimizer_takes_and_gives_torchs_state(gpu_path):
    """A GPU Adam (one kernel launch a step) takes torch's state onto its device and goes on as the CPU's; its
    state dict, its arrays CuPy's, goes back to torch."""
    ours, theirs, _ = stepped("AdamW")
    cpu_and_gpu = []
    for device in ("cpu", "gpu"):
        params = [mg.nn.Parameter(mg.tensor(value, device=device)) for value in values_of(theirs)]
        optimizer = mg.optim.AdamW([{"params": params[:1]}, {"params": params[1:]}])
        optimizer.load_state_dict(theirs.state_dict())
        rng = np.random.default_rng(3)
        for _ in range(STEPS):
            for param in params:
                param.grad = mg.tensor(rng.standard_normal(param.shape).astype(np.float32), device=device)
            optimizer.step()
        cpu_and_gpu.append(optimizer)
    cpu, gpu = cpu_and_gpu
    assert "adam" in gpu_path.launches
    for mine, expected in zip(values_of(gpu), values_of(cpu), strict=True):
        assert relative_error(mine, expected) <= 1e-5
    back = make(torch, "AdamW", values_of(gpu))
    back.load_state_dict(numpy_to_state_dict(gpu.state_dict()))
    for index, state in back.state_dict()["state"].items():
        for key, value in state.items():
            assert relative_error(value.numpy(), mg.backend.to_numpy(cpu.state_dict()["state"][index][key])) <= 1e-5
