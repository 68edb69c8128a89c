"""The optimizers beyond test_optim.py's, against torch.optim: Adam's and AdamW's amsgrad and maximize, SGD's
dampening and maximize, RMSprop, Adagrad, Adamax, NAdam, RAdam and Adadelta: their steps, param groups, state
dicts (torch's keys, a bit-exact resume), argument errors, the GPU path and an lr scheduler on each."""
import numpy as np
import pytest

import minigrad as mg
import test_optim
from conftest import assert_raises_as_torch, relative_error
from test_optim import STEPS, assert_params_agree, inject_same_grads, make_optimizers, random_arrays

torch = pytest.importorskip("torch")

NEW_OPTIMIZERS = ["RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "Adadelta"]

# STEPS (10) carries RAdam past rho_t > 5 (its 7th step with beta2 = 0.999, its 6th with 0.9), into the rectified
# update.
CONFIGS = {
    "Adam-amsgrad": ("Adam", dict(lr=0.1, amsgrad=True)),
    "Adam-amsgrad-l2": ("Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1, betas=(0.8, 0.99))),
    "Adam-maximize": ("Adam", dict(lr=0.1, maximize=True)),
    "Adam-decoupled-amsgrad-maximize": ("Adam", dict(lr=0.1, weight_decay=0.2, decoupled_weight_decay=True,
                                                     amsgrad=True, maximize=True)),
    "AdamW-amsgrad": ("AdamW", dict(lr=0.1, amsgrad=True)),
    "AdamW-maximize": ("AdamW", dict(lr=0.1, weight_decay=0.3, maximize=True)),
    "SGD-dampening": ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    "SGD-dampening-l2": ("SGD", dict(lr=0.05, momentum=0.5, dampening=0.7, weight_decay=0.1)),
    "SGD-maximize": ("SGD", dict(lr=0.05, maximize=True)),
    "SGD-nesterov-maximize": ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, maximize=True, weight_decay=0.1)),
    "RMSprop": ("RMSprop", dict()),
    "RMSprop-alpha-eps-l2": ("RMSprop", dict(lr=0.02, alpha=0.9, eps=1e-3, weight_decay=0.1)),
    "RMSprop-momentum": ("RMSprop", dict(lr=0.01, momentum=0.9)),
    "RMSprop-centered": ("RMSprop", dict(lr=0.01, centered=True)),
    "RMSprop-centered-momentum-maximize": ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5, maximize=True)),
    "Adagrad": ("Adagrad", dict()),
    "Adagrad-lr_decay-l2": ("Adagrad", dict(lr=0.1, lr_decay=0.3, weight_decay=0.1)),
    "Adagrad-initial_accumulator-eps": ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3)),
    "Adagrad-maximize": ("Adagrad", dict(lr=0.1, maximize=True)),
    "Adamax": ("Adamax", dict()),
    "Adamax-betas-eps-l2": ("Adamax", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1)),
    "Adamax-maximize": ("Adamax", dict(lr=0.05, maximize=True)),
    "NAdam": ("NAdam", dict()),
    "NAdam-momentum_decay-l2": ("NAdam", dict(lr=0.05, momentum_decay=0.05, weight_decay=0.1, betas=(0.8, 0.99))),
    "NAdam-decoupled": ("NAdam", dict(lr=0.05, weight_decay=0.3, decoupled_weight_decay=True)),
    "NAdam-maximize": ("NAdam", dict(lr=0.05, maximize=True)),
    "RAdam": ("RAdam", dict()),
    "RAdam-betas-l2": ("RAdam", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1)),
    "RAdam-decoupled-maximize": ("RAdam", dict(lr=0.05, weight_decay=0.3, decoupled_weight_decay=True,
                                               maximize=True)),
    "Adadelta": ("Adadelta", dict()),
    "Adadelta-rho-eps-l2": ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-3, weight_decay=0.1)),
    "Adadelta-maximize": ("Adadelta", dict(lr=0.5, maximize=True)),
}
CASES = [pytest.param(name, kwargs, id=case) for case, (name, kwargs) in CONFIGS.items()]


def step_both(mg_opt, torch_opt, rng, steps=STEPS):
    """Steps both libraries with the same random gradients, checking the parameters after each step."""
    for step in range(steps):
        inject_same_grads(mg_opt, torch_opt, rng)
        mg_opt.step()
        torch_opt.step()
        assert_params_agree(mg_opt, torch_opt, step)


@pytest.mark.parametrize("name, kwargs", CASES)
def test_steps_match_torch_with_injected_grads(name, kwargs):
    rng = np.random.default_rng(0)
    step_both(*make_optimizers(name, kwargs, random_arrays(rng)), rng)


@pytest.mark.parametrize("name", NEW_OPTIMIZERS + ["SGD"])
def test_training_matches_torch_with_autograd_grads(name):
    kwargs = dict(lr=0.02, momentum=0.9, dampening=0.1) if name == "SGD" else dict()
    test_optim.test_training_matches_torch_with_autograd_grads(name, kwargs)


