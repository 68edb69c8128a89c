"""margin_ranking_loss, hinge_embedding_loss, soft_margin_loss, multilabel_soft_margin_loss, the triplet margin
losses, poisson_nll_loss, gaussian_nll_loss, multi_margin_loss and multilabel_margin_loss, functional and modules,
against torch: values and gradients in float32, float64 gradchecks, result dtypes, module reprs and buffers, torch's
errors, and the GPU path."""
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
import minigrad.functional as mgF
import test_losses
import test_nn
from conftest import relative_error, torch_cases
from test_losses import MG, TORCH, REDUCTIONS, assert_matches_torch

torch = pytest.importorskip("torch")


# Each maker draws an array from rng in the dtype under test (integer targets keep their own).
def normal(*shape, scale=1.0):
    return lambda rng, dtype: (rng.standard_normal(shape) * scale).astype(dtype)


def uniform(low, high, *shape):
    return lambda rng, dtype: rng.uniform(low, high, shape).astype(dtype)


def signs(*shape, values=(-1.0, 1.0), dtype=None):
    """Targets drawn from `values`, in the dtype under test unless `dtype` fixes one."""
    return lambda rng, test_dtype: rng.choice(values, shape).astype(dtype or test_dtype)


def classes(count, *shape):
    return lambda rng, dtype: rng.integers(0, count, shape).astype(np.int64)


def label_lists(samples, count, *, repeats=False):
    """multilabel_margin_loss's targets: each sample's labels first (distinct unless `repeats`, maybe none, maybe
    all), then -1 and any classes (which count for nothing), of shape (samples, count), or (count,) for samples
    None."""
    def make(rng, dtype):
        rows = []
        for _ in range(samples or 1):
            labels = rng.integers(0, count, count) if repeats else rng.permutation(count)
            row = rng.integers(-1, count, count)
            listed = rng.integers(0, count + 1)
            row[:listed] = labels[:listed]
            if listed < count:
                row[listed] = -1
            rows.append(row)
        return np.array(rows if samples else rows[0], np.int64)
    return make


def in_float64(make):
    return lambda rng, dtype: make(rng, np.float64)


@dataclass
class Case:
    """loss(L, reduction, *tensors) of the differentiable arrays then the constant ones, each drawn by its maker."""
    loss: object
    differentiable: list
    constants: list = field(default_factory=list)
    gradcheck: bool = True  # False where torch's gradient is not the derivative (a clamp outside autograd)

    def arrays(self, dtype, seed=0):
        rng = np.random.default_rng(seed)
        return ([make(rng, dtype) for make in self.differentiable], [make(rng, dtype) for make in self.constants])


def _l1_distance(x1, x2):
    return (x1 - x2).abs().sum(-1)


def _cosine_distance(L):
    return lambda x1, x2: 1 - L.F.cosine_similarity(x1, x2, dim=-1)


