"""Rprop, ASGD and LBFGS against torch.optim: their steps (from injected gradients, from a closure), param groups,
state dicts (torch's keys and values; torch's own loaded and gone on from), argument errors, an lr scheduler on
each and the GPU path. LBFGS runs on the Rosenbrock function, a small MLP and a least-squares fit that it solves
early, with and without its strong-Wolfe line search.

LBFGS's trajectory leans on every rounding (torch's add_ is a fused multiply-add, its float32 sqrt not always the
nearest), so its cases are ones whose iterations do not amplify the last bit: a few iterations per step, or a
well-conditioned loss."""
import numpy as np
import pytest

import minigrad as mg
import test_more_optimizers
import test_optim
from conftest import assert_raises_as_torch, relative_error
from test_more_optimizers import step_both
from test_optim import make_optimizers, random_arrays

torch = pytest.importorskip("torch")

CONFIGS = {
    "Rprop": ("Rprop", dict()),
    "Rprop-etas-step_sizes": ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(0.01, 0.2))),
    "Rprop-maximize": ("Rprop", dict(lr=0.02, maximize=True)),
    "ASGD": ("ASGD", dict()),
    "ASGD-averaging-l2": ("ASGD", dict(lr=0.05, lambd=0.1, alpha=0.5, t0=3, weight_decay=0.1)),
    "ASGD-maximize": ("ASGD", dict(lr=0.05, t0=5, maximize=True)),
}
CASES = [pytest.param(name, kwargs, id=case) for case, (name, kwargs) in CONFIGS.items()]
FIRST_ORDER = ["Rprop", "ASGD"]


@pytest.mark.parametrize("name, kwargs", CASES)
def test_steps_match_torch_with_injected_grads(name, kwargs):
    rng = np.random.default_rng(0)
    step_both(*make_optimizers(name, kwargs, random_arrays(rng)), rng)


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_training_matches_torch_with_autograd_grads(name):
    test_optim.test_training_matches_torch_with_autograd_grads(name, dict())


@pytest.mark.parametrize("name, kwargs", CASES)
def test_param_groups_with_their_own_hyper_parameters_match_torch(name, kwargs):
    test_more_optimizers.test_param_groups_with_their_own_hyper_parameters_match_torch(name, kwargs)


@pytest.mark.parametrize("name", FIRST_ORDER + ["LBFGS"])
def test_defaults_are_torchs(name):
    test_more_optimizers.test_defaults_are_torchs(name)


@pytest.mark.parametrize("name, kwargs", CASES)
def test_state_dict_has_torchs_keys_and_values(name, kwargs):
    """ASGD's eta and mu in float32, as torch keeps them, to the bit."""
    test_more_optimizers.test_state_dict_has_torchs_keys_and_values(name, kwargs)


@pytest.mark.parametrize("case", ["Rprop-etas-step_sizes", "ASGD-averaging-l2"])
def test_resume_from_saved_state_is_bit_exact(tmp_path, case):
    test_optim.test_resume_from_saved_state_is_bit_exact(tmp_path, *CONFIGS[case])


def minigrad_copies(torch_params):
    return [mg.nn.Parameter(mg.tensor(p.detach().numpy().copy())) for p in torch_params]


@pytest.mark.parametrize("case", ["Rprop-etas-step_sizes", "ASGD-averaging-l2", "Adam-amsgrad"])
def test_torchs_state_dict_loads_and_goes_on_as_torch(tmp_path, case):
    """A state dict torch saved (read with mg.load) carries the state and the hyper-parameters: an optimizer made
    with the defaults goes on from it as torch's does (Adam's too: torch's step count, a float32 tensor, loads as a
    number, which its bias corrections take in double precision as torch's do)."""
    name, kwargs = {**test_more_optimizers.CONFIGS, **CONFIGS}[case]
    rng = np.random.default_rng(7)
    mg_opt, torch_opt = make_optimizers(name, kwargs, random_arrays(rng))
    step_both(mg_opt, torch_opt, rng, steps=4)
    torch.save(torch_opt.state_dict(), tmp_path / "optimizer.pth")
    resumed = getattr(mg.optim, name)(minigrad_copies(test_optim.params_of(torch_opt)))
    resumed.load_state_dict(mg.load(tmp_path / "optimizer.pth"))
    assert resumed.param_groups[0]["lr"] == kwargs["lr"]
    step_both(resumed, torch_opt, rng, steps=6)


@pytest.mark.parametrize("name", FIRST_ORDER)
def test_step_lr_schedules_them_as_torchs(name):
    test_more_optimizers.test_step_lr_schedules_them_as_torchs(name)


