"""Inclusive scans on whole arrays, for NumPy and CuPy alike (CuPy's ufuncs accumulate only add)."""
from ..backend import get_array_module


def running(combine, a, axis, segments=None):
    """The inclusive scan of an associative ufunc (maximum, minimum, logaddexp, multiply) along `axis`, by doubling:
    log2(n) whole-array steps, as CuPy's ufuncs accumulate only add. With `segments` (a 1-d `a`'s labels, equal
    ones adjacent), each run of one label is scanned apart."""
    out = a.copy()
    size, shift = a.shape[axis], 1
    lead = (slice(None),) * axis
    while shift < size:
        later, earlier = lead + (slice(shift, None),), lead + (slice(None, size - shift),)
        combined = combine(out[later], out[earlier])
        if segments is not None:
            combined = get_array_module(a).where(segments[shift:] == segments[:-shift], combined, out[later])
        out[later] = combined
        shift *= 2
    return out