@pytest.mark.parametrize("name, kwargs", CASES)
def test_param_groups_with_their_own_hyper_parameters_match_torch(name, kwargs):
    """A second group overrides the lr and flips every boolean option (Adagrad's initial_accumulator_value, which
    torch reads from the optimizer's defaults, included)."""
    rng = np.random.default_rng(1)
    arrays = random_arrays(rng)
    overrides = dict({key: not value for key, value in kwargs.items() if isinstance(value, bool)},
                     lr=0.03, weight_decay=0.05, initial_accumulator_value=2.0)
    options = getattr(mg.optim, name)([mg.nn.Parameter(mg.ones(1))]).defaults
    second = {key: value for key, value in overrides.items() if key in options}
    optimizers = []
    for library in (mg, torch):
        params = [library.nn.Parameter(library.tensor(array.copy())) for array in arrays]
        optimizers.append(getattr(library.optim, name)([{"params": params[:1]}, {"params": params[1:], **second}],
                                                       **kwargs))
    mg_opt, torch_opt = optimizers
    step_both(mg_opt, torch_opt, rng)
    for mine, theirs in zip(mg_opt.param_groups, torch_opt.param_groups):
        assert {k: v for k, v in mine.items() if k != "params"}.items() <= theirs.items()


@pytest.mark.parametrize("name", NEW_OPTIMIZERS + ["SGD", "Adam", "AdamW"])
def test_defaults_are_torchs(name):
    mine = getattr(mg.optim, name)([mg.nn.Parameter(mg.ones(2))]).defaults
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2))]).defaults
    assert mine == theirs  # torch's switches of how a step runs (foreach, ...) too, which change nothing here


@pytest.mark.parametrize("name, kwargs", CASES)
def test_state_dict_has_torchs_keys_and_values(name, kwargs):
    rng = np.random.default_rng(2)
    mg_opt, torch_opt = make_optimizers(name, kwargs, random_arrays(rng))
    step_both(mg_opt, torch_opt, rng, steps=3)
    mine, theirs = mg_opt.state_dict()["state"], torch_opt.state_dict()["state"]
    assert set(mine) == set(theirs)
    for index, state in theirs.items():
        assert set(mine[index]) == set(state)
        for key, value in state.items():
            if value.ndim:
                np.testing.assert_allclose(mine[index][key], value.numpy(), rtol=1e-5, atol=1e-7)
            else:  # step, and NAdam's mu_product kept in float32 as torch keeps it
                assert mine[index][key] == value.item()


def test_adagrads_state_starts_at_construction_as_torchs():
    mg_opt, torch_opt = make_optimizers("Adagrad", dict(initial_accumulator_value=0.25), random_arrays(
        np.random.default_rng(3)))
    mine, theirs = mg_opt.state_dict()["state"], torch_opt.state_dict()["state"]
    assert set(mine) == set(theirs) == {0, 1, 2}
    for index, state in theirs.items():
        assert mine[index]["step"] == state["step"].item() == 0
        np.testing.assert_array_equal(mine[index]["sum"], state["sum"].numpy())


RESUME_CASES = ["Adam-amsgrad", "AdamW-amsgrad", "SGD-dampening-l2", "RMSprop-centered-momentum-maximize",
                "Adagrad-lr_decay-l2", "Adamax", "NAdam-momentum_decay-l2", "RAdam-decoupled-maximize",
                "Adadelta-rho-eps-l2"]


@pytest.mark.parametrize("case", RESUME_CASES)
def test_resume_from_saved_state_is_bit_exact(tmp_path, case):
    name, kwargs = CONFIGS[case]
    test_optim.test_resume_from_saved_state_is_bit_exact(tmp_path, name, dict(kwargs, lr=0.01))


@pytest.mark.parametrize("kwargs", [dict(amsgrad=True), dict(maximize=True)], ids=str)
def test_adam_groups_with_amsgrad_or_maximize_take_the_array_path(kwargs, host_kernels):
    """Under the kernels, a group of torch's default Adam steps in one launch; one with amsgrad or maximize, which
    the kernel lacks, steps through update, and both still match torch."""
    rng = np.random.default_rng(4)
    arrays = random_arrays(rng)
    optimizers = []
    for library in (mg, torch):
        params = [library.nn.Parameter(library.tensor(array.copy())) for array in arrays]
        optimizers.append(library.optim.Adam([{"params": params[:1]}, {"params": params[1:], **kwargs}], lr=0.1))
    step_both(*optimizers, rng)
    assert host_kernels.launches == ["adam"] * STEPS


GPU_CASES = ["Adam-decoupled-amsgrad-maximize", "SGD-dampening-l2", "RMSprop-centered-momentum-maximize",
             "Adagrad-lr_decay-l2", "Adamax-betas-eps-l2", "NAdam-momentum_decay-l2", "RAdam-betas-l2",
             "Adadelta-rho-eps-l2"]


