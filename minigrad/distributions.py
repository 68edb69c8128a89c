"""torch.distributions' most used distributions, written with minigrad's differentiable ops, so that log_prob,
entropy, cdf, the moments, rsample and kl_divergence carry gradients to the parameters. Samples come from
minigrad's seeded generator (mg.manual_seed), so their values differ from torch's while a seed repeats them."""
import math
import numbers

import numpy as np

from . import functional as F
from .backend import to_numpy
from .creation import empty, eye, full, full_like, randn, tensor, zeros_like
from .function import no_grad
from .functional import _size
from .random import generator
from .tensor import Tensor, where
from .torch_functions import broadcast_tensors

__all__ = ["Bernoulli", "Categorical", "Distribution", "Exponential", "ExponentialFamily", "Independent", "Laplace",
           "LogNormal", "Normal", "OneHotCategorical", "Poisson", "Uniform", "constraints", "kl_divergence",
           "register_kl"]


class Constraint:
    """A region of values, as torch.distributions.constraints': `check(value)` tells, entry by entry (event by
    event for event_dim > 0), whether value lies in it."""
    event_dim = 0

    def __init__(self, **bounds):
        self.bounds = bounds
        self.__dict__.update(bounds)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{name}={bound}' for name, bound in self.bounds.items())})"


class Real(Constraint):
    def check(self, value):
        return value == value  # NaN is the one value unequal to itself


class GreaterThan(Constraint):
    def __init__(self, lower_bound):
        super().__init__(lower_bound=lower_bound)

    def check(self, value):
        return self.lower_bound < value


class GreaterThanEq(GreaterThan):
    def check(self, value):
        return self.lower_bound <= value


class LessThan(Constraint):
    def __init__(self, upper_bound):
        super().__init__(upper_bound=upper_bound)

    def check(self, value):
        return value < self.upper_bound


class Interval(Constraint):
    def __init__(self, lower_bound, upper_bound):
        super().__init__(lower_bound=lower_bound, upper_bound=upper_bound)

    def check(self, value):
        return (self.lower_bound <= value) & (value <= self.upper_bound)


class IntegerInterval(Interval):
    def check(self, value):
        return (value % 1 == 0) & super().check(value)


class IntegerGreaterThan(GreaterThanEq):
    def check(self, value):
        return (value % 1 == 0) & super().check(value)


class Boolean(Constraint):
    def check(self, value):
        return (value == 0) | (value == 1)


class OneHot(Boolean):
    event_dim = 1

    def check(self, value):
        return super().check(value).all(-1) & (value.sum(-1) == 1)


class Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class IndependentConstraint(Constraint):
    """base_constraint over events of its event_dim plus reinterpreted_batch_ndims dims."""

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        self.base_constraint, self.reinterpreted_batch_ndims = base_constraint, reinterpreted_batch_ndims
        self.event_dim = base_constraint.event_dim + reinterpreted_batch_ndims

    def check(self, value):
        result = self.base_constraint.check(value)
        if result.ndim < self.reinterpreted_batch_ndims:
            raise ValueError(f"Expected value.dim() >= {self.event_dim} but got {value.ndim}")
        return result.reshape(*result.shape[:result.ndim - self.reinterpreted_batch_ndims], -1).all(-1)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class constraints:
    """torch.distributions.constraints' names for the constraints above."""
    Constraint = Constraint
    real, positive, nonnegative = Real(), GreaterThan(0.0), GreaterThanEq(0.0)
    unit_interval, boolean, simplex, one_hot = Interval(0.0, 1.0), Boolean(), Simplex(), OneHot()
    nonnegative_integer = IntegerGreaterThan(0)
    real_vector = IndependentConstraint(real, 1)
    greater_than, greater_than_eq, less_than, interval = GreaterThan, GreaterThanEq, LessThan, Interval
    integer_interval, independent = IntegerInterval, IndependentConstraint


class lazy_property:
    """A parameter computed from the other one on first use (probs from logits or back), then kept."""

    def __init__(self, compute):
        self.compute = compute
        self.__doc__ = compute.__doc__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.compute.__name__] = self.compute(instance)
        return value


