"""minigrad.distributions.transforms, TransformedDistribution, MultivariateNormal, Cauchy, HalfNormal, Gumbel and
Geometric against torch.distributions: values and gradients of the transforms, their inverses and log-Jacobians,
of log_prob, cdf, icdf, entropy, the moments and kl_divergence, float64 gradchecks; caching, domains, signs,
shapes and reprs of the transforms; the shapes, dtypes, supports and statistics of samples, rsample's
reparameterised gradients, expand, torch's validation errors, and the GPU path."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_gpu_matches_cpu, assert_raises_as_torch, differentiable_case_tests, normal, uniform
from test_distributions_port import (_both, _cases, _drawn_with_gradients, assert_draws_have_the_moments,
                                     assert_expanded_as_torchs, assert_value_as_torchs)

torch = pytest.importorskip("torch")


def _transform_case(make):
    """fn(lib, x, y, *parameters): a transform's y = t(x) and log|dy/dx| at x, and its inverse at another input y
    with that one's log-Jacobian, flattened into one vector."""
    def fn(lib, x, y, *parameters):
        t = make(lib, *parameters)
        image, preimage = t(x), t.inv(y)
        parts = [image, t.log_abs_det_jacobian(x, image), preimage, t.inv.log_abs_det_jacobian(y, preimage)]
        return lib.cat([part.reshape(-1) for part in parts])

    return fn


def _chain(lib, loc, scale):
    T = lib.distributions.transforms
    return T.ComposeTransform([T.AffineTransform(loc, scale), T.TanhTransform(), T.SigmoidTransform(),
                               T.PowerTransform(2.0)])


TRANSFORMS = {  # name -> (make(lib, *parameters), makers of x, of y in the codomain, and of the parameters)
    "Exp": (lambda lib: lib.distributions.transforms.ExpTransform(), [normal(2, 3), uniform(0.2, 3, 2, 3)]),
    "Sigmoid": (lambda lib: lib.distributions.transforms.SigmoidTransform(),
                [normal(2, 3, scale=3), uniform(0.05, 0.95, 2, 3)]),
    "Tanh": (lambda lib: lib.distributions.transforms.TanhTransform(), [normal(2, 3), uniform(-0.9, 0.9, 2, 3)]),
    "Softplus": (lambda lib: lib.distributions.transforms.SoftplusTransform(),
                 [normal(2, 3, scale=3), uniform(0.1, 3, 2, 3)]),
    "Power": (lambda lib, exponent: lib.distributions.transforms.PowerTransform(exponent),
              [uniform(0.5, 2, 2, 3), uniform(0.5, 2, 2, 3), uniform(-2, 2, 3)]),
    "Power_number": (lambda lib: lib.distributions.transforms.PowerTransform(3.0),
                     [uniform(0.5, 2, 4), uniform(0.5, 2, 4)]),
    "Affine": (lambda lib, loc, scale: lib.distributions.transforms.AffineTransform(loc, scale),
               [normal(2, 3), normal(2, 3), normal(3), uniform(0.5, 2, 2, 1)]),
    "Affine_negative_numbers": (lambda lib: lib.distributions.transforms.AffineTransform(0.5, -2.0),
                                [normal(3), normal(3)]),
    "Affine_event_dim": (lambda lib, loc, scale: lib.distributions.transforms.AffineTransform(loc, scale,
                                                                                            event_dim=1),
                         [normal(2, 3), normal(2, 3), normal(3), uniform(-2, -0.5, 2, 3)]),
    "Compose": (_chain, [normal(2, 3), uniform(0.15, 0.45, 2, 3), normal(3), uniform(0.2, 1, 3)]),
    "Compose_event_dim": (lambda lib, loc, scale: lib.distributions.transforms.ComposeTransform(
        [lib.distributions.transforms.ExpTransform(),
         lib.distributions.transforms.AffineTransform(loc, scale, event_dim=1)]),
        [normal(2, 3), uniform(0.5, 2, 2, 3), normal(3), uniform(0.5, 2, 3)]),
}
CASES = {f"transform_{name}": (_transform_case(make), makers) for name, (make, makers) in TRANSFORMS.items()}
CASES["transform_Abs"] = (lambda lib, x, y: lib.cat([lib.distributions.transforms.AbsTransform()(x).reshape(-1),
                                                     lib.distributions.transforms.AbsTransform().inv(y).reshape(-1)]),
                          [normal(2, 3), uniform(0.1, 2, 2, 3)])


