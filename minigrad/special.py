"""torch.special's functions, under torch.special's names: most are the function of the same meaning in minigrad
(gammaln is lgamma, expit is sigmoid, psi is digamma, gammainc is igamma, multigammaln is mvlgamma); the rest, which
torch has under torch.special only, are defined here on minigrad's ops."""
import math
import numbers

from . import ops
from .tensor import Tensor, tensor_only
from .torch_functions import FUNCTIONS, OTHER_FUNCTIONS

__all__ = ["airy_ai", "bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "chebyshev_polynomial_t",
           "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w", "digamma", "entr", "erf",
           "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1", "gammainc", "gammaincc", "gammaln",
           "hermite_polynomial_h", "hermite_polynomial_he", "i0", "i0e", "i1", "i1e", "laguerre_polynomial_l",
           "legendre_polynomial_p", "log1p", "log_ndtr", "log_softmax", "logit", "logsumexp", "modified_bessel_i0",
           "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1", "multigammaln", "ndtr", "ndtri",
           "polygamma", "psi", "round", "scaled_modified_bessel_k0", "scaled_modified_bessel_k1",
           "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
           "shifted_chebyshev_polynomial_w", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta"]

(digamma, erf, erfc, erfinv, exp2, expm1, i0, log1p, log_softmax, logit, logsumexp, round, sinc, softmax,
 xlogy) = (FUNCTIONS[name] for name in ("digamma", "erf", "erfc", "erfinv", "exp2", "expm1", "i0", "log1p",
                                         "log_softmax", "logit", "logsumexp", "round", "sinc", "softmax", "xlogy"))
gammaln, expit, psi = FUNCTIONS["lgamma"], FUNCTIONS["sigmoid"], FUNCTIONS["digamma"]
gammainc, gammaincc = OTHER_FUNCTIONS["igamma"], OTHER_FUNCTIONS["igammac"]
multigammaln, polygamma = FUNCTIONS["mvlgamma"], FUNCTIONS["polygamma"]


def _named(function, name, doc):
    """function, named torch.special's `name` (as its repr and help show it), documented by `doc`."""
    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


def _of_one(name, op):
    """torch.special.<name>(input): op on a tensor, with torch's TypeError for anything else."""
    return _named(lambda input: op.apply(tensor_only(f"special_{name}", input, role="input")), name,
                  f"torch.special.{name}, see ops.{op.__name__}.")


i0e, i1, i1e, erfcx, entr, log_ndtr, ndtri = (
    _of_one(name, op) for name, op in (("i0e", ops.I0e), ("i1", ops.I1), ("i1e", ops.I1e), ("erfcx", ops.Erfcx),
                                       ("entr", ops.Entr), ("log_ndtr", ops.LogNdtr), ("ndtri", ops.Ndtri)))


def ndtr(input):
    """The standard normal distribution function, as torch's: (1 + erf(input / sqrt(2))) / 2 in recorded ops, which
    rounds to 0 below about -5.55 in float32 (torch's lower tail; log_ndtr keeps it). Its nodes are named as
    torch's, of ops with a number operand."""
    scaled = ops.Mul.apply(tensor_only("special_ndtr", input, role="input"), math.sqrt(0.5), node_name="MulBackward1")
    return ops.Mul.apply(ops.Add.apply(scaled.erf(), 1, node_name="AddBackward1"), 0.5, node_name="MulBackward1")


def _without_gradient(name, special, role="input"):
    """torch.special.<name>(input), which torch gives no derivative: its result is outside the graph, as torch's
    (backward through it is torch's error for a tensor that does not require grad). `role` is torch's name of the
    argument."""
    return _named(lambda input: ops.GradientFreeSpecial.apply(tensor_only(f"special_{name}", input, role=role).detach(),
                                                          name=special),
                  name, f"torch.special.{name}, without a gradient (see ops.GradientFreeSpecial).")


(airy_ai, bessel_j0, bessel_j1, bessel_y0, bessel_y1, modified_bessel_i0, modified_bessel_i1, modified_bessel_k0,
 modified_bessel_k1, scaled_modified_bessel_k0, scaled_modified_bessel_k1, spherical_bessel_j0) = (
    _without_gradient(*arguments) for arguments in (
        ("airy_ai", "airy_ai", "x"), ("bessel_j0", "j0"), ("bessel_j1", "j1"), ("bessel_y0", "y0"), ("bessel_y1", "y1"),
        ("modified_bessel_i0", "i0"), ("modified_bessel_i1", "i1"), ("modified_bessel_k0", "k0"),
        ("modified_bessel_k1", "k1"), ("scaled_modified_bessel_k0", "k0e", "x"),
        ("scaled_modified_bessel_k1", "k1e", "x"), ("spherical_bessel_j0", "spherical_bessel_j0", "x")))


def _require_tensor_or_number(name, operands, roles):
    """torch's TypeError for torch.special.<name>'s two operands, of which one may be a number, not both."""
    numbers_given = [isinstance(operand, numbers.Number) for operand in operands]
    if all(numbers_given) or not all(isinstance(operand, Tensor) or number
                                     for operand, number in zip(operands, numbers_given)):
        first, second, number_first = roles
        got = ", ".join(type(operand).__name__ for operand in operands)
        raise TypeError(f"special_{name}() received an invalid combination of arguments - got ({got}), but expected "
                        f"one of:\n * (Tensor {first}, Tensor {second}, *, Tensor out = None)\n * (Number "
                        f"{number_first}, Tensor {second}, *, Tensor out = None)\n * (Tensor {first}, Number {second}, "
                        "*, Tensor out = None)\n")
    return numbers_given


def _of_two(name, op):
    """torch.special.<name>(input, other): either may be a number, the other then a tensor; the node is named as
    torch's for each form (Backward0 of two tensors, 1 with a number first, 2 with a number second)."""
    def function(input, other):
        numbers_given = _require_tensor_or_number(name, (input, other), ("input", "other", "self"))
        node = op.node_name[:-1] + str(numbers_given.index(True) + 1 if any(numbers_given) else 0)
        return op.apply(input, other, node_name=node)

    return _named(function, name, f"torch.special.{name}, see ops.{op.__name__}.")


xlog1py, zeta = _of_two("xlog1py", ops.Xlog1py), _of_two("zeta", ops.Zeta)


def _polynomial(name):
    """torch.special.<name>(x, n), the polynomial of degree n at x (either may be a number), which torch gives no
    derivative: its result is outside the graph, as torch's."""
    def function(x, n):
        _require_tensor_or_number(name, (x, n), ("x", "n", "x"))
        return ops.OrthogonalPolynomial.apply(*(a.detach() if isinstance(a, Tensor) else a for a in (x, n)), name=name)

    return _named(function, name, f"torch.special.{name}, see ops.polynomials.")


(chebyshev_polynomial_t, chebyshev_polynomial_u, chebyshev_polynomial_v, chebyshev_polynomial_w, hermite_polynomial_h,
 hermite_polynomial_he, laguerre_polynomial_l, legendre_polynomial_p, shifted_chebyshev_polynomial_t,
 shifted_chebyshev_polynomial_u, shifted_chebyshev_polynomial_v, shifted_chebyshev_polynomial_w) = (
    _polynomial(name) for name in (
        "chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v", "chebyshev_polynomial_w",
        "hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l", "legendre_polynomial_p",
        "shifted_chebyshev_polynomial_t", "shifted_chebyshev_polynomial_u", "shifted_chebyshev_polynomial_v",
        "shifted_chebyshev_polynomial_w"))
