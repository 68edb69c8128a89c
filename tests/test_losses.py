"""log_softmax, nll_loss and cross_entropy (functional and modules) against torch: values and gradients in float32,
float64 gradchecks, torch's errors, and a softmax regression trained as torch trains it."""
import types
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mgF
import test_nn
from minigrad import memory, parallel
from conftest import assert_raises_as_torch, relative_error, torch_cases

torch = pytest.importorskip("torch")

MG = types.SimpleNamespace(F=mgF, nn=mg.nn, t=mg.tensor)
TORCH = types.SimpleNamespace(F=torch.nn.functional, nn=torch.nn, t=torch.tensor)


def _direction(shape, seed=1):
    """A random projection of an output, so that a gradient that sums to 0 (log_softmax's) is still tested."""
    return np.random.default_rng(seed).standard_normal(shape)


def _forward_backward(L, fn, arrays, constants):
    """fn(L, *tensors, *constants) with the arrays as tensors that require grad: (output, their gradients)."""
    tensors = [L.t(a, requires_grad=True) for a in arrays]
    out = fn(L, *tensors, *(None if c is None else L.t(c) for c in constants))
    direction = _direction(tuple(out.shape)).astype(np.asarray(out.detach().numpy()).dtype)
    (out * L.t(direction)).sum().backward()
    return np.asarray(out.detach().numpy()), [t.grad.numpy() for t in tensors]


def assert_matches_torch(fn, arrays, constants=(), rtol=1e-5):
    """minigrad's output and gradients (of a random projection of the output) are torch's, dtype included."""
    out, grads = _forward_backward(MG, fn, arrays, constants)
    expected, expected_grads = _forward_backward(TORCH, fn, arrays, constants)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    assert relative_error(out, expected) <= rtol
    for i, (grad, expected_grad) in enumerate(zip(grads, expected_grads)):
        assert grad.dtype == expected_grad.dtype
        assert relative_error(grad, expected_grad) <= rtol, f"gradient of input {i}"


# ----------------------------------------------------------------------------- log_softmax

