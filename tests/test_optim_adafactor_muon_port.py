"""Adafactor and Muon against torch.optim: their steps (from injected gradients, from autograd's), param groups,
defaults, state dicts (torch's keys and values; torch's loaded into minigrad and minigrad's into torch, each going
on as the other; a bit-exact resume), argument errors, an lr scheduler and the GPU path.

Muon orthogonalises in bfloat16, as torch's, each product summed in float32 and rounded once: a sum of another
order than torch's now and then rounds to the neighbouring bfloat16 (rarely on matrices this small, at most 8 a side;
test_newton_schulz_is_torchs_within_bfloat16_rounding counts them on larger ones), so Muon's parameters agree with
torch's to a bfloat16 step of the update a step, its other arithmetic (lerp, add_ with alpha) to the bit."""
import numpy as np
import pytest

import minigrad as mg
import test_more_optimizers
import test_optim
from conftest import assert_raises_as_torch, relative_error
from test_more_optimizers import step_both
from test_optim import STEPS, make_optimizers, random_arrays
from test_optimizer_state_port import (assert_each_goes_on_from_the_others_state, assert_state_dict_is_torchs, make,
                                       params_of, step_pair, values_of)

torch = pytest.importorskip("torch")

MATRICES = [(4, 3), (5, 7), (8, 8), (2, 6)]  # tall, wide and square, for Muon
SHAPES = {"Adafactor": test_optim.PARAM_SHAPES + [(), (3, 1)], "Muon": MATRICES}
CONFIGS = {
    "Adafactor": ("Adafactor", dict()),
    "Adafactor-lr-decay-d-beta2": ("Adafactor", dict(lr=0.1, weight_decay=0.1, d=1.5, beta2_decay=-0.5)),
    "Adafactor-eps": ("Adafactor", dict(lr=0.05, eps=(1e-3, 1e-2))),
    "Adafactor-maximize-foreach": ("Adafactor", dict(maximize=True, foreach=True)),
    "Muon": ("Muon", dict()),
    "Muon-plain-momentum": ("Muon", dict(lr=0.02, nesterov=False, weight_decay=0.0)),
    "Muon-match_rms_adamw": ("Muon", dict(lr=0.02, momentum=0.5, adjust_lr_fn="match_rms_adamw")),
    "Muon-original-ns": ("Muon", dict(lr=0.02, adjust_lr_fn="original", ns_steps=3, eps=1e-3,
                                      ns_coefficients=(3.0, -3.2, 1.2))),
}
CASES = [pytest.param(name, kwargs, id=case) for case, (name, kwargs) in CONFIGS.items()]


def arrays_for(name, rng):
    return random_arrays(rng, SHAPES[name])


def assert_within_bfloat16_steps(mg_opt, torch_opt, steps):
    """Muon's parameters as torch's to within a bfloat16 step (2**-7 of the orthogonalised update's entries, which
    are under 2) times the step's lr, a step."""
    for group in mg_opt.param_groups:
        for mine, reference in zip(group["params"], params_of(torch_opt)):
            bound = steps * group["lr"] * mg.optim.Muon.lr_factors[group["adjust_lr_fn"]](*mine.shape) * 2 ** -6
            assert np.abs(mine.numpy() - reference.detach().numpy()).max() <= bound, f"after {steps} steps"


@pytest.mark.parametrize("name, kwargs", CASES)
def test_steps_match_torch_with_injected_grads(name, kwargs):
    rng = np.random.default_rng(0)
    mg_opt, torch_opt = make_optimizers(name, kwargs, arrays_for(name, rng))
    if name == "Adafactor":
        step_both(mg_opt, torch_opt, rng)
        return
    for step in range(STEPS):
        test_optim.inject_same_grads(mg_opt, torch_opt, rng)
        mg_opt.step()
        torch_opt.step()
        assert_within_bfloat16_steps(mg_opt, torch_opt, step + 1)


def test_adafactor_in_float64_takes_float64s_epsilon_as_torchs():
    """Gradients of 1e-9, whose squares are under float32's epsilon squared but over float64's."""
    rng = np.random.default_rng(1)
    mg_opt, torch_opt = make_optimizers("Adafactor", dict(eps=(None, 1e-3)), [array.astype(np.float64) for array in
                                                                             random_arrays(rng)])
    for step in range(STEPS):
        for mine, reference in zip(params_of(mg_opt), params_of(torch_opt)):
            grad = rng.standard_normal(mine.shape) * 1e-9
            mine.grad, reference.grad = mg.tensor(grad), torch.from_numpy(grad.copy())
        mg_opt.step()
        torch_opt.step()
        for mine, reference in zip(params_of(mg_opt), params_of(torch_opt)):
            assert mine.dtype == mg.float64
            assert relative_error(mine.numpy(), reference.detach().numpy()) <= 1e-12, f"step {step}"