def broadcast_all(*values):
    """The parameters as tensors of one shape: numbers take the first tensor's dtype and device (the default
    dtype where all are numbers), as torch's."""
    if not all(isinstance(value, (Tensor, numbers.Number)) for value in values):
        raise ValueError("Input arguments must all be instances of Number, torch.Tensor or objects implementing "
                         "__torch_function__.")
    like = next((value for value in values if isinstance(value, Tensor)), None)
    options = {} if like is None else {"dtype": like.dtype, "device": like.device}
    tensors = [value if isinstance(value, Tensor) else tensor(float(value), **options) for value in values]
    return tuple(tensors) if len(tensors) == 1 else tuple(broadcast_tensors(*tensors))


def _sum_rightmost(value, dims):
    return value.reshape(*value.shape[:value.ndim - dims], -1).sum(-1) if dims > 0 else value


def _probs_clamped(probs):
    eps = float(np.finfo(probs.dtype).eps)
    return probs.clamp(min=eps, max=1 - eps)


class Distribution:
    """torch.distributions.Distribution: a batch of distributions over events. Parameters are checked against
    arg_constraints and log_prob's values against the support while validate_args is on (the default)."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = True
    arg_constraints = {}
    _parameter_event_dims = {}  # trailing dims of a parameter beyond the batch shape (a Categorical's categories)

    @staticmethod
    def set_default_validate_args(value):
        if value not in [True, False]:
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if not self._validate_args:
            return
        for param, constraint in self.arg_constraints.items():
            if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                continue
            value = getattr(self, param)
            if not constraint.check(value).all():
                raise ValueError(f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                                 f"of distribution {self!r} to satisfy the constraint {constraint!r}, but found "
                                 f"invalid values:\n{value}")

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def expand(self, batch_shape):
        """This distribution over a larger batch: its parameters expanded (views, no copy), not checked again."""
        new = object.__new__(type(self))
        for name, value in self.__dict__.items():
            if name in self.arg_constraints:
                value = value.expand(*batch_shape, *value.shape[value.ndim - self._parameter_event_dims.get(name, 0):])
            new.__dict__[name] = value
        Distribution.__init__(new, batch_shape, self._event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def stddev(self):
        return self.variance.sqrt()

    @property
    def mode(self):
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    def sample(self, sample_shape=()):
        with no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape=()):
        raise NotImplementedError

    def perplexity(self):
        return self.entropy().exp()

    def _extended_shape(self, sample_shape=()):
        return tuple(sample_shape) + self._batch_shape + self._event_shape

    def _validate_sample(self, value):
        if not isinstance(value, Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = value.ndim - len(self._event_shape)
        if value.shape[event_dim_start:] != self._event_shape:
            raise ValueError(f"The right-most size of value must match event_shape: {_size(value.shape)} vs "
                             f"{_size(self._event_shape)}.")
        expected_shape = self._batch_shape + self._event_shape
        for i, j in zip(reversed(value.shape), reversed(expected_shape)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: {_size(value.shape)} vs "
                                 f"{_size(expected_shape)}.")
        if not self.support.check(value).all():
            raise ValueError(f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) to be "
                             f"within the support ({self.support!r}) of the distribution {self!r}, but found invalid "
                             f"values:\n{value}")

    def _checked(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return value

    def __repr__(self):
        params = ", ".join(f"{name}: {value if value.numel() == 1 else _size(value.shape)}"
                           for name, value in ((name, self.__dict__[name]) for name in self.arg_constraints
                                               if name in self.__dict__))
        return f"{type(self).__name__}({params})"


def _delegated(holder, name):
    """A property that is the property `name` of the distribution this one wraps (self.<holder>)."""
    return property(lambda self: getattr(getattr(self, holder), name))


def _scalar_or_tensor_batch(parameters, first):
    """The batch shape of broadcast parameters: () where every given one was a number, as torch's."""
    return () if all(isinstance(p, numbers.Number) for p in parameters) else first.shape


class ExponentialFamily(Distribution):
    """torch's base of the exponential families (Normal, Exponential, Bernoulli, Poisson), which kl_divergence
    refuses between two different ones that have no function of their own."""


