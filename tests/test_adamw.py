"""AdamW against torch.optim.AdamW: the decoupled decay, its state dict, and the GPU kernel's step."""
import numpy as np
import pytest

import minigrad as mg
import test_optim
from test_optim import STEPS, assert_params_agree, make_optimizers, random_arrays

torch = pytest.importorskip("torch")

CONFIGS = [
    dict(),  # torch's defaults: lr 1e-3, weight_decay 1e-2
    dict(lr=0.1),
    dict(lr=0.05, weight_decay=0.5, betas=(0.8, 0.99), eps=1e-3),
    dict(lr=0.1, weight_decay=0.0),
]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=str)
def test_steps_match_torch_with_injected_grads(kwargs):
    """As close as Adam's own steps are to torch's (its lerp rounds differently: a few float32 ulps)."""
    test_optim.test_update_rule_matches_torch_with_injected_grads("AdamW", kwargs)


@pytest.mark.parametrize("kwargs", CONFIGS, ids=str)
def test_training_matches_torch_with_autograd_grads(kwargs):
    test_optim.test_training_matches_torch_with_autograd_grads("AdamW", kwargs)


def test_the_decay_is_decoupled_from_the_gradient():
    """A parameter with a zero gradient still shrinks by lr * weight_decay, where Adam's L2 decay would move it
    by about lr (Adam normalises the decay term's size away)."""
    param = mg.nn.Parameter(np.full(3, 2.0, np.float32))
    optimizer = mg.optim.AdamW([param], lr=0.1, weight_decay=0.5)
    param.grad = mg.zeros(3)
    optimizer.step()
    np.testing.assert_allclose(param.numpy(), 2.0 * (1 - 0.1 * 0.5), rtol=1e-7)


def test_adam_takes_decoupled_weight_decay_as_torchs():
    rng = np.random.default_rng(3)
    arrays = random_arrays(rng)
    kwargs = dict(lr=0.1, weight_decay=0.3)
    adamw, _ = make_optimizers("AdamW", kwargs, arrays)
    adam, torch_adam = make_optimizers("Adam", dict(kwargs, decoupled_weight_decay=True), arrays)
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True
    assert {k for k in adam.param_groups[0]} <= set(torch_adam.param_groups[0])
    for step in range(STEPS):
        grads = random_arrays(rng)
        for optimizer in (adamw, adam):
            for param, grad in zip(test_optim.params_of(optimizer), grads):
                param.grad = mg.tensor(grad)
            optimizer.step()
        for param, grad in zip(test_optim.params_of(torch_adam), grads):
            param.grad = torch.from_numpy(grad.copy())
        torch_adam.step()
        assert_params_agree(adam, torch_adam, step)
        for a, b in zip(test_optim.params_of(adamw), test_optim.params_of(adam)):
            assert np.array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("kwargs", CONFIGS, ids=str)
def test_the_gpu_kernel_matches_torch_in_one_launch_per_step(kwargs, host_kernels):
    """The decay is one multiply per parameter ahead of the Adam kernel, which still updates every parameter in
    one launch."""
    test_optim.test_update_rule_matches_torch_with_injected_grads("AdamW", kwargs)
    assert host_kernels.launches == ["adam"] * STEPS


def test_the_gpu_path_steps_as_the_cpu(gpu_path):
    def run(device):
        model, optimizer = test_optim.seeded_model_and_optimizer(0, "AdamW", dict(lr=0.01, weight_decay=0.1))
        model.to(device)
        batch = mg.tensor(random_arrays(np.random.default_rng(4), [(2, 2, 6, 6)])[0], device=device)
        test_optim.train_steps(model, optimizer, batch, mg.tensor(0.5, device=device), 4)
        return [p.numpy() for p in model.parameters()]

    for gpu, cpu in zip(run("gpu"), run("cpu"), strict=True):
        np.testing.assert_allclose(gpu, cpu, rtol=1e-5, atol=1e-6)
    assert "adam" in gpu_path.launches


def test_state_dict_round_trip_resumes_bit_for_bit(tmp_path):
    test_optim.test_resume_from_saved_state_is_bit_exact(tmp_path, "AdamW", dict(lr=0.01, weight_decay=0.1))


def test_state_dict_is_torchs():
    rng = np.random.default_rng(5)
    mg_opt, torch_opt = make_optimizers("AdamW", dict(lr=0.02), random_arrays(rng))
    for _ in range(3):
        test_optim.inject_same_grads(mg_opt, torch_opt, rng)
        mg_opt.step()
        torch_opt.step()
    mine, theirs = mg_opt.state_dict(), torch_opt.state_dict()
    group = mine["param_groups"][0]
    assert all(group[k] == theirs["param_groups"][0][k] for k in group)
    for index, state in theirs["state"].items():
        assert mine["state"][index]["step"] == state["step"].item()
        for key in ("exp_avg", "exp_avg_sq"):
            np.testing.assert_allclose(mine["state"][index][key], state[key].numpy(), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(eps=-1e-8), dict(betas=(1.0, 0.9)), dict(betas=(0.9, 1.0)),
                                    dict(betas=(-0.1, 0.9)), dict(weight_decay=-0.1)])
@pytest.mark.parametrize("name", ["Adam", "AdamW"])
def test_bad_hyper_parameters_are_torchs_errors(name, kwargs):
    with pytest.raises(ValueError) as theirs:
        getattr(torch.optim, name)([torch.nn.Parameter(torch.ones(1))], **kwargs)
    with pytest.raises(ValueError) as ours:
        getattr(mg.optim, name)([mg.nn.Parameter(mg.ones(1))], **kwargs)
    assert str(ours.value) == str(theirs.value)