LOG_SOFTMAX = [((3, 4, 5), -1), ((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2), ((7,), 0), ((), 0), ((2, 1, 3), 1)]


@pytest.mark.parametrize("shape, dim", LOG_SOFTMAX, ids=str)
def test_log_softmax_matches_torch_float32(shape, dim):
    x = np.random.default_rng(0).uniform(-5, 5, shape).astype(np.float32)
    assert_matches_torch(lambda L, x: L.F.log_softmax(x, dim), [x], rtol=1e-6)


@pytest.mark.parametrize("shape, dim", LOG_SOFTMAX, ids=str)
def test_log_softmax_gradcheck_float64(shape, dim):
    x = mg.tensor(np.random.default_rng(0).uniform(-5, 5, shape), requires_grad=True)
    assert mg.gradcheck(lambda x: mgF.log_softmax(x, dim), [x])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_log_softmax_split_over_threads_matches_torch(dim, monkeypatch):
    monkeypatch.setattr(parallel, "SPLIT_MIN_ELEMENTS", 0)
    threads = parallel.get_num_threads()
    parallel.set_num_threads(3)
    try:
        x = np.random.default_rng(0).uniform(-5, 5, (5, 6, 7)).astype(np.float32)
        assert_matches_torch(lambda L, x: L.F.log_softmax(x, dim), [x], rtol=1e-6)
    finally:
        parallel.set_num_threads(threads)


def test_log_softmax_writes_every_element_of_uninitialised_memory(monkeypatch):
    def nan_filled(xp, shape, dtype):
        return xp.full(shape, np.nan, dtype=dtype)

    monkeypatch.setattr(memory, "empty", nan_filled)
    x = np.random.default_rng(0).uniform(-5, 5, (3, 4, 5)).astype(np.float32)
    assert_matches_torch(lambda L, x: L.F.log_softmax(x, 1), [x], rtol=1e-6)
    assert_matches_torch(lambda L, x: L.F.softmax(x, 1), [x], rtol=1e-6)


def test_log_softmax_of_far_apart_logits_is_finite_as_torchs():
    """log(softmax) as two ops would take log(0) = -inf here; the one op shifts by the max first."""
    x = np.array([[1000.0, 0.0, -1000.0], [-3e4, -3e4 + 1, -3e4 + 2]], np.float32)
    with np.errstate(divide="raise", over="raise", invalid="raise"):  # exp(-2000) may underflow to 0
        out = mgF.log_softmax(mg.tensor(x), 1).numpy()
    np.testing.assert_allclose(out, torch.nn.functional.log_softmax(torch.tensor(x), 1).numpy(), rtol=1e-6)
    assert np.isfinite(out).all() and out[0, 2] == -2000.0


@pytest.mark.parametrize("shape", [(5,), (2, 5), (2, 3, 4), (2, 3, 4, 5)], ids=str)
def test_log_softmax_without_a_dim_warns_and_picks_torchs_dim(shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with pytest.warns(UserWarning) as ours:
        out = mgF.log_softmax(mg.tensor(x))
    with pytest.warns(UserWarning) as theirs:
        expected = torch.nn.functional.log_softmax(torch.tensor(x))
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert ours[0].filename == __file__
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


def test_log_softmax_refuses_what_torch_refuses():
    with pytest.raises(NotImplementedError):
        torch.nn.functional.log_softmax(torch.tensor([1, 2, 3]), 0)
    with pytest.raises(NotImplementedError, match="log_softmax.*Long"):
        mgF.log_softmax(mg.tensor([1, 2, 3]), 0)
    with pytest.raises(NotImplementedError, match=r"^softmax.*Int"):
        mgF.softmax(mg.tensor(np.array([1, 2, 3], np.int32)), 0)
    with pytest.raises(TypeError, match=r"log_softmax\(\): argument 'dim' must be int"):
        mgF.log_softmax(mg.zeros(2, 3), (0, 1))
    with pytest.raises(IndexError, match="Dimension out of range"):
        mgF.log_softmax(mg.zeros(2, 3), 2)


# ----------------------------------------------------------------------------- nll_loss and cross_entropy


def _classes_of(shape):
    return shape[0] if len(shape) == 1 else shape[1]


def class_targets(ignore=None, dtype=np.int64):
    """Random classes for an input of `shape` (0-d for a (C,) input); every third one `ignore` when given."""
    def make(rng, shape):
        target = rng.integers(0, _classes_of(shape), () if len(shape) == 1 else (shape[0], *shape[2:]))
        if ignore is not None:
            target.flat[::3] = ignore
        return target.astype(dtype)
    return make


def probabilities(rng, shape):
    """Class probabilities of the input's shape (not normalised: torch takes any)."""
    return rng.uniform(0, 1, shape).astype(np.float32)


@dataclass
class Case:
    name: str
    loss: str                    # "nll_loss" or "cross_entropy"
    shape: tuple                 # the input's
    target: object = class_targets()
    weight: bool = False         # random class weights
    kwargs: dict = field(default_factory=dict)


CASES = [
    Case("nll_2d", "nll_loss", (6, 4)),
    Case("nll_2d_weight_ignored", "nll_loss", (6, 4), class_targets(ignore=-100), weight=True),
    Case("nll_ignore_index_in_range", "nll_loss", (6, 4), class_targets(ignore=1), True, dict(ignore_index=1)),
    Case("nll_3d_weight_ignored", "nll_loss", (2, 4, 5), class_targets(ignore=-100), weight=True),
    Case("nll_4d_weight_ignored", "nll_loss", (2, 3, 4, 5), class_targets(ignore=-100), weight=True),
    Case("nll_5d", "nll_loss", (2, 3, 2, 3, 2)),
    Case("nll_1d_0d_target", "nll_loss", (5,), weight=True),
    Case("nll_uint8_ignore_255", "nll_loss", (6, 4), class_targets(ignore=255, dtype=np.uint8), True,
         dict(ignore_index=255)),
    Case("ce_2d", "cross_entropy", (6, 4)),
    Case("ce_2d_weight_ignored", "cross_entropy", (6, 4), class_targets(ignore=-100), weight=True),
    Case("ce_4d_weight_ignored", "cross_entropy", (2, 3, 4, 5), class_targets(ignore=-100), weight=True),
    Case("ce_1d", "cross_entropy", (5,)),
    Case("ce_smoothing", "cross_entropy", (6, 4), kwargs=dict(label_smoothing=0.2)),
    Case("ce_smoothing_weight_ignored", "cross_entropy", (6, 4), class_targets(ignore=-100), True,
         dict(label_smoothing=0.3)),
    Case("ce_smoothing_ignore_index_in_range", "cross_entropy", (6, 4), class_targets(ignore=0), True,
         dict(ignore_index=0, label_smoothing=0.3)),
    Case("ce_smoothing_4d_weight_ignored", "cross_entropy", (2, 3, 4, 5), class_targets(ignore=-100), True,
         dict(label_smoothing=0.1)),
    Case("ce_smoothing_1d_weight", "cross_entropy", (5,), weight=True, kwargs=dict(label_smoothing=0.25)),
    Case("ce_smoothing_all", "cross_entropy", (6, 4), weight=True, kwargs=dict(label_smoothing=1.0)),
    Case("ce_negative_smoothing_is_none", "cross_entropy", (6, 4), kwargs=dict(label_smoothing=-0.5)),
    Case("ce_probabilities", "cross_entropy", (6, 4), probabilities),
    Case("ce_probabilities_4d_weight", "cross_entropy", (2, 3, 4, 5), probabilities, weight=True),
    Case("ce_probabilities_smoothing_weight", "cross_entropy", (6, 4), probabilities, True, dict(label_smoothing=0.2)),
    Case("ce_probabilities_1d_weight", "cross_entropy", (5,), probabilities, weight=True),
]
REDUCTIONS = ["mean", "sum", "none"]


def _case_arrays(case, dtype, seed=0):
    """(input, target, weight or None) for a case, the floats in `dtype`."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 3, case.shape).astype(dtype)
    target = case.target(rng, case.shape)
    if target.dtype.kind == "f":
        target = target.astype(dtype)
    weight = rng.uniform(0.2, 2.0, _classes_of(case.shape)).astype(dtype) if case.weight else None
    return x, target, weight


def _loss(case, reduction):
    return lambda L, x, target, weight: getattr(L.F, case.loss)(x, target, weight=weight, reduction=reduction,
                                                                **case.kwargs)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_losses_match_torch_float32(case, reduction):
    x, target, weight = _case_arrays(case, np.float32)
    assert_matches_torch(_loss(case, reduction), [x], [target, weight])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_losses_gradcheck_float64(case, reduction):
    x, target, weight = _case_arrays(case, np.float64)
    probabilities = target.dtype.kind == "f"  # which have a gradient too
    target = mg.tensor(target, requires_grad=probabilities)
    weight = None if weight is None else mg.tensor(weight)

    def loss(x, target=target):
        return _loss(case, reduction)(MG, x, target, weight)

    assert mg.gradcheck(loss, [mg.tensor(x, requires_grad=True)] + [target] * probabilities)


@pytest.mark.parametrize("smoothing", [0.0, 0.3])
def test_probability_targets_get_torchs_gradient(smoothing):
    x, target, weight = _case_arrays(CASES[[c.name for c in CASES].index("ce_probabilities_4d_weight")], np.float32)
    assert_matches_torch(lambda L, x, target, weight: L.F.cross_entropy(x, target, weight, label_smoothing=smoothing),
                         [x, target], [weight])


def test_a_float64_probability_target_promotes_as_in_torch():
    rng = np.random.default_rng(0)
    x, target = rng.standard_normal((3, 4)).astype(np.float32), rng.uniform(0, 1, (3, 4))
    assert_matches_torch(lambda L, x, target: L.F.cross_entropy(x, target, reduction="none"), [x], [target])


@pytest.mark.parametrize("loss", ["nll_loss", "cross_entropy"])
def test_a_one_element_target_of_a_1d_input_is_its_0d_target_as_in_torch(loss):
    """torch takes a (1,) target for a (C,) input in the forward pass (its backward then fails)."""
    x = _x(5)
    value = getattr(mgF, loss)(mg.tensor(x), mg.tensor(_long(2)), reduction="none")
    expected = getattr(torch.nn.functional, loss)(torch.tensor(x), torch.tensor(_long(2)), reduction="none")
    assert value.shape == tuple(expected.shape) == ()
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)


def test_loss_defaults_are_torchs():
    """weight None, ignore_index -100, reduction "mean", no smoothing: the default call is the explicit one."""
    x, target, _ = _case_arrays(CASES[1], np.float32)
    for name in ("nll_loss", "cross_entropy"):
        default = getattr(mgF, name)(mg.tensor(x), mg.tensor(target)).item()
        assert default == pytest.approx(getattr(torch.nn.functional, name)(torch.tensor(x), torch.tensor(target)).item(),
                                        rel=1e-6)
        explicit = getattr(mgF, name)(mg.tensor(x), mg.tensor(target), None, ignore_index=-100, reduction="mean")
        assert explicit.item() == default


@pytest.mark.parametrize("loss, kwargs", [("nll_loss", {}), ("cross_entropy", {}),
                                          ("cross_entropy", dict(label_smoothing=0.1))], ids=str)
def test_a_mean_over_only_ignored_targets_is_nan_with_zero_gradients_as_torch(loss, kwargs):
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    target = np.full(3, -100)
    ours, theirs = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    with np.errstate(all="raise"):  # no 0 / 0 warning
        value = getattr(mgF, loss)(ours, mg.tensor(target), **kwargs)
        value.backward()
    expected = getattr(torch.nn.functional, loss)(theirs, torch.tensor(target), **kwargs)
    expected.backward()
    assert np.isnan(value.item()) and np.isnan(expected.item())
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert getattr(mgF, loss)(mg.tensor(x), mg.tensor(target), reduction="sum", **kwargs).item() == 0


def test_ignored_positions_may_hold_minus_infinity_as_in_torch():
    """torch skips ignored targets: a -inf log-probability at an ignored row gives no NaN, in value or gradient."""
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    x[1, 0] = -np.inf
    target = np.array([1, -100, 2])
    for reduction in REDUCTIONS:
        with np.errstate(all="raise"):
            assert_matches_torch(lambda L, x, target: L.F.nll_loss(x, target, reduction=reduction), [x], [target])


def _x(*shape, dtype=np.float32):
    return np.random.default_rng(0).standard_normal(shape).astype(dtype)


def _long(*values):
    return np.array(values, np.int64)


ERRORS = {
    "int32 target": lambda L: L.F.nll_loss(L.t(_x(3, 4)), L.t(np.array([0, 1, 2], np.int32))),
    "float target of another shape": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(np.array([0.0, 1.0, 2.0]))),
    "bool target": lambda L: L.F.nll_loss(L.t(_x(3, 4)), L.t(np.array([True, False, True]))),
    "batch sizes": lambda L: L.F.nll_loss(L.t(_x(3, 4)), L.t(_long(0, 1))),
    "0-d target of a batch": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(np.int64(1))),
    "target out of range": lambda L: L.F.nll_loss(L.t(_x(3, 4)), L.t(_long(0, 1, 4))),
    "negative target": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_long(0, -1, 2))),
    "target out of range, smoothed": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_long(0, 1, 7)),
                                                                 label_smoothing=0.1),
    "target out of range, 4-d": lambda L: L.F.cross_entropy(L.t(_x(1, 2, 1, 2)), L.t(np.array([[[0, 5]]]))),
    "weight size": lambda L: L.F.nll_loss(L.t(_x(3, 4)), L.t(_long(0, 1, 2)), L.t(np.ones(3, np.float32))),
    "2-d weight": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_long(0, 1, 2)), L.t(np.ones((2, 2), np.float32))),
    "weight dtype": lambda L: L.F.nll_loss(L.t(_x(3, 4)), L.t(_long(0, 1, 2)), L.t(np.ones(4))),
    "weight dtype, smoothed": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_long(0, 1, 2)), L.t(np.ones(4)),
                                                          label_smoothing=0.1),
    "weight that requires grad": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_long(0, 1, 2)),
                                                             L.t(np.ones(4, np.float32), requires_grad=True)),
    "0-d input": lambda L: L.F.nll_loss(L.t(np.float32(1.0)), L.t(np.int64(0))),
    "1-d input, target of 4": lambda L: L.F.nll_loss(L.t(_x(4)), L.t(_long(2, 1, 0, 3))),
    "1-d input, 2-d target": lambda L: L.F.nll_loss(L.t(_x(4)), L.t(np.zeros((2, 2), np.int64))),
    "2-d input, 2-d target": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(np.zeros((3, 2), np.int64))),
    "3-d target size": lambda L: L.F.cross_entropy(L.t(_x(2, 3, 4)), L.t(np.zeros((2, 3), np.int64))),
    "3-d target rank": lambda L: L.F.nll_loss(L.t(_x(2, 3, 4)), L.t(np.zeros(2, np.int64))),
    "5-d target size": lambda L: L.F.nll_loss(L.t(_x(2, 3, 4, 5, 2)), L.t(np.zeros((2, 4, 4, 2), np.int64))),
    "label_smoothing above 1": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_long(0, 1, 2)), label_smoothing=1.5),
    "integer probabilities": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(np.zeros((3, 4), np.int64))),
    "probabilities with ignore_index": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_x(3, 4)), ignore_index=1),
    "probabilities, label_smoothing 2": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_x(3, 4)), label_smoothing=2.0),
    "probabilities, weight size": lambda L: L.F.cross_entropy(L.t(_x(3, 4)), L.t(_x(3, 4)),
                                                              L.t(np.ones(3, np.float32))),
}


@pytest.mark.parametrize("make", torch_cases(ERRORS, {"int32 target", "float target of another shape", "bool target"}))
def test_errors_are_torchs(make):
    """The same exception class and message as torch's (RuntimeError, ValueError or IndexError)."""
    assert_raises_as_torch(lambda: make(TORCH), lambda: make(MG))


def test_a_bad_reduction_is_refused():
    x, target = mg.tensor(_x(3, 4)), mg.tensor(_long(0, 1, 2))
    for name in ("nll_loss", "cross_entropy"):
        with pytest.raises(ValueError) as theirs:
            getattr(torch.nn.functional, name)(torch.from_numpy(x.numpy()), torch.from_numpy(target.numpy()),
                                               reduction="average")
        with pytest.raises(ValueError) as ours:
            getattr(mgF, name)(x, target, reduction="average")
        assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------- modules


def _modules(nn, t):
    """Each module with non-default arguments, built from either library's nn and tensor constructor."""
    weight = t(np.array([0.5, 1.0, 2.0, 1.5], np.float32))
    return {
        "LogSoftmax(dim=1)": nn.LogSoftmax(dim=1),
        "LogSoftmax(-1)": nn.LogSoftmax(-1),
        "LogSoftmax()": nn.LogSoftmax(),
        "NLLLoss()": nn.NLLLoss(),
        "NLLLoss(weight, ignore_index=2, reduction=sum)": nn.NLLLoss(weight, ignore_index=2, reduction="sum"),
        "CrossEntropyLoss()": nn.CrossEntropyLoss(),
        "CrossEntropyLoss(weight, none, smoothing)": nn.CrossEntropyLoss(weight=weight, reduction="none",
                                                                         label_smoothing=0.2),
        "CrossEntropyLoss(positional)": nn.CrossEntropyLoss(weight, None, 1, None, "sum", 0.1),
    }


MODULES = list(_modules(mg.nn, mg.tensor))


@pytest.mark.parametrize("name", MODULES)
def test_module_reprs_and_arguments_match_torch(name):
    module, reference = _modules(mg.nn, mg.tensor)[name], _modules(torch.nn, torch.tensor)[name]
    assert repr(module) == repr(reference)
    for attribute in ("dim", "ignore_index", "reduction", "label_smoothing"):
        assert getattr(module, attribute, None) == getattr(reference, attribute, None), attribute
    weight = getattr(module, "weight", None)
    assert (weight is None) == (getattr(reference, "weight", None) is None)
    if weight is not None:
        np.testing.assert_array_equal(weight.numpy(), reference.weight.numpy())


@pytest.mark.parametrize("name", [name for name in MODULES if name != "LogSoftmax()"])
def test_modules_match_torch(name):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 4, 3)).astype(np.float32)
    target = rng.integers(0, 4, (5, 3))
    target[0, 0] = 2  # ignored where ignore_index is 2 (and an index 1 is drawn too)
    if name.startswith("LogSoftmax"):
        assert_matches_torch(lambda L, x: _modules(L.nn, L.t)[name](x), [x], rtol=1e-6)
    else:
        assert_matches_torch(lambda L, x, target: _modules(L.nn, L.t)[name](x, target), [x], [target])