def _positive_definite(lib, a):
    return a @ a.mT + 0.5 * lib.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _lower_cholesky(lib, a):
    return a.tril(-1) + a.diagonal(dim1=-2, dim2=-1).exp().diag_embed()


def _mvn(lib, loc, a, given="covariance_matrix"):
    """A MultivariateNormal given one matrix made from a: positive-definite, or a lower factor."""
    matrix = _lower_cholesky(lib, a) if given == "scale_tril" else _positive_definite(lib, a)
    return lib.distributions.MultivariateNormal(loc, **{given: matrix})


def _transformed(lib, loc, scale, shift):
    T = lib.distributions.transforms
    return lib.distributions.TransformedDistribution(lib.distributions.Normal(loc, scale),
                                                     [T.AffineTransform(shift, -2.0), T.ExpTransform()])


# name -> (distribution(lib, *parameters), makers of the parameters, maker of the values log_prob and cdf take
# (icdf takes probabilities of their shape), the methods and properties that carry gradients to the parameters)
DISTRIBUTIONS = {
    "Cauchy": (lambda lib, loc, scale: lib.distributions.Cauchy(loc, scale), [normal(3, 1), uniform(0.5, 2, 4)],
               normal(2, 3, 4, scale=3), ["log_prob", "cdf", "icdf", "entropy", "mode"]),
    "HalfNormal": (lambda lib, scale: lib.distributions.HalfNormal(scale), [uniform(0.5, 2, 3)],
                   uniform(0, 3, 2, 3), ["log_prob", "cdf", "icdf", "entropy", "mean", "variance", "stddev"]),
    "Gumbel": (lambda lib, loc, scale: lib.distributions.Gumbel(loc, scale), [normal(3, 1), uniform(0.5, 2, 4)],
               normal(2, 3, 4, scale=2), ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance",
                                          "stddev"]),
    "Gumbel_numbers": (lambda lib, loc: lib.distributions.Gumbel(loc, 1.5), [normal(3)], normal(3),
                       ["log_prob", "cdf", "icdf"]),
    "Geometric_probs": (lambda lib, probs: lib.distributions.Geometric(probs), [uniform(0.1, 0.9, 3, 4)],
                        lambda rng: rng.integers(0, 6, (2, 3, 4)).astype(np.float64),
                        ["log_prob", "entropy", "mean", "variance"]),
    "Geometric_logits": (lambda lib, logits: lib.distributions.Geometric(logits=logits), [normal(3)],
                         lambda rng: rng.integers(0, 6, 3).astype(np.float64), ["log_prob", "entropy", "mean"]),
    "Transformed": (_transformed, [normal(3, 1), uniform(0.5, 2, 4), normal(4)], uniform(0.1, 5, 2, 3, 4),
                    ["log_prob", "cdf", "icdf"]),
    "Transformed_event_dim": (lambda lib, loc, scale, shift: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(loc, scale), lib.distributions.transforms.AffineTransform(shift, 2.0, event_dim=1)),
        [normal(2, 3), uniform(0.5, 2, 3), normal(3)], normal(4, 2, 3), ["log_prob"]),
    "MultivariateNormal": (lambda lib, loc, a: _mvn(lib, loc, a), [normal(2, 3), normal(3, 3)], normal(4, 2, 3),
                           ["log_prob", "entropy", "variance", "precision_matrix"]),
    "MultivariateNormal_batched_matrix": (lambda lib, loc, a: _mvn(lib, loc, a), [normal(2), normal(2, 1, 2, 2)],
                                          normal(3, 1, 4, 2), ["log_prob"]),
    "MultivariateNormal_scale_tril": (lambda lib, loc, a: _mvn(lib, loc, a, "scale_tril"),
                                      [normal(2, 3), normal(3, 3, scale=0.5)], normal(2, 3),
                                      ["log_prob", "covariance_matrix"]),
    "MultivariateNormal_precision": (lambda lib, loc, a: _mvn(lib, loc, a, "precision_matrix"),
                                     [normal(2), normal(2, 2, 2)], normal(3, 1, 2), ["log_prob", "scale_tril"]),
}
CASES.update(_cases(DISTRIBUTIONS))


