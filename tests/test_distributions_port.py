"""minigrad.distributions against torch.distributions: log_prob, cdf, icdf, entropy and the moments, values and
gradients for the parameters over batch shapes and broadcast parameters, kl_divergence, float64 gradchecks; the
shapes, dtypes, supports and statistics of samples, seeded draws, rsample's reparameterised gradients, expand,
enumerate_support, reprs, torch's validation errors, and the GPU path."""
import numpy as np
import pytest

import minigrad as mg
from conftest import assert_gpu_matches_cpu, assert_raises_as_torch, differentiable_case_tests, normal, uniform

torch = pytest.importorskip("torch")


def integers(high, *shape):
    return lambda rng: rng.integers(0, high, shape)


def bits(*shape):
    return lambda rng: rng.integers(0, 2, shape).astype(np.float64)


def one_hots(categories, *shape):
    return lambda rng: np.eye(categories)[rng.integers(0, categories, shape)]


# name -> (distribution(lib, *parameters), makers of the parameters, maker of the values log_prob and cdf take
# (icdf takes probabilities of their shape), the methods and properties that carry gradients to the parameters)
DISTRIBUTIONS = {
    "Normal": (lambda lib, loc, scale: lib.distributions.Normal(loc, scale), [normal(3, 1), uniform(0.5, 2, 4)],
               normal(2, 3, 4), ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"]),
    "Normal_number_scale": (lambda lib, loc: lib.distributions.Normal(loc, 1.5), [normal(3)], normal(3),
                            ["log_prob", "cdf", "entropy"]),
    "LogNormal": (lambda lib, loc, scale: lib.distributions.LogNormal(loc, scale), [normal(3, 1), uniform(0.5, 1, 4)],
                  uniform(0.1, 3, 2, 3, 4), ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance",
                                             "stddev"]),
    "Uniform": (lambda lib, low, high: lib.distributions.Uniform(low, high), [uniform(-2, -1, 3, 1), uniform(1, 2, 4)],
                uniform(-0.9, 0.9, 2, 3, 4), ["log_prob", "cdf", "icdf", "entropy", "mean", "variance", "stddev"]),
    "Exponential": (lambda lib, rate: lib.distributions.Exponential(rate), [uniform(0.5, 2, 3, 4)],
                    uniform(0.01, 0.99, 3, 4), ["log_prob", "cdf", "icdf", "entropy", "mean", "variance", "stddev"]),
    "Laplace": (lambda lib, loc, scale: lib.distributions.Laplace(loc, scale), [normal(3, 1), uniform(0.5, 2, 4)],
                uniform(0.01, 0.99, 3, 4), ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance",
                                            "stddev"]),
    "Bernoulli_probs": (lambda lib, probs: lib.distributions.Bernoulli(probs), [uniform(0.1, 0.9, 3, 4)],
                        bits(2, 3, 4), ["log_prob", "entropy", "mean", "variance", "stddev", "perplexity"]),
    "Bernoulli_logits": (lambda lib, logits: lib.distributions.Bernoulli(logits=logits), [normal(3, 4)], bits(3, 4),
                         ["log_prob", "entropy", "mean", "variance"]),
    "Categorical_probs": (lambda lib, probs: lib.distributions.Categorical(probs), [uniform(0.1, 1, 3, 5)],
                          integers(5, 2, 3), ["log_prob", "entropy"]),
    "Categorical_logits": (lambda lib, logits: lib.distributions.Categorical(logits=logits), [normal(2, 3, 5)],
                           integers(5, 3), ["log_prob", "entropy", "perplexity"]),
    "OneHotCategorical": (lambda lib, logits: lib.distributions.OneHotCategorical(logits=logits), [normal(3, 5)],
                          one_hots(5, 2, 3), ["log_prob", "entropy", "mean", "variance"]),
    "Poisson": (lambda lib, rate: lib.distributions.Poisson(rate), [uniform(0.5, 4, 3, 4)], integers(6, 3, 4),
                ["log_prob", "mean", "variance", "mode"]),
    "Independent_Normal": (lambda lib, loc, scale: lib.distributions.Independent(
        lib.distributions.Normal(loc, scale), 2), [normal(2, 3, 1), uniform(0.5, 2, 4)], normal(5, 2, 3, 4),
        ["log_prob", "entropy", "mean", "variance"]),
}
VALUE_METHODS = ("log_prob", "cdf", "icdf")