CASES = {
    "margin_ranking 1d": Case(lambda L, r, a, b, t: L.F.margin_ranking_loss(a, b, t, reduction=r),
                              [normal(6), normal(6), signs(6)]),
    "margin_ranking broadcast, margin": Case(
        lambda L, r, a, b, t: L.F.margin_ranking_loss(a, b, t, margin=0.3, reduction=r),
        [normal(4, 1), normal(1, 5), signs(4, 5)]),
    "margin_ranking 0d": Case(lambda L, r, a, b, t: L.F.margin_ranking_loss(a, b, t, 0.2, reduction=r),
                              [normal(), normal(), signs()]),
    "margin_ranking int target": Case(lambda L, r, a, b, t: L.F.margin_ranking_loss(a, b, t, reduction=r),
                                      [normal(3, 4), normal(3, 4)], [signs(3, 4, dtype=np.int64)]),
    "margin_ranking float64 target": Case(lambda L, r, a, b, t: L.F.margin_ranking_loss(a, b, t, reduction=r),
                                          [normal(5), normal(5), in_float64(signs(5))]),
    "hinge 1d": Case(lambda L, r, x, t: L.F.hinge_embedding_loss(x, t, reduction=r), [normal(8, scale=2.0)],
                     [signs(8)]),
    "hinge int target, margin": Case(lambda L, r, x, t: L.F.hinge_embedding_loss(x, t, 0.5, reduction=r),
                                     [normal(3, 4)], [signs(3, 4, dtype=np.int64)]),
    "hinge other targets": Case(lambda L, r, x, t: L.F.hinge_embedding_loss(x, t, margin=2.0, reduction=r),
                                [normal(4, 5)], [signs(4, 5, values=(-1, 0, 1, 2))]),
    "hinge broadcast": Case(lambda L, r, x, t: L.F.hinge_embedding_loss(x, t, reduction=r), [normal(3, 1)],
                            [signs(4)]),
    "hinge 0d": Case(lambda L, r, x, t: L.F.hinge_embedding_loss(x, t, reduction=r), [normal()], [signs()]),
    "soft_margin": Case(lambda L, r, x, t: L.F.soft_margin_loss(x, t, reduction=r), [normal(5, 4, scale=3.0)],
                        [signs(5, 4)]),
    "soft_margin 0d": Case(lambda L, r, x, t: L.F.soft_margin_loss(x, t, reduction=r), [normal()], [signs()]),
    "soft_margin broadcast target": Case(lambda L, r, x, t: L.F.soft_margin_loss(x, t, reduction=r),
                                         [normal(5, 4)], [signs(4)]),
    "soft_margin int target": Case(lambda L, r, x, t: L.F.soft_margin_loss(x, t, reduction=r), [normal(6)],
                                   [signs(6, dtype=np.int64)]),
    "soft_margin float64 target": Case(lambda L, r, x, t: L.F.soft_margin_loss(x, t, reduction=r), [normal(6)],
                                       [in_float64(uniform(-1, 1, 6))]),
    "multilabel_soft_margin": Case(lambda L, r, x, t: L.F.multilabel_soft_margin_loss(x, t, reduction=r),
                                   [normal(5, 4, scale=2.0), uniform(0, 1, 5, 4)]),
    "multilabel_soft_margin weight": Case(
        lambda L, r, x, t, w: L.F.multilabel_soft_margin_loss(x, t, w, reduction=r),
        [normal(5, 4), signs(5, 4, values=(0.0, 1.0)), uniform(0.5, 2, 4)]),
    "multilabel_soft_margin 1d": Case(lambda L, r, x, t: L.F.multilabel_soft_margin_loss(x, t, reduction=r),
                                      [normal(4), uniform(0, 1, 4)]),
    "multilabel_soft_margin 3d, sample weight": Case(
        lambda L, r, x, t, w: L.F.multilabel_soft_margin_loss(x, t, weight=w, reduction=r),
        [normal(2, 3, 4), uniform(0, 1, 2, 3, 4)], [uniform(0.5, 2, 2, 3, 1)]),
    "multilabel_soft_margin int target": Case(
        lambda L, r, x, t: L.F.multilabel_soft_margin_loss(x, t, reduction=r), [normal(3, 4)],
        [signs(3, 4, values=(0, 1), dtype=np.int64)]),
    "triplet": Case(lambda L, r, a, p, n: L.F.triplet_margin_loss(a, p, n, reduction=r),
                    [normal(5, 4), normal(5, 4), normal(5, 4)]),
    "triplet p=1, margin": Case(lambda L, r, a, p, n: L.F.triplet_margin_loss(a, p, n, margin=0.5, p=1, reduction=r),
                                [normal(5, 4), normal(5, 4), normal(5, 4)]),
    "triplet p=3, eps, swap": Case(
        lambda L, r, a, p, n: L.F.triplet_margin_loss(a, p, n, 2.0, 3.0, 1e-3, True, reduction=r),
        [normal(6, 3), normal(6, 3), normal(6, 3)]),
    "triplet swap": Case(lambda L, r, a, p, n: L.F.triplet_margin_loss(a, p, n, margin=3.0, swap=True, reduction=r),
                         [normal(8, 4), normal(8, 4, scale=0.5), normal(8, 4)]),
    "triplet 1d": Case(lambda L, r, a, p, n: L.F.triplet_margin_loss(a, p, n, margin=2.0, reduction=r),
                       [normal(4), normal(4), normal(4)]),
    "triplet 3d, broadcast": Case(lambda L, r, a, p, n: L.F.triplet_margin_loss(a, p, n, margin=2.0, reduction=r),
                                  [normal(2, 3, 4), normal(1, 3, 4), normal(2, 1, 4)]),
    "triplet_distance default": Case(
        lambda L, r, a, p, n: L.F.triplet_margin_with_distance_loss(a, p, n, reduction=r),
        [normal(5, 4), normal(5, 4), normal(5, 4)]),
    "triplet_distance l1, margin, swap": Case(
        lambda L, r, a, p, n: L.F.triplet_margin_with_distance_loss(a, p, n, distance_function=_l1_distance,
                                                                    margin=2.0, swap=True, reduction=r),
        [normal(6, 3), normal(6, 3), normal(6, 3)]),
    "triplet_distance cosine 1d": Case(
        lambda L, r, a, p, n: L.F.triplet_margin_with_distance_loss(a, p, n, distance_function=_cosine_distance(L),
                                                                    margin=1.5, reduction=r),
        [normal(4), normal(4), normal(4)]),
    "poisson": Case(lambda L, r, x, t: L.F.poisson_nll_loss(x, t, reduction=r), [normal(5, 4), uniform(0, 4, 5, 4)]),
    "poisson full": Case(lambda L, r, x, t: L.F.poisson_nll_loss(x, t, full=True, reduction=r),
                         [normal(5, 4), uniform(0.2, 4, 5, 4)]),
    "poisson rates, full, eps": Case(
        lambda L, r, x, t: L.F.poisson_nll_loss(x, t, log_input=False, full=True, eps=1e-3, reduction=r),
        [uniform(0.1, 3, 5, 4), uniform(0.2, 4, 5, 4)]),
    "poisson rates 0d": Case(lambda L, r, x, t: L.F.poisson_nll_loss(x, t, False, reduction=r),
                             [uniform(0.1, 3), uniform(0, 4)]),
    "poisson int counts, full": Case(lambda L, r, x, t: L.F.poisson_nll_loss(x, t, full=True, reduction=r),
                                     [normal(10)], [classes(6, 10)]),
    "poisson broadcast": Case(lambda L, r, x, t: L.F.poisson_nll_loss(x, t, reduction=r),
                              [normal(3, 1), uniform(0, 4, 4)]),
    "gaussian": Case(lambda L, r, x, t, v: L.F.gaussian_nll_loss(x, t, v, reduction=r),
                     [normal(5, 4), normal(5, 4), uniform(0.2, 2, 5, 4)]),
    "gaussian full, var per sample": Case(lambda L, r, x, t, v: L.F.gaussian_nll_loss(x, t, v, True, reduction=r),
                                          [normal(5, 4), normal(5, 4), uniform(0.2, 2, 5)]),
    "gaussian var of one dim 1": Case(lambda L, r, x, t, v: L.F.gaussian_nll_loss(x, t, v, reduction=r),
                                      [normal(2, 3, 4), normal(2, 3, 4), uniform(0.2, 2, 2, 1, 4)]),
    "gaussian float var": Case(lambda L, r, x, t: L.F.gaussian_nll_loss(x, t, 0.7, full=True, reduction=r),
                               [normal(5, 4), normal(5, 4)]),
    "gaussian target broadcast, 1d var": Case(lambda L, r, x, t, v: L.F.gaussian_nll_loss(x, t, v, reduction=r),
                                              [normal(5, 4), normal(4), uniform(0.2, 2, 5)]),
    "gaussian 1d, 0d var": Case(lambda L, r, x, t, v: L.F.gaussian_nll_loss(x, t, v, reduction=r),
                                [normal(4), normal(4), uniform(0.2, 2)]),
    "gaussian clamped var": Case(lambda L, r, x, t, v: L.F.gaussian_nll_loss(x, t, v, eps=0.5, reduction=r),
                                 [normal(5, 4), normal(5, 4), uniform(0.0, 1.0, 5, 4)], gradcheck=False),
    "gaussian float64 var": Case(lambda L, r, x, t, v: L.F.gaussian_nll_loss(x, t, v, reduction=r),
                                 [normal(5, 4), normal(5, 4), in_float64(uniform(0.2, 2, 5, 4))]),
    "multi_margin": Case(lambda L, r, x, t: L.F.multi_margin_loss(x, t, reduction=r), [normal(5, 4)],
                         [classes(4, 5)]),
    "multi_margin p=2, margin, weight": Case(
        lambda L, r, x, t, w: L.F.multi_margin_loss(x, t, p=2, margin=0.7, weight=w, reduction=r), [normal(6, 4)],
        [classes(4, 6), uniform(0.5, 2, 4)]),
    "multi_margin 1d, 1d target": Case(lambda L, r, x, t: L.F.multi_margin_loss(x, t, 1, 2.0, reduction=r),
                                       [normal(5)], [classes(5, 1)]),
    "multi_margin 1d, 0d target, weight": Case(
        lambda L, r, x, t, w: L.F.multi_margin_loss(x, t, 2, weight=w, reduction=r), [normal(5)],
        [classes(5), uniform(0.5, 2, 5)]),
    "multi_margin 2d, 0d target": Case(lambda L, r, x, t: L.F.multi_margin_loss(x, t, reduction=r), [normal(1, 5)],
                                       [classes(5)]),
    "multilabel_margin": Case(lambda L, r, x, t: L.F.multilabel_margin_loss(x, t, reduction=r), [normal(6, 5)],
                              [label_lists(6, 5)]),
    "multilabel_margin repeated labels": Case(lambda L, r, x, t: L.F.multilabel_margin_loss(x, t, reduction=r),
                                              [normal(8, 4)], [label_lists(8, 4, repeats=True)]),
    "multilabel_margin 1d": Case(lambda L, r, x, t: L.F.multilabel_margin_loss(x, t, reduction=r), [normal(5)],
                                 [label_lists(None, 5)]),
    "multilabel_margin 0d": Case(lambda L, r, x, t: L.F.multilabel_margin_loss(x, t, reduction=r), [normal()],
                                 [classes(1)]),
    "multi_margin 0d": Case(lambda L, r, x, t: L.F.multi_margin_loss(x, t, reduction=r), [normal()], [classes(1)]),
}