def _kl(make_p, make_q, split):
    """fn(lib, *parameters): kl_divergence(make_p(lib, *parameters[:split]), make_q(lib, *parameters[split:]))."""
    return lambda lib, *parameters: lib.distributions.kl_divergence(make_p(lib, *parameters[:split]),
                                                                    make_q(lib, *parameters[split:]))


def _cauchy(lib, loc, scale):
    return lib.distributions.Cauchy(loc, scale)


def _gumbel(lib, loc, scale):
    return lib.distributions.Gumbel(loc, scale)


def _normal(lib, loc, scale):
    return lib.distributions.Normal(loc, scale)


KL_PAIRS = {  # name -> (fn(lib, *parameters), makers of the parameters)
    "Cauchy": (_kl(_cauchy, _cauchy, 2), [normal(3), uniform(0.5, 2, 3), normal(2, 1), uniform(0.5, 2, 3)]),
    "Gumbel": (_kl(_gumbel, _gumbel, 2), [normal(3), uniform(0.5, 2, 3), normal(2, 1), uniform(0.5, 2, 3)]),
    "Gumbel_Normal": (_kl(_gumbel, _normal, 2), [normal(3), uniform(0.5, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "Normal_Gumbel": (_kl(_normal, _gumbel, 2), [normal(3), uniform(0.5, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "Exponential_Gumbel": (_kl(lambda lib, rate: lib.distributions.Exponential(rate), _gumbel, 1),
                           [uniform(0.5, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "Uniform_Gumbel": (_kl(lambda lib, low, high: lib.distributions.Uniform(low, high), _gumbel, 2),
                       [uniform(-1, 0, 3), uniform(1, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "HalfNormal": (_kl(lambda lib, s: lib.distributions.HalfNormal(s), lambda lib, s: lib.distributions.HalfNormal(s),
                       1), [uniform(0.5, 2, 3), uniform(0.5, 2, 2, 1)]),
    "Geometric": (_kl(lambda lib, p: lib.distributions.Geometric(p),
                      lambda lib, q: lib.distributions.Geometric(logits=q), 1), [uniform(0.1, 0.9, 3), normal(3)]),
    "Transformed": (lambda lib, a, b, c, d, shift: lib.distributions.kl_divergence(
        _transformed(lib, a, b, shift), _transformed(lib, c, d, shift)) + 0 * shift.sum(),
        [normal(3), uniform(0.5, 2, 3), normal(2, 1), uniform(0.5, 2, 3), normal(3)]),
    "MultivariateNormal": (_kl(_mvn, lambda lib, loc, a: _mvn(lib, loc, a, "scale_tril"), 2),
                           [normal(2, 2), normal(2, 2), normal(2), normal(3, 1, 2, 2)]),
}
CASES.update({f"kl_{name}": case for name, case in KL_PAIRS.items()})
test_values_and_gradients_match_torch, test_gradcheck, _ = differentiable_case_tests(torch, CASES)


def test_a_cached_transform_gives_back_its_last_input_and_output():
    for lib in (torch, mg):
        T = lib.distributions.transforms
        x = lib.tensor([0.5, -1.0])
        cached, uncached = T.TanhTransform(cache_size=1), T.TanhTransform()
        y = cached(x)
        assert cached(x) is y and cached.inv(y) is x
        assert uncached.inv(uncached(x)) is not x
        z = lib.tensor([0.25])
        assert cached.inv(z) is cached.inv(z) and cached(cached.inv(z)) is z
        assert cached.inv.inv is cached and cached.with_cache(1) is cached
        assert uncached.with_cache(1)._cache_size == 1 and T.ExpTransform().inv.with_cache(1).inv._cache_size == 1
        composed = T.ComposeTransform([T.ExpTransform(), T.AffineTransform(1.0, 2.0)], cache_size=1)
        assert composed.inv(composed(x)) is x and composed.inv.inv is composed


TRANSFORM_PROPERTIES = {  # name -> make(lib): a transform whose repr, domain, codomain, event_dim and sign we compare
    "Exp": lambda lib: lib.distributions.transforms.ExpTransform(),
    "Exp_inv": lambda lib: lib.distributions.transforms.ExpTransform().inv,
    "Sigmoid": lambda lib: lib.distributions.transforms.SigmoidTransform(),
    "Tanh_inv": lambda lib: lib.distributions.transforms.TanhTransform().inv,
    "Softplus": lambda lib: lib.distributions.transforms.SoftplusTransform(),
    "Abs": lambda lib: lib.distributions.transforms.AbsTransform(),
    "Power": lambda lib: lib.distributions.transforms.PowerTransform(lib.tensor([2.0, -0.5])),
    "Affine_number": lambda lib: lib.distributions.transforms.AffineTransform(1.0, -3.0),
    "Affine_event_dim": lambda lib: lib.distributions.transforms.AffineTransform(lib.zeros(2), 2.0, event_dim=2),
    "Compose": lambda lib: _chain(lib, 0.0, lib.tensor([1.0, -1.0])),
    "Compose_event_dim": lambda lib: lib.distributions.transforms.ComposeTransform(
        [lib.distributions.transforms.ExpTransform(), lib.distributions.transforms.AffineTransform(0.0, 2.0, 1)]),
    "identity": lambda lib: lib.distributions.transforms.identity_transform,
}


def _properties(transform):
    try:
        sign = transform.sign
        sign = np.asarray(sign.numpy() if hasattr(sign, "numpy") else sign).tolist()
    except NotImplementedError:
        sign = "none"
    return (repr(transform), repr(transform.domain), repr(transform.codomain), transform.domain.event_dim,
            transform.codomain.event_dim, transform.bijective, sign,
            tuple(transform.forward_shape((4, 2))), tuple(transform.inverse_shape((1, 2))))


@pytest.mark.parametrize("name", TRANSFORM_PROPERTIES)
def test_transform_reprs_domains_signs_and_shapes_as_torchs(name):
    theirs, ours = _both(TRANSFORM_PROPERTIES[name])
    assert _properties(ours) == _properties(theirs)


def test_the_package_has_every_transform_at_its_top_level_as_torchs():
    """`from torch.distributions import SigmoidTransform` ports as it is: each transform minigrad has is where
    torch's package has it, the same class as the transforms module's."""
    ours = [name for name in torch.distributions.transforms.__all__ if hasattr(mg.distributions.transforms, name)]
    assert len(ours) >= 12
    for name in ours:
        assert hasattr(torch.distributions, name)
        assert getattr(mg.distributions, name) is getattr(mg.distributions.transforms, name), name
        assert name in mg.distributions.__all__


def test_transforms_compare_by_kind_and_parameters_as_torchs():
    for lib in (torch, mg):
        T = lib.distributions.transforms
        assert T.ExpTransform() == T.ExpTransform() and T.ExpTransform().inv == T.ExpTransform().inv
        assert T.ExpTransform() != T.SigmoidTransform() and T.ExpTransform() != T.ExpTransform().inv
        assert T.AffineTransform(1.0, lib.tensor([2.0])) == T.AffineTransform(1.0, lib.tensor([2.0]))
        assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
        assert T.PowerTransform(2.0) == T.PowerTransform(2.0) != T.PowerTransform(3.0)
        assert T.ComposeTransform([T.ExpTransform()]) == T.ComposeTransform([T.ExpTransform()])
        assert T.ComposeTransform([T.ExpTransform()]).inv == T.ComposeTransform([T.ExpTransform().inv])


SAMPLED = {  # name -> make(lib): a distribution with a batch (and an event) shape
    "Cauchy": lambda lib: lib.distributions.Cauchy(lib.zeros(3, 1), lib.ones(2)),
    "HalfNormal": lambda lib: lib.distributions.HalfNormal(lib.ones(3)),
    "Gumbel": lambda lib: lib.distributions.Gumbel(lib.zeros(2, 3), 2.0),
    "Gumbel_scalar": lambda lib: lib.distributions.Gumbel(0.0, 2.0),
    "Geometric": lambda lib: lib.distributions.Geometric(lib.full((2,), 0.3)),
    "MultivariateNormal": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2, 3), lib.eye(3)),
    "Transformed": lambda lib: _transformed(lib, lib.zeros(2), 1.0, 0.5),
    "Transformed_event_dim": lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(lib.zeros(2, 3), 1.0), lib.distributions.transforms.AffineTransform(0.0, 2.0, 1)),
}


@pytest.mark.parametrize("name", SAMPLED)
@pytest.mark.parametrize("sample_shape", [(), (2, 3)])
def test_sample_and_rsample_shapes_dtypes_and_the_batch_as_torch(name, sample_shape):
    theirs, ours = _both(SAMPLED[name])
    assert (ours.batch_shape, ours.event_shape) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    assert ours.has_rsample == theirs.has_rsample
    for method in ["sample", "rsample"] if theirs.has_rsample else ["sample"]:
        mine, reference = (getattr(d, method)(sample_shape) for d in (ours, theirs))
        assert mine.shape == tuple(reference.shape)
        assert str(mine.dtype) == str(reference.dtype).removeprefix("torch.")
        assert not mine.requires_grad
    mg.manual_seed(3)
    first = ours.sample((50,))
    assert ours.support.check(first).all()
    mg.manual_seed(3)
    assert np.array_equal(ours.sample((50,)).numpy(), first.numpy())


STATISTICS = {  # name -> (make(lib), tolerance of the mean and of the variance (absolute) for 20k draws)
    "HalfNormal": (lambda lib: lib.distributions.HalfNormal(lib.tensor([0.5, 2.0])), 0.05),
    "Gumbel": (lambda lib: lib.distributions.Gumbel(lib.tensor([-1.0, 2.0]), lib.tensor([0.5, 1.5])), 0.06),
    "Geometric": (lambda lib: lib.distributions.Geometric(lib.tensor([0.3, 0.8])), 0.1),
}


@pytest.mark.parametrize("name", STATISTICS)
def test_the_mean_and_variance_of_20k_draws_are_the_distributions(name):
    make, tolerance = STATISTICS[name]
    assert_draws_have_the_moments(make(mg), tolerance)


def test_draws_through_an_affine_map_and_exp_have_the_lognormals_moments():
    loc, scale = mg.tensor([0.0, 0.5]), mg.tensor([0.25, 0.1])
    assert_draws_have_the_moments(_transformed(mg, loc, scale, 0.5), 0.05,
                                  of=mg.distributions.LogNormal(0.5 - 2 * loc, 2 * scale))


def test_cauchy_draws_have_its_median_and_quartiles():
    mg.manual_seed(1)
    draws = mg.distributions.Cauchy(mg.tensor([-1.0, 2.0]), mg.tensor([0.5, 2.0])).sample((20000,)).numpy()
    standardized = (np.quantile(draws, [0.25, 0.5, 0.75], axis=0) - [-1.0, 2.0]) / [0.5, 2.0]
    np.testing.assert_allclose(standardized, np.array([[-1.0], [0.0], [1.0]]).repeat(2, 1), atol=0.06)


def test_multivariate_normal_draws_have_its_mean_and_covariance():
    a = np.array([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [-0.5, 0.3, 0.5]])
    covariance = a @ a.T
    mg.manual_seed(2)
    distribution = mg.distributions.MultivariateNormal(mg.tensor([1.0, -2.0, 0.5]),
                                                       mg.tensor(covariance, dtype=mg.float32))
    draws = distribution.sample((20000,)).numpy().astype(np.float64)
    np.testing.assert_allclose(draws.mean(0), [1.0, -2.0, 0.5], atol=0.03)
    np.testing.assert_allclose(np.cov(draws.T), covariance, atol=0.04)
    np.testing.assert_allclose(distribution.covariance_matrix.numpy(), covariance, rtol=1e-6, atol=1e-7)


def test_rsample_of_halfnormal_gives_the_draw_over_the_scale():
    drawn, (scale,), (scale_grad,) = _drawn_with_gradients(mg.distributions.HalfNormal, [1.5, 0.25])
    assert (drawn >= 0).all()
    np.testing.assert_allclose(scale_grad, (drawn / scale).sum(0), rtol=1e-4)


def test_rsample_through_transforms_gives_the_chain_rule():
    def make(loc, scale):
        T = mg.distributions.transforms
        return mg.distributions.TransformedDistribution(mg.distributions.Normal(loc, scale), T.TanhTransform())

    drawn, (loc, scale), (loc_grad, scale_grad) = _drawn_with_gradients(make, [0.5, -1.0], [0.5, 0.25])
    slope = 1 - drawn ** 2
    np.testing.assert_allclose(loc_grad, slope.sum(0), rtol=1e-4)
    np.testing.assert_allclose(scale_grad, (slope * (np.arctanh(drawn) - loc) / scale).sum(0), rtol=1e-3, atol=1e-3)


def test_rsample_of_multivariate_normal_is_torchs_of_the_same_noise():
    """loc + L eps: the standard draws eps read back from ours and pushed through torch's give its values and
    gradients for loc and for the matrix L is made from."""
    loc, a = np.array([0.5, -1.0, 2.0]), np.random.default_rng(0).standard_normal((3, 3))
    ours = [mg.tensor(v.astype(np.float32), requires_grad=True) for v in (loc, a)]
    mg.manual_seed(0)
    drawn = _mvn(mg, *ours).rsample((4, 2))
    drawn.sum().backward()
    theirs = [torch.tensor(v.astype(np.float32), requires_grad=True) for v in (loc, a)]
    factor = torch.linalg.cholesky(_positive_definite(torch, theirs[1]))
    eps = np.linalg.solve(factor.detach().numpy().astype(np.float64), (drawn.numpy() - loc)[..., None])[..., 0]
    reference = theirs[0] + (factor @ torch.tensor(eps.astype(np.float32))[..., None])[..., 0]
    reference.sum().backward()
    np.testing.assert_allclose(drawn.numpy(), reference.detach().numpy(), rtol=1e-5, atol=1e-5)
    for mine, their in zip(ours, theirs):
        np.testing.assert_allclose(mine.grad.numpy(), their.grad.numpy(), rtol=1e-4, atol=1e-4)


NON_DIFFERENTIABLE = {  # name -> make(lib) of a value without a gradient
    "Cauchy_mean": lambda lib: lib.distributions.Cauchy(lib.zeros(2, 3), 1.0).mean,
    "Cauchy_variance": lambda lib: lib.distributions.Cauchy(0.0, lib.ones(3)).variance,
    "HalfNormal_mode": lambda lib: lib.distributions.HalfNormal(lib.ones(3)).mode,
    "HalfNormal_outside": lambda lib: lib.distributions.HalfNormal(lib.ones(2), validate_args=False).log_prob(
        lib.tensor([-1.0, 1.0])),
    "Geometric_mode": lambda lib: lib.distributions.Geometric(lib.full((3,), 0.5)).mode,
    "Geometric_certain": lambda lib: lib.distributions.Geometric(lib.tensor([1.0, 1.0, 0.5])).log_prob(
        lib.tensor([0.0, 2.0, 1.0])),
    "MultivariateNormal_mode": lambda lib: lib.distributions.MultivariateNormal(lib.ones(2, 3), lib.eye(3)).mode,
    "kl_Gumbel_Uniform": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Gumbel(lib.zeros(2), 1.0), lib.distributions.Uniform(0.0, 1.0)),
    "kl_Gumbel_Exponential": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Gumbel(0.0, lib.ones(2)), lib.distributions.Exponential(1.0)),
}


@pytest.mark.parametrize("name", NON_DIFFERENTIABLE)
def test_modes_and_infinities_as_torch(name):
    assert_value_as_torchs(NON_DIFFERENTIABLE[name])


EXPANDED = {  # name -> (make(lib), the batch shape to expand to, values of that batch (and event) shape)
    "Cauchy": (lambda lib: lib.distributions.Cauchy(lib.tensor([0.5]), 2.0), (2, 3),
               np.linspace(-1, 1, 6).reshape(2, 3)),
    "HalfNormal": (lambda lib: lib.distributions.HalfNormal(lib.tensor([2.0, 1.0])), (3, 2), np.ones((3, 2))),
    "Gumbel": (lambda lib: lib.distributions.Gumbel(lib.tensor([0.5, 1.0]), 2.0), (2, 2), np.eye(2)),
    "Geometric": (lambda lib: lib.distributions.Geometric(logits=lib.tensor([0.5])), (3,), np.array([0.0, 1.0, 4.0])),
    "MultivariateNormal": (lambda lib: lib.distributions.MultivariateNormal(lib.zeros(3), scale_tril=lib.eye(3)),
                           (2,), np.arange(6.0).reshape(2, 3)),
    "Transformed": (lambda lib: _transformed(lib, lib.zeros(1), 1.0, 0.5), (2, 2), np.full((2, 2), 0.5)),
}


@pytest.mark.parametrize("name", EXPANDED)
def test_expand_gives_torchs_batch_and_log_prob(name):
    assert_expanded_as_torchs(*EXPANDED[name])


REPRS = {
    "Cauchy": lambda lib: lib.distributions.Cauchy(lib.zeros(2), 1.0),
    "Gumbel": lambda lib: lib.distributions.Gumbel(0.0, 0.5),
    "HalfNormal": lambda lib: lib.distributions.HalfNormal(lib.ones(2)),
    "Geometric": lambda lib: lib.distributions.Geometric(logits=lib.zeros(3)),
    "MultivariateNormal": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), precision_matrix=lib.eye(2)),
    "Transformed": lambda lib: _transformed(lib, 0.0, 1.0, 0.0),
    "Transformed_support": lambda lib: SAMPLED["Transformed_event_dim"](lib).support,
    "HalfNormal_support": lambda lib: lib.distributions.HalfNormal(1.0).support,
    "MultivariateNormal_support": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2)).support,
    "positive_definite": lambda lib: lib.distributions.constraints.positive_definite,
    "lower_cholesky": lambda lib: lib.distributions.constraints.lower_cholesky,
}


@pytest.mark.parametrize("name", REPRS)
def test_reprs_as_torchs(name):
    theirs, ours = _both(REPRS[name])
    assert repr(ours) == repr(theirs)


def _matrices(lib, *rows):
    return lib.tensor(np.array(rows, dtype=np.float32))


ERRORS = {  # name -> call(lib), which raises on torch and minigrad alike
    "cache_size": lambda lib: lib.distributions.transforms.ExpTransform(cache_size=2),
    "transforms_not_a_list": lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(0.0, 1.0), (lib.distributions.transforms.ExpTransform(),)),
    "transforms_of_other_things": lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(0.0, 1.0), [lib.distributions.transforms.ExpTransform(), 1]),
    "base_too_small": lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(0.0, 1.0), lib.distributions.transforms.AffineTransform(0.0, 1.0, event_dim=1)),
    "transformed_mean": lambda lib: _transformed(lib, 0.0, 1.0, 0.0).mean,
    "transformed_stddev": lambda lib: _transformed(lib, 0.0, 1.0, 0.0).stddev,
    "transformed_entropy": lambda lib: _transformed(lib, 0.0, 1.0, 0.0).entropy(),
    "abs_transform_sign": lambda lib: lib.distributions.transforms.AbsTransform().sign,
    "outside_transformed": lambda lib: _transformed(lib, 0.0, 1.0, 0.0).log_prob(lib.tensor(-1.0)),
    "outside_transformed_cdf": lambda lib: lib.distributions.TransformedDistribution(
        lib.distributions.Uniform(0.0, 1.0), lib.distributions.transforms.ExpTransform()).cdf(lib.tensor(3.0)),
    "cauchy_scale": lambda lib: lib.distributions.Cauchy(0.0, lib.tensor([1.0, 0.0])),
    "halfnormal_scale": lambda lib: lib.distributions.HalfNormal(-1.0),
    "outside_halfnormal": lambda lib: lib.distributions.HalfNormal(1.0).log_prob(lib.tensor(-1.0)),
    "gumbel_scale": lambda lib: lib.distributions.Gumbel(lib.zeros(2), -1.0),
    "geometric_zero": lambda lib: lib.distributions.Geometric(lib.tensor([0.5, 0.0])),
    "geometric_above_one": lambda lib: lib.distributions.Geometric(lib.tensor(1.5)),
    "geometric_both": lambda lib: lib.distributions.Geometric(0.5, 0.0),
    "outside_geometric": lambda lib: lib.distributions.Geometric(0.5).log_prob(lib.tensor(0.5)),
    "mvn_0d_loc": lambda lib: lib.distributions.MultivariateNormal(lib.tensor(0.0), lib.eye(1)),
    "mvn_no_matrix": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2)),
    "mvn_two_matrices": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2),
                                                                         scale_tril=lib.eye(2)),
    "mvn_1d_covariance": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.ones(2)),
    "mvn_1d_precision": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), precision_matrix=lib.ones(2)),
    "mvn_1d_scale_tril": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), scale_tril=lib.ones(2)),
    "mvn_unbroadcastable": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(3, 2),
                                                                            lib.eye(2).expand(4, 2, 2)),
    "mvn_not_symmetric": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), _matrices(lib, [1, 0.5],
                                                                                                   [0, 1])),
    "mvn_not_positive_definite": lambda lib: lib.distributions.MultivariateNormal(
        lib.zeros(2), precision_matrix=_matrices(lib, [[1, 0], [0, 1]], [[1, 2], [2, 1]])),
    "mvn_not_square": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(3), lib.ones(2, 3)),
    "mvn_upper_scale_tril": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2),
                                                                             scale_tril=_matrices(lib, [1, 1], [0, 1])),
    "mvn_negative_diagonal": lambda lib: lib.distributions.MultivariateNormal(
        lib.zeros(2), scale_tril=_matrices(lib, [1, 0], [0, -1])),
    "mvn_nan_loc": lambda lib: lib.distributions.MultivariateNormal(lib.tensor([0.0, float("nan")]), lib.eye(2)),
    "mvn_event_shape": lambda lib: lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2)).log_prob(
        lib.zeros(3)),
    "kl_mvn_event_shapes": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.MultivariateNormal(lib.zeros(2), lib.eye(2)),
        lib.distributions.MultivariateNormal(lib.zeros(3), lib.eye(3))),
    "kl_transformed_by_other_transforms": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.LogNormal(0.0, 1.0), lib.distributions.HalfNormal(1.0)),
    "kl_lognormal_normal": lambda lib: lib.distributions.kl_divergence(lib.distributions.LogNormal(0.0, 1.0),
                                                                       lib.distributions.Normal(0.0, 1.0)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torchs(name):
    assert_raises_as_torch(lambda: ERRORS[name](torch), lambda: ERRORS[name](mg))


def test_lognormal_is_normal_through_exp():
    lognormal = mg.distributions.LogNormal(mg.zeros(2), 1.0)
    assert isinstance(lognormal, mg.distributions.TransformedDistribution)
    assert lognormal.transforms == [mg.distributions.transforms.ExpTransform()]
    assert isinstance(lognormal.base_dist, mg.distributions.Normal)


def test_gpu_path_transforms_multivariate_normal_and_gumbel_match_the_cpu(gpu_path):
    def fn(lib, loc, a, x):
        mvn = _mvn(lib, loc, a)
        lib.manual_seed(4)
        drawn = mvn.rsample((3,))
        gumbel = lib.distributions.Gumbel(loc, 2.0)
        chain = _chain(lib, loc, 1.5)
        return (mvn.log_prob(drawn.detach()).sum() + drawn.sum() + gumbel.log_prob(x).sum() + chain(x).sum()
                + chain.log_abs_det_jacobian(x, chain(x)).sum()
                + lib.distributions.kl_divergence(mvn, _mvn(lib, loc * 0, a * 2)).sum())

    assert_gpu_matches_cpu(fn, [np.array([0.5, -1.0, 0.2]), np.array([[1.5, 0, 0], [0.5, 1, 0], [0.1, 0.2, 0.7]]),
                                np.array([[0.3, -0.2, 0.1]])])
