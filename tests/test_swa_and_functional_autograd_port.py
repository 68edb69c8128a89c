"""minigrad.optim.swa_utils and minigrad.autograd.functional against torch's: averaged weights and buffers
after the same updates, SWALR's lrs step for step, update_bn's statistics, vjp and jacobian values and nesting,
and their argument errors."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_raises_as_torch, relative_error
from minigrad.autograd.functional import jacobian, vjp

torch = pytest.importorskip("torch")
import torch.autograd.functional  # noqa: E402

# torch.optim.swa_utils compiles its averaging functions with torch.jit.script, which torch 2.13 calls deprecated
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")

SWA = {mg: mg.optim.swa_utils, torch: torch.optim.swa_utils}
FUNCTIONAL = {mg: mg.autograd.functional, torch: torch.autograd.functional}


def small_net(library):
    nn = library.nn
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2), nn.BatchNorm1d(2))


def random_state(reference, seed):
    """A state dict of the torch net's keys, shapes and dtypes, drawn afresh: one "training step"."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, value in reference.state_dict().items():
        if value.dtype == torch.int64:
            state[key] = torch.tensor(int(rng.integers(0, 50)))
        elif "running_var" in key:
            state[key] = torch.tensor(rng.uniform(0.5, 2.0, tuple(value.shape)).astype(np.float32))
        else:
            state[key] = torch.tensor(rng.standard_normal(tuple(value.shape)).astype(np.float32))
    return state


def averaging_functions(library, kind):
    swa = SWA[library]
    return {"swa": {}, "swa_multi": {"multi_avg_fn": swa.get_swa_multi_avg_fn()},
            "ema_multi": {"multi_avg_fn": swa.get_ema_multi_avg_fn(0.9)},
            "ema": {"avg_fn": swa.get_ema_avg_fn(0.9)}, "swa_fn": {"avg_fn": swa.get_swa_avg_fn()}}[kind]


def averaged_after_updates(library, kind, use_buffers, updates=4, double=False):
    reference = small_net(torch)
    net = small_net(library).double() if double else small_net(library)
    net.load_state_dict(random_state(reference, 0))
    averaged = SWA[library].AveragedModel(net, use_buffers=use_buffers, **averaging_functions(library, kind))
    for step in range(updates):
        net.load_state_dict(random_state(reference, step + 1))
        averaged.update_parameters(net)
    return averaged


def as_numpy(value):
    return value.detach().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)


# torch's SWA lerp refuses integer buffers (num_batches_tracked): that case averages only floats. In float64,
# swa_multi's lerp weight 1 / (n + 1) is a float32 number, as torch's.
@pytest.mark.parametrize("kind, use_buffers, double", [
    ("swa", False, False), ("swa", True, False), ("swa_multi", False, False), ("swa_multi", False, True),
    ("ema_multi", False, False), ("ema_multi", True, False), ("ema", True, False), ("swa_fn", True, False)])
def test_averaged_model_matches_torch(kind, use_buffers, double):
    ours, theirs = (averaged_after_updates(library, kind, use_buffers, double=double) for library in (mg, torch))
    ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
    assert list(ours_state) == list(theirs_state)
    for key, value in theirs_state.items():  # bit for bit: lerp rounds once, as torch's
        assert ours_state[key].dtype == as_numpy(value).dtype
        np.testing.assert_array_equal(ours_state[key], as_numpy(value), err_msg=key)
    assert int(ours.n_averaged.item()) == 4 and ours.n_averaged.dtype == mg.int64