@pytest.mark.parametrize("case", GPU_CASES)
def test_the_gpu_path_steps_as_the_cpu(case, gpu_path):
    """Every optimizer's state and update stay on the device; an Adam group with amsgrad or maximize beside a
    default one leaves the kernel to the default one."""
    name, kwargs = CONFIGS[case]
    rng = np.random.default_rng(5)
    arrays, coefficients = random_arrays(rng), random_arrays(rng)

    def run(device):
        params = [mg.nn.Parameter(mg.tensor(array, device=device)) for array in arrays]
        groups = [{"params": params[1:]}] + ([{"params": params[:1], "amsgrad": False, "maximize": False}]
                                              if name == "Adam" else [])
        optimizer = getattr(mg.optim, name)(groups, **kwargs)
        for _ in range(STEPS):
            optimizer.zero_grad()
            test_optim.polynomial_loss(params, [mg.tensor(c, device=device) for c in coefficients]).backward()
            optimizer.step()
        assert all(p.device == device for p in params)
        return [p.numpy() for p in params]

    for gpu, cpu in zip(run("gpu"), run("cpu"), strict=True):
        assert relative_error(gpu, cpu) <= 1e-5
    assert gpu_path.launches.count("adam") == (STEPS if name == "Adam" else 0)


@pytest.mark.parametrize("name", NEW_OPTIMIZERS)
def test_step_lr_schedules_them_as_torchs(name):
    rng = np.random.default_rng(6)
    mg_opt, torch_opt = make_optimizers(name, dict(lr=0.05), random_arrays(rng))
    schedulers = [mg.optim.lr_scheduler.StepLR(mg_opt, step_size=2, gamma=0.5),
                  torch.optim.lr_scheduler.StepLR(torch_opt, step_size=2, gamma=0.5)]
    for step in range(6):
        step_both(mg_opt, torch_opt, rng, steps=1)
        for scheduler in schedulers:
            scheduler.step()
        assert mg_opt.param_groups[0]["lr"] == torch_opt.param_groups[0]["lr"] == 0.05 * 0.5 ** ((step + 1) // 2)


BAD_ARGUMENTS = {
    "SGD-lr": ("SGD", dict(lr=-0.1)),
    "SGD-momentum": ("SGD", dict(momentum=-0.5)),
    "SGD-weight_decay": ("SGD", dict(weight_decay=-1e-4)),
    "SGD-nesterov-without-momentum": ("SGD", dict(nesterov=True)),
    "SGD-nesterov-with-dampening": ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True)),
    "RMSprop-lr": ("RMSprop", dict(lr=-1.0)),
    "RMSprop-eps": ("RMSprop", dict(eps=-1e-8)),
    "RMSprop-momentum": ("RMSprop", dict(momentum=-0.1)),
    "RMSprop-weight_decay": ("RMSprop", dict(weight_decay=-0.1)),
    "RMSprop-alpha": ("RMSprop", dict(alpha=-0.5)),
    "RMSprop-first-of-several": ("RMSprop", dict(alpha=-0.5, momentum=-0.1)),
    "Adagrad-lr_decay": ("Adagrad", dict(lr_decay=-0.1)),
    "Adagrad-weight_decay": ("Adagrad", dict(weight_decay=-0.1)),
    "Adagrad-initial_accumulator_value": ("Adagrad", dict(initial_accumulator_value=-1.0)),
    "Adagrad-eps": ("Adagrad", dict(eps=-1.0)),
    "Adamax-beta0": ("Adamax", dict(betas=(1.0, 0.9))),
    "Adamax-beta1": ("Adamax", dict(betas=(0.9, -0.1))),
    "Adamax-eps": ("Adamax", dict(eps=-1.0)),
    "NAdam-momentum_decay": ("NAdam", dict(momentum_decay=-1e-3)),
    "NAdam-beta1": ("NAdam", dict(betas=(0.9, 1.5))),
    "RAdam-weight_decay": ("RAdam", dict(weight_decay=-0.1)),
    "RAdam-lr": ("RAdam", dict(lr=float("nan"))),
    "Adadelta-rho-above-1": ("Adadelta", dict(rho=1.5)),
    "Adadelta-rho-below-0": ("Adadelta", dict(rho=-0.5)),
    "Adadelta-eps": ("Adadelta", dict(eps=-1e-6)),
    "Adadelta-lr": ("Adadelta", dict(lr=-1.0)),
    "AdamW-eps": ("AdamW", dict(eps=-1.0, amsgrad=True)),
}


@pytest.mark.parametrize("name, kwargs", [pytest.param(*case, id=key) for key, case in BAD_ARGUMENTS.items()])
def test_bad_hyper_parameters_are_torchs_errors(name, kwargs):
    assert_raises_as_torch(lambda: getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(1))], **kwargs),
                           lambda: getattr(mg.optim, name)([mg.nn.Parameter(mg.ones(1))], **kwargs))


@pytest.mark.parametrize("name", NEW_OPTIMIZERS)
def test_edge_values_torch_accepts_are_accepted(name):
    """rho = 1 and the zero values torch's ranges allow build an optimizer in both libraries."""
    kwargs = dict(rho=1.0) if name == "Adadelta" else dict(lr=0.0, eps=0.0, weight_decay=0.0)
    for library in (mg, torch):
        getattr(library.optim, name)([library.nn.Parameter(library.ones(1))], **kwargs)
