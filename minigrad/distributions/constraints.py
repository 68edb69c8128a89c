"""torch.distributions.constraints: the regions of values that a distribution's parameters and samples, and a
transform's inputs and outputs, lie in."""
from .. import linalg
from ..creation import full

__all__ = ["Constraint", "boolean", "greater_than", "greater_than_eq", "independent", "integer_interval", "interval",
           "less_than", "lower_cholesky", "nonnegative", "nonnegative_integer", "one_hot", "positive",
           "positive_definite", "real", "real_vector", "simplex", "unit_interval"]


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


class LowerCholesky(Constraint):
    """Lower-triangular matrices of a positive diagonal."""
    event_dim = 2

    def check(self, value):
        lower_triangular = (value.tril() == value).reshape(*value.shape[:-2], -1).all(-1)
        return lower_triangular & (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)


class PositiveDefinite(Constraint):
    """Symmetric matrices (within 1e-6) with a Cholesky factor; square ones checked first, as torch's."""
    event_dim = 2

    def check(self, value):
        square = full(value.shape[:-2], value.shape[-2] == value.shape[-1], dtype=bool, device=value.device)
        if not square.all():
            return square
        symmetric = value.isclose(value.mT, atol=1e-6).all(-2).all(-1)
        if not symmetric.all():
            return symmetric
        return linalg.cholesky_ex(value).info == 0


real, positive, nonnegative = Real(), GreaterThan(0.0), GreaterThanEq(0.0)
unit_interval, boolean, simplex, one_hot = Interval(0.0, 1.0), Boolean(), Simplex(), OneHot()
nonnegative_integer = IntegerGreaterThan(0)
real_vector = IndependentConstraint(real, 1)
lower_cholesky, positive_definite = LowerCholesky(), PositiveDefinite()
greater_than, greater_than_eq, less_than, interval = GreaterThan, GreaterThanEq, LessThan, Interval
integer_interval, independent = IntegerInterval, IndependentConstraint