def test_torchs_averaged_model_state_loads_and_goes_on_alike():
    theirs = averaged_after_updates(torch, "swa", False, updates=3)
    ours = mg.optim.swa_utils.AveragedModel(small_net(mg))
    ours.load_state_dict(theirs.state_dict())
    reference, net = small_net(torch), small_net(mg)
    state = random_state(reference, 10)
    reference.load_state_dict(state)
    net.load_state_dict(state)
    theirs.update_parameters(reference)
    ours.update_parameters(net)
    for key, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours.state_dict()[key], as_numpy(value), rtol=1e-6, atol=1e-7, err_msg=key)
    x = np.random.default_rng(3).standard_normal((5, 3)).astype(np.float32)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy(), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("call", [
    lambda swa, nn: swa.AveragedModel(nn.Linear(2, 2), avg_fn=swa.get_swa_avg_fn(),
                                      multi_avg_fn=swa.get_swa_multi_avg_fn()),
    lambda swa, nn: swa.get_ema_multi_avg_fn(1.5),
    lambda swa, nn: swa.get_ema_avg_fn(-0.1),
], ids=["both_functions", "ema_multi_decay", "ema_decay"])
def test_averaging_argument_errors_as_torchs(call):
    assert_raises_as_torch(lambda: call(torch.optim.swa_utils, torch.nn), lambda: call(mg.optim.swa_utils, mg.nn))


def swalr_lrs(library, strategy, anneal_epochs, steps=14):
    params = [library.zeros(2, requires_grad=True), library.zeros(3, requires_grad=True)]
    optimizer = library.optim.SGD([{"params": params[:1], "lr": 0.5}, {"params": params[1:], "lr": 0.2}], lr=0.1)
    scheduler = SWA[library].SWALR(optimizer, swa_lr=[0.05, 0.01], anneal_epochs=anneal_epochs,
                                   anneal_strategy=strategy)
    lrs = [scheduler.get_last_lr()]
    for step in range(steps):
        if step == 6:
            optimizer.param_groups[0]["lr"] = 0.3  # a hand edit the annealing carries on from, as torch's
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr() + [group["lr"] for group in optimizer.param_groups])
    state = {key for key in scheduler.state_dict() if key not in ("_is_initial", "_get_lr_called_within_step")}
    return lrs, state


@pytest.mark.parametrize("strategy, anneal_epochs", [("cos", 10), ("linear", 4), ("cos", 0)])
def test_swalr_lrs_equal_torchs(strategy, anneal_epochs):
    (ours, our_keys), (theirs, their_keys) = (swalr_lrs(library, strategy, anneal_epochs) for library in (mg, torch))
    assert ours == theirs
    assert our_keys == their_keys


@pytest.mark.parametrize("options", [{"anneal_strategy": "step"}, {"anneal_epochs": -1}, {"anneal_epochs": 2.5},
                                     {"swa_lr": [0.1, 0.2]}], ids=["strategy", "negative", "float", "lr_list"])
def test_swalr_argument_errors_as_torchs(options):
    def make(library):
        optimizer = library.optim.SGD([library.zeros(2, requires_grad=True)], lr=0.1)
        return SWA[library].SWALR(optimizer, **{"swa_lr": 0.05, **options})

    assert_raises_as_torch(lambda: make(torch), lambda: make(mg))


def test_update_bn_recomputes_torchs_statistics():
    reference, net = small_net(torch), small_net(mg)
    state = random_state(reference, 4)
    reference.load_state_dict(state)
    net.load_state_dict(state)
    rng = np.random.default_rng(5)
    batches = [rng.standard_normal((n, 3)).astype(np.float32) for n in (6, 4, 7)]
    for library, model in ((torch, reference), (mg, net)):
        model.eval()
        loader = [(library.tensor(x), library.tensor(x[:, 0])) for x in batches]
        SWA[library].update_bn(loader, model, device="cpu")
        assert not model.training and model[1].momentum == 0.1
    for key, value in reference.state_dict().items():
        assert net.state_dict()[key].dtype == as_numpy(value).dtype
        np.testing.assert_allclose(net.state_dict()[key], as_numpy(value), rtol=1e-5, atol=1e-6, err_msg=key)


# ---- autograd.functional -------------------------------------------------------------------------------------

def mlp(x, w1, b1, w2):
    return ((x @ w1 + b1).relu() @ w2).sigmoid()


