"""minigrad.nn.AdaptiveLogSoftmaxWithLoss and the IndependentTransform and ReshapeTransform of
minigrad.distributions.transforms against torch's: forward's (output, loss), log_prob and predict with their
gradients, torch's parameter names, shapes, init and checkpoints, its errors; the transforms' values, inverses,
log-Jacobians, domains, shapes, reprs and errors, inside TransformedDistribution too; float64 gradchecks and the GPU
path."""
import math

import numpy as np
import pytest

import minigrad as mg
from conftest import (assert_gpu_matches_cpu, assert_raises_as_torch, differentiable_case_tests, normal,
                      relative_error, uniform)
from test_distribution_transforms_port import _transform_case

torch = pytest.importorskip("torch")

LAYOUTS = {  # name -> (constructor arguments, input of n rows (None: unbatched), targets)
    "three_clusters_head_bias": (dict(in_features=8, n_classes=20, cutoffs=[4, 10, 15], div_value=2.0,
                                      head_bias=True), 6, [0, 5, 19, 3, 12, 11]),
    "unbatched": (dict(in_features=8, n_classes=12, cutoffs=(3, 7)), None, 9),
    "one_row_in_the_last_cluster": (dict(in_features=6, n_classes=9, cutoffs=[2, 5], div_value=1.5), 1, [8]),
    "shortlist_only": (dict(in_features=5, n_classes=7, cutoffs=[4]), 3, [0, 3, 1]),
}


def _adaptive_pair(arguments):
    """torch's module (its head steered to pick a cluster for rows of a positive first feature, so that predict
    scores the clusters for some rows only) and ours with its state."""
    torch.manual_seed(0)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(**arguments)
    with torch.no_grad():
        theirs.head.weight[theirs.shortlist_size:, 0] += 3.0
    ours = mg.nn.AdaptiveLogSoftmaxWithLoss(**arguments)
    ours.load_state_dict(theirs.state_dict())
    return theirs, ours


def _run(lib, module, x, target):
    """forward's output and loss, log_prob and predict (of x's rows), and the gradients of the input and the
    parameters (by name) of a fixed projection of the three."""
    x = lib.tensor(x, requires_grad=True)
    result = module(x, lib.tensor(target))
    rows = x if x.ndim == 2 else x.unsqueeze(0)
    log_prob = module.log_prob(rows)
    direction = np.random.default_rng(1).standard_normal(tuple(log_prob.shape)).astype(np.float32)
    (result.output.sum() * 0.5 + result.loss + (log_prob * lib.tensor(direction)).sum()).backward()
    values = [result.output, result.loss, log_prob, module.predict(rows), x.grad]
    values += [parameter.grad for _, parameter in sorted(module.named_parameters())]
    return type(result).__name__, result._fields, [np.asarray(v.detach().numpy() if lib is torch else v.numpy())
                                                   for v in values]


# A cluster whose projection rounds to no features: both libraries warn of its empty Linear's initialisation.
@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")
@pytest.mark.parametrize("name", LAYOUTS)
def test_adaptive_log_softmax_values_gradients_and_predictions_as_torchs(name):
    arguments, rows, target = LAYOUTS[name]
    x = np.random.default_rng(0).standard_normal((rows, arguments["in_features"]) if rows else
                                                 arguments["in_features"]).astype(np.float32)
    theirs, ours = (_run(lib, module, x, target) for lib, module in zip((torch, mg), _adaptive_pair(arguments)))
    assert ours[:2] == theirs[:2] == ("_ASMoutput", ("output", "loss"))
    for mine, reference in zip(ours[2], theirs[2]):
        assert mine.dtype == reference.dtype and mine.shape == reference.shape
        np.testing.assert_allclose(mine, reference, rtol=1e-5, atol=1e-6)
    if name == "three_clusters_head_bias":  # predict's rows both in the shortlist and in the clusters
        assert 0 < (theirs[2][3] >= 4).sum() < 6


def test_adaptive_log_softmax_gradcheck():
    module = mg.nn.AdaptiveLogSoftmaxWithLoss(6, 11, [3, 7], div_value=2.0, head_bias=True, dtype=mg.float64)
    x = mg.tensor(np.random.default_rng(2).standard_normal((5, 6)), requires_grad=True)
    target = mg.tensor([0, 4, 10, 2, 8])

    def fn(x, *parameters):
        result = module(x, target)
        return result.output, result.loss, module.log_prob(x)

    assert mg.gradcheck(fn, [x, *module.parameters()])


