"""An lr given as a tensor, which torch's optimizers take and its schedulers change in place: the steps as torch's
(SGD, Adam and AdamW under schedulers, every optimizer for a few steps), the group's tensor kept (base_lrs,
initial_lr and get_last_lr clones of it), and torch's errors (an lr of several elements, Adam's foreach)."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
WEIGHTS = RNG.standard_normal((3, 4)).astype(np.float32)
INPUTS = RNG.standard_normal((5, 4)).astype(np.float32)

SCHEDULERS = {
    "StepLR": lambda L, o: L.optim.lr_scheduler.StepLR(o, 2, gamma=0.5),
    "ExponentialLR": lambda L, o: L.optim.lr_scheduler.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda L, o: L.optim.lr_scheduler.CosineAnnealingLR(o, 5, eta_min=1e-3),
    "LambdaLR": lambda L, o: L.optim.lr_scheduler.LambdaLR(o, lambda epoch: 0.9 ** epoch),
    "OneCycleLR": lambda L, o: L.optim.lr_scheduler.OneCycleLR(o, max_lr=0.1, total_steps=10),
    "ReduceLROnPlateau": lambda L, o: L.optim.lr_scheduler.ReduceLROnPlateau(o, patience=0, factor=0.5),
    "SequentialLR": lambda L, o: L.optim.lr_scheduler.SequentialLR(o, [
        L.optim.lr_scheduler.ConstantLR(o, factor=0.5, total_iters=2), L.optim.lr_scheduler.ExponentialLR(o, 0.8)],
        milestones=[3]),
    "ChainedScheduler": lambda L, o: L.optim.lr_scheduler.ChainedScheduler([
        L.optim.lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=3),
        L.optim.lr_scheduler.MultiStepLR(o, milestones=[2, 5], gamma=0.5)]),
    "PolynomialLR": lambda L, o: L.optim.lr_scheduler.PolynomialLR(o, total_iters=6, power=2.0),
    "CosineAnnealingWarmRestarts": lambda L, o: L.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=3),
    "CyclicLR": lambda L, o: L.optim.lr_scheduler.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2,
                                                           cycle_momentum=False),
    "SWALR": lambda L, o: L.optim.swa_utils.SWALR(o, swa_lr=0.01, anneal_epochs=3),
}
OPTIMIZERS = {
    "SGD": lambda L, params, lr: L.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=1e-2),
    "Adam": lambda L, params, lr: L.optim.Adam(params, lr=lr, amsgrad=True),
    "AdamW": lambda L, params, lr: L.optim.AdamW(params, lr=lr),
}


def _loss(L, param):
    return ((L.tensor(INPUTS) @ param.t()) ** 2).mean()


def _scheduled_run(L, optimizer, scheduler, steps=8):
    """The parameter and the lr after each step, and what the scheduler keeps, with the group's tensor checked to
    be the one given throughout."""
    param, lr = L.nn.Parameter(L.tensor(WEIGHTS)), L.tensor(0.05)
    opt = OPTIMIZERS[optimizer](L, [param], lr)
    schedule = SCHEDULERS[scheduler](L, opt)
    lrs = []
    for _ in range(steps):
        opt.zero_grad()
        loss = _loss(L, param)
        loss.backward()
        opt.step()
        schedule.step(loss.item()) if scheduler == "ReduceLROnPlateau" else schedule.step()
        assert opt.param_groups[0]["lr"] is lr
        lrs.append(lr.item())
    kept = [*schedule.get_last_lr(), opt.param_groups[0].get("initial_lr"), *getattr(schedule, "base_lrs", [])]
    assert all(value is not lr for value in kept)
    kept_values = [(type(value).__name__, float(value)) for value in kept if value is not None]
    return param.detach().numpy(), lrs, kept_values


@pytest.mark.parametrize("scheduler", SCHEDULERS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_a_scheduled_lr_tensor_steps_as_torchs(optimizer, scheduler):
    (their_param, their_lrs, their_kept), (param, lrs, kept) = (_scheduled_run(L, optimizer, scheduler)
                                                                  for L in (torch, mg))
    np.testing.assert_allclose(param, their_param, rtol=1e-6, atol=1e-7)
    assert not np.allclose(param, WEIGHTS)
    np.testing.assert_allclose(lrs, their_lrs, rtol=1e-7)
    assert kept == their_kept


EVERY_OPTIMIZER = {
    "Adagrad": {}, "RMSprop": dict(momentum=0.5, centered=True), "Adamax": {}, "NAdam": {}, "RAdam": {},
    "ASGD": {}, "Rprop": {}, "Adadelta": {}, "Adafactor": {}, "Muon": {}, "SGD": dict(nesterov=True, momentum=0.5),
    "Adam": dict(decoupled_weight_decay=True, weight_decay=0.1), "AdamW": dict(foreach=True, capturable=False,
                                                                               lr_is_number=True),
}


def _run(L, name, lr, steps=3, **options):
    param = L.nn.Parameter(L.tensor(WEIGHTS))
    opt = getattr(L.optim, name)([param], lr=lr, **options)
    for _ in range(steps):
        opt.zero_grad()
        _loss(L, param).backward()
        opt.step()
    return param.detach().numpy()


@pytest.mark.parametrize("name", EVERY_OPTIMIZER)
def test_every_optimizer_takes_an_lr_tensor_as_torchs(name):
    options = dict(EVERY_OPTIMIZER[name])
    as_number = options.pop("lr_is_number", False)
    for shape in [(), (1,)]:
        results = [_run(L, name, 0.02 if as_number else L.full(shape, 0.02), **options) for L in (torch, mg)]
        np.testing.assert_allclose(results[1], results[0], rtol=1e-6, atol=1e-7)


def test_lbfgs_takes_an_lr_tensor_as_torchs():
    results = []
    for L in (torch, mg):
        param = L.nn.Parameter(L.tensor(WEIGHTS))
        opt = L.optim.LBFGS([param], lr=L.tensor(0.5), max_iter=4)

        def closure():
            opt.zero_grad()
            loss = _loss(L, param)
            loss.backward()
            return loss
        opt.step(closure)
        results.append(param.detach().numpy())
    np.testing.assert_allclose(results[1], results[0], rtol=1e-5, atol=1e-6)


ERRORS = {
    **{f"{name} of two elements": (lambda L, name=name: getattr(L.optim, name)(
        [L.nn.Parameter(L.ones(2, 2))], lr=L.tensor([0.1, 0.2]))) for name in [
        "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "Adadelta",
        "Adafactor", "Muon", "LBFGS"]},
    "negative": lambda L: L.optim.SGD([L.nn.Parameter(L.ones(2))], lr=L.tensor(-0.01)),
    "Adam foreach": lambda L: L.optim.Adam([L.nn.Parameter(L.ones(2))], lr=L.tensor(0.01), foreach=True),
    "AdamW foreach": lambda L: L.optim.AdamW([L.nn.Parameter(L.ones(2))], lr=L.tensor(0.01), foreach=True),
    "Adam foreach of several elements": lambda L: L.optim.Adam([L.nn.Parameter(L.ones(2))], lr=L.ones(2),
                                                               foreach=True),
    "Adam foreach given a tensor later": lambda L: _stepped(_lr_made_a_tensor(
        L, L.optim.Adam([L.nn.Parameter(L.ones(2))], lr=0.01, foreach=True))),
}


def _stepped(optimizer):
    for group in optimizer.param_groups:
        for param in group["params"]:
            param.grad = param.detach() * 0 + 1
    optimizer.step()


def _lr_made_a_tensor(L, optimizer):
    optimizer.param_groups[0]["lr"] = L.tensor(0.01)
    return optimizer


@pytest.mark.parametrize("make", ERRORS.values(), ids=ERRORS.keys())
def test_errors_are_torchs(make):
    assert_raises_as_torch(lambda: make(torch), lambda: make(mg))


def test_adam_takes_an_lr_tensor_with_foreach_where_capturable_as_torchs():
    for L in (torch, mg):
        lr = L.tensor(0.01)
        assert L.optim.Adam([L.nn.Parameter(L.ones(2))], lr=lr, foreach=True, capturable=True).defaults["lr"] is lr
