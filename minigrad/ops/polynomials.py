"""torch.special's orthogonal polynomials p_n(x) of a degree n per element (chebyshev_polynomial_t, ...), which torch
gives no derivative, computed as torch's kernels compute them, step for step in the operands' dtype: the same edge
values (at x = ±1 for Chebyshev's and Legendre's, at 0 for Laguerre's), the same closed forms where torch takes them
(Chebyshev's of higher degrees inside (-1, 1), by cos and sin of n acos(x)), and the same three-term recurrences
elsewhere, so that float32 rounds as torch's does. A degree is truncated toward 0; a negative one, or one that is
not finite or does not fit in int64, gives 0."""
import numpy as np

from ..backend import get_array_module
from ..function import SCALAR_TYPE_NAMES, Function

# Chebyshev's kinds: the degree above which torch takes the closed form (of the plain and the shifted polynomial),
# and the coefficients (a, b) of the polynomial of degree 1, a y + b
CHEBYSHEV = {"t": ((6, 6), (1, 0)), "u": ((8, 6), (2, 0)), "v": ((8, 6), (2, -1)), "w": ((8, 4), (2, 1))}
# Hermite's recurrences overflow past these degrees, where torch gives NaN
HERMITE_LIMITS = {np.dtype(np.float32): 128, np.dtype(np.float64): 512}


def _recurrence(xp, degree, first, step):
    """p_n for each element's degree (p_0 = 1, p_1 = first; p_(j+1) = step(j, p_j, p_(j-1))), each element's steps
    stopping at its degree or where its value turns NaN, as torch's loops."""
    previous, current = xp.ones_like(first), first.copy()
    j = 1
    while True:
        going = (j < degree) & ~xp.isnan(current)
        if not going.any():
            break
        previous, current = xp.where(going, current, previous), xp.where(going, step(j, current, previous), current)
        j += 1
    return xp.where(degree == 0, 1, current).astype(first.dtype)


def _chebyshev(xp, x, n, degree, kind, shifted):
    """Chebyshev's polynomials of the first to fourth kind (t, u, v, w), of y = x, or of y = 2x - 1 (shifted) on
    [0, 1]; their edge values at y = 1 and y = -1 (x = 1 and x = 0 where shifted)."""
    (thresholds, (a, b)), one = CHEBYSHEV[kind], x.dtype.type(1)
    y = x + x - one if shifted else x
    at_one, at_minus_one = (x == 1, x == 0) if shifted else (x == 1, x == -1)
    even = degree % 2 == 0
    closed = (degree > thresholds[shifted]) & (xp.abs(y) < 1)
    angle = xp.arccos(xp.where(closed, y, 0))
    half = n + x.dtype.type(0.5)
    if kind == "t":
        edge_one, edge_minus_one = xp.ones_like(x), xp.where(even, one, -one)
        closed_form = xp.cos(n * angle)
    elif kind == "u":
        edge_one = n + one
        edge_minus_one = xp.where(even, edge_one, -edge_one)
        sine = xp.sin(angle)
        closed_form = xp.where(sine != 0, xp.sin(edge_one * angle) / sine, edge_one * xp.cos(edge_one * angle) / y)
    elif kind == "v":
        edge_one, edge_minus_one = xp.ones_like(x), xp.where(even, n + n + one, -(n + n + one))
        closed_form = xp.where(xp.sin(angle / 2) != 1, xp.cos(half * angle) / xp.cos(angle / 2), edge_minus_one)
    else:
        edge_one, edge_minus_one = n + n + one, xp.where(even, one, -one)
        degenerate = edge_minus_one if shifted else xp.where(x > 0, edge_one, edge_minus_one)
        closed_form = xp.where(xp.cos(angle / 2) != 1, xp.sin(half * angle) / xp.sin(angle / 2), degenerate)
    first = y + y if a == 2 else y
    if b:
        first = first + x.dtype.type(b)
    recurred = _recurrence(xp, xp.where(closed | at_one | at_minus_one, 0, degree), first,
                           lambda j, q, p: (y + y) * q - p)
    return xp.where(at_one, edge_one, xp.where(at_minus_one, edge_minus_one, xp.where(closed, closed_form, recurred)))


def _legendre(xp, x, n, degree):
    one = x.dtype.type(1)
    edge = xp.abs(x) == 1
    recurred = _recurrence(xp, xp.where(edge, 0, degree), x.copy(),
                           lambda k, q, p: ((k + k + 1) * x * q - k * p) / (k + 1))
    return xp.where(edge, xp.where((x > 0) | (degree % 2 == 0), one, -one), recurred)


def _laguerre(xp, x, n, degree):
    one = x.dtype.type(1)
    recurred = _recurrence(xp, xp.where(x == 0, 0, degree), one - x,
                           lambda k, q, p: (((k + k) + (one - x)) * q - k * p) / (k + 1))
    return xp.where(x == 0, one, recurred)


def _hermite(xp, x, n, degree, physicists):
    """Hermite's polynomials H_n (physicists) and He_n (probabilists'), NaN past the degrees where torch's
    overflow."""
    limit = HERMITE_LIMITS.get(x.dtype, 1024)
    scale = 2 if physicists else 1
    first = x + x if physicists else x.copy()
    recurred = _recurrence(xp, xp.where(degree > limit, 0, degree), first,
                           lambda k, q, p: first * q - (scale * k) * p)
    return xp.where(degree > limit, xp.nan, recurred)


POLYNOMIALS = {
    **{f"chebyshev_polynomial_{kind}": (lambda xp, x, n, degree, kind=kind: _chebyshev(xp, x, n, degree, kind, False))
       for kind in CHEBYSHEV},
    **{f"shifted_chebyshev_polynomial_{kind}": (lambda xp, x, n, degree, kind=kind:
                                                _chebyshev(xp, x, n, degree, kind, True)) for kind in CHEBYSHEV},
    "hermite_polynomial_h": lambda xp, x, n, degree: _hermite(xp, x, n, degree, True),
    "hermite_polynomial_he": lambda xp, x, n, degree: _hermite(xp, x, n, degree, False),
    "laguerre_polynomial_l": _laguerre,
    "legendre_polynomial_p": _legendre,
}


class OrthogonalPolynomial(Function):
    """p_n(x) of the polynomial `name` (see POLYNOMIALS), x and n promoted to one floating-point dtype as torch's
    (integers to the default float dtype); float16 is torch's NotImplementedError. Without a gradient: minigrad.special
    applies it to operands outside the graph."""

    broadcasts = True
    integers_to_float = True

    @staticmethod
    def forward(ctx, x, n, name):
        if x.dtype.itemsize < 4:
            raise NotImplementedError(f"\"{name}_cpu\" not implemented for '{SCALAR_TYPE_NAMES[x.dtype]}'")
        xp = get_array_module(x)
        x, n = xp.broadcast_arrays(x, n)
        fits = xp.isfinite(n) & (xp.abs(n) < 2.0 ** 63)
        degree = xp.where(fits, n, -1).astype(np.int64)
        n = degree.astype(x.dtype)  # the truncated degree, as torch's kernels take it
        out = POLYNOMIALS[name](xp, x, n, degree)
        return xp.where(degree < 0, 0, out).astype(x.dtype)