def test_adafactor_training_matches_torch_with_autograd_grads():
    test_optim.test_training_matches_torch_with_autograd_grads("Adafactor", dict(lr=0.05))


def test_muon_training_matches_torch_with_autograd_grads():
    rng = np.random.default_rng(2)
    mg_opt, torch_opt = make_optimizers("Muon", dict(lr=0.02), arrays_for("Muon", rng))
    coefficients = arrays_for("Muon", rng)
    for step in range(STEPS):
        test_optim.backprop_polynomial_loss(mg_opt, torch_opt, coefficients)
        mg_opt.step()
        torch_opt.step()
        assert_within_bfloat16_steps(mg_opt, torch_opt, step + 1)


@pytest.mark.parametrize("case", ["Adafactor-lr-decay-d-beta2", "Adafactor-maximize-foreach"])
def test_adafactor_param_groups_with_their_own_hyper_parameters_match_torch(case):
    test_more_optimizers.test_param_groups_with_their_own_hyper_parameters_match_torch(*CONFIGS[case])


@pytest.mark.parametrize("name", ["Adafactor", "Muon"])
def test_defaults_are_torchs(name):
    mine = getattr(mg.optim, name)([mg.nn.Parameter(mg.ones(2, 2))]).defaults
    theirs = getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2, 2))]).defaults
    assert mine == theirs


def stepped(case, seed=0):
    """A minigrad and a torch optimizer of the case over two groups (the second with half the lr), stepped alike."""
    name, kwargs = CONFIGS[case]
    rng = np.random.default_rng(seed)
    arrays = arrays_for(name, rng)
    ours, theirs = make(mg, name, arrays, dict(kwargs, lr=0.05)), make(torch, name, arrays, dict(kwargs, lr=0.05))
    step_pair(ours, theirs, rng)
    return ours, theirs, rng


@pytest.mark.parametrize("case", CONFIGS)
def test_state_dict_is_torchs_once_its_arrays_are_tensors(case):
    """Adafactor's row_var and col_var (a matrix's), or variance (a vector's or a number's), after its step; Muon's
    momentum_buffer; each 0-d step a float32 tensor as torch's."""
    assert_state_dict_is_torchs(*stepped(case)[:2])


@pytest.mark.parametrize("case", ["Adafactor-lr-decay-d-beta2", "Adafactor-maximize-foreach", "Muon",
                                  "Muon-match_rms_adamw"])
def test_state_moves_both_ways_and_each_goes_on_as_the_other(case):
    assert_each_goes_on_from_the_others_state(CONFIGS[case][0], *stepped(case))


@pytest.mark.parametrize("case", ["Adafactor-lr-decay-d-beta2", "Muon-plain-momentum"])
def test_a_round_trip_through_a_file_goes_on_bit_for_bit(tmp_path, case):
    ours, theirs, _ = stepped(case)
    mg.save({"optimizer": ours.state_dict()}, tmp_path / "optimizer.npz")
    resumed = make(mg, CONFIGS[case][0], values_of(ours))
    resumed.load_state_dict(mg.load(tmp_path / "optimizer.npz")["optimizer"])
    step_pair(ours, theirs, np.random.default_rng(1))
    step_pair(resumed, theirs, np.random.default_rng(1))
    for mine, expected in zip(values_of(resumed), values_of(ours), strict=True):
        np.testing.assert_array_equal(mine, expected)


def test_adafactor_step_lr_schedules_it_as_torchs():
    test_more_optimizers.test_step_lr_schedules_them_as_torchs("Adafactor")


@pytest.mark.parametrize("shape", [(16, 32), (48, 24), (64, 64)])
def test_newton_schulz_is_torchs_within_bfloat16_rounding(shape):
    """Entries that round apart differ by a few bfloat16 steps at most (2**-8 of their size, the iteration
    amplifying it), and are few."""
    from torch.optim._muon import _zeropower_via_newtonschulz
    coefficients = (3.4445, -4.7750, 2.0315)
    matrix = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    mine = mg.optim._orthogonalised(matrix, coefficients, 5, 1e-7)
    theirs = _zeropower_via_newtonschulz(torch.from_numpy(matrix), coefficients, 5, 1e-7).float().numpy()
    assert mine.dtype == np.float32 and mine.shape == shape
    assert np.mean(mine != theirs) < 0.1
    assert relative_error(mine, theirs) < 2e-2