def _method_case(distribution, values, method):
    """fn(lib, *parameters): `method` of the distribution, given the values (in the parameters' dtype, or int64
    for category indices) where it takes them, plus zero times each parameter, whose gradient is then zero (not
    None) where the method does not use it (a Normal's entropy, its loc)."""
    def fn(lib, *parameters):
        result = getattr(distribution(lib, *parameters), method)
        if method in VALUE_METHODS:
            value = lib.tensor(values)
            result = result(value if values.dtype.kind == "i" else value.to(parameters[0].dtype))
        elif callable(result):
            result = result()
        return result + sum(0 * parameter.sum() for parameter in parameters)

    return fn


def _cases(distributions):
    """The differentiable cases of a table of distributions like DISTRIBUTIONS: one a method."""
    cases = {}
    for name, (distribution, makers, value_maker, methods) in distributions.items():
        values = value_maker(np.random.default_rng(5))
        probabilities = np.random.default_rng(6).uniform(0.05, 0.95, values.shape)
        for method in methods:
            cases[f"{name}_{method}"] = (_method_case(distribution, probabilities if method == "icdf" else values,
                                                      method), makers)
    return cases


KL_PAIRS = {  # name -> (fn(lib, *parameters) giving kl_divergence(p, q), makers of the parameters)
    "Normal": (lambda lib, a, b, c, d: lib.distributions.kl_divergence(
        lib.distributions.Normal(a, b), lib.distributions.Normal(c, d)),
        [normal(3, 1), uniform(0.5, 2, 4), normal(4), uniform(0.5, 2, 3, 1)]),
    "Bernoulli": (lambda lib, p, q: lib.distributions.kl_divergence(
        lib.distributions.Bernoulli(p), lib.distributions.Bernoulli(logits=q)),
        [uniform(0.1, 0.9, 3, 4), normal(3, 4)]),
    "Categorical": (lambda lib, p, q: lib.distributions.kl_divergence(
        lib.distributions.Categorical(p), lib.distributions.Categorical(logits=q)),
        [uniform(0.1, 1, 3, 5), normal(2, 1, 5)]),
    "OneHotCategorical": (lambda lib, p, q: lib.distributions.kl_divergence(
        lib.distributions.OneHotCategorical(logits=p), lib.distributions.OneHotCategorical(q)),
        [normal(3, 5), uniform(0.1, 1, 5)]),
    "Uniform": (lambda lib, a, b, c, d: lib.distributions.kl_divergence(
        lib.distributions.Uniform(a, b), lib.distributions.Uniform(c, d)),
        [uniform(-1, 0, 3), uniform(1, 2, 3), uniform(-3, -2, 3), uniform(2.5, 3, 3)]),
    "Exponential": (lambda lib, a, b: lib.distributions.kl_divergence(
        lib.distributions.Exponential(a), lib.distributions.Exponential(b)),
        [uniform(0.5, 2, 3), uniform(0.5, 2, 2, 3)]),
    "Laplace": (lambda lib, a, b, c, d: lib.distributions.kl_divergence(
        lib.distributions.Laplace(a, b), lib.distributions.Laplace(c, d)),
        [normal(3), uniform(0.5, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "Poisson": (lambda lib, a, b: lib.distributions.kl_divergence(
        lib.distributions.Poisson(a), lib.distributions.Poisson(b)), [uniform(0.5, 3, 3), uniform(0.5, 3, 3)]),
    "Independent": (lambda lib, a, b, c, d: lib.distributions.kl_divergence(
        lib.distributions.Independent(lib.distributions.Normal(a, b), 1),
        lib.distributions.Independent(lib.distributions.Normal(c, d), 1)),
        [normal(2, 3), uniform(0.5, 2, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "LogNormal": (lambda lib, a, b, c, d: lib.distributions.kl_divergence(
        lib.distributions.LogNormal(a, b), lib.distributions.LogNormal(c, d)),
        [normal(3), uniform(0.5, 2, 3), normal(2, 1), uniform(0.5, 2, 3)]),
    "Bernoulli_Poisson": (lambda lib, a, b: lib.distributions.kl_divergence(
        lib.distributions.Bernoulli(a), lib.distributions.Poisson(b)), [uniform(0.1, 0.9, 3), uniform(0.5, 3, 3)]),
    "Exponential_Normal": (lambda lib, a, b, c: lib.distributions.kl_divergence(
        lib.distributions.Exponential(a), lib.distributions.Normal(b, c)),
        [uniform(0.5, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "Laplace_Normal": (lambda lib, a, b, c, d: lib.distributions.kl_divergence(
        lib.distributions.Laplace(a, b), lib.distributions.Normal(c, d)),
        [normal(3), uniform(0.5, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "Normal_Laplace": (lambda lib, a, b, c, d: lib.distributions.kl_divergence(
        lib.distributions.Normal(a, b), lib.distributions.Laplace(c, d)),
        [normal(3), uniform(0.5, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "Uniform_Normal": (lambda lib, a, b, c, d: lib.distributions.kl_divergence(
        lib.distributions.Uniform(a, b), lib.distributions.Normal(c, d)),
        [uniform(-1, 0, 3), uniform(1, 2, 3), normal(3), uniform(0.5, 2, 3)]),
    "Uniform_Exponential": (lambda lib, a, b, c: lib.distributions.kl_divergence(
        lib.distributions.Uniform(a, b), lib.distributions.Exponential(c)),
        [uniform(0.1, 1, 3), uniform(1.5, 2, 3), uniform(0.5, 2, 3)]),
}
CASES = {**_cases(DISTRIBUTIONS), **{f"kl_{name}": case for name, case in KL_PAIRS.items()}}
test_values_and_gradients_match_torch, test_gradcheck, _ = differentiable_case_tests(torch, CASES)


def _both(make):
    """make(lib) on torch and on minigrad."""
    return make(torch), make(mg)


SAMPLED = {  # name -> make(lib): a distribution with a batch (and an event) shape
    "Normal": lambda lib: lib.distributions.Normal(lib.zeros(3, 1), lib.ones(2)),
    "LogNormal": lambda lib: lib.distributions.LogNormal(lib.zeros(3), 0.5),
    "Uniform": lambda lib: lib.distributions.Uniform(lib.zeros(2, 3), 2.0),
    "Exponential": lambda lib: lib.distributions.Exponential(lib.ones(2)),
    "Laplace": lambda lib: lib.distributions.Laplace(0.0, lib.ones(3)),
    "Bernoulli": lambda lib: lib.distributions.Bernoulli(lib.full((2,), 0.3)),
    "Categorical": lambda lib: lib.distributions.Categorical(lib.ones(2, 3, 4)),
    "OneHotCategorical": lambda lib: lib.distributions.OneHotCategorical(logits=lib.zeros(3, 4)),
    "Poisson": lambda lib: lib.distributions.Poisson(lib.full((2, 1), 3.0)),
    "Independent": lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(2, 3), 1.0), 1),
    "scalar_Normal": lambda lib: lib.distributions.Normal(0.0, 1.0),
}


@pytest.mark.parametrize("name", SAMPLED)
@pytest.mark.parametrize("sample_shape", [(), (5,), (2, 3)])
def test_sample_and_rsample_shapes_dtypes_and_shapes_of_the_batch_as_torch(name, sample_shape):
    theirs, ours = _both(SAMPLED[name])
    assert (ours.batch_shape, ours.event_shape) == (tuple(theirs.batch_shape), tuple(theirs.event_shape))
    methods = ["sample", "rsample"] if theirs.has_rsample else ["sample"]
    assert ours.has_rsample == theirs.has_rsample
    for method in methods:
        mine, reference = (getattr(d, method)(sample_shape) for d in (ours, theirs))
        assert mine.shape == tuple(reference.shape)
        assert str(mine.dtype) == str(reference.dtype).removeprefix("torch.")
        assert not mine.requires_grad


@pytest.mark.parametrize("name", SAMPLED)
def test_samples_lie_in_the_support_and_repeat_for_a_seed(name):
    distribution = SAMPLED[name](mg)
    mg.manual_seed(3)
    first = distribution.sample((50,))
    assert distribution.support.check(first).all()
    mg.manual_seed(3)
    assert np.array_equal(distribution.sample((50,)).numpy(), first.numpy())
    assert not np.array_equal(distribution.sample((50,)).numpy(), first.numpy())


def test_sampling_follows_a_generator_of_its_own_or_the_default_one():
    mg.manual_seed(0)
    state = mg.get_rng_state()
    first = mg.distributions.Normal(0.0, 1.0).rsample((4,))
    mg.set_rng_state(state)
    assert np.array_equal(mg.randn(4).numpy(), first.numpy())  # the draws are mg.randn's


STATISTICS = {  # name -> (make(lib), tolerance of the mean and of the variance (absolute) for 20k draws)
    "Normal": (lambda lib: lib.distributions.Normal(lib.tensor([-1.0, 2.0]), lib.tensor([0.5, 2.0])), 0.05),
    "LogNormal": (lambda lib: lib.distributions.LogNormal(lib.tensor([0.0, 0.5]), lib.tensor([0.25, 0.5])), 0.05),
    "Uniform": (lambda lib: lib.distributions.Uniform(lib.tensor([-1.0, 2.0]), lib.tensor([1.0, 5.0])), 0.05),
    "Exponential": (lambda lib: lib.distributions.Exponential(lib.tensor([0.5, 2.0])), 0.15),
    "Laplace": (lambda lib: lib.distributions.Laplace(lib.tensor([-1.0, 1.0]), lib.tensor([0.5, 1.0])), 0.1),
    "Bernoulli": (lambda lib: lib.distributions.Bernoulli(lib.tensor([0.1, 0.5, 0.8])), 0.02),
    "OneHotCategorical": (lambda lib: lib.distributions.OneHotCategorical(lib.tensor([0.1, 0.2, 0.7])), 0.02),
    "Poisson": (lambda lib: lib.distributions.Poisson(lib.tensor([0.5, 4.0])), 0.1),
}


@pytest.mark.parametrize("name", STATISTICS)
def test_the_mean_and_variance_of_20k_draws_are_the_distributions(name):
    make, tolerance = STATISTICS[name]
    assert_draws_have_the_moments(make(mg), tolerance)


def assert_draws_have_the_moments(distribution, tolerance, of=None):
    """The mean and variance of 20k seeded draws of distribution are those of `of` (the distribution itself where
    None), within tolerance and twice that (absolute)."""
    of = of or distribution
    mg.manual_seed(1)
    draws = distribution.sample((20000,)).numpy().astype(np.float64)
    np.testing.assert_allclose(draws.mean(0), of.mean.numpy(), atol=tolerance)
    np.testing.assert_allclose(draws.var(0), of.variance.numpy(), atol=2 * tolerance)


def test_categorical_draws_come_with_their_probabilities():
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.0, 0.5]])
    mg.manual_seed(2)
    draws = mg.distributions.Categorical(mg.tensor(probs)).sample((20000,)).numpy()
    assert draws.dtype == np.int64 and draws.shape == (20000, 2)
    frequencies = np.stack([np.bincount(draws[:, row], minlength=3) / 20000 for row in range(2)])
    np.testing.assert_allclose(frequencies, probs, atol=0.015)


def _drawn_with_gradients(make, *values):
    """200 draws of make(*parameters).rsample, the parameters (of `values`, float64 arrays) and their gradients of
    the draws' sum."""
    parameters = [mg.tensor(np.array(value, dtype=np.float32), requires_grad=True) for value in values]
    drawn = make(*parameters).rsample((200,))
    drawn.sum().backward()
    return (drawn.detach().numpy().astype(np.float64), [p.numpy().astype(np.float64) for p in parameters],
            [p.grad.numpy() for p in parameters])


@pytest.mark.parametrize("name", ["Normal", "Laplace", "Cauchy", "Gumbel"])
def test_rsample_of_a_location_scale_family_gives_one_and_eps(name):
    drawn, (loc, scale), (loc_grad, scale_grad) = _drawn_with_gradients(getattr(mg.distributions, name),
                                                                        [0.5, -1.0], [1.5, 0.25])
    np.testing.assert_allclose(loc_grad, np.full(2, 200.0))
    np.testing.assert_allclose(scale_grad, ((drawn - loc) / scale).sum(0), rtol=1e-5, atol=1e-4)


def test_rsample_of_lognormal_gives_the_draw_and_the_draw_times_eps():
    drawn, (loc, scale), (loc_grad, scale_grad) = _drawn_with_gradients(mg.distributions.LogNormal, [0.5, -1.0],
                                                                        [0.5, 0.25])
    np.testing.assert_allclose(loc_grad, drawn.sum(0), rtol=1e-5)
    np.testing.assert_allclose(scale_grad, (drawn * (np.log(drawn) - loc) / scale).sum(0), rtol=1e-4)


def test_rsample_of_uniform_gives_the_fractions_of_the_interval():
    drawn, (low, high), (low_grad, high_grad) = _drawn_with_gradients(mg.distributions.Uniform, [-1.5, -3.0],
                                                                      [1.5, 0.25])
    fraction = (drawn - low) / (high - low)
    np.testing.assert_allclose(low_grad, (1 - fraction).sum(0), rtol=1e-4)
    np.testing.assert_allclose(high_grad, fraction.sum(0), rtol=1e-4)


def test_rsample_of_exponential_gives_minus_the_draw_over_the_rate():
    drawn, (rate,), (rate_grad,) = _drawn_with_gradients(mg.distributions.Exponential, [0.5, 1.5])
    np.testing.assert_allclose(rate_grad, (-drawn / rate).sum(0), rtol=1e-4)


NON_DIFFERENTIABLE = {  # name -> make(lib) of a value without a gradient
    "Bernoulli_mode": lambda lib: lib.distributions.Bernoulli(lib.tensor([0.2, 0.5, 0.7])).mode,
    "Categorical_mode": lambda lib: lib.distributions.Categorical(lib.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])).mode,
    "Categorical_mean": lambda lib: lib.distributions.Categorical(lib.ones(2, 3)).mean,
    "Categorical_variance": lambda lib: lib.distributions.Categorical(lib.ones(2, 3)).variance,
    "OneHotCategorical_mode": lambda lib: lib.distributions.OneHotCategorical(lib.tensor([0.2, 0.5, 0.3])).mode,
    "Exponential_mode": lambda lib: lib.distributions.Exponential(lib.ones(2, 3)).mode,
    "Uniform_mode": lambda lib: lib.distributions.Uniform(0.0, lib.ones(2)).mode,
    "Bernoulli_enumerate_support": lambda lib: lib.distributions.Bernoulli(lib.full((2, 3), 0.5)).enumerate_support(),
    "Bernoulli_enumerate_support_unexpanded": lambda lib: lib.distributions.Bernoulli(
        lib.full((2, 3), 0.5)).enumerate_support(False),
    "Categorical_enumerate_support": lambda lib: lib.distributions.Categorical(lib.ones(2, 4)).enumerate_support(),
    "OneHotCategorical_enumerate_support": lambda lib: lib.distributions.OneHotCategorical(
        lib.ones(2, 3)).enumerate_support(),
    "Independent_enumerate_support": lambda lib: lib.distributions.Independent(
        lib.distributions.Bernoulli(lib.full((2, 3), 0.5)), 0).enumerate_support(),
    "kl_Uniform_outside": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Uniform(lib.tensor([0.0, 0.0]), 2.0),
        lib.distributions.Uniform(lib.tensor([-1.0, 1.0]), 3.0)),
    "kl_Bernoulli_certain": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Bernoulli(lib.tensor([0.0, 1.0, 0.3, 0.3])),
        lib.distributions.Bernoulli(lib.tensor([0.5, 0.5, 0.0, 1.0]))),
    "kl_Uniform_Exponential_below_zero": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Uniform(lib.tensor([-1.0, 1.0]), 2.0), lib.distributions.Exponential(lib.ones(2))),
    "kl_Exponential_Uniform": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Exponential(lib.ones(2, 1)), lib.distributions.Uniform(0.0, 1.0)),
    "kl_Laplace_Uniform": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Laplace(lib.zeros(2), 1.0), lib.distributions.Uniform(0.0, 1.0)),
    "kl_Laplace_Exponential": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Laplace(0.0, 1.0), lib.distributions.Exponential(1.0)),
    "kl_Normal_Uniform": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Normal(lib.zeros(3), 1.0), lib.distributions.Uniform(0.0, 1.0)),
    "kl_Normal_Exponential": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Normal(0.0, lib.ones(3)), lib.distributions.Exponential(1.0)),
    "kl_Poisson_Bernoulli": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Poisson(lib.ones(2)), lib.distributions.Bernoulli(0.5)),
    "kl_Categorical_zeros": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Categorical(lib.tensor([[0.0, 1.0], [0.5, 0.5]])),
        lib.distributions.Categorical(lib.tensor([[0.5, 0.5], [1.0, 0.0]]))),
}