class _LocationScale(Distribution):
    """A distribution over the reals shifted by loc and stretched by scale, centred and peaked at loc."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(_scalar_or_tensor_batch((loc, scale), self.loc), validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc


class Normal(_LocationScale, ExponentialFamily):
    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def rsample(self, sample_shape=()):
        eps = randn(self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + eps * self.scale

    def log_prob(self, value):
        value = self._checked(value)
        return -((value - self.loc) ** 2) / (2 * self.scale ** 2) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        value = self._checked(value)
        return 0.5 * (1 + ((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)).erf())

    def icdf(self, value):
        return self.loc + self.scale * (2 * value - 1).erfinv() * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + self.scale.log()


class LogNormal(Distribution):
    """exp of a Normal(loc, scale) variable (torch's TransformedDistribution of an ExpTransform)."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.base_dist = Normal(loc, scale, validate_args=validate_args)
        super().__init__(self.base_dist.batch_shape, validate_args=validate_args)

    def expand(self, batch_shape):
        new = super().expand(batch_shape)
        new.base_dist = self.base_dist.expand(batch_shape)
        return new

    loc, scale = _delegated("base_dist", "loc"), _delegated("base_dist", "scale")

    @property
    def mean(self):
        return (self.loc + self.scale.pow(2) / 2).exp()

    @property
    def mode(self):
        return (self.loc - self.scale.square()).exp()

    @property
    def variance(self):
        scale_squared = self.scale.pow(2)
        return scale_squared.expm1() * (2 * self.loc + scale_squared).exp()

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value):
        log_value = self._checked(value).log()
        return -log_value + self.base_dist.log_prob(log_value)

    def cdf(self, value):
        return self.base_dist.cdf(self._checked(value).log())

    def icdf(self, value):
        return self.base_dist.icdf(value).exp()

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class Uniform(Distribution):
    has_rsample = True

    @property
    def arg_constraints(self):
        return {"low": constraints.less_than(self.high), "high": constraints.greater_than(self.low)}

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = broadcast_all(low, high)
        super().__init__(_scalar_or_tensor_batch((low, high), self.low), validate_args=validate_args)

    @property
    def support(self):
        return constraints.interval(self.low, self.high)

    @property
    def mean(self):
        return (self.high + self.low) / 2

    @property
    def mode(self):
        return math.nan * self.high

    @property
    def stddev(self):
        return (self.high - self.low) / 12 ** 0.5

    @property
    def variance(self):
        return (self.high - self.low).pow(2) / 12

    def rsample(self, sample_shape=()):
        return self.icdf(empty(self._extended_shape(sample_shape), dtype=self.low.dtype,
                               device=self.low.device).uniform_())

    def log_prob(self, value):
        value = self._checked(value)
        inside = (self.low <= value) & (self.high > value)
        return inside.type_as(self.low).log() - (self.high - self.low).log()

    def cdf(self, value):
        value = self._checked(value)
        return ((value - self.low) / (self.high - self.low)).clamp(min=0, max=1)

    def icdf(self, value):
        return value * (self.high - self.low) + self.low

    def entropy(self):
        return (self.high - self.low).log()


class _Rate(Distribution):
    def __init__(self, rate, validate_args=None):
        (self.rate,) = broadcast_all(rate)
        super().__init__(_scalar_or_tensor_batch((rate,), self.rate), validate_args=validate_args)