FUNCTIONS = {  # name: (function of library tensors, input shapes, whether the inputs are a tuple)
    "elementwise": (lambda x: x.tanh() * x, [(2, 3)], False),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 2)], True),
    "mlp": (mlp, [(5, 3), (3, 4), (4,), (4, 2)], True),
    "tuple_outputs": (lambda a, b: ((a @ b).exp(), (a * a).sum(1)), [(3, 2), (2, 2)], True),
}


def inputs_of(library, shapes, as_tuple):
    rng = np.random.default_rng(7)
    tensors = tuple(library.tensor(rng.standard_normal(shape).astype(np.float32)) for shape in shapes)
    return tensors if as_tuple else tensors[0]


def flat(result):
    """The tensors of a (nested) result with the nesting it had: [(path, array)], a path of (container, index)."""
    if isinstance(result, (tuple, list)):
        return [(((type(result).__name__, i),) + path, array) for i, item in enumerate(result)
                for path, array in flat(item)]
    return [((), as_numpy(result))]


def assert_results_match(ours, theirs):
    ours, theirs = flat(ours), flat(theirs)
    assert [path for path, _ in ours] == [path for path, _ in theirs]
    for (path, mine), (_, reference) in zip(ours, theirs):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape, path
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6, err_msg=str(path))


@pytest.mark.parametrize("name", FUNCTIONS)
def test_jacobian_matches_torch(name):
    function, shapes, as_tuple = FUNCTIONS[name]
    ours, theirs = (FUNCTIONAL[library].jacobian(function, inputs_of(library, shapes, as_tuple))
                    for library in (mg, torch))
    assert_results_match(ours, theirs)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_vjp_matches_torch(name):
    function, shapes, as_tuple = FUNCTIONS[name]
    results = []
    for library in (mg, torch):
        inputs = inputs_of(library, shapes, as_tuple)
        outputs = function(*(inputs if as_tuple else (inputs,)))
        rng = np.random.default_rng(8)
        v = tuple(library.tensor(rng.standard_normal(tuple(out.shape)).astype(np.float32))
                  for out in (outputs if isinstance(outputs, tuple) else (outputs,)))
        results.append(FUNCTIONAL[library].vjp(function, inputs, v if isinstance(outputs, tuple) else v[0]))
    assert_results_match(*results)


@pytest.mark.parametrize("options", [{"vectorize": True}, {"vectorize": True, "strategy": "forward-mode"}],
                         ids=["vectorized", "forward_mode"])
def test_jacobians_other_strategies_give_the_same_values(options):
    function, shapes, _ = FUNCTIONS["tuple_outputs"]
    ours, theirs = (FUNCTIONAL[library].jacobian(function, inputs_of(library, shapes, True), **options)
                    for library in (mg, torch))
    assert_results_match(ours, theirs)


def partly_independent(a, b):
    return a * 2, a.sum()  # b is not used


CONSTANT = np.ones(3, np.float32)


@pytest.mark.parametrize("call", [
    lambda F, lib, a, b: F.jacobian(partly_independent, (a, b)),
    lambda F, lib, a, b: F.vjp(partly_independent, (a, b), (a.new_ones(3), a.new_ones(()))),
    lambda F, lib, a, b: F.jacobian(lambda x, y: (x * y[0], lib.tensor(CONSTANT)), (a, b)),
], ids=["jacobian", "vjp", "constant_output"])
def test_an_output_independent_of_an_input_gives_zeros(call):
    ours, theirs = (call(FUNCTIONAL[library], library, *inputs_of(library, [(3,), (2,)], True))
                    for library in (mg, torch))
    assert_results_match(ours, theirs)