# ----------------------------------------------------------------------------- closures and LBFGS


def rosenbrock_params(library):
    return [library.nn.Parameter(library.tensor(np.array([-1.5, 2.0], np.float32)))]


def rosenbrock(library, params):
    x = params[0]
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


MLP_RNG = np.random.default_rng(3)
MLP_DATA = [MLP_RNG.standard_normal(shape).astype(np.float32) for shape in [(16, 4), (16, 1)]]
MLP_INIT = [(MLP_RNG.standard_normal(shape) * 0.5).astype(np.float32) for shape in [(8, 4), (8,), (1, 8), (1,)]]


def mlp_params(library, device=None):
    return [library.nn.Parameter(tensor_of(library, array, device)) for array in MLP_INIT]


def tensor_of(library, array, device=None):
    return mg.tensor(array.copy(), device=device) if library is mg else torch.tensor(array)


def mlp(library, params, device=None):
    inputs, targets = (tensor_of(library, array, device) for array in MLP_DATA)
    hidden = library.tanh(inputs @ params[0].T + params[1])
    return ((hidden @ params[2].T + params[3] - targets) ** 2).mean()


def least_squares_params(library):
    return [library.nn.Parameter(library.zeros(3)), library.nn.Parameter(library.zeros(1))]


def least_squares(library, params):
    """A well-conditioned fit of 3 weights and a bias, solved within a step's 20 iterations."""
    inputs, targets = (tensor_of(library, array) for array in LEAST_SQUARES_DATA)
    return ((inputs @ params[0] + params[1] - targets) ** 2).mean()


LEAST_SQUARES_RNG = np.random.default_rng(4)
LEAST_SQUARES_DATA = [LEAST_SQUARES_RNG.standard_normal((12, 3)).astype(np.float32),
                      LEAST_SQUARES_RNG.standard_normal(12).astype(np.float32)]
CENTRES = np.array([0.5, -2.0, 3.0], np.float32), np.array([4.0, -7.0, 11.0], np.float32)


def three_zeros(library):
    return [library.nn.Parameter(library.zeros(3))]


def pseudo_huber(library, params):
    """Quadratic near its minimum, linear far from it: a cubic's guess of the step misses, so the line search
    extrapolates and zooms."""
    return ((1 + (params[0] - tensor_of(library, CENTRES[0])) ** 2) ** 0.5).sum()


def cauchy(library, params):
    """Not convex away from its minimum: the line search's bracket moves its high end as well as its low one."""
    return (1 + (params[0] - tensor_of(library, CENTRES[1])) ** 2).log().sum()


PROBLEMS = {"rosenbrock": (rosenbrock_params, rosenbrock), "mlp": (mlp_params, mlp),
            "least-squares": (least_squares_params, least_squares), "pseudo-huber": (three_zeros, pseudo_huber),
            "cauchy": (three_zeros, cauchy)}


def closure_for(library, optimizer, params, loss):
    def closure():
        optimizer.zero_grad()
        value = loss(library, params)
        value.backward()
        return value
    return closure


def trajectories(problem, name, kwargs, steps, schedule=None):
    """Both libraries' losses returned by step(closure) and their parameters after each step, and the optimizers."""
    make_params, loss = PROBLEMS[problem]
    runs = []
    for library in (mg, torch):
        params = make_params(library)
        optimizer = getattr(library.optim, name)(params, **kwargs)
        scheduler = schedule and schedule(library, optimizer)
        closure = closure_for(library, optimizer, params, loss)
        history = []
        for _ in range(steps):
            step_loss = float(optimizer.step(closure).detach())
            history.append((step_loss, [np.asarray(p.tolist(), np.float32) for p in params]))
            if scheduler:
                scheduler.step()
        runs.append((history, optimizer))
    return runs


def assert_trajectories_agree(runs, tolerance):
    (ours, _), (theirs, _) = runs
    for step, ((our_loss, our_params), (their_loss, their_params)) in enumerate(zip(ours, theirs, strict=True)):
        assert our_loss == pytest.approx(their_loss, rel=tolerance, abs=1e-7), f"step {step}: loss"
        for mine, reference in zip(our_params, their_params, strict=True):
            assert relative_error(mine, reference) <= tolerance, f"step {step}: parameters"