@pytest.mark.parametrize("loss", ["NLLLoss", "CrossEntropyLoss"])
@pytest.mark.parametrize("legacy", [dict(reduce=False), dict(size_average=False)], ids=str)
def test_loss_modules_take_torchs_legacy_arguments(loss, legacy):
    """test_nn's test of MSELoss and L1Loss, for the weighted losses, whose __init__ adds a frame: torch's reduction
    and warning, which points at the line that made the module."""
    test_nn.test_loss_modules_take_torchs_legacy_arguments(loss, legacy)


def test_the_class_weights_cast_with_the_module_as_torchs_buffer():
    rng = np.random.default_rng(0)
    x, target, weight = rng.standard_normal((5, 3)), rng.integers(0, 3, 5), np.array([0.5, 1.0, 2.0], np.float32)
    module = mg.nn.CrossEntropyLoss(weight=mg.tensor(weight)).to(mg.float64)
    reference = torch.nn.CrossEntropyLoss(weight=torch.tensor(weight)).to(torch.float64)
    assert module.weight.dtype == np.float64
    value = module(mg.tensor(x), mg.tensor(target))  # a float32 weight would be torch's dtype error
    assert value.dtype == np.float64
    assert value.item() == pytest.approx(reference(torch.tensor(x), torch.tensor(target)).item(), rel=1e-12)


