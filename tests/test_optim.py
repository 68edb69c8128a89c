"""minigrad.optim against torch.optim: update rules, state_dict resume, learning-rate schedulers."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

STEPS = 10
PARAM_SHAPES = [(4, 3), (5,), (2, 3, 3)]

OPTIMIZER_CONFIGS = [
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3)),
    ("SGD", dict(lr=0.02)),
    ("SGD", dict(lr=0.02, momentum=0.9)),
    ("SGD", dict(lr=0.02, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.02, momentum=0.5, weight_decay=0.1)),
]
CONFIG_IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kwargs.items())}" for name, kwargs in OPTIMIZER_CONFIGS]


def relative_difference(actual, expected):
    """Max abs difference scaled by the largest magnitude of the expected array."""
    return np.abs(actual - expected).max() / np.abs(expected).max()


def random_arrays(rng, shapes=PARAM_SHAPES):
    return [rng.standard_normal(shape).astype(np.float32) for shape in shapes]


def polynomial_loss(params, coefficients):
    """sum((p*c)^2 + 0.1*p^3): non-trivial, exactly differentiable, written once for both libraries."""
    return sum(((p * c) ** 2 + 0.1 * p ** 3).sum() for p, c in zip(params, coefficients))


def make_optimizers(name, kwargs, arrays):
    """The same optimizer in both libraries over parameters with identical float32 starting values."""
    mg_params = [mg.nn.Parameter(a.copy()) for a in arrays]
    torch_params = [torch.nn.Parameter(torch.from_numpy(a.copy())) for a in arrays]
    return getattr(mg.optim, name)(mg_params, **kwargs), getattr(torch.optim, name)(torch_params, **kwargs)


def params_of(optimizer):
    return [p for group in optimizer.param_groups for p in group["params"]]


def assert_params_agree(mg_opt, torch_opt, step):
    for mg_p, torch_p in zip(params_of(mg_opt), params_of(torch_opt)):
        diff = relative_difference(mg_p.numpy(), torch_p.detach().numpy())
        assert diff <= 1e-6, f"step {step}: parameters differ by {diff:.2e} (relative)"


def inject_same_grads(mg_opt, torch_opt, rng):
    """Identical gradients in both libraries, so only the update rule is compared."""
    for mg_p, torch_p in zip(params_of(mg_opt), params_of(torch_opt)):
        grad = rng.standard_normal(mg_p.shape).astype(np.float32)
        mg_p.grad = mg.tensor(grad.copy())
        torch_p.grad = torch.from_numpy(grad.copy())


def backprop_polynomial_loss(mg_opt, torch_opt, coefficients):
    """Each library computes its own gradients of the same loss."""
    mg_opt.zero_grad()
    torch_opt.zero_grad()
    polynomial_loss(params_of(mg_opt), [mg.tensor(c) for c in coefficients]).backward()
    polynomial_loss(params_of(torch_opt), [torch.from_numpy(c) for c in coefficients]).backward()


@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CONFIGS, ids=CONFIG_IDS)
def test_update_rule_matches_torch_with_injected_grads(name, kwargs):
    rng = np.random.default_rng(0)
    mg_opt, torch_opt = make_optimizers(name, kwargs, random_arrays(rng))
    for step in range(STEPS):
        inject_same_grads(mg_opt, torch_opt, rng)
        mg_opt.step()
        torch_opt.step()
        assert_params_agree(mg_opt, torch_opt, step)


@pytest.mark.parametrize("name, kwargs", OPTIMIZER_CONFIGS, ids=CONFIG_IDS)
def test_training_matches_torch_with_autograd_grads(name, kwargs):
    rng = np.random.default_rng(1)
    mg_opt, torch_opt = make_optimizers(name, kwargs, random_arrays(rng))
    coefficients = random_arrays(rng)
    for step in range(STEPS):
        backprop_polynomial_loss(mg_opt, torch_opt, coefficients)
        mg_opt.step()
        torch_opt.step()
        assert_params_agree(mg_opt, torch_opt, step)


@pytest.mark.parametrize("kwargs", [kw for name, kw in OPTIMIZER_CONFIGS if name == "Adam"])
def test_adam_kernel_matches_torch_in_one_launch_per_step(kwargs, host_kernels):
    """The GPU's Adam kernel (built for the host here) updates every parameter in one launch."""
    test_update_rule_matches_torch_with_injected_grads("Adam", kwargs)
    assert host_kernels.launches == ["adam"] * STEPS


