"""torch's switches of how an optimizer runs rather than what it computes (foreach, fused, capturable), which ported
code passes: each optimizer takes those that torch's takes, keeps them in its groups as torch's, and steps as torch's;
a switch torch's does not take is torch's error. differentiable=True, a step that autograd records, is refused."""
import inspect

import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch
from test_more_optimizers import step_both
from test_optim import make_optimizers, random_arrays

torch = pytest.importorskip("torch")

OPTIMIZERS = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam", "RMSprop", "Adagrad", "Adadelta", "Rprop", "ASGD",
              "LBFGS"]
SWITCHES = ("foreach", "fused", "capturable", "differentiable")


def takes(name, switch):
    return switch in inspect.signature(getattr(torch.optim, name)).parameters


def groups_without_params(optimizer):
    return [{key: value for key, value in group.items() if key != "params"} for group in optimizer.param_groups]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_the_switches_torchs_optimizer_takes_are_kept_in_its_groups_as_torchs(name):
    arrays = random_arrays(np.random.default_rng(0))
    for given in ({}, *({switch: value} for switch in SWITCHES[:3] if takes(name, switch) for value in (True, False))):
        ours, theirs = make_optimizers(name, dict(lr=0.01, **given), arrays)
        assert groups_without_params(ours) == groups_without_params(theirs), given


@pytest.mark.parametrize("name", [name for name in OPTIMIZERS if name != "LBFGS"])
def test_steps_with_the_switches_on_are_torchs(name):
    rng = np.random.default_rng(1)
    # (torch's capturable steps only parameters on a GPU)
    step_both(*make_optimizers(name, dict(lr=0.01, foreach=True), random_arrays(rng)), rng, steps=3)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_a_switch_torchs_optimizer_does_not_take_is_torchs_error(name):
    arrays = random_arrays(np.random.default_rng(2))
    for switch in ("bogus", *(switch for switch in SWITCHES if not takes(name, switch))):
        assert_raises_as_torch(lambda: make_optimizers(name, {switch: True}, arrays)[1],
                               lambda: make_optimizers(name, {switch: True}, arrays)[0])


def test_fused_and_foreach_together_are_torchs_error():
    arrays = random_arrays(np.random.default_rng(3))
    assert_raises_as_torch(lambda: make_optimizers("Adam", dict(fused=True, foreach=True), arrays)[1],
                           lambda: make_optimizers("Adam", dict(fused=True, foreach=True), arrays)[0])


def test_a_differentiable_step_is_refused_with_why():
    with pytest.raises(NotImplementedError, match="outside the graph"):
        mg.optim.Adam([mg.nn.Parameter(mg.ones(2))], differentiable=True)