def test_adaptive_log_softmax_parameters_init_and_repr_as_torchs():
    arguments = dict(in_features=64, n_classes=100, cutoffs=[10, 50], head_bias=True)
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(**arguments)
    mg.manual_seed(0)
    ours = mg.nn.AdaptiveLogSoftmaxWithLoss(**arguments)
    assert repr(ours) == repr(theirs)
    assert ([(name, tuple(p.shape), str(p.dtype).removeprefix("torch.")) for name, p in theirs.named_parameters()]
            == [(name, tuple(p.shape), str(p.dtype)) for name, p in ours.named_parameters()])
    for attribute in ("cutoffs", "shortlist_size", "n_clusters", "head_size", "div_value", "head_bias"):
        assert getattr(ours, attribute) == getattr(theirs, attribute)
    for name, parameter in ours.named_parameters():  # U(±1/sqrt(fan_in)), fan_in the layer's in_features
        bound = 1 / math.sqrt(dict(theirs.named_parameters())[name.replace("bias", "weight")].shape[-1])
        values = parameter.numpy()
        assert np.abs(values).max() <= bound
        if values.size >= 200:  # enough draws for their spread to tell
            assert abs(values.std() / (bound / math.sqrt(3)) - 1) < 0.15
    wide = mg.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4], dtype=mg.float64)
    assert {p.dtype for p in wide.parameters()} == {np.dtype(np.float64)}
    assert wide(mg.zeros(2, 8, dtype=mg.float64), mg.tensor([1, 9])).loss.dtype == np.float64


ADAPTIVE_ERRORS = {  # name -> call(lib)
    "cutoffs_empty": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, []),
    "cutoffs_unsorted": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [5, 3]),
    "cutoffs_zero": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [0, 3]),
    "cutoffs_past_the_classes": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 10]),
    "cutoffs_repeated": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 3]),
    "cutoffs_fractional": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [2.5]),
    "targets_out_of_range": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(
        lib.zeros(3, 8), lib.tensor([0, -1, 10])),
    "batch_sizes": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(lib.zeros(3, 8), lib.tensor([0, 1])),
    "one_dim_target_three_dim_input": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(
        lib.zeros(2, 1, 8), lib.tensor([0, 1])),
    "zero_dim_target_two_dim_input": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(
        lib.zeros(1, 8), lib.tensor(1)),
    "two_dim_target": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(lib.zeros(2, 8),
                                                                               lib.zeros(2, 1, dtype=lib.int64)),
    "in_features": lambda lib: lib.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3])(lib.zeros(2, 7), lib.tensor([0, 5])),
}


@pytest.mark.parametrize("name", ADAPTIVE_ERRORS)
def test_adaptive_log_softmax_errors_as_torchs(name):
    assert_raises_as_torch(lambda: ADAPTIVE_ERRORS[name](torch), lambda: ADAPTIVE_ERRORS[name](mg))


def _reshaped_and_independent(lib, shift, factor):
    """(6,)-events reshaped to (2, 3), an affine map of each row, then exp of every entry."""
    T = lib.distributions.transforms
    return [T.ReshapeTransform((6,), (2, 3)), T.IndependentTransform(T.AffineTransform(shift, factor), 1),
            T.IndependentTransform(T.ExpTransform(), 2)]


def _transformed_log_prob_and_rsample(lib, loc, scale, shift, factor, value, eps):
    """log_prob at a fixed value and rsample((2,)) of a fixed standard draw eps, pushed through the transforms
    of a Normal(loc, scale) base."""
    distribution = lib.distributions.TransformedDistribution(lib.distributions.Normal(loc, scale),
                                                             _reshaped_and_independent(lib, shift, factor))
    distribution.base_dist.rsample = lambda sample_shape=(): loc + scale * eps
    return lib.cat([distribution.log_prob(value).reshape(-1), distribution.rsample((2,)).reshape(-1)])