ERRORS = {
    "jacobian_strict_independent": lambda F, lib, a, b: F.jacobian(partly_independent, (a, b), strict=True),
    "vjp_strict_independent": lambda F, lib, a, b: F.vjp(partly_independent, (a, b),
                                                         (a.new_ones(3), a.new_ones(())), strict=True),
    "strict_constant_output": lambda F, lib, a, b: F.jacobian(lambda x: lib.tensor(CONSTANT), a, strict=True),
    "list_inputs": lambda F, lib, a, b: F.jacobian(lambda x, y: x, [a, b]),
    "tuple_with_a_number": lambda F, lib, a, b: F.vjp(lambda x, y: x, (a, 2.0), a),
    "list_output": lambda F, lib, a, b: F.jacobian(lambda x: [x], a),
    "v_missing": lambda F, lib, a, b: F.vjp(lambda x: x * 2, a),
    "v_size": lambda F, lib, a, b: F.vjp(lambda x: x * 2, a, b),
    "v_tuple_size": lambda F, lib, a, b: F.vjp(lambda x: (x, x), a, (a, b)),
    "v_tuple_length": lambda F, lib, a, b: F.vjp(lambda x: (x, x), a, (a,)),
    "v_one_of_two": lambda F, lib, a, b: F.vjp(lambda x: x, a, (a, a)),
    "strategy": lambda F, lib, a, b: F.jacobian(lambda x: x, a, strategy="central"),
    "forward_unvectorized": lambda F, lib, a, b: F.jacobian(lambda x: x, a, strategy="forward-mode"),
    "forward_strict": lambda F, lib, a, b: F.jacobian(lambda x: x, a, strict=True, vectorize=True,
                                                      strategy="forward-mode"),
    "vectorized_strict": lambda F, lib, a, b: F.jacobian(lambda x: x, a, strict=True, vectorize=True),
}


@pytest.mark.parametrize("name", ERRORS)
def test_argument_errors_as_torchs(name):
    call = ERRORS[name]
    assert_raises_as_torch(*(lambda library=library: call(FUNCTIONAL[library], library,
                                                            *inputs_of(library, [(3,), (2,)], True))
                             for library in (torch, mg)))


@pytest.mark.parametrize("call", [
    lambda F, x, y: F.jacobian(lambda a, b: (a * a * b, a / (b + 3)), (x, y), create_graph=True),
    lambda F, x, y: F.vjp(lambda a, b: (a * a * b, a / (b + 3)), (x, y), (y, x), create_graph=True),
], ids=["jacobian", "vjp"])
def test_create_graph_gives_results_differentiable_as_torchs(call):
    """The results lead back to the inputs, which require grad: their own gradients are torch's."""
    results = []
    for library in (mg, torch):
        x, y = (library.tensor(np.array(values, np.float32), requires_grad=True)
                for values in ([0.5, -1.0, 2.0], [1.5, 0.25, 1.0]))
        result = call(FUNCTIONAL[library], x, y)
        total = sum((t * t).sum() for t in tensors_of(result))
        results.append((result, library.autograd.grad(total, (x, y))))
    assert_results_match(*results)


def tensors_of(result):
    """The tensors of a (nested) result, in order."""
    return [t for item in result for t in tensors_of(item)] if isinstance(result, (tuple, list)) else [result]


def test_gpu_path_matches_cpu(gpu_path):
    function, shapes, _ = FUNCTIONS["mlp"]
    results = []
    for device in ("cpu", "gpu"):
        inputs = tuple(t.to(device) for t in inputs_of(mg, shapes, True))
        rows = jacobian(function, inputs)
        _, products = vjp(lambda *xs: function(*xs).sum(), inputs)
        net = small_net(mg).to(device)
        net.load_state_dict(random_state(small_net(torch), 0))
        averaged = mg.optim.swa_utils.AveragedModel(net, multi_avg_fn=mg.optim.swa_utils.get_ema_multi_avg_fn(0.8))
        for step in (1, 2):
            net.load_state_dict(random_state(small_net(torch), step))
            averaged.update_parameters(net)
        assert {t.device for t in rows + products} == {device}
        results.append([t.numpy() for t in rows + products] + list(averaged.state_dict().values()))
    for gpu, cpu in zip(results[1], results[0]):
        assert relative_error(mg.tensor(gpu).numpy(), cpu) <= 1e-5