@pytest.mark.parametrize("name", NON_DIFFERENTIABLE)
def test_modes_supports_and_infinite_divergences_as_torch(name):
    assert_value_as_torchs(NON_DIFFERENTIABLE[name])


def assert_value_as_torchs(make):
    """make(lib), a tensor without a gradient, on minigrad as on torch: its shape, dtype and values."""
    theirs, ours = _both(make)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


EXPANDED = {  # name -> (make(lib), the batch shape to expand to, values of that batch (and event) shape)
    "Normal": (lambda lib: lib.distributions.Normal(lib.tensor([0.5]), 2.0), (2, 3),
               np.linspace(-1, 1, 6).reshape(2, 3)),
    "LogNormal": (lambda lib: lib.distributions.LogNormal(0.5, lib.tensor([2.0, 1.0])), (3, 2), np.ones((3, 2))),
    "Bernoulli": (lambda lib: lib.distributions.Bernoulli(logits=lib.tensor([0.5, 1.0])), (2, 2), np.eye(2)),
    "Categorical": (lambda lib: lib.distributions.Categorical(lib.tensor([0.2, 0.3, 0.5])), (2,), np.array([0, 2])),
    "OneHotCategorical": (lambda lib: lib.distributions.OneHotCategorical(lib.tensor([0.2, 0.8])), (3,),
                          np.eye(2)[[0, 1, 1]]),
    "Independent": (lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(3), 1.0), 1), (2,),
                    np.arange(6.0).reshape(2, 3)),
    "Uniform": (lambda lib: lib.distributions.Uniform(0.0, 4.0), (3,), np.array([0.5, 1.0, 3.0])),
}