def _params(cases):
    return [pytest.param(name, reduction, id=f"{name}-{reduction}") for name in cases for reduction in REDUCTIONS]


@pytest.mark.parametrize("name, reduction", _params(CASES))
def test_losses_match_torch_float32(name, reduction):
    """Values, dtypes and the gradients of every differentiable operand, as torch's."""
    case = CASES[name]
    arrays, constants = case.arrays(np.float32)
    assert_matches_torch(lambda L, *tensors: case.loss(L, reduction, *tensors), arrays, constants)


@pytest.mark.parametrize("name, reduction", _params({n: c for n, c in CASES.items() if c.gradcheck}))
def test_losses_gradcheck_float64(name, reduction):
    case = CASES[name]
    arrays, constants = case.arrays(np.float64)
    inputs = [mg.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays] + [mg.tensor(c) for c in constants]
    assert mg.gradcheck(lambda *tensors: case.loss(MG, reduction, *tensors), inputs)


def _value_and_grads(L, loss, arrays, wanted):
    tensors = [L.t(a, requires_grad=w) for a, w in zip(arrays, wanted)]
    value = loss(L, *tensors)
    value.sum().backward()
    return [value.detach().numpy()] + [t.grad.numpy() for t, w in zip(tensors, wanted) if w]


def _assert_same(ours, theirs):
    for mine, reference in zip(ours, theirs):
        assert mine.dtype == reference.dtype
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)