# ----------------------------------------------------------------------------- resume


def seeded_model_and_optimizer(seed, name, kwargs):
    mg.manual_seed(seed)
    model = mg.nn.Sequential(mg.nn.Conv2d(2, 4, 3, padding=1), mg.nn.ReLU(), mg.nn.Conv2d(4, 1, 1))
    return model, getattr(mg.optim, name)(model.parameters(), **kwargs)


def train_steps(model, optimizer, batch, target, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        ((model(batch) - target) ** 2).mean().backward()
        optimizer.step()


RESUME_CONFIGS = [("Adam", dict(lr=0.01, weight_decay=1e-3)), ("SGD", dict(lr=0.1, momentum=0.9))]


@pytest.mark.parametrize("name, kwargs", RESUME_CONFIGS)
def test_resume_from_saved_state_is_bit_exact(tmp_path, name, kwargs):
    rng = np.random.default_rng(2)
    batch, target = mg.tensor(rng.standard_normal((2, 2, 6, 6)).astype(np.float32)), mg.tensor(0.5)

    uninterrupted, uninterrupted_opt = seeded_model_and_optimizer(0, name, kwargs)
    train_steps(uninterrupted, uninterrupted_opt, batch, target, 10)

    first_half, first_half_opt = seeded_model_and_optimizer(0, name, kwargs)
    train_steps(first_half, first_half_opt, batch, target, 5)
    path = tmp_path / "checkpoint.npz"
    mg.save({"optim": first_half_opt.state_dict(), "model": first_half.state_dict()}, path)

    # A different init, so nothing carries over except through the file.
    resumed, resumed_opt = seeded_model_and_optimizer(1, name, kwargs)
    checkpoint = mg.load(path)
    resumed.load_state_dict(checkpoint["model"])
    resumed_opt.load_state_dict(checkpoint["optim"])
    train_steps(resumed, resumed_opt, batch, target, 5)

    for (key, expected), actual in zip(uninterrupted.named_parameters(), resumed.parameters()):
        assert np.array_equal(actual.numpy(), expected.numpy()), f"{key} differs after resuming"


@pytest.mark.parametrize("name", ["Adam", "NAdam", "RMSprop"])
def test_a_scalar_parameters_state_loads_onto_its_device(tmp_path, gpu_path, name):
    """A 0-d parameter (a learnable temperature) keeps 0-d state buffers, which load onto its device as any
    other parameter's do; the step count (and NAdam's mu_product) stays a CPU tensor, as torch's."""
    def scalar_and_optimizer(device):
        scale = mg.nn.Parameter(mg.tensor(1.5, device=device))
        return scale, getattr(mg.optim, name)([scale], lr=0.1)

    def steps(scale, optimizer, count):
        for _ in range(count):
            optimizer.zero_grad()
            ((scale - 0.25) ** 2).backward()
            optimizer.step()

    expected, expected_optimizer = scalar_and_optimizer("cpu")
    steps(expected, expected_optimizer, 4)
    first, first_optimizer = scalar_and_optimizer("cpu")
    steps(first, first_optimizer, 2)
    mg.save({"optim": first_optimizer.state_dict(), "scale": first.detach()}, tmp_path / "scalar.npz")
    saved = mg.load(tmp_path / "scalar.npz")
    resumed, resumed_optimizer = scalar_and_optimizer("gpu")
    with mg.no_grad():
        resumed.copy_(mg.tensor(saved["scale"], device="gpu"))
    resumed_optimizer.load_state_dict(saved["optim"])
    for key, value in resumed_optimizer.state[resumed].items():
        assert value.device == ("cpu" if key in resumed_optimizer.state_scalars else resumed.device), key
    steps(resumed, resumed_optimizer, 2)
    assert resumed.item() == pytest.approx(expected.item(), rel=1e-6)


# ----------------------------------------------------------------------------- schedulers

SCHEDULER_CONFIGS = [
    ("StepLR", dict(step_size=3, gamma=0.3)),
    ("CosineAnnealingLR", dict(T_max=7, eta_min=1e-4)),  # 25 epochs run past T_max, into later periods
]
EPOCHS = 25
# Flags torch's schedulers set while a step runs, always False between steps: no state to keep.
TORCH_STEP_FLAGS = ("_is_initial", "_get_lr_called_within_step")


SCHEDULER_HOMES = {mg: mg.optim, torch: torch.optim.lr_scheduler}


def make_optimizer(library, lr=0.1):
    return library.optim.SGD([library.nn.Parameter(library.zeros(3))], lr=lr)


def make_scheduler(library, name, kwargs, lr=0.1):
    """An SGD optimizer and the named scheduler on it, from minigrad or torch."""
    optimizer = make_optimizer(library, lr)
    return optimizer, getattr(SCHEDULER_HOMES[library], name)(optimizer, **kwargs)


def lr_sequence(optimizer, schedulers, epochs, hand_set=None):
    """The lr used in each epoch, stepping the schedulers after the optimizer as torch expects; hand_set maps an
    epoch to an lr set by hand after that epoch's steps."""
    lrs = []
    for epoch in range(epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
        if hand_set and epoch in hand_set:
            optimizer.param_groups[0]["lr"] = hand_set[epoch]
    return lrs


def torch_state(scheduler):
    return {key: value for key, value in scheduler.state_dict().items() if key not in TORCH_STEP_FLAGS}


@pytest.mark.parametrize("name, kwargs", SCHEDULER_CONFIGS)
def test_scheduler_lr_sequence_matches_torch(name, kwargs):
    """Bit for bit, not only to 1e-12: the same chained arithmetic, so a run ported from torch keeps its lrs."""
    mg_opt, mg_sched = make_scheduler(mg, name, kwargs)
    torch_opt, torch_sched = make_scheduler(torch, name, kwargs)
    expected = lr_sequence(torch_opt, [torch_sched], EPOCHS)
    actual = lr_sequence(mg_opt, [mg_sched], EPOCHS)
    assert len(set(expected)) > 3  # the schedule really changes the lr
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0)
    assert actual == expected
    assert mg_sched.get_last_lr() == torch_sched.get_last_lr()


@pytest.mark.parametrize("name, kwargs", SCHEDULER_CONFIGS)
def test_a_hand_edit_of_the_lr_is_built_on_like_torch(name, kwargs):
    hand_set = {4: 0.02, 11: 0.3}
    mg_opt, mg_sched = make_scheduler(mg, name, kwargs)
    torch_opt, torch_sched = make_scheduler(torch, name, kwargs)
    expected = lr_sequence(torch_opt, [torch_sched], EPOCHS, hand_set)
    actual = lr_sequence(mg_opt, [mg_sched], EPOCHS, hand_set)
    assert expected[5] == pytest.approx(0.02)  # the edit is in force the next epoch ...
    unedited_opt, unedited_sched = make_scheduler(torch, name, kwargs)
    assert expected[6:] != lr_sequence(unedited_opt, [unedited_sched], EPOCHS)[6:]  # ... and after it
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0)
    assert mg_sched.get_last_lr() == pytest.approx(torch_sched.get_last_lr(), rel=1e-12)