@pytest.mark.parametrize("name", EXPANDED)
def test_expand_gives_torchs_batch_and_log_prob(name):
    assert_expanded_as_torchs(*EXPANDED[name])


def assert_expanded_as_torchs(make, batch_shape, values):
    """make(lib) expanded to batch_shape on minigrad as on torch: its shapes, its log_prob of values (of the batch
    and event shape), the shape of its samples, and its validate_args."""
    dtype = np.int64 if values.dtype.kind == "i" else np.float32
    results = []
    for lib in (torch, mg):
        expanded = make(lib).expand(batch_shape)
        results.append((tuple(expanded.batch_shape), tuple(expanded.event_shape),
                        np.asarray(expanded.log_prob(lib.tensor(values.astype(dtype))).detach().numpy()),
                        tuple(expanded.sample((4,)).shape), expanded._validate_args))
    theirs, ours = results
    assert ours[:2] + ours[3:] == theirs[:2] + theirs[3:]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


REPRS = {
    "Normal": lambda lib: lib.distributions.Normal(lib.zeros(2), 1.0),
    "scalar": lambda lib: lib.distributions.Normal(0.0, 0.5),
    "Bernoulli_both": lambda lib: (lambda d: (d.probs, d)[1])(lib.distributions.Bernoulli(logits=lib.zeros(3))),
    "Categorical": lambda lib: lib.distributions.Categorical(logits=lib.zeros(3)),
    "Independent": lambda lib: lib.distributions.Independent(lib.distributions.Laplace(lib.zeros(2, 3), 1.0), 2),
    "LogNormal": lambda lib: lib.distributions.LogNormal(0.0, 1.0),
    "Uniform_support": lambda lib: lib.distributions.Uniform(0.0, 1.0).support,
    "Categorical_support": lambda lib: lib.distributions.Categorical(lib.ones(3)).support,
    "Poisson_support": lambda lib: lib.distributions.Poisson(1.0).support,
    "OneHotCategorical_support": lambda lib: lib.distributions.OneHotCategorical(lib.ones(3)).support,
    "Independent_support": lambda lib: lib.distributions.Independent(lib.distributions.Uniform(lib.zeros(2), 1.0),
                                                                     1).support,
}


