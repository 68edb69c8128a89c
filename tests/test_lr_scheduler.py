"""minigrad.optim.lr_scheduler against torch.optim.lr_scheduler: every group's lr (and OneCycleLR's momentum)
after each step, get_last_lr, last_epoch, state_dict round trips that resume the same sequence, argument
errors; and Optimizer.add_param_group."""
import copy
import math
import pickle
import warnings

import numpy as np
import pytest

import minigrad as mg
from conftest import error_of

torch = pytest.importorskip("torch")

HOMES = {mg: mg.optim.lr_scheduler, torch: torch.optim.lr_scheduler}
GROUP_LRS = (0.1, 0.03, 0.5)
STEPS = 40
# Flags torch's schedulers set while a step runs, always False between steps: no state to keep.
TORCH_STEP_FLAGS = ("_is_initial", "_get_lr_called_within_step")


class Warmup:
    """A callable object, whose attributes (unlike a function's code) travel in LambdaLR's state_dict."""

    def __init__(self, epochs):
        self.epochs = epochs

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.epochs)


class Damped:
    """A custom scale_fn for CyclicLR, an object whose attributes travel in the state_dict."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return 1 / (1 + self.rate * x)


CONFIGS = {
    "StepLR": dict(step_size=3, gamma=0.3),
    "MultiStepLR": dict(milestones=[2, 5, 5, 11, 30], gamma=0.5),
    "ExponentialLR": dict(gamma=0.93),
    "LambdaLR": dict(lr_lambda=lambda epoch: 0.95 ** epoch / (1 + epoch % 4)),
    "LambdaLR-per-group": dict(lr_lambda=[Warmup(5), lambda epoch: 1 / (1 + epoch), Warmup(9)]),
    "MultiplicativeLR": dict(lr_lambda=lambda epoch: 0.9 if epoch % 3 else 1.05),
    "LinearLR": dict(start_factor=0.25, end_factor=0.9, total_iters=13),
    "LinearLR-decay": dict(start_factor=1.0, end_factor=0.05, total_iters=7),
    "ConstantLR": dict(factor=0.4, total_iters=6),
    "PolynomialLR": dict(total_iters=17, power=2.5),
    "CosineAnnealingLR": dict(T_max=7, eta_min=1e-4),
    "CosineAnnealingWarmRestarts": dict(T_0=4, T_mult=2, eta_min=1e-3),
    "CosineAnnealingWarmRestarts-T_mult-1": dict(T_0=6),
    "OneCycleLR": dict(max_lr=[1.0, 0.2, 0.6], total_steps=STEPS + 1),
    "CyclicLR": dict(base_lr=[0.01, 0.002, 0.05], max_lr=[0.1, 0.03, 0.5], step_size_up=5, step_size_down=3),
    "CyclicLR-triangular2": dict(base_lr=0.01, max_lr=0.2, step_size_up=4, mode="triangular2", base_momentum=0.7),
    "CyclicLR-exp_range": dict(base_lr=0.01, max_lr=0.3, step_size_up=3, mode="exp_range", gamma=0.97,
                               cycle_momentum=False),
    "CyclicLR-scale_fn": dict(base_lr=0.02, max_lr=0.4, step_size_up=6, scale_fn=Damped(0.1),
                              scale_mode="iterations", max_momentum=[0.9, 0.95, 0.99]),
    "OneCycleLR-linear-three-phase": dict(max_lr=0.8, epochs=6, steps_per_epoch=7, anneal_strategy="linear",
                                          three_phase=True, pct_start=0.25, div_factor=10.0, base_momentum=0.8),
}


def class_name(config):
    return config.split("-")[0]


def make_optimizer(library, name="SGD", lrs=GROUP_LRS):
    """Several param groups, each with its own lr (and shape), as a fine-tuning run makes them."""
    groups = [{"params": [library.nn.Parameter(library.zeros(i + 2))], "lr": lr} for i, lr in enumerate(lrs)]
    kwargs = dict(momentum=0.9) if name == "SGD" else {}
    return getattr(library.optim, name)(groups, lr=0.01, **kwargs)


def make_scheduler(library, config, optimizer_name="SGD", lrs=GROUP_LRS, **extra):
    optimizer = make_optimizer(library, optimizer_name, lrs)
    kwargs = copy.deepcopy(CONFIGS[config])  # callable objects of its own (functions are shared)
    return optimizer, getattr(HOMES[library], class_name(config))(optimizer, **kwargs, **extra)


def momentum_of(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def run(optimizer, scheduler, steps):
    """What each step leaves: every group's lr and momentum, get_last_lr() and last_epoch."""
    trace = []
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
        trace.append(([group["lr"] for group in optimizer.param_groups],
                      [momentum_of(group) for group in optimizer.param_groups],
                      list(scheduler.get_last_lr()), getattr(scheduler, "last_epoch", None)))
    return trace


