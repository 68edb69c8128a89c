"""How a tensor prints: torch's layout and digits (4 decimals, or scientific where the magnitudes are far apart;
integer-valued floats as "1."; summaries of big tensors; lines of torch's width), so that printed results read
the same beside torch's. set_printoptions is torch's."""
import dataclasses
import math

import numpy as np


@dataclasses.dataclass
class PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool = None


PRINT_OPTS = PrintOptions()
PREFIX = "tensor("  # a repr's lines after the first are indented under its end
_PROFILES = {"default": dict(precision=4, threshold=1000, edgeitems=3, linewidth=80),
             "short": dict(precision=2, threshold=1000, edgeitems=2, linewidth=80),
             "full": dict(precision=4, threshold=math.inf, edgeitems=3, linewidth=80)}


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None, profile=None, sci_mode=None):
    """torch's: a profile ("default", "short", "full") first, then each option given; sci_mode None lets each
    tensor choose, as it is by default."""
    if profile is not None:
        for name, value in _PROFILES[profile].items():
            setattr(PRINT_OPTS, name, value)
    for name, value in dict(precision=precision, threshold=threshold, edgeitems=edgeitems,
                            linewidth=linewidth).items():
        if value is not None:
            setattr(PRINT_OPTS, name, value)
    PRINT_OPTS.sci_mode = sci_mode


class _Formatter:
    """torch's choice of a format for all the values of one tensor (its shown part, when summarized), from the
    finite nonzero ones: scientific where the largest is over 1e8 or 1000 times the smallest, or the smallest under
    1e-4 (or as set_printoptions' sci_mode says), else whole numbers as "3." and others with 4 decimals; and the
    width that lines them up."""

    def __init__(self, values):
        self.floating = values.dtype.kind == "f"
        self.int_mode, self.sci_mode, self.max_width = True, False, 1
        if not self.floating:
            self.max_width = max((len(str(value)) for value in values.ravel().tolist()), default=1)
            return
        shown = values[np.isfinite(values) & (values != 0)].astype(np.float64).tolist()
        if not shown:
            return
        smallest, largest = min(map(abs, shown)), max(map(abs, shown))
        self.int_mode = all(value == math.ceil(value) for value in shown)
        self.sci_mode = (largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
                         if PRINT_OPTS.sci_mode is None else PRINT_OPTS.sci_mode)
        if self.sci_mode:
            self.max_width = max(len(f"{value:.{PRINT_OPTS.precision}e}") for value in shown)
        elif self.int_mode:
            self.max_width = max(len(f"{value:.0f}") + 1 for value in shown)
        else:
            self.max_width = max(len(f"{value:.{PRINT_OPTS.precision}f}") for value in shown)

    def format(self, value):
        if not self.floating:
            text = str(value)
        elif self.sci_mode:
            text = f"{value:{self.max_width}.{PRINT_OPTS.precision}e}"
        elif self.int_mode:
            text = f"{value:.0f}" + ("" if math.isinf(value) or math.isnan(value) else ".")
        else:
            text = f"{value:.{PRINT_OPTS.precision}f}"
        return text.rjust(self.max_width)


def tensor_body(array):
    """The bracketed values of a tensor's repr, its lines indented under "tensor(", as torch prints them."""
    indent = len(PREFIX)
    if array.size == 0:
        return "[]"
    summarize = array.size > PRINT_OPTS.threshold
    shown = _summarized(array) if summarize else array
    if array.dtype.kind == "c":
        formatters = (_Formatter(shown.real), _Formatter(shown.imag))
    else:
        formatters = (_Formatter(shown),)
    return _nested(array, indent, summarize, formatters)


def with_suffixes(body, suffixes):
    """The body, then each suffix (dtype=..., grad_fn=...) after a comma, on a line of its own under the first
    value where it would run past torch's line width, as torch's."""
    indent = len(PREFIX)
    text, line_length = body, len(body) - body.rfind("\n") + 1
    for suffix in suffixes:
        if line_length + len(suffix) + 2 > PRINT_OPTS.linewidth:
            text, line_length = text + ",\n" + " " * indent + suffix, indent + len(suffix)
        else:
            text, line_length = text + ", " + suffix, line_length + len(suffix) + 2
    return text


def _nested(array, indent, summarize, formatters):
    if array.ndim == 0:
        return _value(array.item(), formatters)
    if array.ndim == 1:
        return _row(array, indent, summarize, formatters)
    edge = PRINT_OPTS.edgeitems
    if summarize and array.shape[0] > 2 * edge:
        parts = ([_nested(array[i], indent + 1, summarize, formatters) for i in range(edge)] + ["..."] +
                 [_nested(array[i], indent + 1, summarize, formatters) for i in range(len(array) - edge, len(array))])
    else:
        parts = [_nested(part, indent + 1, summarize, formatters) for part in array]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(parts) + "]"


def _row(array, indent, summarize, formatters):
    """A 1-d array's values, as many to a line as torch's line width takes."""
    element_width = formatters[0].max_width + 2 + (formatters[1].max_width + 1 if len(formatters) > 1 else 0)
    per_line = max(1, (PRINT_OPTS.linewidth - indent) // element_width)
    edge = PRINT_OPTS.edgeitems
    if summarize and not edge:
        values = ["..."]
    elif summarize and array.shape[0] > 2 * edge:
        values = ([_value(v, formatters) for v in array[:edge].tolist()] + [" ..."] +
                  [_value(v, formatters) for v in array[-edge:].tolist()])
    else:
        values = [_value(v, formatters) for v in array.tolist()]
    lines = [", ".join(values[start:start + per_line]) for start in range(0, len(values), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _value(value, formatters):
    if len(formatters) == 1:
        return formatters[0].format(value)
    real, imaginary = formatters[0].format(value.real), (formatters[1].format(value.imag) + "j").lstrip()
    return real + (imaginary if imaginary[0] in "+-" else "+" + imaginary)


def _summarized(array):
    """The values a summary shows, the edge items of every dim, to choose their format from."""
    edge = PRINT_OPTS.edgeitems
    if array.ndim == 0:
        return array
    if array.ndim == 1:
        return np.concatenate([array[:edge], array[-edge:]]) if array.shape[0] > 2 * edge else array
    if not edge:
        return array[(slice(0, 0),) * array.ndim]
    rows = (list(range(edge)) + list(range(len(array) - edge, len(array)))) if array.shape[0] > 2 * edge else \
        range(len(array))
    return np.stack([_summarized(array[i]) for i in rows])