class Exponential(_Rate, ExponentialFamily):
    arg_constraints = {"rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True

    @property
    def mean(self):
        return self.rate.reciprocal()

    @property
    def mode(self):
        return zeros_like(self.rate)

    @property
    def stddev(self):
        return self.rate.reciprocal()

    @property
    def variance(self):
        return self.rate.pow(-2)

    def rsample(self, sample_shape=()):
        draws = empty(self._extended_shape(sample_shape), dtype=self.rate.dtype, device=self.rate.device)
        return draws.exponential_() / self.rate

    def log_prob(self, value):
        value = self._checked(value)
        return self.rate.log() - self.rate * value

    def cdf(self, value):
        value = self._checked(value)
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(-value).log1p() / self.rate

    def entropy(self):
        return 1.0 - self.rate.log()


class Laplace(_LocationScale):
    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return 2 ** 0.5 * self.scale

    def rsample(self, sample_shape=()):
        """loc - scale * sign(u) * log(1 - |u|) for u uniform on (eps - 1, 1), which keeps the log finite."""
        u = empty(self._extended_shape(sample_shape), dtype=self.loc.dtype, device=self.loc.device)
        u.uniform_(float(np.finfo(self.loc.dtype).eps) - 1, 1)
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        value = self._checked(value)
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def cdf(self, value):
        value = self._checked(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * (-(value - self.loc).abs() / self.scale).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()

    def entropy(self):
        return 1 + (2 * self.scale).log()


def _one_of_probs_and_logits(probs, logits):
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")
    return ("probs", probs) if probs is not None else ("logits", logits)


class _ProbsOrLogits(Distribution):
    """A distribution given by probs or by logits, the other one computed from it when first used."""

    @property
    def _param(self):
        return self.__dict__[self._param_name]

    @property
    def param_shape(self):
        return self._param.shape


class Bernoulli(_ProbsOrLogits, ExponentialFamily):
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.boolean
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        name, given = _one_of_probs_and_logits(probs, logits)
        self._param_name = name
        (self.__dict__[name],) = broadcast_all(given)
        super().__init__(_scalar_or_tensor_batch((given,), self._param), validate_args=validate_args)

    @lazy_property
    def logits(self):
        probs = _probs_clamped(self.probs)
        return probs.log() - (-probs).log1p()

    @lazy_property
    def probs(self):
        return self.logits.sigmoid()

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        return where(self.probs == 0.5, math.nan, (self.probs >= 0.5).type_as(self.probs))

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        with no_grad():
            return self.probs.expand(*self._extended_shape(sample_shape)).bernoulli()

    def log_prob(self, value):
        value = self._checked(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    def enumerate_support(self, expand=True):
        values = tensor([0, 1], dtype=self._param.dtype, device=self._param.device)
        return _enumerated(values.reshape(-1, *(1,) * len(self._batch_shape)), self._batch_shape, expand)


def _enumerated(values, batch_shape, expand):
    """enumerate_support's values, a dim of their own in front of the batch's, expanded over it if asked."""
    return values.expand(values.shape[0], *batch_shape, *values.shape[1 + len(batch_shape):]) if expand else values


class Categorical(_ProbsOrLogits):
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    _parameter_event_dims = {"probs": 1, "logits": 1}
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        name, given = _one_of_probs_and_logits(probs, logits)
        if given.ndim < 1:
            raise ValueError(f"`{name}` parameter must be at least one-dimensional.")
        self._param_name = name
        self.__dict__[name] = (given / given.sum(-1, keepdim=True) if name == "probs"
                               else given - given.logsumexp(dim=-1, keepdim=True))
        self._num_events = given.shape[-1]
        super().__init__(given.shape[:-1], validate_args=validate_args)

    @lazy_property
    def logits(self):
        return _probs_clamped(self.probs).log()

    @lazy_property
    def probs(self):
        return self.logits.softmax(-1)

    @property
    def support(self):
        return constraints.integer_interval(0, self._num_events - 1)

    @property
    def mean(self):
        return full(self._extended_shape(), math.nan, dtype=self.probs.dtype, device=self.probs.device)

    @property
    def mode(self):
        return self.probs.argmax(dim=-1)

    variance = mean

    def sample(self, sample_shape=()):
        count = math.prod(sample_shape)
        with no_grad():
            drawn = self.probs.reshape(-1, self._num_events).multinomial(count, True).T
        return drawn.reshape(self._extended_shape(sample_shape))

    def log_prob(self, value):
        value = self._checked(value).long().unsqueeze(-1)
        value, log_pmf = broadcast_tensors(value, self.logits)
        return log_pmf.gather(-1, value[..., :1]).squeeze(-1)

    def entropy(self):
        logits = self.logits.clamp(min=float(np.finfo(self.logits.dtype).min))
        return -(logits * self.probs).sum(-1)

    def enumerate_support(self, expand=True):
        values = tensor(np.arange(self._num_events), device=self._param.device)
        return _enumerated(values.reshape(-1, *(1,) * len(self._batch_shape)), self._batch_shape, expand)


class OneHotCategorical(Distribution):
    """A Categorical whose values are one-hot vectors (events of the categories' size)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.one_hot
    has_enumerate_support = True

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits)
        super().__init__(self._categorical.batch_shape, self._categorical.param_shape[-1:],
                         validate_args=validate_args)

    def expand(self, batch_shape):
        new = super().expand(batch_shape)
        new._categorical = self._categorical.expand(batch_shape)
        return new

    _param, probs, logits, param_shape, mean = (_delegated("_categorical", name)
                                                for name in ("_param", "probs", "logits", "param_shape", "probs"))

    @property
    def mode(self):
        return F.one_hot(self.probs.argmax(dim=-1), num_classes=self.probs.shape[-1]).type_as(self.probs)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape=()):
        return F.one_hot(self._categorical.sample(sample_shape), self._categorical._num_events).type_as(self.probs)

    def log_prob(self, value):
        return self._categorical.log_prob(self._checked(value).argmax(-1))

    def entropy(self):
        return self._categorical.entropy()

    def enumerate_support(self, expand=True):
        n = self._event_shape[0]
        values = eye(n, dtype=self._param.dtype, device=self._param.device)
        return _enumerated(values.reshape(n, *(1,) * len(self._batch_shape), n), self._batch_shape, expand)


class Poisson(_Rate, ExponentialFamily):
    """Counts at a rate: log_prob and the moments differentiable, samples drawn by NumPy (no gradient)."""
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape=()):
        rates = np.broadcast_to(to_numpy(self.rate.data), self._extended_shape(sample_shape))
        return tensor(generator().poisson(rates), dtype=self.rate.dtype, device=self.rate.device)

    def log_prob(self, value):
        rate, value = broadcast_all(self.rate, self._checked(value))
        return value.xlogy(rate) - rate - (value + 1).lgamma()


class Independent(Distribution):
    """base_distribution with its rightmost reinterpreted_batch_ndims batch dims taken as event dims: log_prob and
    entropy summed over them."""
    arg_constraints = {}

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        if reinterpreted_batch_ndims > len(base_distribution.batch_shape):
            raise ValueError("Expected reinterpreted_batch_ndims <= len(base_distribution.batch_shape), actual "
                             f"{reinterpreted_batch_ndims} vs {len(base_distribution.batch_shape)}")
        shape = base_distribution.batch_shape + base_distribution.event_shape
        event_dim = reinterpreted_batch_ndims + len(base_distribution.event_shape)
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, reinterpreted_batch_ndims
        super().__init__(shape[:len(shape) - event_dim], shape[len(shape) - event_dim:], validate_args=validate_args)

    def expand(self, batch_shape):
        new = super().expand(batch_shape)
        new.base_dist = self.base_dist.expand(tuple(batch_shape)
                                              + self._event_shape[:self.reinterpreted_batch_ndims])
        return new

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def has_enumerate_support(self):
        return self.reinterpreted_batch_ndims == 0 and self.base_dist.has_enumerate_support

    @property
    def support(self):
        support = self.base_dist.support
        return constraints.independent(support, self.reinterpreted_batch_ndims) if self.reinterpreted_batch_ndims \
            else support

    mean, mode, variance = (_delegated("base_dist", name) for name in ("mean", "mode", "variance"))

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return _sum_rightmost(self.base_dist.log_prob(value), self.reinterpreted_batch_ndims)

    def entropy(self):
        return _sum_rightmost(self.base_dist.entropy(), self.reinterpreted_batch_ndims)

    def enumerate_support(self, expand=True):
        if self.reinterpreted_batch_ndims > 0:
            raise NotImplementedError("Enumeration over cartesian product is not implemented")
        return self.base_dist.enumerate_support(expand=expand)

    def __repr__(self):
        return f"{type(self).__name__}({self.base_dist}, {self.reinterpreted_batch_ndims})"


_KL_REGISTRY = {}


def register_kl(type_p, type_q):
    """A decorator that makes the function kl_divergence's for p of type_p and q of type_q (or subclasses)."""
    for role, given in (("type_p", type_p), ("type_q", type_q)):
        if not (isinstance(given, type) and issubclass(given, Distribution)):
            raise TypeError(f"Expected {role} to be a Distribution subclass but got {given}")

    def decorator(fun):
        _KL_REGISTRY[type_p, type_q] = fun
        return fun

    return decorator


def kl_divergence(p, q):
    """KL(p || q) by the function registered for the most specific pair of p's and q's classes."""
    p_classes, q_classes = type(p).__mro__, type(q).__mro__
    matches = [(p_classes.index(type_p), q_classes.index(type_q), fun)
               for (type_p, type_q), fun in _KL_REGISTRY.items() if type_p in p_classes and type_q in q_classes]
    if not matches:
        raise NotImplementedError(f"No KL(p || q) is implemented for p type {type(p).__name__} and q type "
                                  f"{type(q).__name__}")
    return min(matches, key=lambda match: match[:2])[2](p, q)


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale).pow(2)
    t1 = ((p.loc - q.loc) / q.scale).pow(2)
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    t1 = p.probs * (F.softplus(-q.logits) - F.softplus(-p.logits))
    t1 = where(p.probs == 0, 0.0, where(q.probs == 0, math.inf, t1))
    t2 = (1 - p.probs) * (F.softplus(q.logits) - F.softplus(p.logits))
    t2 = where(p.probs == 1, 0.0, where(q.probs == 1, math.inf, t2))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = where((p.probs == 0).expand_as(t), 0.0, where((q.probs == 0).expand_as(t), math.inf, t))
    return t.sum(-1)


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    result = ((q.high - q.low) / (p.high - p.low)).log()
    return where((q.low > p.low) | (q.high < p.high), math.inf, result)


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    rate_ratio = q.rate / p.rate
    return -rate_ratio.log() + rate_ratio - 1


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    return -scale_ratio.log() + loc_abs_diff / q.scale + scale_ratio * (-loc_abs_diff / p.scale).exp() - 1


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    return p.rate * (p.rate.log() - q.rate.log()) - (p.rate - q.rate)


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError
    return _sum_rightmost(kl_divergence(p.base_dist, q.base_dist), p.reinterpreted_batch_ndims)


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    return kl_divergence(p.base_dist, q.base_dist)


@register_kl(ExponentialFamily, ExponentialFamily)
def _kl_expfamily_expfamily(p, q):
    raise NotImplementedError("The cross KL-divergence between different exponential families cannot "
                              "                            be computed using Bregman divergences")


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    return -p.entropy() - (p.probs * q.rate.log() - q.rate)


@register_kl(Exponential, Normal)
def _kl_exponential_normal(p, q):
    var_normal = q.scale.pow(2)
    rate_squared = p.rate.pow(2)
    t1 = 0.5 * (rate_squared * var_normal * 2 * math.pi).log()
    t2 = rate_squared.reciprocal()
    t3 = q.loc / p.rate
    t4 = q.loc.pow(2) * 0.5
    return t1 - 1 + (t2 - t3 + t4) / var_normal


@register_kl(Laplace, Normal)
def _kl_laplace_normal(p, q):
    var_normal = q.scale.pow(2)
    scale_squared_var_ratio = p.scale.pow(2) / var_normal
    t1 = 0.5 * (2 * scale_squared_var_ratio / math.pi).log()
    t2 = 0.5 * p.loc.pow(2)
    t3 = p.loc * q.loc
    t4 = 0.5 * q.loc.pow(2)
    return -t1 + scale_squared_var_ratio + (t2 - t3 + t4) / var_normal - 1


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    loc_diff = p.loc - q.loc
    scale_ratio = p.scale / q.scale
    loc_diff_scale_ratio = loc_diff / p.scale
    t1 = scale_ratio.log()
    t2 = math.sqrt(2 / math.pi) * p.scale * (-0.5 * loc_diff_scale_ratio.pow(2)).exp()
    t3 = loc_diff * (math.sqrt(0.5) * loc_diff_scale_ratio).erf()
    return -t1 + (t2 + t3) / q.scale - (0.5 * (1 + math.log(0.5 * math.pi)))


@register_kl(Uniform, Normal)
def _kl_uniform_normal(p, q):
    common_term = p.high - p.low
    t1 = (math.sqrt(math.pi * 2) * q.scale / common_term).log()
    t2 = common_term.pow(2) / 12
    t3 = ((p.high + p.low - 2 * q.loc) / 2).pow(2)
    return t1 + 0.5 * (t2 + t3) / q.scale.pow(2)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    result = q.rate * (p.high + p.low) / 2 - ((p.high - p.low) * q.rate).log()
    return where(p.low < 0, math.inf, result)


@register_kl(Exponential, Uniform)
@register_kl(Poisson, Bernoulli)
def _kl_rate_infinity(p, q):
    """p has mass outside q's support."""
    return full_like(p.rate, math.inf)


@register_kl(Laplace, Uniform)
@register_kl(Laplace, Exponential)
@register_kl(Normal, Uniform)
@register_kl(Normal, Exponential)
def _kl_location_infinity(p, q):
    """p has mass outside q's support."""
    return full_like(p.loc, math.inf)