def test_gaussian_nll_loss_passes_the_gradient_through_the_clamp_as_torch():
    """var is clamped at eps outside autograd: the loss and its gradient are those at eps, and the gradient reaches
    a var below eps (0 included) all the same."""
    x, target = np.array([0.5, -1.0, 2.0, 0.0], np.float32), np.array([0.0, 1.0, 1.5, 0.0], np.float32)
    var = np.array([0.0, 1e-9, 0.3, 2.0], np.float32)
    loss = lambda L, *t: L.F.gaussian_nll_loss(*t, eps=1e-3, reduction="none")
    _assert_same(_value_and_grads(MG, loss, [x, target, var], [True] * 3),
                 _value_and_grads(TORCH, loss, [x, target, var], [True] * 3))


def test_poisson_nll_loss_full_skips_targets_up_to_1_as_torch():
    """The Stirling term counts only where the target is above 1: at 0 and 1 (where its log is -inf or 0) the loss
    is the plain one."""
    x, target = np.array([0.3, -0.5, 1.2, 0.1, 2.0], np.float32), np.array([0.0, 1.0, 1.0001, 0.5, 7.0], np.float32)
    for log_input in (True, False):
        loss = lambda L, x, t: L.F.poisson_nll_loss(x.abs() if not log_input else x, t, log_input, full=True,
                                                    reduction="none")
        _assert_same(_value_and_grads(MG, loss, [x, target], [True, False]),
                     _value_and_grads(TORCH, loss, [x, target], [True, False]))


def test_soft_margin_loss_of_far_logits_is_finite_and_torchs_where_torch_is():
    x = np.array([-120.0, -30.0, 15.0, 60.0, 200.0], np.float32)
    target = np.array([1.0, 1.0, -1.0, 1.0, -1.0], np.float32)
    loss = lambda L, x, t: L.F.soft_margin_loss(x, t, reduction="none")
    ours, theirs = _value_and_grads(MG, loss, [x, target], [True, False]), _value_and_grads(TORCH, loss,
                                                                                             [x, target], [True, False])
    assert np.isfinite(ours[0]).all() and np.isfinite(ours[1]).all()
    finite = np.isfinite(theirs[0])  # torch's log1p(exp(z)) overflows to inf where z is above 88
    assert not finite.all()
    np.testing.assert_allclose(ours[0][finite], theirs[0][finite], rtol=1e-6)
    np.testing.assert_allclose(ours[0][~finite], -(x * target)[~finite], rtol=1e-6)
    np.testing.assert_allclose(ours[1][finite], theirs[1][finite], rtol=1e-6, atol=1e-30)


def test_multi_margin_loss_of_an_empty_batch_is_torchs():
    """No losses; torch's mean and sum of them are whatever its memory held, so only "none" compares."""
    x, target = np.zeros((0, 3), np.float32), np.zeros(0, np.int64)
    ours = mgF.multi_margin_loss(mg.tensor(x), mg.tensor(target), reduction="none")
    theirs = torch.nn.functional.multi_margin_loss(torch.tensor(x), torch.tensor(target), reduction="none")
    assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float32


def test_triplet_margin_with_distance_loss_takes_a_module_as_distance():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(3)]
    assert_matches_torch(lambda L, a, p, n: L.F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=L.nn.PairwiseDistance(p=1.0), swap=True), arrays)