def assert_state_agrees(mine, theirs, tolerance, path="state"):
    """State dict values as torch's: numbers and None equal (floats, as prev_loss, within tolerance), tensors
    within tolerance of their largest entry, lists element by element."""
    if isinstance(theirs, torch.Tensor):
        assert relative_error(mine, theirs.numpy()) <= tolerance, path
    elif isinstance(theirs, list):
        assert isinstance(mine, list) and len(mine) == len(theirs), path
        for index, (item, reference) in enumerate(zip(mine, theirs)):
            assert_state_agrees(item, reference, tolerance, f"{path}[{index}]")
    elif isinstance(theirs, float):
        assert mine == pytest.approx(theirs, rel=tolerance), path
    else:
        assert mine == theirs, path


def assert_scratch_agrees(mine, theirs):
    """LBFGS's al, the two-loop recursion's coefficients, which the next step overwrites before it reads them: as
    torch's, a list of history_size with None where unused. Its values, dot products with the gradient that near a
    minimum are mostly rounding, are checked through the direction d that they make."""
    assert [item is None for item in mine] == [item is None for item in theirs]


def assert_state_dicts_agree(mg_opt, torch_opt, tolerance):
    mine, theirs = mg_opt.state_dict(), torch_opt.state_dict()
    assert set(mine["state"]) == set(theirs["state"])
    for index, state in theirs["state"].items():
        assert set(mine["state"][index]) == set(state)
        for key, value in state.items():
            if key == "al":
                assert_scratch_agrees(mine["state"][index][key], value)
            else:
                assert_state_agrees(mine["state"][index][key], value, tolerance, key)
    for our_group, their_group in zip(mine["param_groups"], theirs["param_groups"], strict=True):
        assert our_group.items() <= their_group.items()


@pytest.mark.parametrize("name, kwargs", [("Rprop", dict(lr=0.01)), ("ASGD", dict(lr=1e-3, t0=4, lambd=0.1))])
def test_a_closure_is_evaluated_and_its_loss_returned_as_torchs(name, kwargs):
    runs = trajectories("rosenbrock", name, kwargs, steps=12)
    assert_trajectories_agree(runs, 1e-6)
    assert_state_dicts_agree(runs[0][1], runs[1][1], 1e-6)


LBFGS_CASES = {
    # problem, options, steps, tolerance of the parameters and losses, of the state. The state's gradients (and so
    # their differences old_dirs, and the directions d) are sums that cancel near a minimum, looser than the
    # parameters; solved, the least-squares fit's are rounding. Where 1e-4 stands, the steps carry the rounding of
    # the matrix products, which differs with the BLAS kernels a CPU selects (AVX-512 or not), beyond 1e-5.
    "rosenbrock": ("rosenbrock", dict(lr=0.1, max_iter=3), 8, 1e-5, 1e-5),
    "rosenbrock-strong_wolfe-short-history": (
        "rosenbrock", dict(max_iter=2, history_size=3, line_search_fn="strong_wolfe"), 8, 1e-5, 1e-5),
    "mlp": ("mlp", dict(max_iter=5), 2, 1e-5, 1e-4),
    "mlp-strong_wolfe": ("mlp", dict(max_iter=5, line_search_fn="strong_wolfe"), 4, 1e-5, 3e-4),
    "mlp-max_eval-short-history": ("mlp", dict(lr=0.5, max_iter=6, max_eval=4, history_size=2), 4, 1e-5, 1e-4),
    "least-squares-strong_wolfe": ("least-squares", dict(line_search_fn="strong_wolfe"), 3, 1e-5, 0.05),
    "least-squares-tolerance_change": ("least-squares", dict(lr=0.5, tolerance_change=1e-4), 3, 1e-5, 1e-4),
    "pseudo-huber-strong_wolfe-long-steps": (
        "pseudo-huber", dict(lr=10, max_iter=4, line_search_fn="strong_wolfe"), 2, 1e-5, 1e-5),
    "pseudo-huber-strong_wolfe-out-of-evaluations": (
        "pseudo-huber", dict(lr=1e-3, max_iter=3, max_eval=4, line_search_fn="strong_wolfe"), 2, 1e-4, 1e-4),
    "cauchy-strong_wolfe": ("cauchy", dict(lr=10, max_iter=6, line_search_fn="strong_wolfe"), 2, 1e-5, 1e-5),
}


@pytest.mark.parametrize("case", LBFGS_CASES)
def test_lbfgs_steps_and_state_match_torch(case):
    problem, kwargs, steps, tolerance, state_tolerance = LBFGS_CASES[case]
    runs = trajectories(problem, "LBFGS", kwargs, steps)
    assert_trajectories_agree(runs, tolerance)
    assert_state_dicts_agree(runs[0][1], runs[1][1], state_tolerance)