TRANSFORMS = {  # name -> (make(lib, *parameters), makers of x, of y in the codomain, and of the parameters)
    "Independent_Affine": (lambda lib, loc, scale: lib.distributions.transforms.IndependentTransform(
        lib.distributions.transforms.AffineTransform(loc, scale), 2),
        [normal(2, 2, 3), normal(2, 2, 3), normal(3), uniform(-2, -0.5, 2, 3)]),
    "Independent_Sigmoid": (lambda lib: lib.distributions.transforms.IndependentTransform(
        lib.distributions.transforms.SigmoidTransform(), 1), [normal(4, 3), uniform(0.05, 0.95, 4, 3)]),
    "Reshape": (lambda lib: lib.distributions.transforms.ReshapeTransform((2, 3), (3, 2)),
                [normal(2, 2, 2, 3), normal(2, 2, 3, 2)]),
    "Compose_Reshape_Independent": (lambda lib, scale: lib.distributions.transforms.ComposeTransform(
        [lib.distributions.transforms.ReshapeTransform((6,), (2, 3)),
         lib.distributions.transforms.IndependentTransform(lib.distributions.transforms.AffineTransform(0.5, scale),
                                                           2)]),
        [normal(2, 6), normal(2, 2, 3), uniform(0.5, 2, 3)]),
}
CASES = {name: (_transform_case(make), makers) for name, (make, makers) in TRANSFORMS.items()}
CASES["Transformed_log_prob_and_rsample"] = (_transformed_log_prob_and_rsample, [
    normal(2, 6), uniform(0.5, 2, 6), normal(3), uniform(0.5, 2, 3), uniform(0.5, 2, 2, 2, 3), normal(2, 2, 6)])
test_transform_values_and_gradients_match_torch, test_transform_gradcheck, _ = differentiable_case_tests(torch, CASES)


PROPERTIES = {  # name -> (make(lib), an x shape, a y shape)
    "Independent_Exp": (lambda lib: lib.distributions.transforms.IndependentTransform(
        lib.distributions.transforms.ExpTransform(), 1), (4, 2), (3,)),
    "Independent_Affine_event_dim": (lambda lib: lib.distributions.transforms.IndependentTransform(
        lib.distributions.transforms.AffineTransform(lib.zeros(3), -2.0, event_dim=1), 2), (4, 2, 3), (1, 3)),
    "Independent_Tanh_inv": (lambda lib: lib.distributions.transforms.IndependentTransform(
        lib.distributions.transforms.TanhTransform().inv, 1, cache_size=1), (2,), (2,)),
    "Reshape": (lambda lib: lib.distributions.transforms.ReshapeTransform((2, 3), (6,)), (4, 2, 3), (5, 6)),
    "Reshape_inv": (lambda lib: lib.distributions.transforms.ReshapeTransform([2, 3], [3, 1, 2]).inv, (3, 1, 2),
                    (7, 2, 3)),
    "Compose": (lambda lib: lib.distributions.transforms.ComposeTransform(
        [lib.distributions.transforms.ReshapeTransform((6,), (2, 3)), lib.distributions.transforms.IndependentTransform(
            lib.distributions.transforms.SigmoidTransform(), 2)]), (5, 6), (2, 3)),
}


def _properties(make, x_shape, y_shape, lib):
    transform = make(lib)
    try:
        sign = transform.sign
    except NotImplementedError:
        sign = "none"
    return (repr(transform), repr(transform.domain), repr(transform.codomain), transform.domain.event_dim,
            transform.codomain.event_dim, transform.bijective, sign, tuple(transform.forward_shape(x_shape)),
            tuple(transform.inverse_shape(y_shape)))


@pytest.mark.parametrize("name", PROPERTIES)
def test_transform_reprs_domains_signs_and_shapes_as_torchs(name):
    assert _properties(*PROPERTIES[name], mg) == _properties(*PROPERTIES[name], torch)


def test_transforms_compare_by_identity_and_cache_as_torchs():
    for lib in (torch, mg):
        T = lib.distributions.transforms
        independent, reshape = T.IndependentTransform(T.ExpTransform(), 1), T.ReshapeTransform((2,), (2, 1))
        assert independent == independent and independent != T.IndependentTransform(T.ExpTransform(), 1)
        assert reshape != T.ReshapeTransform((2,), (2, 1)) and reshape.inv.inv is reshape
        cached = independent.with_cache(1)
        assert cached.base_transform._cache_size == 1 and cached.with_cache(1) is cached
        assert cached.reinterpreted_batch_ndims == 1 and reshape.with_cache(1).out_shape == (2, 1)
        x = lib.tensor([[0.5, -1.0]])
        assert cached.inv(cached(x)) is x and reshape.with_cache(1).inv(reshape.with_cache(1)(x)) is not x
        cached_reshape = reshape.with_cache(1)
        assert cached_reshape.inv(cached_reshape(x)) is x


