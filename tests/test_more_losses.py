"""binary_cross_entropy (with logits too), smooth_l1_loss, huber_loss, kl_div, cosine_similarity, normalize and
one_hot, functional and modules, against torch: values and gradients in float32, float64 gradchecks, torch's errors
and warnings, and the GPU path."""
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mgF
import test_losses
import test_nn
from conftest import assert_gpu_matches_cpu, relative_error, torch_cases
from conftest import assert_matches_torch as assert_call_matches_torch
from test_losses import MG, TORCH, REDUCTIONS, assert_matches_torch

torch = pytest.importorskip("torch")


def probabilities(shape):
    return lambda rng: rng.uniform(0.05, 0.95, shape)


def logits(shape, scale=3.0):
    return lambda rng: rng.standard_normal(shape) * scale


def log_probabilities(shape):
    return lambda rng: np.log(rng.uniform(0.05, 1.0, shape))


def positive(shape):
    return lambda rng: rng.uniform(0.2, 2.0, shape)


@dataclass
class Case:
    """A loss of an input and a target (each drawn by rng), with constant tensors (weights) and keyword arguments."""
    name: str
    loss: str
    input: object
    target: object
    constants: dict = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)
    target_grad: bool = True  # whether torch differentiates the loss by its target

    def arrays(self, dtype, seed=0):
        rng = np.random.default_rng(seed)
        return ([self.input(rng).astype(dtype), self.target(rng).astype(dtype)],
                [make(rng).astype(dtype) for make in self.constants.values()])

    def function(self, reduction):
        names = list(self.constants)
        return lambda L, x, target, *constants: getattr(L.F, self.loss)(x, target, reduction=reduction, **self.kwargs,
                                                                       **dict(zip(names, constants)))


CASES = [
    Case("bce", "binary_cross_entropy", probabilities((6, 4)), probabilities((6, 4))),
    Case("bce_class_weight", "binary_cross_entropy", probabilities((6, 4)), probabilities((6, 4)),
         dict(weight=positive((4,)))),
    Case("bce_row_weight_3d", "binary_cross_entropy", probabilities((2, 3, 4)), probabilities((2, 3, 4)),
         dict(weight=positive((2, 1, 4)))),
    Case("bce_0d", "binary_cross_entropy", probabilities(()), probabilities(())),
    Case("bce_0d_weight", "binary_cross_entropy", probabilities(()), probabilities(()), dict(weight=positive(()))),
    Case("bce_logits_0d_weights", "binary_cross_entropy_with_logits", logits(()), probabilities(()),
         dict(weight=positive(()), pos_weight=positive(()))),
    Case("huber_0d", "huber_loss", logits(()), logits(()), kwargs=dict(delta=2.0)),
    Case("kl_div_0d", "kl_div", log_probabilities(()), probabilities(())),
    Case("bce_logits", "binary_cross_entropy_with_logits", logits((6, 4)), probabilities((6, 4))),
    Case("bce_logits_far", "binary_cross_entropy_with_logits", logits((6, 4), 40.0), probabilities((6, 4))),
    Case("bce_logits_weight", "binary_cross_entropy_with_logits", logits((6, 4)), probabilities((6, 4)),
         dict(weight=positive((6, 1)))),
    Case("bce_logits_pos_weight", "binary_cross_entropy_with_logits", logits((2, 3, 4)), probabilities((2, 3, 4)),
         dict(pos_weight=positive((4,)))),
    Case("bce_logits_both_weights", "binary_cross_entropy_with_logits", logits((6, 4), 20.0), probabilities((6, 4)),
         dict(weight=positive((4,)), pos_weight=positive((4,)))),
    Case("smooth_l1", "smooth_l1_loss", logits((6, 4)), logits((6, 4))),
    Case("smooth_l1_beta", "smooth_l1_loss", logits((2, 3, 4)), logits((2, 3, 4)), kwargs=dict(beta=0.5)),
    Case("smooth_l1_beta_0", "smooth_l1_loss", logits((6, 4)), logits((6, 4)), kwargs=dict(beta=0.0)),
    Case("huber", "huber_loss", logits((6, 4)), logits((6, 4))),
    Case("huber_delta", "huber_loss", logits((2, 3, 4)), logits((2, 3, 4)), kwargs=dict(delta=2.5)),
    Case("huber_small_delta", "huber_loss", logits((6, 4)), logits((6, 4)), kwargs=dict(delta=0.3)),
    Case("kl_div", "kl_div", log_probabilities((6, 4)), probabilities((6, 4))),
    Case("kl_div_3d", "kl_div", log_probabilities((2, 3, 4)), probabilities((2, 3, 4))),
    Case("kl_div_log_target", "kl_div", log_probabilities((6, 4)), log_probabilities((6, 4)),
         kwargs=dict(log_target=True)),
]
KL_REDUCTIONS = ["batchmean", *REDUCTIONS]