@pytest.mark.parametrize("case", ["Adafactor-lr-decay-d-beta2", "Muon-match_rms_adamw"])
def test_the_gpu_path_steps_as_the_cpu(case, gpu_path):
    name, kwargs = CONFIGS[case]
    rng = np.random.default_rng(5)
    arrays, grads = arrays_for(name, rng), [arrays_for(name, rng) for _ in range(3)]

    def run(device):
        params = [mg.nn.Parameter(mg.tensor(array, device=device)) for array in arrays]
        optimizer = getattr(mg.optim, name)(params, **kwargs)
        for step_grads in grads:
            for param, grad in zip(params, step_grads):
                param.grad = mg.tensor(grad, device=device)
            optimizer.step()
        assert all(param.device == device for param in params)
        return [param.numpy() for param in params]

    for gpu, cpu in zip(run("gpu"), run("cpu"), strict=True):
        assert relative_error(gpu, cpu) <= 1e-5


BAD_ARGUMENTS = {
    "Adafactor-lr": ("Adafactor", dict(lr=-0.1)),
    "Adafactor-beta2_decay": ("Adafactor", dict(beta2_decay=0.5)),
    "Adafactor-eps1": ("Adafactor", dict(eps=(-1e-3, 1e-3))),
    "Adafactor-eps2": ("Adafactor", dict(eps=(None, -1e-3))),
    "Adafactor-d": ("Adafactor", dict(d=0.5)),
    "Adafactor-weight_decay": ("Adafactor", dict(weight_decay=-0.1)),
    "Adafactor-first-of-several": ("Adafactor", dict(d=0.5, weight_decay=-0.1)),
    "Adafactor-nan-lr": ("Adafactor", dict(lr=float("nan"))),
    "Adafactor-fused": ("Adafactor", dict(fused=True)),
    "Adafactor-capturable": ("Adafactor", dict(capturable=True)),
    "Muon-lr": ("Muon", dict(lr=-1.0)),
    "Muon-momentum": ("Muon", dict(momentum=-0.5)),
    "Muon-weight_decay": ("Muon", dict(weight_decay=-0.1)),
    "Muon-adjust_lr_fn": ("Muon", dict(adjust_lr_fn="spectral")),
    "Muon-foreach": ("Muon", dict(foreach=True)),
    "Muon-maximize": ("Muon", dict(maximize=True)),
}


@pytest.mark.parametrize("name, kwargs", [pytest.param(*case, id=key) for key, case in BAD_ARGUMENTS.items()])
def test_bad_hyper_parameters_are_torchs_errors(name, kwargs):
    assert_raises_as_torch(lambda: getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(2, 2))], **kwargs),
                           lambda: getattr(mg.optim, name)([mg.nn.Parameter(mg.ones(2, 2))], **kwargs))


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_muon_refuses_a_parameter_that_is_not_a_matrix_as_torch(shape):
    assert_raises_as_torch(lambda: torch.optim.Muon([torch.nn.Parameter(torch.ones(2, 2)),
                                                     torch.nn.Parameter(torch.ones(shape))]),
                           lambda: mg.optim.Muon([mg.nn.Parameter(mg.ones(2, 2)), mg.nn.Parameter(mg.ones(shape))]))


MUON_STEP_ERRORS = {
    "ns_steps": dict(ns_steps=100),
    "ns_coefficients": dict(ns_coefficients=(3.0, -3.0)),
    "a-vector-added-later": dict(),
}


@pytest.mark.parametrize("case", MUON_STEP_ERRORS)
def test_muon_steps_refuse_as_torchs(case):
    """ns_steps and ns_coefficients are checked by the step, as torch's; a group added after construction is not
    checked for matrices until its gradient is stepped."""
    def stepping(library):
        matrix = library.nn.Parameter(library.ones(2, 3))
        optimizer = library.optim.Muon([matrix], **MUON_STEP_ERRORS[case])
        params = [matrix]
        if case == "a-vector-added-later":
            params.append(library.nn.Parameter(library.ones(3)))
            optimizer.add_param_group({"params": params[1:]})
        for param in params:
            param.grad = library.ones_like(param)
        return optimizer.step
    assert_raises_as_torch(stepping(torch), stepping(mg))


@pytest.mark.parametrize("name, kwargs", [("Adafactor", dict(lr=0.0, eps=(0.0, 0.0), d=1.0, weight_decay=0.0,
                                                             beta2_decay=0.0)),
                                          ("Muon", dict(lr=0.0, momentum=0.0, weight_decay=0.0))])
def test_edge_values_torch_accepts_are_accepted(name, kwargs):
    for library in (mg, torch):
        getattr(library.optim, name)([library.nn.Parameter(library.ones(2, 2))], **kwargs)