@pytest.mark.parametrize("name", REPRS)
def test_reprs_as_torchs(name):
    theirs, ours = _both(REPRS[name])
    assert repr(ours) == repr(theirs)


ERRORS = {  # name -> call(lib), which raises on torch and minigrad alike
    "negative_scale": lambda lib: lib.distributions.Normal(lib.tensor([0.0, 1.0]), lib.tensor([1.0, -2.0])),
    "nan_loc": lambda lib: lib.distributions.Laplace(float("nan"), 1.0),
    "zero_rate": lambda lib: lib.distributions.Exponential(lib.tensor(0.0)),
    "negative_poisson_rate": lambda lib: lib.distributions.Poisson(lib.tensor([-1.0])),
    "uniform_low_above_high": lambda lib: lib.distributions.Uniform(1.0, 0.0),
    "lognormal_scale": lambda lib: lib.distributions.LogNormal(0.0, -1.0),
    "bernoulli_probs": lambda lib: lib.distributions.Bernoulli(2.0),
    "bernoulli_nan_logits": lambda lib: lib.distributions.Bernoulli(logits=lib.tensor([float("nan")])),
    "categorical_negative": lambda lib: lib.distributions.Categorical(lib.tensor([1.0, -0.5])),
    "categorical_0d": lambda lib: lib.distributions.Categorical(lib.tensor(1.0)),
    "categorical_0d_logits": lambda lib: lib.distributions.Categorical(logits=lib.tensor(1.0)),
    "neither_probs_nor_logits": lambda lib: lib.distributions.Bernoulli(),
    "probs_and_logits": lambda lib: lib.distributions.Categorical(lib.ones(2), lib.ones(2)),
    "independent_too_many_dims": lambda lib: lib.distributions.Independent(lib.distributions.Normal(0.0, 1.0), 1),
    "not_a_number": lambda lib: lib.distributions.Normal("a", 1.0),
    "log_prob_of_a_number": lambda lib: lib.distributions.Normal(0.0, 1.0).log_prob(1.0),
    "outside_uniform": lambda lib: lib.distributions.Uniform(0.0, 1.0).log_prob(lib.tensor(2.0)),
    "outside_categorical": lambda lib: lib.distributions.Categorical(lib.ones(2)).log_prob(lib.tensor(2)),
    "outside_bernoulli": lambda lib: lib.distributions.Bernoulli(0.3).log_prob(lib.tensor(0.5)),
    "outside_lognormal": lambda lib: lib.distributions.LogNormal(0.0, 1.0).log_prob(lib.tensor(-1.0)),
    "outside_exponential_cdf": lambda lib: lib.distributions.Exponential(1.0).cdf(lib.tensor([1.0, -1.0])),
    "outside_poisson": lambda lib: lib.distributions.Poisson(1.0).log_prob(lib.tensor(0.5)),
    "not_one_hot": lambda lib: lib.distributions.OneHotCategorical(lib.ones(2)).log_prob(lib.tensor([1.0, 1.0])),
    "nan_in_independent": lambda lib: lib.distributions.Independent(lib.distributions.Normal(lib.zeros(3), 1.0),
                                                                    1).log_prob(lib.tensor(float("nan"))),
    "unbroadcastable": lambda lib: lib.distributions.Normal(lib.zeros(2), 1.0).log_prob(lib.zeros(3)),
    "event_shape": lambda lib: lib.distributions.OneHotCategorical(lib.ones(3)).log_prob(lib.zeros(2)),
    "enumerate_product": lambda lib: lib.distributions.Independent(
        lib.distributions.Bernoulli(lib.full((2,), 0.5)), 1).enumerate_support(),
    "unregistered_kl": lambda lib: lib.distributions.kl_divergence(lib.distributions.Categorical(lib.ones(2)),
                                                                   lib.distributions.Normal(0.0, 1.0)),
    "kl_of_two_exponential_families": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Normal(0.0, 1.0), lib.distributions.Bernoulli(0.3)),
    "kl_of_independent_and_normal": lambda lib: lib.distributions.kl_divergence(
        lib.distributions.Independent(lib.distributions.Normal(lib.zeros(2), 1.0), 1),
        lib.distributions.Normal(0.0, 1.0)),
    "default_validate_args": lambda lib: lib.distributions.Distribution.set_default_validate_args(2),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_torchs(name):
    assert_raises_as_torch(lambda: ERRORS[name](torch), lambda: ERRORS[name](mg))