def plain_state(state):
    """A state_dict without torch's in-step flags, nested ones included."""
    state = {key: value for key, value in state.items() if key not in TORCH_STEP_FLAGS}
    if "_schedulers" in state:
        state["_schedulers"] = [plain_state(inner) for inner in state["_schedulers"]]
    return state


@pytest.mark.parametrize("optimizer_name", ["SGD", "Adam"])
@pytest.mark.parametrize("config", list(CONFIGS))
def test_every_group_lr_matches_torch_bit_for_bit(config, optimizer_name):
    torch_opt, torch_sched = make_scheduler(torch, config, optimizer_name)
    mg_opt, mg_sched = make_scheduler(mg, config, optimizer_name)
    assert [g["lr"] for g in mg_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
    assert mg_sched.get_last_lr() == torch_sched.get_last_lr() and mg_sched.last_epoch == torch_sched.last_epoch
    steps = min(STEPS, getattr(torch_sched, "total_steps", STEPS + 1) - 1)
    expected = run(torch_opt, torch_sched, steps)
    assert len({lrs[0] for lrs, *_ in expected}) > 1  # the schedule really moves
    assert run(mg_opt, mg_sched, steps) == expected
    assert plain_state(mg_sched.state_dict()).keys() == plain_state(torch_sched.state_dict()).keys()


@pytest.mark.parametrize("config", list(CONFIGS))
def test_a_state_dict_round_trip_resumes_the_same_sequence(tmp_path, config):
    torch_opt, torch_sched = make_scheduler(torch, config)
    expected = run(torch_opt, torch_sched, 30)
    mg_opt, mg_sched = make_scheduler(mg, config)
    first = run(mg_opt, mg_sched, 13)
    path = tmp_path / "checkpoint.npz"
    mg.save({"optimizer": mg_opt.state_dict(), "scheduler": mg_sched.state_dict()}, path)

    resumed_opt, resumed_sched = make_scheduler(mg, config, lrs=(0.7, 0.8, 0.9))  # deliberately different
    if isinstance(getattr(resumed_sched, "lr_lambdas", [None])[0], Warmup):
        resumed_sched.lr_lambdas[0].epochs = 99  # restored from the state_dict
    if isinstance(getattr(resumed_sched, "_scale_fn_custom", None), Damped):
        resumed_sched._scale_fn_custom.rate = 99.0
    checkpoint = mg.load(path)
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    resumed_sched.load_state_dict(checkpoint["scheduler"])
    assert first + run(resumed_opt, resumed_sched, 17) == expected


@pytest.mark.parametrize("config", ["StepLR", "MultiStepLR", "ExponentialLR", "LinearLR", "ConstantLR",
                                    "PolynomialLR", "CosineAnnealingWarmRestarts", "OneCycleLR", "CyclicLR",
                                    "CyclicLR-scale_fn"])
def test_state_dict_holds_torchs_values(config):
    torch_opt, torch_sched = make_scheduler(torch, config)
    mg_opt, mg_sched = make_scheduler(mg, config)
    run(torch_opt, torch_sched, 9)
    run(mg_opt, mg_sched, 9)
    assert plain_state(mg_sched.state_dict()) == plain_state(torch_sched.state_dict())
    assert {k: v for k, v in mg_opt.state_dict()["param_groups"][2].items() if k != "params"}.items() <= \
        torch_opt.state_dict()["param_groups"][2].items()  # lr, initial_lr, OneCycleLR's max_lr ... among them


def test_a_torch_scheduler_state_loads_into_minigrads():
    """A checkpoint written by torch (its lambdas excluded) carries on in minigrad."""
    torch_opt, torch_sched = make_scheduler(torch, "LambdaLR-per-group")
    run(torch_opt, torch_sched, 6)
    mg_opt, mg_sched = make_scheduler(mg, "LambdaLR-per-group", lrs=(1.0, 1.0, 1.0))
    mg_sched.lr_lambdas[2].epochs = 1
    mg_sched.load_state_dict(pickle.loads(pickle.dumps(torch_sched.state_dict())))
    assert mg_sched.lr_lambdas[2].epochs == 9
    for mg_group, torch_group in zip(mg_opt.param_groups, torch_opt.param_groups):
        mg_group.update(lr=torch_group["lr"], initial_lr=torch_group["initial_lr"])
    assert run(mg_opt, mg_sched, 10) == run(torch_opt, torch_sched, 10)


def warned(function, library):
    """function(library)'s result and the (category, message) of each warning it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function(library)
    return result, [(warning.category, str(warning.message)) for warning in caught]


@pytest.mark.parametrize("config", ["MultiStepLR", "ExponentialLR", "LinearLR", "ConstantLR", "PolynomialLR",
                                    "LambdaLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR"])
def test_step_to_an_epoch_uses_the_closed_form_like_torch(config):
    def jumped(library):
        optimizer, scheduler = make_scheduler(library, config)
        run(optimizer, scheduler, 3)
        lrs = []
        for epoch in (9, 4, 23, 0, 12.5 if config == "CosineAnnealingWarmRestarts" else 12):
            scheduler.step(epoch)
            lrs.append(([group["lr"] for group in optimizer.param_groups], scheduler.last_epoch))
        return lrs + run(optimizer, scheduler, 6)

    # Both warn at each step(epoch) with torch's words, but for CosineAnnealingWarmRestarts, whose epochs may be
    # fractional: torch does not deprecate it there.
    (expected, torch_warnings), (got, mg_warnings) = (warned(jumped, library) for library in (torch, mg))
    assert got == expected
    assert mg_warnings == torch_warnings
    assert len(torch_warnings) == (0 if config == "CosineAnnealingWarmRestarts" else 5)


@pytest.mark.parametrize("config", [*CONFIGS, "SWALR"])
def test_get_lr_called_outside_step_warns_like_torch(config):
    def asked(library):
        if config == "SWALR":
            optimizer = make_optimizer(library)
            scheduler = library.optim.swa_utils.SWALR(optimizer, swa_lr=0.05, anneal_epochs=3)
        else:
            optimizer, scheduler = make_scheduler(library, config)
        return [list(scheduler.get_lr()) for _ in run(optimizer, scheduler, 4)]

    (expected, torch_warnings), (got, mg_warnings) = (warned(asked, library) for library in (torch, mg))
    assert got == expected
    assert mg_warnings == torch_warnings
    assert len(torch_warnings) == 4


@pytest.mark.parametrize("order", ["OS", "SO", "oSO", "SSO", "OSS"])
def test_a_first_step_before_the_optimizers_warns_like_torch(order):
    """O: optimizer.step(), S: scheduler.step(), o: optimizer.step() before the scheduler is made (which torch
    does not count)."""
    def stepped(library):
        optimizer = make_optimizer(library)
        if order.startswith("o"):
            optimizer.step()
        scheduler = library.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.5)
        for call in order.lstrip("o"):
            (optimizer if call == "O" else scheduler).step()
        return [group["lr"] for group in optimizer.param_groups]

    (expected, torch_warnings), (got, mg_warnings) = (warned(stepped, library) for library in (torch, mg))
    assert got == expected
    assert mg_warnings == torch_warnings
    assert len(torch_warnings) == (0 if order.startswith("O") else 1)


def test_made_at_a_last_epoch_on_a_loaded_optimizer_goes_on_like_torch():
    def picked_up(library, config):
        optimizer, scheduler = make_scheduler(library, config)
        run(optimizer, scheduler, 9)
        resumed = make_optimizer(library, lrs=(0.5, 0.5, 0.5))
        resumed.load_state_dict(optimizer.state_dict())
        made_at = getattr(HOMES[library], class_name(config))(resumed, **CONFIGS[config], last_epoch=8)
        return run(resumed, made_at, 12)

    for config in ("MultiStepLR", "ExponentialLR", "LinearLR", "PolynomialLR", "OneCycleLR", "CyclicLR"):
        assert picked_up(mg, config) == picked_up(torch, config), config
    with pytest.raises(KeyError, match=r"param 'initial_lr' is not specified in param_groups\[0\]"):
        mg.optim.lr_scheduler.ExponentialLR(make_optimizer(mg), gamma=0.5, last_epoch=3)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`")
def test_two_schedulers_on_one_optimizer_multiply_like_torch():
    def chained(library):
        home = HOMES[library]
        optimizer = make_optimizer(library)
        schedulers = [home.MultiStepLR(optimizer, milestones=[3, 8]), home.ExponentialLR(optimizer, gamma=0.9),
                      home.LinearLR(optimizer, start_factor=0.5, total_iters=4)]
        trace = []
        for _ in range(15):
            for scheduler in schedulers:
                scheduler.step()
            trace.append(([g["lr"] for g in optimizer.param_groups], [s.get_last_lr() for s in schedulers]))
        return trace

    assert chained(mg) == chained(torch)


def sequential(library):
    home = HOMES[library]
    optimizer = make_optimizer(library)
    warmup = home.LinearLR(optimizer, start_factor=0.1, total_iters=4)
    hold = home.ConstantLR(optimizer, factor=0.5, total_iters=3)
    decay = home.CosineAnnealingLR(optimizer, T_max=9, eta_min=0.001)
    return optimizer, home.SequentialLR(optimizer, [warmup, hold, decay], milestones=[5, 9])


def chained_scheduler(library):
    home = HOMES[library]
    optimizer = make_optimizer(library)
    return optimizer, home.ChainedScheduler([home.ExponentialLR(optimizer, gamma=0.9),
                                             home.StepLR(optimizer, step_size=4, gamma=0.5)])


@pytest.mark.parametrize("make", [sequential, chained_scheduler])
def test_schedulers_made_of_schedulers_match_torch_and_resume(make):
    torch_opt, torch_sched = make(torch)
    mg_opt, mg_sched = make(mg)
    assert [g["lr"] for g in mg_opt.param_groups] == [g["lr"] for g in torch_opt.param_groups]
    assert run(mg_opt, mg_sched, 10) == run(torch_opt, torch_sched, 10)
    assert plain_state(mg_sched.state_dict()) == plain_state(torch_sched.state_dict())
    expected = run(torch_opt, torch_sched, 14)
    resumed_opt, resumed_sched = make(mg)
    resumed_opt.load_state_dict(mg_opt.state_dict())
    resumed_sched.load_state_dict(mg_sched.state_dict())
    assert run(resumed_opt, resumed_sched, 14) == expected


# ----------------------------------------------------------------------------- ReduceLROnPlateau

METRICS = [1.0, 0.9, 0.95, 0.9, 0.8999, 0.91, 0.92, 0.7, 0.71, 0.72, 0.73, 0.74, 0.75, 0.70, 0.699, 0.6999,
           0.71, 0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
PLATEAU_CONFIGS = [
    dict(patience=2),
    dict(patience=1, factor=0.5, threshold=0.05),
    dict(patience=1, factor=0.5, threshold_mode="abs", threshold=0.01, cooldown=2),
    dict(mode="max", patience=1, factor=0.3, min_lr=[0.01, 0.005, 0.02]),
    dict(mode="max", patience=0, threshold_mode="abs", threshold=0.0, min_lr=0.004, cooldown=1),
    dict(patience=0, factor=0.5, eps=0.02),  # a cut smaller than eps is skipped
]


@pytest.mark.parametrize("kwargs", PLATEAU_CONFIGS, ids=lambda kwargs: "-".join(f"{k}={v}" for k, v in kwargs.items()))
def test_reduce_lr_on_plateau_matches_torch_and_resumes(tmp_path, kwargs):
    def trace(library, optimizer, scheduler, metrics):
        out = []
        for metric in metrics:
            optimizer.step()
            scheduler.step(library.tensor(metric, dtype=library.float64))  # as a loss comes
            out.append(([g["lr"] for g in optimizer.param_groups], scheduler.get_last_lr(), scheduler.last_epoch,
                        scheduler.num_bad_epochs, scheduler.cooldown_counter, scheduler.best))
        return out

    torch_opt = make_optimizer(torch)
    torch_sched = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_opt, **kwargs)
    expected = trace(torch, torch_opt, torch_sched, METRICS)
    assert len({lrs[0] for lrs, *_ in expected}) > 2
    mg_opt = make_optimizer(mg)
    mg_sched = mg.optim.lr_scheduler.ReduceLROnPlateau(mg_opt, **kwargs)
    first = trace(mg, mg_opt, mg_sched, METRICS[:11])
    assert plain_state(mg_sched.state_dict()).keys() == torch_sched.state_dict().keys()
    mg.save({"optimizer": mg_opt.state_dict(), "scheduler": mg_sched.state_dict()}, tmp_path / "c.npz")
    resumed_opt = make_optimizer(mg)
    resumed = mg.optim.lr_scheduler.ReduceLROnPlateau(resumed_opt)
    checkpoint = mg.load(tmp_path / "c.npz")
    resumed_opt.load_state_dict(checkpoint["optimizer"])
    resumed.load_state_dict(checkpoint["scheduler"])
    assert first + trace(mg, resumed_opt, resumed, METRICS[11:]) == expected
    assert resumed.state_dict() == plain_state(torch_sched.state_dict())


def test_reduce_lr_on_plateau_step_at_an_epoch_sets_it_and_warns_like_torch():
    def stepped(library):
        optimizer = make_optimizer(library)
        scheduler = library.optim.lr_scheduler.ReduceLROnPlateau(optimizer, patience=1, cooldown=1)
        out = []
        for metric, epoch in zip(METRICS, [None, 7, None, 3, 3, None, 20, None, 0, None] * 3):
            scheduler.step(metric, epoch)
            out.append(([group["lr"] for group in optimizer.param_groups], scheduler.last_epoch,
                        scheduler.num_bad_epochs, scheduler.cooldown_counter))
        return out

    (expected, torch_warnings), (got, mg_warnings) = (warned(stepped, library) for library in (torch, mg))
    assert got == expected
    assert mg_warnings == torch_warnings
    assert len(torch_warnings) == 15


# ----------------------------------------------------------------------------- argument errors

ERRORS = [
    ("ConstantLR", dict(factor=1.5)),
    ("LinearLR", dict(start_factor=0.0)),
    ("LinearLR", dict(end_factor=1.5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=0)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, eta_min="0")),
    ("OneCycleLR", dict(max_lr=1.0)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=0)),
    ("OneCycleLR", dict(max_lr=1.0, epochs=0, steps_per_epoch=3)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10, pct_start=1)),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=10, anneal_strategy="exp")),
    ("OneCycleLR", dict(max_lr=[1.0, 2.0], total_steps=10)),
    ("CyclicLR", dict(base_lr=0.1, max_lr=1.0, mode="triangle")),
    ("CyclicLR", dict(base_lr=0.1, max_lr=[1.0])),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1.0])),
    ("MultiplicativeLR", dict(lr_lambda=0.9)),
    ("LambdaLR", dict(lr_lambda=3)),
    ("LambdaLR", dict(lr_lambda=[lambda e: 1.0, "half", None])),
    ("ReduceLROnPlateau", dict(factor=1.0)),
    ("ReduceLROnPlateau", dict(mode="up")),
    ("ReduceLROnPlateau", dict(threshold_mode="relative")),
    ("ReduceLROnPlateau", dict(min_lr=[0.1, 0.2])),
]


@pytest.mark.parametrize("name, kwargs", ERRORS)
def test_argument_errors_are_torchs(name, kwargs):
    def make(library):
        return lambda: getattr(HOMES[library], name)(make_optimizer(library), **kwargs)

    assert error_of(make(mg)) == error_of(make(torch))


def test_more_errors_are_torchs():
    for library in (mg, torch):
        optimizer, scheduler = make_scheduler(library, "OneCycleLR")
        run(optimizer, scheduler, STEPS + 1)
    assert error_of(lambda: run(*make_scheduler(mg, "OneCycleLR"), STEPS + 2)) == \
        error_of(lambda: run(*make_scheduler(torch, "OneCycleLR"), STEPS + 2))  # past total_steps
    assert error_of(lambda: mg.optim.lr_scheduler.StepLR("optimizer", 3)) == \
        error_of(lambda: torch.optim.lr_scheduler.StepLR("optimizer", 3))
    for library in (mg, torch):
        optimizer = make_optimizer(library)
        other = make_optimizer(library)
        first = HOMES[library].ExponentialLR(optimizer, gamma=0.5)
        second = HOMES[library].ExponentialLR(other, gamma=0.5)
        with pytest.raises(ValueError, match="Sequential Schedulers expects number of schedulers"):
            HOMES[library].SequentialLR(optimizer, [first], milestones=[3])
        with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
            HOMES[library].SequentialLR(optimizer, [first, second], milestones=[3])
    assert error_of(lambda: mg.optim.lr_scheduler.ChainedScheduler([])) == \
        error_of(lambda: torch.optim.lr_scheduler.ChainedScheduler([]))
    plateau = [HOMES[library].ReduceLROnPlateau(make_optimizer(library), patience=0, min_lr=[0, 0, 0])
               for library in (mg, torch)]
    for scheduler, library in zip(plateau, (mg, torch)):
        scheduler.optimizer.add_param_group({"params": [library.nn.Parameter(library.zeros(1))]})
        scheduler.step(1.0)
    assert error_of(lambda: plateau[0].step(2.0)) == error_of(lambda: plateau[1].step(2.0))


def test_the_module_is_torchs_namespace_and_the_old_names_stay():
    from minigrad.optim.lr_scheduler import OneCycleLR, StepLR
    assert mg.optim.StepLR is StepLR and mg.optim.CosineAnnealingLR is mg.optim.lr_scheduler.CosineAnnealingLR
    assert mg.optim.lr_scheduler.OneCycleLR is OneCycleLR
    assert set(mg.optim.lr_scheduler.__all__) <= set(torch.optim.lr_scheduler.__all__)


# ----------------------------------------------------------------------------- Optimizer.add_param_group

def test_add_param_group_fills_in_the_defaults_like_torch():
    def grown(library):
        optimizer = library.optim.Adam([library.nn.Parameter(library.ones(2))], lr=0.1, betas=(0.8, 0.9))
        optimizer.add_param_group({"params": library.nn.Parameter(library.ones(3)), "lr": 0.5})
        optimizer.add_param_group({"params": (library.nn.Parameter(library.ones(1)),), "eps": 1e-3})
        return optimizer

    mg_opt, torch_opt = grown(mg), grown(torch)
    for mg_group, torch_group in zip(mg_opt.param_groups, torch_opt.param_groups, strict=True):
        assert [p.shape for p in mg_group["params"]] == [tuple(p.shape) for p in torch_group["params"]]
        assert {k: v for k, v in mg_group.items() if k != "params"}.items() <= torch_group.items()
    assert isinstance(mg_opt.param_groups[1]["params"], list)


def test_a_group_added_is_stepped_and_scheduled():
    def fine_tuned(library):
        frozen = library.nn.Parameter(library.tensor([1.0, 2.0]))
        optimizer = library.optim.SGD([library.nn.Parameter(library.tensor([3.0]))], lr=0.1, momentum=0.5)
        optimizer.add_param_group({"params": [frozen], "lr": 0.01})
        scheduler = HOMES[library].LambdaLR(optimizer, lambda epoch: 0.5 ** epoch)
        values = []
        for _ in range(4):
            for group in optimizer.param_groups:
                for param in group["params"]:
                    param.grad = library.ones(param.shape[0]) * 2
            optimizer.step()
            scheduler.step()
            values.append([p.detach().numpy().tolist() for g in optimizer.param_groups for p in g["params"]])
        return values

    np.testing.assert_allclose(np.concatenate([sum(v, []) for v in fine_tuned(mg)]),
                               np.concatenate([sum(v, []) for v in fine_tuned(torch)]), rtol=1e-6)


def test_add_param_group_errors_are_torchs():
    def errors(library):
        weight = library.nn.Parameter(library.ones(2))
        optimizer = library.optim.SGD([weight], lr=0.1)
        non_leaf = library.nn.Parameter(library.ones(2)) * 2
        cases = [[weight], [library.nn.Parameter(library.ones(1)), weight], {weight}, [non_leaf], [1.0]]
        found = [error_of(lambda: optimizer.add_param_group({"params": params})) for params in cases]
        found.append(error_of(lambda: optimizer.add_param_group([weight])))
        assert len(optimizer.param_groups) == 1
        return found

    mg_errors, torch_errors = errors(mg), errors(torch)
    assert mg_errors[:4] == torch_errors[:4]
    assert mg_errors[4] == (TypeError, "optimizer can only optimize Tensors, but one of the params is float")
    assert torch_errors[4][1].startswith("optimizer can only optimize Tensors")
    assert mg_errors[5][0] is torch_errors[5][0] is TypeError
    assert mg_errors[5][1] == torch_errors[5][1] == "param_group must be a dict, but got <class 'list'>"


def test_a_cosine_warm_restart_returns_to_the_initial_lr():
    optimizer, scheduler = make_scheduler(mg, "CosineAnnealingWarmRestarts-T_mult-1")
    lrs = [lrs[0] for lrs, *_ in run(optimizer, scheduler, 13)]
    assert lrs[5] == lrs[11] == GROUP_LRS[0] and lrs[2] == pytest.approx(0.05)
    assert math.isclose(lrs[4], (1 + math.cos(math.pi * 5 / 6)) / 2 * GROUP_LRS[0])