def _params(cases):
    return [pytest.param(case, reduction, id=f"{case.name}-{reduction}") for case in cases
            for reduction in (KL_REDUCTIONS if case.loss == "kl_div" else REDUCTIONS)]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("case, reduction", _params(CASES))
def test_losses_match_torch_float32(case, reduction):
    arrays, constants = case.arrays(np.float32)
    if not case.target_grad:
        arrays, constants = arrays[:1], arrays[1:] + constants
    assert_matches_torch(case.function(reduction), arrays, constants)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")
@pytest.mark.parametrize("case, reduction", _params(CASES))
def test_losses_gradcheck_float64(case, reduction):
    (x, target), constants = case.arrays(np.float64)
    loss = case.function(reduction)
    constants = [mg.tensor(c) for c in constants]
    assert mg.gradcheck(lambda x, target: loss(MG, x, target, *constants),
                        [mg.tensor(x, requires_grad=True), mg.tensor(target, requires_grad=True)])


def test_binary_cross_entropy_at_0_and_1_is_clamped_as_torchs():
    """log(0) clamps at -100 in the loss, and the input's slope's denominator at 1e-12."""
    x, target = np.array([0.0, 1.0, 0.0, 1.0, 0.5], np.float32), np.array([1.0, 0.0, 0.0, 1.0, 0.3], np.float32)
    results = []
    for L in (MG, TORCH):
        ours = L.t(x, requires_grad=True)
        value = L.F.binary_cross_entropy(ours, L.t(target), reduction="none")
        value.sum().backward()
        results.append((value.detach().numpy(), ours.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_binary_cross_entropy_target_gradient_at_0_and_1_is_torchs():
    x, target = np.array([0.0, 1.0, 0.25], np.float32), np.array([1.0, 0.0, 0.3], np.float32)
    grads = []
    for L in (MG, TORCH):
        ours = L.t(target, requires_grad=True)
        L.F.binary_cross_entropy(L.t(x), ours, reduction="sum").backward()
        grads.append(ours.grad.numpy())
    np.testing.assert_allclose(*grads, rtol=1e-6)


def test_kl_div_of_zero_and_negative_targets_is_torchs():
    """0 where the target is 0 (xlogy), NaN where it is negative; the target's gradient NaN at both, as torch's."""
    x = np.log(np.array([0.5, 0.2, 0.1, 0.2], np.float32))
    target = np.array([0.0, 1.0, -1.0, 0.3], np.float32)
    results = []
    for L in (MG, TORCH):
        ours, theirs = L.t(x, requires_grad=True), L.t(target, requires_grad=True)
        value = L.F.kl_div(ours, theirs, reduction="none")
        value.sum().backward()
        results.append((value.detach().numpy(), ours.grad.numpy(), theirs.grad.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_kl_div_batchmean_divides_by_the_batch_size():
    x, target = log_probabilities((5, 3))(np.random.default_rng(0)), probabilities((5, 3))(np.random.default_rng(1))
    value = mgF.kl_div(mg.tensor(x), mg.tensor(target), reduction="batchmean").item()
    assert value == pytest.approx(mgF.kl_div(mg.tensor(x), mg.tensor(target), reduction="sum").item() / 5)


def _warnings_of(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [(str(w.message), w.filename) for w in caught]


WARNINGS = {
    "smooth_l1 broadcast": lambda L: L.F.smooth_l1_loss(L.t(_x(3, 1)), L.t(_x(3))),
    "huber broadcast": lambda L: L.F.huber_loss(L.t(_x(3, 1)), L.t(_x(3))),
    "mse broadcast": lambda L: L.F.mse_loss(L.t(_x(3, 1)), L.t(_x(3))),
    "kl_div mean": lambda L: L.F.kl_div(L.t(_x(3, 4)), L.t(_x(3, 4))),
}


@pytest.mark.parametrize("make", torch_cases(WARNINGS))
def test_warnings_are_torchs_and_point_at_the_caller(make):
    ours = _warnings_of(lambda: make(MG))
    theirs = _warnings_of(lambda: make(TORCH))
    assert [message for message, _ in ours] == [message for message, _ in theirs] and ours
    assert all(filename == __file__ for _, filename in ours)


def test_broadcast_targets_match_torch():
    rng = np.random.default_rng(0)
    x, target = rng.standard_normal((4, 1)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for loss in ("smooth_l1_loss", "huber_loss"):
            assert_matches_torch(lambda L, x, target: getattr(L.F, loss)(x, target, reduction="none"), [x, target])


# ----------------------------------------------------------------------------- cosine_similarity and normalize


def _with_zero_row(shape):
    def make(rng):
        values = rng.standard_normal(shape)
        values[0] = 0
        return values
    return make


SIMILARITIES = {
    "2d": ((4, 5), (4, 5), {}),
    "3d dim -1": ((2, 3, 4), (2, 3, 4), dict(dim=-1)),
    "3d dim 0": ((2, 3, 4), (2, 3, 4), dict(dim=0)),
    "1d dim 0": ((5,), (5,), dict(dim=0)),
    "broadcast": ((1, 5), (4, 5), {}),
    "broadcast both": ((2, 1, 3), (1, 4, 3), dict(dim=-1)),
    "eps": ((4, 5), (4, 5), dict(eps=0.5)),
}


@pytest.mark.parametrize("shape1, shape2, kwargs", torch_cases(SIMILARITIES))
def test_cosine_similarity_matches_torch_float32(shape1, shape2, kwargs):
    rng = np.random.default_rng(0)
    x1, x2 = (rng.standard_normal(s).astype(np.float32) for s in (shape1, shape2))
    assert_matches_torch(lambda L, x1, x2: L.F.cosine_similarity(x1, x2, **kwargs), [x1, x2])


@pytest.mark.parametrize("shape1, shape2, kwargs", torch_cases(SIMILARITIES))
def test_cosine_similarity_gradcheck_float64(shape1, shape2, kwargs):
    rng = np.random.default_rng(0)
    x1, x2 = (mg.tensor(rng.standard_normal(s), requires_grad=True) for s in (shape1, shape2))
    assert mg.gradcheck(lambda x1, x2: mgF.cosine_similarity(x1, x2, **kwargs), [x1, x2])


def test_cosine_similarity_of_a_zero_vector_has_torchs_gradient():
    """The clamped norm does not enter the gradient, as in torch, which clamps it outside autograd."""
    rng = np.random.default_rng(0)
    x1, x2 = _with_zero_row((3, 4))(rng).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    x1[1] = 1e-9  # below eps, not 0
    assert_matches_torch(lambda L, x1, x2: L.F.cosine_similarity(x1, x2), [x1, x2])


def test_cosine_similarity_of_huge_vectors_is_torchs():
    """Each operand is divided by its norm first, as torch's: where a norm overflows float32 the cosine is 0, with a
    zero gradient, not inf / inf = NaN."""
    x1 = np.array([[1e20, 1e20, 1e20], [3, 4, 0], [1e-20, 1e-20, 0]], np.float32)
    x2 = np.array([[3, 4, 0], [1e20, 0, 1], [1, 2, 3]], np.float32)
    assert_matches_torch(lambda L, x1, x2: L.F.cosine_similarity(x1, x2), [x1, x2])


NORMALIZE = {
    "default": ((4, 5), {}),
    "p=1": ((4, 5), dict(p=1)),
    "p=3 dim 0": ((3, 4, 2), dict(p=3.0, dim=0)),
    "p=inf dim -1": ((3, 4), dict(p=float("inf"), dim=-1)),
    "1d dim 0": ((5,), dict(dim=0)),
}


@pytest.mark.parametrize("shape, kwargs", torch_cases(NORMALIZE))
def test_normalize_matches_torch_float32(shape, kwargs):
    x = _with_zero_row(shape)(np.random.default_rng(0)).astype(np.float32)
    assert_matches_torch(lambda L, x: L.F.normalize(x, **kwargs), [x])


@pytest.mark.parametrize("shape, kwargs", torch_cases(NORMALIZE))
def test_normalize_gradcheck_float64(shape, kwargs):
    x = mg.tensor(np.random.default_rng(0).standard_normal(shape), requires_grad=True)
    assert mg.gradcheck(lambda x: mgF.normalize(x, **kwargs), [x])


def _signs(shape, zeros=False):
    """Embedding targets: 1 or -1 at random, and some 0 (which counts for nothing) where `zeros`."""
    def make(rng):
        return rng.choice([1, -1, 0] if zeros else [1, -1], shape).astype(np.int64)
    return make


EMBEDDINGS = {  # the inputs' shape, keyword arguments, and whether some targets are 0
    "2d": ((6, 5), {}, False),
    "2d margin": ((6, 5), dict(margin=0.2), False),
    "2d negative margin, zero targets": ((6, 5), dict(margin=-0.3), True),
    "1d": ((5,), {}, False),
}


def _embedding_arrays(shape, zeros=False, dtype=np.float32):
    rng = np.random.default_rng(0)
    x1, x2 = (rng.standard_normal(shape).astype(dtype) for _ in range(2))
    return x1, x2, _signs(shape[:-1], zeros)(rng)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, kwargs, zeros", torch_cases(EMBEDDINGS))
def test_cosine_embedding_loss_matches_torch_float32(shape, kwargs, zeros, reduction):
    x1, x2, target = _embedding_arrays(shape, zeros)
    assert_matches_torch(lambda L, x1, x2, target: L.F.cosine_embedding_loss(x1, x2, target, reduction=reduction,
                                                                             **kwargs), [x1, x2], [target])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape, kwargs, zeros", torch_cases(EMBEDDINGS))
def test_cosine_embedding_loss_gradcheck_float64(shape, kwargs, zeros, reduction):
    x1, x2, target = _embedding_arrays(shape, zeros, np.float64)
    target = mg.tensor(target)
    assert mg.gradcheck(lambda x1, x2: mgF.cosine_embedding_loss(x1, x2, target, reduction=reduction, **kwargs),
                        [mg.tensor(x1, requires_grad=True), mg.tensor(x2, requires_grad=True)])


# ----------------------------------------------------------------------------- one_hot


@pytest.mark.parametrize("classes, num_classes", [([0, 2, 1, 2], -1), ([[0, 3], [1, 1]], 5), (2, 4), ([], 3),
                                                  (np.zeros((0, 2), np.int64), 2)], ids=str)
def test_one_hot_is_torchs(classes, num_classes):
    classes = np.array(classes, np.int64)
    ours = mgF.one_hot(mg.tensor(classes), num_classes)
    theirs = torch.nn.functional.one_hot(torch.tensor(classes), num_classes)
    assert ours.dtype == np.int64 and ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# ----------------------------------------------------------------------------- errors


def _x(*shape, dtype=np.float32, low=0.1, high=0.9):
    return np.random.default_rng(0).uniform(low, high, shape).astype(dtype)


ERRORS = {
    "bce input above 1": lambda L: L.F.binary_cross_entropy(L.t(_x(3) + 1), L.t(_x(3))),
    "bce negative input": lambda L: L.F.binary_cross_entropy(L.t(-_x(3)), L.t(_x(3))),
    "bce NaN input": lambda L: L.F.binary_cross_entropy(L.t(np.array([0.5, np.nan], np.float32)), L.t(_x(2))),
    "bce target above 1": lambda L: L.F.binary_cross_entropy(L.t(_x(3)), L.t(_x(3) * 3)),
    "bce target size": lambda L: L.F.binary_cross_entropy(L.t(_x(2, 1)), L.t(_x(2))),
    "bce target dtype": lambda L: L.F.binary_cross_entropy(L.t(_x(2)), L.t(_x(2, dtype=np.float64))),
    "bce weight size": lambda L: L.F.binary_cross_entropy(L.t(_x(1, 2)), L.t(_x(1, 2)), L.t(_x(3))),
    "bce weight larger": lambda L: L.F.binary_cross_entropy(L.t(_x(2)), L.t(_x(2)), L.t(_x(2, 2))),
    "bce weight requires grad": lambda L: L.F.binary_cross_entropy(L.t(_x(2)), L.t(_x(2)),
                                                                   L.t(_x(2), requires_grad=True)),
    "logits target size": lambda L: L.F.binary_cross_entropy_with_logits(L.t(_x(2, 1)), L.t(_x(2))),
    "logits int target": lambda L: L.F.binary_cross_entropy_with_logits(L.t(_x(2)), L.t(np.array([0, 1]))),
    "logits weight size": lambda L: L.F.binary_cross_entropy_with_logits(L.t(_x(1, 2)), L.t(_x(1, 2)), L.t(_x(3))),
    "logits pos_weight size": lambda L: L.F.binary_cross_entropy_with_logits(L.t(_x(1, 2)), L.t(_x(1, 2)),
                                                                             pos_weight=L.t(_x(3))),
    "logits pos_weight requires grad": lambda L: L.F.binary_cross_entropy_with_logits(
        L.t(_x(2)), L.t(_x(2)), pos_weight=L.t(_x(2), requires_grad=True)),
    "smooth_l1 negative beta": lambda L: L.F.smooth_l1_loss(L.t(_x(2)), L.t(_x(2)), beta=-1.0),
    "huber zero delta": lambda L: L.F.huber_loss(L.t(_x(2)), L.t(_x(2)), delta=0.0),
    "smooth_l1 shapes": lambda L: L.F.smooth_l1_loss(L.t(_x(2, 3)), L.t(_x(2, 2))),
    "kl_div shapes": lambda L: L.F.kl_div(L.t(_x(2, 3)), L.t(_x(2, 2)), reduction="sum"),
    "cosine dim": lambda L: L.F.cosine_similarity(L.t(_x(1, 2)), L.t(_x(1, 2)), dim=2),
    "cosine 1d default dim": lambda L: L.F.cosine_similarity(L.t(_x(2)), L.t(_x(2))),
    "cosine shapes": lambda L: L.F.cosine_similarity(L.t(_x(1, 2)), L.t(_x(1, 3))),
    "cosine ints": lambda L: L.F.cosine_similarity(L.t(np.array([[1, 2]])), L.t(np.array([[0, 1]]))),
    "normalize ints": lambda L: L.F.normalize(L.t(np.array([[1, 2]]))),
    "normalize 1d default dim": lambda L: L.F.normalize(L.t(_x(2))),
    "embedding 1d target, 1d inputs": lambda L: L.F.cosine_embedding_loss(L.t(_x(2)), L.t(_x(2)),
                                                                          L.t(np.array([1]))),
    "embedding 0d target, 2d inputs": lambda L: L.F.cosine_embedding_loss(L.t(_x(1, 2)), L.t(_x(1, 2)),
                                                                          L.t(np.array(1))),
    "embedding 2d target": lambda L: L.F.cosine_embedding_loss(L.t(_x(1, 2)), L.t(_x(1, 2)), L.t(np.array([[1]]))),
    "embedding input ranks": lambda L: L.F.cosine_embedding_loss(L.t(_x(1, 2)), L.t(_x(2)), L.t(np.array([1]))),
    "embedding sizes": lambda L: L.F.cosine_embedding_loss(L.t(_x(1, 2)), L.t(_x(1, 3)), L.t(np.array([1]))),
    "one_hot negative": lambda L: L.F.one_hot(L.t(np.array([0, -2]))),
    "one_hot too few classes": lambda L: L.F.one_hot(L.t(np.array([0, 3])), 3),
    "one_hot int32": lambda L: L.F.one_hot(L.t(np.array([0, 3], np.int32))),
    "one_hot floats": lambda L: L.F.one_hot(L.t(np.array([0.0, 3.0]))),
    "one_hot empty": lambda L: L.F.one_hot(L.t(np.zeros(0, np.int64))),
}


@pytest.mark.filterwarnings("ignore:Using a target size:UserWarning")
@pytest.mark.parametrize("make", torch_cases(ERRORS))
def test_errors_are_torchs(make):
    test_losses.test_errors_are_torchs(make)


@pytest.mark.parametrize("loss", ["binary_cross_entropy", "binary_cross_entropy_with_logits", "smooth_l1_loss",
                                  "huber_loss", "kl_div"])
def test_a_bad_reduction_is_refused(loss):
    x = _x(2)
    with pytest.raises(ValueError) as theirs:
        getattr(torch.nn.functional, loss)(torch.from_numpy(x), torch.from_numpy(x), reduction="average")
    with pytest.raises(ValueError) as ours:
        getattr(mgF, loss)(mg.tensor(x), mg.tensor(x), reduction="average")
    assert str(ours.value) == str(theirs.value)


# ----------------------------------------------------------------------------- modules


def _modules(nn, t):
    weight, pos_weight = t(np.array([0.5, 1.0, 2.0], np.float32)), t(np.array([3.0, 1.0, 0.5], np.float32))
    return {
        "BCELoss()": (nn.BCELoss(), "probabilities"),
        "BCELoss(weight, sum)": (nn.BCELoss(weight, reduction="sum"), "probabilities"),
        "BCEWithLogitsLoss()": (nn.BCEWithLogitsLoss(), "logits"),
        "BCEWithLogitsLoss(weight, none, pos_weight)": (nn.BCEWithLogitsLoss(weight, reduction="none",
                                                                             pos_weight=pos_weight), "logits"),
        "SmoothL1Loss()": (nn.SmoothL1Loss(), "logits"),
        "SmoothL1Loss(sum, beta)": (nn.SmoothL1Loss(reduction="sum", beta=0.5), "logits"),
        "HuberLoss()": (nn.HuberLoss(), "logits"),
        "HuberLoss(none, delta)": (nn.HuberLoss("none", 0.4), "logits"),
        "KLDivLoss(batchmean)": (nn.KLDivLoss(reduction="batchmean"), "log_probabilities"),
        "KLDivLoss(sum, log_target)": (nn.KLDivLoss(reduction="sum", log_target=True), "log_probabilities"),
        "CosineSimilarity()": (nn.CosineSimilarity(), "logits"),
        "CosineSimilarity(0, eps)": (nn.CosineSimilarity(0, 0.5), "logits"),
        "CosineEmbeddingLoss(margin, sum)": (nn.CosineEmbeddingLoss(0.25, reduction="sum"), "embeddings"),
    }


MODULES = list(_modules(mg.nn, mg.tensor))


@pytest.mark.parametrize("name", MODULES)
def test_module_reprs_and_arguments_match_torch(name):
    (module, _), (reference, _) = _modules(mg.nn, mg.tensor)[name], _modules(torch.nn, torch.tensor)[name]
    assert repr(module) == repr(reference)
    for attribute in ("reduction", "beta", "delta", "log_target", "dim", "eps", "margin"):
        assert getattr(module, attribute, None) == getattr(reference, attribute, None), attribute
    for buffer in ("weight", "pos_weight"):
        ours, theirs = getattr(module, buffer, None), getattr(reference, buffer, None)
        assert (ours is None) == (theirs is None)
        if ours is not None:
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
            assert buffer in dict(module.named_buffers())


@pytest.mark.parametrize("name", MODULES)
def test_modules_match_torch(name):
    _, kind = _modules(mg.nn, mg.tensor)[name]
    if kind == "embeddings":
        x1, x2, target = _embedding_arrays((5, 3))
        assert_matches_torch(lambda L, x1, x2, target: _modules(L.nn, L.t)[name][0](x1, x2, target), [x1, x2],
                             [target])
        return
    make = dict(probabilities=probabilities, logits=logits, log_probabilities=log_probabilities)[kind]((5, 3))
    rng = np.random.default_rng(0)
    x = make(rng).astype(np.float32)
    target = (make if kind == "logits" else probabilities((5, 3)))(rng).astype(np.float32)
    if kind == "log_probabilities" and "log_target" in name:
        target = np.log(target)
    assert_matches_torch(lambda L, x, target: _modules(L.nn, L.t)[name][0](x, target), [x, target])


@pytest.mark.parametrize("loss", ["BCELoss", "BCEWithLogitsLoss", "SmoothL1Loss", "KLDivLoss", "CosineEmbeddingLoss"])
@pytest.mark.parametrize("legacy", [dict(reduce=False), dict(size_average=False)], ids=str)
def test_loss_modules_take_torchs_legacy_arguments(loss, legacy):
    test_nn.test_loss_modules_take_torchs_legacy_arguments(loss, legacy)


def test_the_weights_cast_with_the_module_as_torchs_buffers():
    rng = np.random.default_rng(0)
    x, target = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 3))
    weight, pos_weight = np.array([0.5, 1.0, 2.0], np.float32), np.array([2.0, 1.0, 3.0], np.float32)
    module = mg.nn.BCEWithLogitsLoss(mg.tensor(weight), pos_weight=mg.tensor(pos_weight)).to(mg.float64)
    reference = torch.nn.BCEWithLogitsLoss(torch.tensor(weight), pos_weight=torch.tensor(pos_weight)).double()
    assert module.weight.dtype == module.pos_weight.dtype == np.float64
    value = module(mg.tensor(x), mg.tensor(target))
    assert value.dtype == np.float64
    assert value.item() == pytest.approx(reference(torch.tensor(x), torch.tensor(target)).item(), rel=1e-12)


# ----------------------------------------------------------------------------- the GPU path


def _gpu_path_values(device):
    rng = np.random.default_rng(0)

    def t(values, requires_grad=False):
        return mg.tensor(np.asarray(values, np.float32), device=device, requires_grad=requires_grad)

    x = t(rng.standard_normal((4, 3)), requires_grad=True)
    probability = t(rng.uniform(0.05, 0.95, (4, 3)), requires_grad=True)
    target = t(rng.uniform(0, 1, (4, 3)), requires_grad=True)
    weight, pos_weight = t(rng.uniform(0.5, 2, 3)), t(rng.uniform(0.5, 2, 3))
    log_probability = mgF.log_softmax(x, 1)
    values = [
        mgF.binary_cross_entropy(probability, target, weight),
        mgF.binary_cross_entropy_with_logits(x, target, weight, reduction="none", pos_weight=pos_weight),
        mgF.binary_cross_entropy_with_logits(x * 30, target, reduction="sum"),
        mgF.smooth_l1_loss(x, target, beta=0.5), mgF.huber_loss(x, target, reduction="none", delta=0.7),
        mgF.kl_div(log_probability, target, reduction="batchmean"),
        mgF.kl_div(log_probability, log_probability * 0.5, reduction="none", log_target=True),
        mgF.cosine_similarity(x, target), mgF.cosine_similarity(x[:1], probability, dim=0),
        mgF.normalize(x), mgF.normalize(probability, p=1, dim=0),
        mgF.cosine_embedding_loss(x, target, mg.tensor(np.array([1, -1, 0, 1]), device=device), margin=-0.2),
    ]
    sum(((v * (k + 1)).sum() for k, v in enumerate(values)), mg.zeros((), device=device)).backward()
    classes = mgF.one_hot(mg.tensor(np.array([[0, 2], [3, 1]]), device=device))
    assert all(v.device == device for v in values) and classes.device == device and x.grad.device == device
    return [v.numpy() for v in values] + [classes.numpy()] + [t.grad.numpy() for t in (x, probability, target)]


def test_losses_on_the_gpu_path_match_the_cpu(gpu_path):
    for gpu, cpu in zip(_gpu_path_values("gpu"), _gpu_path_values("cpu")):
        assert gpu.dtype == cpu.dtype
        assert relative_error(gpu, cpu) <= 1e-5


WEIGHTED = {"mse_loss": {}, "l1_loss": {}, "huber_loss": dict(delta=0.7)}


def _weighted_call(loss, reduction):
    arguments = WEIGHTED[loss]
    return lambda L, x, y, w: getattr(L.nn.functional if L is torch else mgF, loss)(x, y, reduction=reduction,
                                                                                      weight=w, **arguments)


def _weighted_arrays(dtype=np.float32):
    rng = np.random.default_rng(5)
    return [rng.standard_normal((3, 4)).astype(dtype), rng.standard_normal((3, 4)).astype(dtype),
            rng.uniform(0.1, 2.0, (3, 4)).astype(dtype)]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", WEIGHTED)
def test_weighted_losses_match_torch(loss, reduction):
    """torch's weight=, an element's weight: "mean" divides by the weights' sum for mse_loss and l1_loss and by
    their count for huber_loss, as torch's; values and the gradients of input, target and weight."""
    assert_call_matches_torch(torch, _weighted_call(loss, reduction), _weighted_arrays())


@pytest.mark.parametrize("loss", WEIGHTED)
def test_weighted_losses_gradcheck_float64(loss):
    call = _weighted_call(loss, "mean")
    tensors = [mg.tensor(a, requires_grad=True) for a in _weighted_arrays(np.float64)]
    assert mg.gradcheck(lambda x, y, w: call(mg, x, y, w), tensors)


@pytest.mark.parametrize("loss", WEIGHTED)
def test_weighted_losses_errors_are_torchs(loss):
    x, y, w = _weighted_arrays()
    for weight, reduction in ((w[:2], "mean"), (w, "average")):
        with pytest.raises(ValueError) as theirs:
            _weighted_call(loss, reduction)(torch, *(torch.from_numpy(a) for a in (x, y, weight)))
        with pytest.raises(ValueError) as ours:
            _weighted_call(loss, reduction)(mg, *(mg.tensor(a) for a in (x, y, weight)))
        assert str(ours.value) == str(theirs.value)


def test_weighted_losses_on_the_gpu_path_match_the_cpu(gpu_path):
    for loss in WEIGHTED:
        assert_gpu_matches_cpu(_weighted_call(loss, "mean"), _weighted_arrays())