def test_register_kl_takes_distribution_classes_only_and_the_base_has_no_mode():
    with pytest.raises(TypeError):
        torch.distributions.register_kl("Normal", torch.distributions.Normal)
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass but got Normal"):
        mg.distributions.register_kl("Normal", mg.distributions.Normal)
    with pytest.raises(NotImplementedError, match="<class 'minigrad.distributions.Distribution'> does not implement "
                                                  "mode"):
        mg.distributions.Distribution().mode


def test_validation_can_be_turned_off_per_distribution_and_by_default():
    assert mg.distributions.Normal(0.0, -1.0, validate_args=False).scale.item() == -1.0
    assert np.isinf(mg.distributions.Uniform(0.0, 1.0, validate_args=False).log_prob(mg.tensor(2.0)).item())
    mg.distributions.Distribution.set_default_validate_args(False)
    try:
        assert mg.distributions.Exponential(-1.0).rate.item() == -1.0
    finally:
        mg.distributions.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        mg.distributions.Exponential(-1.0)


def test_kl_divergence_takes_the_most_specific_registered_pair():
    class Wider(mg.distributions.Normal):
        pass

    registered = mg.distributions.register_kl(Wider, mg.distributions.Normal)(lambda p, q: "wider")
    assert registered(None, None) == "wider"
    p, q = Wider(0.0, 1.0), mg.distributions.Normal(1.0, 2.0)
    assert mg.distributions.kl_divergence(p, q) == "wider"
    assert mg.distributions.kl_divergence(q, p).item() == pytest.approx(
        torch.distributions.kl_divergence(torch.distributions.Normal(1.0, 2.0), torch.distributions.Normal(0.0, 1.0)))
    with pytest.raises(NotImplementedError):
        mg.distributions.kl_divergence(mg.distributions.Independent(mg.distributions.Normal(mg.zeros(2, 3), 1.0), 1),
                                       mg.distributions.Independent(mg.distributions.Normal(mg.zeros(2, 3), 1.0), 2))


def test_gpu_path_log_prob_kl_and_rsample_match_the_cpu(gpu_path):
    def fn(lib, loc, scale, probs):
        normal_ = lib.distributions.Normal(loc, scale)
        lib.manual_seed(4)
        drawn = normal_.rsample((3,))
        categorical = lib.distributions.Categorical(probs)
        values = lib.tensor([0, 2, 1], device=probs.device)
        return (normal_.log_prob(drawn.detach()).sum() + drawn.sum() + categorical.log_prob(values).sum()
                + categorical.entropy().sum() + lib.distributions.kl_divergence(normal_, normal_.expand((2, 2))).sum())

    assert_gpu_matches_cpu(fn, [np.array([0.5, -1.0]), np.array([[1.5], [0.5]]), np.array([0.2, 0.3, 0.5])])