def test_two_schedulers_on_one_optimizer_multiply_like_torch():
    def chained(library):
        home = SCHEDULER_HOMES[library]
        optimizer = make_optimizer(library, lr=1.0)
        schedulers = [home.StepLR(optimizer, step_size=2, gamma=0.5), home.CosineAnnealingLR(optimizer, T_max=10)]
        return lr_sequence(optimizer, schedulers, EPOCHS), [s.get_last_lr() for s in schedulers], optimizer

    expected, expected_last, torch_opt = chained(torch)
    actual, actual_last, mg_opt = chained(mg)
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0)
    assert expected[2] == pytest.approx(0.5 * (1 + np.cos(np.pi * 2 / 10)) / 2)  # a product of the two
    np.testing.assert_allclose(actual_last, expected_last, rtol=1e-12, atol=0)  # each, its own last step's result
    assert mg_opt.param_groups[0]["initial_lr"] == torch_opt.param_groups[0]["initial_lr"] == 1.0


@pytest.mark.parametrize("name, kwargs", SCHEDULER_CONFIGS)
def test_scheduler_state_dict_round_trip_goes_on_like_torch(tmp_path, name, kwargs):
    torch_opt, torch_sched = make_scheduler(torch, name, kwargs)
    expected = lr_sequence(torch_opt, [torch_sched], 8)

    opt, sched = make_scheduler(mg, name, kwargs)
    first = lr_sequence(opt, [sched], 8)
    assert sched.state_dict() == torch_state(torch_sched)  # last_epoch, base_lrs, the step count, the last lrs, ...
    assert {k: v for k, v in opt.state_dict()["param_groups"][0].items() if k != "params"}.items() <= \
        torch_opt.state_dict()["param_groups"][0].items()  # lr and initial_lr among them
    expected += lr_sequence(torch_opt, [torch_sched], EPOCHS - 8)
    path = tmp_path / "schedule.npz"
    mg.save({"optim": opt.state_dict(), "sched": sched.state_dict()}, path)

    resumed_opt, resumed_sched = make_scheduler(mg, name, kwargs, lr=0.5)  # deliberately different start
    checkpoint = mg.load(path)
    resumed_opt.load_state_dict(checkpoint["optim"])
    resumed_sched.load_state_dict(checkpoint["sched"])
    assert first + lr_sequence(resumed_opt, [resumed_sched], EPOCHS - 8) == expected
    assert resumed_sched.state_dict() == torch_state(torch_sched)