# ----------------------------------------------------------------------------- errors


def _x(*shape, dtype=np.float32):
    return np.random.default_rng(0).uniform(0.1, 0.9, shape).astype(dtype)


def _long(*values):
    return np.array(values, np.int64)


def _labels(*shape):
    return np.full(shape, -1, np.int64)


def _ones(*shape):
    return np.ones(shape, np.float32)


ERRORS = {
    "margin_ranking sizes": lambda L: L.F.margin_ranking_loss(L.t(_x(3)), L.t(_x(4)), L.t(_x(3))),
    "margin_ranking dims": lambda L: L.F.margin_ranking_loss(L.t(_x(3)), L.t(_x(3)), L.t(_x(1, 3))),
    "margin_ranking reduction": lambda L: L.F.margin_ranking_loss(L.t(_x(3)), L.t(_x(3)), L.t(_x(3)),
                                                                  reduction="avg"),
    "hinge sizes": lambda L: L.F.hinge_embedding_loss(L.t(_x(3)), L.t(_x(2))),
    "hinge reduction": lambda L: L.F.hinge_embedding_loss(L.t(_x(3)), L.t(_x(3)), reduction="avg"),
    "soft_margin sizes": lambda L: L.F.soft_margin_loss(L.t(_x(3)), L.t(_x(2))),
    "soft_margin growing target": lambda L: L.F.soft_margin_loss(L.t(_x(3, 1)), L.t(_x(3))),
    "soft_margin target requires grad": lambda L: L.F.soft_margin_loss(L.t(_x(3)), L.t(_x(3), requires_grad=True)),
    "soft_margin reduction": lambda L: L.F.soft_margin_loss(L.t(_x(3)), L.t(_x(3)), reduction="avg"),
    "multilabel_soft_margin sizes": lambda L: L.F.multilabel_soft_margin_loss(L.t(_x(2, 3)), L.t(_x(2, 4))),
    "multilabel_soft_margin weight": lambda L: L.F.multilabel_soft_margin_loss(L.t(_x(2, 3)), L.t(_x(2, 3)),
                                                                               L.t(_x(4))),
    "multilabel_soft_margin reduction": lambda L: L.F.multilabel_soft_margin_loss(L.t(_x(2, 3)), L.t(_x(2, 3)),
                                                                                  reduction="avg"),
    "triplet dims": lambda L: L.F.triplet_margin_loss(L.t(_x(2, 3)), L.t(_x(3)), L.t(_x(2, 3))),
    "triplet sizes": lambda L: L.F.triplet_margin_loss(L.t(_x(2, 3)), L.t(_x(2, 4)), L.t(_x(2, 3))),
    "triplet margin": lambda L: L.F.triplet_margin_loss(L.t(_x(2, 3)), L.t(_x(2, 3)), L.t(_x(2, 3)), margin=0),
    "triplet reduction": lambda L: L.F.triplet_margin_loss(L.t(_x(3)), L.t(_x(3)), L.t(_x(3)), reduction="avg"),
    "triplet_distance dims": lambda L: L.F.triplet_margin_with_distance_loss(L.t(_x(3)), L.t(_x(3)),
                                                                             L.t(_x(1, 3))),
    "triplet_distance margin": lambda L: L.F.triplet_margin_with_distance_loss(L.t(_x(3)), L.t(_x(3)), L.t(_x(3)),
                                                                               margin=-1.5),
    "triplet_distance reduction": lambda L: L.F.triplet_margin_with_distance_loss(L.t(_x(3)), L.t(_x(3)),
                                                                                  L.t(_x(3)), reduction="avg"),
    "triplet_distance positional": lambda L: L.F.triplet_margin_with_distance_loss(L.t(_x(3)), L.t(_x(3)),
                                                                                   L.t(_x(3)), None),
    "poisson sizes": lambda L: L.F.poisson_nll_loss(L.t(_x(3)), L.t(_x(2))),
    "poisson reduction": lambda L: L.F.poisson_nll_loss(L.t(_x(3)), L.t(_x(3)), reduction="avg"),
    "gaussian negative float var": lambda L: L.F.gaussian_nll_loss(L.t(_x(3)), L.t(_x(3)), -1.0),
    "gaussian negative var": lambda L: L.F.gaussian_nll_loss(L.t(_x(3)), L.t(_x(3)), L.t(-_x(3))),
    "gaussian var size": lambda L: L.F.gaussian_nll_loss(L.t(_x(2, 3)), L.t(_x(2, 3)), L.t(_ones(3))),
    "gaussian 0d var": lambda L: L.F.gaussian_nll_loss(L.t(_x(2, 3)), L.t(_x(2, 3)), L.t(_ones())),
    "gaussian var of two dims 1": lambda L: L.F.gaussian_nll_loss(L.t(_x(2, 3, 4)), L.t(_x(2, 3, 4)),
                                                                  L.t(_ones(1, 3, 1))),
    "gaussian target sizes": lambda L: L.F.gaussian_nll_loss(L.t(_x(2, 3)), L.t(_x(2)), L.t(_ones(2, 3))),
    "gaussian reduction": lambda L: L.F.gaussian_nll_loss(L.t(_x(3)), L.t(_x(3)), L.t(_ones(3)), reduction="avg"),
    "multi_margin reduction": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 1)), reduction="avg"),
    "multi_margin p": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 1)), p=3),
    "multi_margin 2d weight": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 1)), weight=L.t(_x(1, 3))),
    "multi_margin weight size": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 1)), weight=L.t(_x(4))),
    "multi_margin weight dtype": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 1)),
                                                                 weight=L.t(_x(3, dtype=np.float64))),
    "multi_margin weight requires grad": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 1)),
                                                                         weight=L.t(_x(3), requires_grad=True)),
    "multi_margin 3d input": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3, 4)), L.t(_long(0, 1))),
    "multi_margin no classes": lambda L: L.F.multi_margin_loss(L.t(_x(2, 0)), L.t(_long(0, 1))),
    "multi_margin target size": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 1, 2))),
    "multi_margin 2d target": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long([0], [1]))),
    "multi_margin 1d input, target size": lambda L: L.F.multi_margin_loss(L.t(_x(3)), L.t(_long(0, 1))),
    "multi_margin target above": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 3))),
    "multi_margin target below": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(-1, 0))),
    "multi_margin int32 target": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_long(0, 1).astype(np.int32))),
    "multi_margin float target": lambda L: L.F.multi_margin_loss(L.t(_x(2, 3)), L.t(_x(2))),
    "multilabel_margin reduction": lambda L: L.F.multilabel_margin_loss(L.t(_x(3)), L.t(_long(0, -1, 1)),
                                                                        reduction="avg"),
    "multilabel_margin 3d input": lambda L: L.F.multilabel_margin_loss(L.t(_x(2, 3, 1)), L.t(_labels(2, 3))),
    "multilabel_margin no classes": lambda L: L.F.multilabel_margin_loss(L.t(_x(2, 0)), L.t(_labels(2, 0))),
    "multilabel_margin target size": lambda L: L.F.multilabel_margin_loss(L.t(_x(2, 3)), L.t(_labels(2, 2))),
    "multilabel_margin 1d target": lambda L: L.F.multilabel_margin_loss(L.t(_x(2, 3)), L.t(_long(0, -1, 1))),
    "multilabel_margin 2d target of 1d input": lambda L: L.F.multilabel_margin_loss(L.t(_x(3)), L.t(_labels(1, 3))),
    "multilabel_margin target above": lambda L: L.F.multilabel_margin_loss(L.t(_x(3)), L.t(_long(0, 3, -1))),
    "multilabel_margin target below": lambda L: L.F.multilabel_margin_loss(L.t(_x(3)), L.t(_long(0, -2, 1))),
    "multilabel_margin out of range after -1": lambda L: L.F.multilabel_margin_loss(L.t(_x(3)), L.t(_long(0, -1, 5))),
    "multilabel_margin int32 target": lambda L: L.F.multilabel_margin_loss(L.t(_x(3)),
                                                                           L.t(_long(0, -1, 1).astype(np.int32))),
    "multilabel_margin int input": lambda L: L.F.multilabel_margin_loss(L.t(_long(1, 2, 3)), L.t(_long(0, -1, 1))),
    "multi_margin int input": lambda L: L.F.multi_margin_loss(L.t(_long([1, 2, 3], [0, 1, 2])), L.t(_long(0, 5))),
    "multilabel_soft_margin 0d": lambda L: L.F.multilabel_soft_margin_loss(L.t(_x()), L.t(_x())),
    "size of a 0-d tensor": lambda L: L.t(_x()).size(0),
    "size past the last dim": lambda L: L.t(_x(3)).size(1),
    "size before the first dim": lambda L: L.t(_x(3)).size(-2),
}