@pytest.mark.parametrize("head", ["CrossEntropyLoss", "LogSoftmax+NLLLoss"])
def test_softmax_regression_trained_with_sgd_matches_torch(head):
    """Three classes, ten SGD steps from torch's initial weights: the trained weights are torch's."""
    def build(nn, t):
        weight = t(np.array([1.0, 0.5, 2.0], np.float32))
        if head == "CrossEntropyLoss":
            return nn.Linear(4, 3), nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1)
        return nn.Sequential(nn.Linear(4, 3), nn.LogSoftmax(dim=1)), nn.NLLLoss(weight=weight)

    torch.manual_seed(0)
    reference, torch_loss = build(torch.nn, torch.tensor)
    model, loss = build(mg.nn, mg.tensor)
    initial = {name: value.detach().numpy().copy() for name, value in reference.state_dict().items()}
    model.load_state_dict(initial)
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((3, 4)) * 2
    optimizer = mg.optim.SGD(model.parameters(), lr=0.5, momentum=0.5)
    torch_optimizer = torch.optim.SGD(reference.parameters(), lr=0.5, momentum=0.5)

    def step(net, opt, criterion, t, x, y):
        opt.zero_grad()
        value = criterion(net(t(x)), t(y))
        value.backward()
        opt.step()
        return value.item()

    losses = []
    for _ in range(10):
        y = rng.integers(0, 3, 16)
        x = (centres[y] + rng.standard_normal((16, 4))).astype(np.float32)
        losses.append(step(model, optimizer, loss, mg.tensor, x, y))
        assert step(reference, torch_optimizer, torch_loss, torch.tensor, x, y) == pytest.approx(losses[-1], rel=1e-5)
    assert losses[-1] < losses[0] / 2  # it learned
    for name, value in reference.state_dict().items():
        assert np.abs(value.numpy() - initial[name]).max() > 1e-2, name  # the steps moved it
        np.testing.assert_allclose(model.state_dict()[name], value.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


# ----------------------------------------------------------------------------- the GPU path


def _gpu_path_losses(device):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((4, 3, 2)).astype(np.float32), device=device, requires_grad=True)
    target = mg.tensor(np.array([[0, 2], [1, -100], [2, 2], [-100, 0]]), device=device)
    weight = mg.tensor(np.array([0.5, 1.0, 2.0], np.float32), device=device)
    probabilities = mg.tensor(rng.uniform(0, 1, (4, 3, 2)).astype(np.float32), device=device)
    values = [mgF.cross_entropy(x, target, weight, label_smoothing=0.2), mgF.nll_loss(x, target, weight),
              mgF.cross_entropy(x, target, reduction="none"), mgF.cross_entropy(x, probabilities, weight),
              mgF.log_softmax(x, 1)]
    sum(((v * (k + 1)).sum() for k, v in enumerate(values)), mg.zeros((), device=device)).backward()
    assert all(v.device == device for v in values) and x.grad.device == device
    return [v.numpy() for v in values] + [x.grad.numpy()]


def test_losses_on_the_gpu_path_match_the_cpu(gpu_path):
    for gpu, cpu in zip(_gpu_path_losses("gpu"), _gpu_path_losses("cpu")):
        assert relative_error(gpu, cpu) <= 1e-5


def test_no_warnings_on_the_common_path():
    x, target = mg.tensor(_x(3, 4), requires_grad=True), mg.tensor(_long(0, -100, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            mgF.cross_entropy(x, target, label_smoothing=0.1).backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_log_softmax_is_a_tensor_method_too_as_in_torch():
    x = np.random.default_rng(12).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(mg.tensor(x).log_softmax(1).numpy(), torch.from_numpy(x).log_softmax(1).numpy(),
                               rtol=1e-6, atol=1e-6)