def _transformed_distribution(lib):
    T = lib.distributions.transforms
    base = lib.distributions.Normal(lib.zeros(4, 6), lib.ones(6))
    return lib.distributions.TransformedDistribution(base, [T.ReshapeTransform((6,), (3, 2)),
                                                            T.IndependentTransform(T.ExpTransform(), 1)])


def test_transformed_distribution_shapes_support_and_draws_as_torchs():
    def described(lib):
        distribution = _transformed_distribution(lib)
        lib.manual_seed(0)
        drawn, expanded = distribution.sample((2,)), distribution.expand((5, 4))
        return (tuple(distribution.batch_shape), tuple(distribution.event_shape), repr(distribution.support),
                tuple(drawn.shape), str(drawn.dtype).removeprefix("torch."), bool((drawn > 0).all()),
                tuple(expanded.batch_shape), tuple(expanded.base_dist.batch_shape), tuple(expanded.sample().shape))

    assert described(mg) == described(torch)


TRANSFORM_ERRORS = {  # name -> call(lib)
    "Reshape_entries": lambda lib: lib.distributions.transforms.ReshapeTransform((2, 3), (5,)),
    "Reshape_cache_size": lambda lib: lib.distributions.transforms.ReshapeTransform((2,), (2,), cache_size=2),
    "Reshape_too_few_dims": lambda lib: lib.distributions.transforms.ReshapeTransform((2, 3), (6,)).forward_shape(
        (3,)),
    "Reshape_inverse_too_few_dims": lambda lib: lib.distributions.transforms.ReshapeTransform(
        (6,), (2, 3)).inverse_shape((3,)),
    "Reshape_mismatch_in_a_distribution": lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(lib.zeros(4, 5), 1.0), lib.distributions.transforms.ReshapeTransform((6,), (2, 3))),
    "Reshape_base_too_small": lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(lib.zeros(3), 1.0), lib.distributions.transforms.ReshapeTransform((2, 3), (6,))),
    "Independent_too_few_dims": lambda lib: lib.distributions.transforms.IndependentTransform(
        lib.distributions.transforms.ExpTransform(), 1)(lib.tensor(1.0)),
    "Independent_inverse_too_few_dims": lambda lib: lib.distributions.transforms.IndependentTransform(
        lib.distributions.transforms.ExpTransform(), 2).inv(lib.ones(3)),
}


@pytest.mark.parametrize("name", TRANSFORM_ERRORS)
def test_transform_errors_as_torchs(name):
    assert_raises_as_torch(lambda: TRANSFORM_ERRORS[name](torch), lambda: TRANSFORM_ERRORS[name](mg))


def test_gpu_path_adaptive_log_softmax_and_transforms_match_the_cpu(gpu_path):
    arguments, rows, target = LAYOUTS["three_clusters_head_bias"]
    state = _adaptive_pair(arguments)[1].state_dict()

    def adaptive(lib, x):
        module = mg.nn.AdaptiveLogSoftmaxWithLoss(**arguments).to(x.device)
        module.load_state_dict(state)
        result = module(x, mg.tensor(target, device=x.device))
        predicted = module.predict(x)
        assert predicted.device == x.device
        return mg.cat([result.output, result.loss.reshape(1), module.log_prob(x).reshape(-1),
                       predicted.to(x.dtype)])

    assert_gpu_matches_cpu(adaptive, [np.random.default_rng(0).standard_normal((rows, arguments["in_features"]))])
    makers = CASES["Transformed_log_prob_and_rsample"][1]
    rng = np.random.default_rng(3)
    assert_gpu_matches_cpu(_transformed_log_prob_and_rsample, [make(rng) for make in makers])
    x = mg.tensor(rng.standard_normal((2, 6)), device="gpu")
    reshape = mg.distributions.transforms.ReshapeTransform((6,), (3, 2))
    assert reshape.log_abs_det_jacobian(x, reshape(x)).device == "gpu"
    assert relative_error(reshape(x).numpy(), x.numpy().reshape(2, 3, 2)) == 0