@pytest.mark.parametrize("make", torch_cases(ERRORS))
def test_errors_are_torchs(make):
    test_losses.test_errors_are_torchs(make)


def test_gaussian_nll_loss_refuses_an_int_var_as_torch():
    """torch takes a float or a tensor as var; an int fails on its check of the var's sign."""
    with pytest.raises(TypeError) as theirs:
        torch.nn.functional.gaussian_nll_loss(torch.tensor(_x(3)), torch.tensor(_x(3)), 1)
    with pytest.raises(TypeError) as ours:
        mgF.gaussian_nll_loss(mg.tensor(_x(3)), mg.tensor(_x(3)), 1)
    assert str(theirs.value).startswith(str(ours.value))


# ----------------------------------------------------------------------------- modules


def _modules(nn, t):
    weight = t(np.array([0.5, 1.0, 2.0, 1.5], np.float32))
    return {
        "MarginRankingLoss()": (nn.MarginRankingLoss(), "ranking"),
        "MarginRankingLoss(margin, sum)": (nn.MarginRankingLoss(0.3, reduction="sum"), "ranking"),
        "HingeEmbeddingLoss()": (nn.HingeEmbeddingLoss(), "signs"),
        "HingeEmbeddingLoss(margin, none)": (nn.HingeEmbeddingLoss(0.4, reduction="none"), "signs"),
        "SoftMarginLoss()": (nn.SoftMarginLoss(), "signs"),
        "SoftMarginLoss(sum)": (nn.SoftMarginLoss(reduction="sum"), "signs"),
        "MultiLabelSoftMarginLoss()": (nn.MultiLabelSoftMarginLoss(), "labels"),
        "MultiLabelSoftMarginLoss(weight, none)": (nn.MultiLabelSoftMarginLoss(weight, reduction="none"), "labels"),
        "TripletMarginLoss()": (nn.TripletMarginLoss(), "triplets"),
        "TripletMarginLoss(margin, p, eps, swap, sum)": (nn.TripletMarginLoss(0.5, 1.0, 1e-4, True, reduction="sum"),
                                                         "triplets"),
        "TripletMarginWithDistanceLoss()": (nn.TripletMarginWithDistanceLoss(), "triplets"),
        "TripletMarginWithDistanceLoss(PairwiseDistance(p=1), margin, swap)": (
            nn.TripletMarginWithDistanceLoss(distance_function=nn.PairwiseDistance(p=1.0), margin=2.0, swap=True),
            "triplets"),
        "TripletMarginWithDistanceLoss(function, none)": (
            nn.TripletMarginWithDistanceLoss(distance_function=_l1_distance, reduction="none"), "triplets"),
        "PoissonNLLLoss()": (nn.PoissonNLLLoss(), "counts"),
        "PoissonNLLLoss(rates, full, eps, sum)": (nn.PoissonNLLLoss(False, True, eps=1e-4, reduction="sum"), "rates"),
        "GaussianNLLLoss()": (nn.GaussianNLLLoss(), "gaussian"),
        "GaussianNLLLoss(full, eps, none)": (nn.GaussianNLLLoss(full=True, eps=0.3, reduction="none"), "gaussian"),
        "MultiMarginLoss()": (nn.MultiMarginLoss(), "classes"),
        "MultiMarginLoss(p, margin, weight, sum)": (nn.MultiMarginLoss(2, 0.5, weight, reduction="sum"), "classes"),
        "MultiLabelMarginLoss()": (nn.MultiLabelMarginLoss(), "label lists"),
        "MultiLabelMarginLoss(none)": (nn.MultiLabelMarginLoss(reduction="none"), "label lists"),
    }