@pytest.mark.parametrize("case", ["least-squares-strong_wolfe", "least-squares-tolerance_change"])
def test_lbfgs_stops_early_as_torch(case):
    """Solved, the first step ends before max_iter, on tolerance_grad or tolerance_change, after as many iterations
    and evaluations as torch's."""
    problem, kwargs = LBFGS_CASES[case][:2]
    (_, optimizer), (_, torch_optimizer) = trajectories(problem, "LBFGS", kwargs, steps=1)
    mine, theirs = optimizer.state_dict()["state"][0], torch_optimizer.state_dict()["state"][0]
    assert (mine["n_iter"], mine["func_evals"]) == (theirs["n_iter"], theirs["func_evals"])
    assert theirs["n_iter"] < 20


def test_lbfgs_stops_at_once_where_the_gradient_is_zero():
    runs = []
    for library in (mg, torch):
        params = [library.nn.Parameter(library.ones(3))]
        optimizer = library.optim.LBFGS(params)
        runs.append(optimizer)
        closure = closure_for(library, optimizer, params, lambda lib, p: (p[0] - 1).sum() ** 2)
        assert float(optimizer.step(closure).detach()) == 0
    assert runs[0].state_dict()["state"] == {0: {"func_evals": 1, "n_iter": 0}}
    assert_state_dicts_agree(*runs, 0)


def test_lbfgs_schedules_its_lr_as_torchs():
    runs = trajectories("rosenbrock", "LBFGS", dict(lr=0.2, max_iter=3), steps=6,
                        schedule=lambda library, optimizer: library.optim.lr_scheduler.StepLR(optimizer, 2, 0.5))
    assert_trajectories_agree(runs, 1e-6)
    assert runs[0][1].param_groups[0]["lr"] == runs[1][1].param_groups[0]["lr"] == 0.2 * 0.5 ** 3