@pytest.mark.parametrize("name, kwargs", SCHEDULER_CONFIGS)
def test_a_scheduler_made_at_a_last_epoch_or_stepped_to_an_epoch_goes_on_like_torch(name, kwargs):
    """The two ways torch offers to pick a schedule up mid-way: a scheduler made with last_epoch on a loaded
    optimizer keeps its lr; step(epoch), deprecated in torch, jumps to the closed form at that epoch."""
    def picked_up(library):
        optimizer, scheduler = make_scheduler(library, name, kwargs)
        lr_sequence(optimizer, [scheduler], 9)
        resumed = make_optimizer(library, lr=0.5)
        resumed.load_state_dict(optimizer.state_dict())
        made_at = getattr(SCHEDULER_HOMES[library], name)(resumed, **kwargs, last_epoch=8)
        after_made = lr_sequence(resumed, [made_at], 8)
        made_at.step(3)
        return after_made + lr_sequence(resumed, [made_at], 8)

    with pytest.warns(UserWarning, match="deprecated"):
        expected = picked_up(torch)
    with pytest.warns(UserWarning, match="deprecated"):
        got = picked_up(mg)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
    with pytest.raises(KeyError, match="initial_lr"):
        getattr(mg.optim, name)(make_optimizer(mg), **kwargs, last_epoch=3)


# ----------------------------------------------------------------------------- small contracts


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_zero_grad_sets_grads_to_none(name):
    params = [mg.nn.Parameter(a) for a in random_arrays(np.random.default_rng(3))]
    optimizer = getattr(mg.optim, name)(params, lr=0.1)
    polynomial_loss(params, [1.0] * len(params)).backward()
    assert all(p.grad is not None for p in params)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_zero_grad_without_set_to_none_zeroes_the_same_grad_objects_like_torch(name):
    arrays = random_arrays(np.random.default_rng(4))
    mg_opt, torch_opt = make_optimizers(name, dict(lr=0.1), arrays)
    coefficients = random_arrays(np.random.default_rng(5))
    backprop_polynomial_loss(mg_opt, torch_opt, coefficients)
    params_of(mg_opt)[1].grad = None  # a parameter without a gradient keeps none
    params_of(torch_opt)[1].grad = None
    mg_grads = [p.grad for p in params_of(mg_opt)]
    torch_grads = [p.grad for p in params_of(torch_opt)]

    mg_opt.zero_grad(set_to_none=False)
    torch_opt.zero_grad(set_to_none=False)
    for library_params, grads in ((params_of(mg_opt), mg_grads), (params_of(torch_opt), torch_grads)):
        assert all(p.grad is grad for p, grad in zip(library_params, grads))
        assert library_params[1].grad is None
    for mg_grad, torch_grad in zip(mg_grads, torch_grads):
        if torch_grad is not None:
            assert mg_grad.dtype == np.float32 and not mg_grad.numpy().any() and not torch_grad.numpy().any()

    # The zeroed gradients accumulate the next backward as fresh ones would, and the step goes on like torch's.
    for library_opt, coefficient_of in ((mg_opt, mg.tensor), (torch_opt, torch.from_numpy)):
        polynomial_loss(params_of(library_opt), [coefficient_of(c) for c in coefficients]).backward()
        library_opt.step()
    assert_params_agree(mg_opt, torch_opt, step=0)


@pytest.mark.parametrize("name", ["Adam", "SGD"])
def test_empty_parameter_list_is_a_clear_error(name):
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(mg.optim, name)([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(mg.optim, name)(iter(()), lr=0.1)  # a spent generator, e.g. model.parameters() used twice