MODULES = list(_modules(mg.nn, mg.tensor))
MODULE_ARRAYS = {  # the operands of each kind of loss: differentiable, then constant
    "ranking": ([normal(5), normal(5), signs(5)], []),
    "signs": ([normal(5, 4)], [signs(5, 4)]),
    "labels": ([normal(5, 4), uniform(0, 1, 5, 4)], []),
    "triplets": ([normal(5, 4), normal(5, 4), normal(5, 4)], []),
    "counts": ([normal(5, 4), uniform(0, 4, 5, 4)], []),
    "rates": ([uniform(0.1, 3, 5, 4), uniform(0.2, 4, 5, 4)], []),
    "gaussian": ([normal(5, 4), normal(5, 4), uniform(0, 1, 5, 4)], []),
    "classes": ([normal(5, 4)], [classes(4, 5)]),
    "label lists": ([normal(5, 4)], [label_lists(5, 4)]),
}


@pytest.mark.parametrize("name", MODULES)
def test_module_reprs_attributes_and_buffers_match_torch(name):
    (module, _), (reference, _) = _modules(mg.nn, mg.tensor)[name], _modules(torch.nn, torch.tensor)[name]
    assert repr(module) == repr(reference)
    for attribute in ("reduction", "margin", "p", "eps", "swap", "log_input", "full"):
        assert getattr(module, attribute, None) == getattr(reference, attribute, None), attribute
    ours, theirs = module.state_dict(), reference.state_dict()
    assert list(ours) == list(theirs)
    for key in theirs:
        np.testing.assert_array_equal(np.asarray(ours[key]), theirs[key].numpy())
    assert [key for key, _ in module.named_buffers()] == [key for key, _ in reference.named_buffers()]


@pytest.mark.parametrize("name", MODULES)
def test_modules_match_torch(name):
    makers, constant_makers = MODULE_ARRAYS[_modules(mg.nn, mg.tensor)[name][1]]
    arrays, constants = Case(None, makers, constant_makers).arrays(np.float32)
    assert_matches_torch(lambda L, *tensors: _modules(L.nn, L.t)[name][0](*tensors), arrays, constants)