@pytest.mark.parametrize("case", ["rosenbrock-strong_wolfe-short-history", "mlp"])
def test_lbfgs_goes_on_from_torchs_state_dict_as_torch(tmp_path, case):
    """The history (lists of tensors, and al's None), the step t and H_diag load from torch's file."""
    problem, kwargs, steps, tolerance, state_tolerance = LBFGS_CASES[case]
    make_params, loss = PROBLEMS[problem]
    torch_params = make_params(torch)
    torch_opt = torch.optim.LBFGS(torch_params, **kwargs)
    torch_closure = closure_for(torch, torch_opt, torch_params, loss)
    for _ in range(steps // 2):
        torch_opt.step(torch_closure)
    torch.save(torch_opt.state_dict(), tmp_path / "lbfgs.pth")
    params = minigrad_copies(torch_params)
    optimizer = mg.optim.LBFGS(params)
    optimizer.load_state_dict(mg.load(tmp_path / "lbfgs.pth"))
    assert optimizer.param_groups[0]["max_iter"] == kwargs["max_iter"]
    closure = closure_for(mg, optimizer, params, loss)
    for step in range(steps // 2):
        expected = float(torch_opt.step(torch_closure).detach())
        assert float(optimizer.step(closure).detach()) == pytest.approx(expected, rel=tolerance)
        for mine, reference in zip(params, torch_params):
            assert relative_error(mine.numpy(), reference.detach().numpy()) <= tolerance, f"step {step}"
    assert_state_dicts_agree(optimizer, torch_opt, state_tolerance)


def test_lbfgs_resumes_from_its_own_saved_state_bit_exactly(tmp_path):
    def run(optimizer, params, steps):
        closure = closure_for(mg, optimizer, params, mlp)
        for _ in range(steps):
            optimizer.step(closure)

    kwargs = dict(max_iter=3, history_size=4, line_search_fn="strong_wolfe")
    uninterrupted = mlp_params(mg)
    run(mg.optim.LBFGS(uninterrupted, **kwargs), uninterrupted, 4)
    first_half = mlp_params(mg)
    optimizer = mg.optim.LBFGS(first_half, **kwargs)
    run(optimizer, first_half, 2)
    mg.save({"optim": optimizer.state_dict(), "params": first_half}, tmp_path / "checkpoint.npz")
    checkpoint = mg.load(tmp_path / "checkpoint.npz")
    resumed = [mg.nn.Parameter(mg.tensor(array)) for array in checkpoint["params"]]
    optimizer = mg.optim.LBFGS(resumed, **kwargs)
    optimizer.load_state_dict(checkpoint["optim"])
    run(optimizer, resumed, 2)
    for mine, expected in zip(resumed, uninterrupted):
        assert np.array_equal(mine.numpy(), expected.numpy())


# ----------------------------------------------------------------------------- argument errors


def one_parameter(library):
    return [library.nn.Parameter(library.ones(2))]


BAD_ARGUMENTS = {
    "Rprop-lr": ("Rprop", dict(lr=-0.1)),
    "Rprop-etaminus-above-1": ("Rprop", dict(etas=(1.5, 2.0))),
    "Rprop-etaminus-0": ("Rprop", dict(etas=(0.0, 1.2))),
    "Rprop-etaplus-below-1": ("Rprop", dict(etas=(0.5, 0.9))),
    "ASGD-lr": ("ASGD", dict(lr=-1e-3)),
    "ASGD-weight_decay": ("ASGD", dict(weight_decay=-0.1)),
    "LBFGS-lr": ("LBFGS", dict(lr=-1.0)),
}


@pytest.mark.parametrize("name, kwargs", [pytest.param(*case, id=key) for key, case in BAD_ARGUMENTS.items()])
def test_bad_hyper_parameters_are_torchs_errors(name, kwargs):
    assert_raises_as_torch(lambda: getattr(torch.optim, name)(one_parameter(torch), **kwargs),
                           lambda: getattr(mg.optim, name)(one_parameter(mg), **kwargs))


def test_lbfgs_takes_one_param_group_as_torch():
    def two_groups(library):
        return [{"params": one_parameter(library)}, {"params": one_parameter(library), "lr": 0.1}]

    assert_raises_as_torch(lambda: torch.optim.LBFGS(two_groups(torch)), lambda: mg.optim.LBFGS(two_groups(mg)))

    def step_after_adding_a_group(library):
        optimizer = library.optim.LBFGS(one_parameter(library))
        optimizer.add_param_group({"params": one_parameter(library)})
        optimizer.step(lambda: library.ones(()))

    assert_raises_as_torch(lambda: step_after_adding_a_group(torch), lambda: step_after_adding_a_group(mg))


@pytest.mark.parametrize("call", [lambda optimizer, closure: optimizer.step(),
                                  lambda optimizer, closure: optimizer.step(closure)], ids=["no-closure", "armijo"])
def test_lbfgs_step_errors_are_torchs(call):
    def failing_step(library):
        params = rosenbrock_params(library)
        optimizer = library.optim.LBFGS(params, line_search_fn="armijo")
        call(optimizer, closure_for(library, optimizer, params, rosenbrock))

    assert_raises_as_torch(lambda: failing_step(torch), lambda: failing_step(mg))


def test_the_module_has_torchs_names():
    assert {"ASGD", "LBFGS", "Rprop"} <= set(torch.optim.__all__)
    for name in ("ASGD", "LBFGS", "Rprop"):
        assert issubclass(getattr(mg.optim, name), mg.optim.Optimizer)


# ----------------------------------------------------------------------------- the GPU path


@pytest.mark.parametrize("name, kwargs", [("Rprop", dict(lr=0.02, etas=(0.4, 1.3), maximize=True)),
                                          ("ASGD", dict(lr=0.02, t0=3, lambd=0.05, weight_decay=0.1)),
                                          ("LBFGS", dict(max_iter=4, history_size=3)),
                                          ("LBFGS", dict(max_iter=4, line_search_fn="strong_wolfe"))],
                         ids=["Rprop", "ASGD", "LBFGS", "LBFGS-strong_wolfe"])
def test_the_gpu_path_steps_as_the_cpu(name, kwargs, gpu_path):
    """Parameters and state on the device, the closure's losses and the parameters as the CPU's."""
    def run(device):
        params = mlp_params(mg, device)
        optimizer = getattr(mg.optim, name)(params, **kwargs)
        closure = closure_for(mg, optimizer, params, lambda library, p: mlp(library, p, device))
        losses = [float(optimizer.step(closure).detach()) for _ in range(3)]
        assert all(p.device == device for p in params)
        arrays = [value.data if isinstance(value, mg.Tensor) else value
                  for value in optimizer.state[params[0]].values() if getattr(value, "ndim", 0)]
        assert arrays and all(mg.backend.device_of(array) == device for array in arrays)
        return losses, [p.numpy() for p in params]

    (gpu_losses, gpu_params), (cpu_losses, cpu_params) = run("gpu"), run("cpu")
    assert relative_error(gpu_losses, cpu_losses) <= 1e-5
    for gpu, cpu in zip(gpu_params, cpu_params, strict=True):
        assert relative_error(gpu, cpu) <= 1e-5