LEGACY = ["MarginRankingLoss", "HingeEmbeddingLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss", "TripletMarginLoss",
          "PoissonNLLLoss", "MultiMarginLoss", "MultiLabelMarginLoss"]


@pytest.mark.parametrize("loss", LEGACY)
@pytest.mark.parametrize("legacy", [dict(reduce=False), dict(size_average=False)], ids=str)
def test_loss_modules_take_torchs_legacy_arguments(loss, legacy):
    test_nn.test_loss_modules_take_torchs_legacy_arguments(loss, legacy)


MODULE_ERRORS = {
    "TripletMarginLoss margin": lambda L: L.nn.TripletMarginLoss(margin=0),
    "TripletMarginWithDistanceLoss margin": lambda L: L.nn.TripletMarginWithDistanceLoss(margin=-0.5),
    "TripletMarginWithDistanceLoss positional": lambda L: L.nn.TripletMarginWithDistanceLoss(None),
    "GaussianNLLLoss positional": lambda L: L.nn.GaussianNLLLoss(True),
    "MultiMarginLoss p": lambda L: L.nn.MultiMarginLoss(p=3),
    "MultiMarginLoss 2d weight": lambda L: L.nn.MultiMarginLoss(weight=L.t(_ones(1, 3))),
}


@pytest.mark.parametrize("make", torch_cases(MODULE_ERRORS))
def test_module_errors_are_torchs(make):
    test_losses.test_errors_are_torchs(make)


def test_the_weights_cast_with_the_module_as_torchs_buffers():
    rng = np.random.default_rng(0)
    x, labels, target = rng.standard_normal((5, 3)), rng.uniform(0, 1, (5, 3)), rng.integers(0, 3, 5)
    weight = np.array([0.5, 1.0, 2.0], np.float32)
    for loss, y in (("MultiLabelSoftMarginLoss", labels), ("MultiMarginLoss", target)):
        module = getattr(mg.nn, loss)(weight=mg.tensor(weight)).to(mg.float64)
        reference = getattr(torch.nn, loss)(weight=torch.tensor(weight)).double()
        assert module.weight.dtype == np.float64
        value = module(mg.tensor(x), mg.tensor(y))
        assert value.dtype == np.float64
        assert value.item() == pytest.approx(reference(torch.tensor(x), torch.tensor(y)).item(), rel=1e-12)


# ----------------------------------------------------------------------------- the GPU path


def _gpu_path_values(device):
    rng = np.random.default_rng(0)

    def t(values, requires_grad=False, dtype=np.float32):
        return mg.tensor(np.asarray(values, dtype), device=device, requires_grad=requires_grad)

    x, y, z = (t(rng.standard_normal((4, 3)), requires_grad=True) for _ in range(3))
    sign = t(rng.choice([-1.0, 1.0], (4, 3)))
    var = t(rng.uniform(0.0, 1.0, (4, 3)), requires_grad=True)
    target = t(rng.integers(0, 3, 4), dtype=np.int64)
    weight = t(rng.uniform(0.5, 2, 3))
    values = [
        mgF.margin_ranking_loss(x, y, sign, margin=0.2), mgF.hinge_embedding_loss(x, sign, reduction="none"),
        mgF.soft_margin_loss(x, sign, reduction="sum"),
        mgF.multilabel_soft_margin_loss(x, (sign + 1) / 2, weight, reduction="none"),
        mgF.triplet_margin_loss(x, y, z, margin=2.0, swap=True, reduction="none"),
        mgF.triplet_margin_with_distance_loss(x, y, z, distance_function=_l1_distance, margin=3.0),
        mgF.poisson_nll_loss(x, var * 4, full=True, reduction="none"),
        mgF.gaussian_nll_loss(x, y, var, full=True, eps=0.1, reduction="sum"),
        mgF.multi_margin_loss(x, target, p=2, weight=weight, reduction="none"),
        mgF.multilabel_margin_loss(y, t(np.array([[0, 2, -1], [1, -1, 0], [2, 1, 0], [-1, 0, 0]]), dtype=np.int64)),
    ]
    sum(((v * (k + 1)).sum() for k, v in enumerate(values)), mg.zeros((), device=device)).backward()
    assert all(v.device == device for v in values) and x.grad.device == var.grad.device == device
    return [v.numpy() for v in values] + [t.grad.numpy() for t in (x, y, z, var)]


def test_losses_on_the_gpu_path_match_the_cpu(gpu_path):
    for gpu, cpu in zip(_gpu_path_values("gpu"), _gpu_path_values("cpu")):
        assert gpu.dtype == cpu.dtype
        assert relative_error(gpu, cpu) <= 1e-5
