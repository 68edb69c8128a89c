"""Tensors made from data or filled in, as torch's creation functions: in the default dtype (float32 unless
set_default_dtype changed it) unless told otherwise."""
import math
import numbers
import warnings

import numpy as np

from . import batching, ops
from .backend import cupy_module, default_dtype, get_array_module, normalize_device, taking_memory_format, to_numpy
from .function import (CPP_TYPE_NAMES, SCALAR_TYPE_NAMES, converted_scalar, refusing_uninitialized,
                       require_64_bits, require_broadcastable, require_fits, result_type)
from .ops.elementwise import require_floating_point
from .ops.shape import strided_view
from .random import generator as numpy_generator
from .tensor import Tensor, check_can_require_grad, checked_arguments, int_tuple_argument, tensor_only


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new tensor from an array, tensor, list or number (Python floats take the default dtype), with its own
    copy of the data, as torch.tensor. `Tensor(array)` shares the array instead, as torch.from_numpy does."""
    source = data.data if isinstance(data, Tensor) else data
    result = Tensor(source, requires_grad=requires_grad, dtype=dtype, device=device)
    # Only an array already on the target device can still be shared: a cast, a transfer or a list made a new one.
    if isinstance(source, type(result.data)) and get_array_module(source).may_share_memory(result.data, source):
        result.data = result.data.copy()
    return result


def _filled(maker, shape, dtype, device, requires_grad, negative_size_error=None):
    """A new tensor of maker(xp, shape, dtype) as `dtype` (the default dtype unless given), on `device`, xp the array
    module of `device` (NumPy where none is given): a constant is made there, so that a GPU's zeros take no copy from
    the host; a maker of host values (`_on_host`: drawn or computed ones) gives a NumPy array, copied there. A
    negative size is torch's error, in the words of negative_size_error where the op has its own."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    _require_sizes(shape, negative_size_error)
    with np.errstate(invalid="ignore"):  # values beyond an integer dtype wrap without a word, as in torch
        dtype = np.dtype(default_dtype() if dtype is None else dtype)
        xp = np if device is None or normalize_device(device) == "cpu" else cupy_module()
        array = maker(xp, shape, dtype).astype(dtype, copy=False)
    return Tensor(array, requires_grad=requires_grad, device=device)


def _require_sizes(shape, negative_size_error=None):
    if any(size < 0 for size in shape):
        negative = next(size for size in shape if size < 0)
        raise RuntimeError(negative_size_error or
                           f"Trying to create tensor with negative dimension {negative}: {list(shape)}")


def _on_host(maker):
    """_filled's maker of the NumPy array maker(shape), made on the host whatever the device."""
    return lambda xp, shape, dtype: maker(shape)


def _constant(name, *args):
    """_filled's maker of xp.<name>(shape, *args, dtype), made on the device (zeros, ones, full)."""
    return lambda xp, shape, dtype: getattr(xp, name)(shape, *args, dtype=dtype)


def _filled_like(maker, input, dtype, device, requires_grad, drawn=False):
    """_filled in the shape of `input`, in its dtype and on its device unless told otherwise, as torch's *_like;
    inside vmap, batched as input is, or, `drawn`, where the draws differ from sample to sample (see batching)."""
    dtype = input.dtype if dtype is None else dtype
    filled = _filled(maker, input.shape, dtype, device or input.device, requires_grad)
    return batching.drawn_anew(filled) if drawn else batching.marked(filled, (input,))


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_constant("zeros"), shape, dtype, device, requires_grad,
                   "zeros: Dimension size must be non-negative.")


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _filled(_constant("ones"), shape, dtype, device, requires_grad)


@refusing_uninitialized
@taking_memory_format
def zeros_like(input, dtype=None, device=None, requires_grad=False):
    return _filled_like(_constant("zeros"), input, dtype, device, requires_grad)


@refusing_uninitialized
@taking_memory_format
def ones_like(input, dtype=None, device=None, requires_grad=False):
    return _filled_like(_constant("ones"), input, dtype, device, requires_grad)


def _filler(fill_value, dtype):
    """full's maker: fill_value, which `dtype` must hold (torch's error, where NumPy would wrap), cast to it first as
    torch casts it (-1 into uint8 is 255, 2.5 into int64 is 2), which NumPy's full refuses for an integer."""
    require_64_bits(fill_value)  # torch's OverflowError, where NumPy would make an array of Python objects
    fill_value = np.asarray(fill_value)
    require_fits(fill_value, np.dtype(dtype))
    return _constant("full", fill_value.astype(dtype).item())  # a Python number, as either array module takes it


def full(size, fill_value, dtype=None, device=None, requires_grad=False):
    """A tensor of `size` (a tuple or list) filled with fill_value, in its dtype unless told otherwise, as torch's:
    bool, int64, or the default dtype for a float."""
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not {type(size).__name__}")
    dtype = result_type(fill_value) if dtype is None else dtype
    return _filled(_filler(fill_value, dtype), (size,), dtype, device, requires_grad)


@refusing_uninitialized
@taking_memory_format
def full_like(input, fill_value, dtype=None, device=None, requires_grad=False):
    dtype = input.dtype if dtype is None else dtype
    return _filled_like(_filler(fill_value, dtype), input, dtype, device, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    """The n x m (n x n) identity matrix, in the default dtype unless told otherwise, as torch.eye."""
    m = n if m is None else m
    for name, size in (("n", n), ("m", m)):
        if not isinstance(size, numbers.Integral):
            raise TypeError(f"eye(): argument '{name}' must be int, not {type(size).__name__}")
        if size < 0:
            raise RuntimeError(f"{name} must be greater or equal to 0, got {size}")
    return _filled(lambda xp, shape, dtype: xp.eye(*shape, dtype=dtype), (n, m), dtype, device, requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    """start, start + step, ... up to and without end (`arange(end)` counts from 0), as torch.arange: int64 when
    every argument is an integer, else the default dtype. A float value is start + i * step computed in float64;
    an integer dtype takes the start and step truncated to integers, int64 the end too before counting, as
    torch's."""
    if end is None:
        start, end = 0, start
    start, end, step = (x.item() if isinstance(x, Tensor) else x for x in (start, end, step))
    if not (math.isfinite(start) and math.isfinite(end)):
        raise RuntimeError(f"unsupported range: {start} -> {end}")
    integers = all(isinstance(x, numbers.Integral) for x in (start, end, step))
    dtype = np.dtype((np.int64 if integers else default_dtype()) if dtype is None else dtype)
    if dtype == bool:
        raise NotImplementedError("\"arange_cpu\" not implemented for 'Bool'")
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if dtype == np.int64:
        start, end, step = int(start), int(end), int(step)
        if step == 0:
            raise ValueError("step must be nonzero")
    count = -((start - end) // step) if dtype == np.int64 else math.ceil((end - start) / step)
    if dtype.kind in "iu":
        start, step = int(start), int(step)
    steps = np.arange(count, dtype=np.int64 if dtype.kind in "iu" else np.float64)
    return _filled(_on_host(lambda shape: start + step * steps), (count,), dtype, device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False):
    """torch leaves the values unset; these are zeros."""
    return _filled(_constant("zeros"), size, dtype, device, requires_grad)


def randn(*shape, generator=None, dtype=None, device=None, requires_grad=False):
    return _filled(_on_host(numpy_generator(generator).standard_normal), shape, dtype, device, requires_grad)


def rand(*shape, generator=None, dtype=None, device=None, requires_grad=False):
    return _filled(_on_host(numpy_generator(generator).random), shape, dtype, device, requires_grad)


@refusing_uninitialized
@taking_memory_format
def randn_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    return _filled_like(_on_host(numpy_generator(generator).standard_normal), input,
                        _random_float(input, dtype, "normal_kernel_cpu"), device, requires_grad, drawn=True)


@refusing_uninitialized
@taking_memory_format
def rand_like(input, *, generator=None, dtype=None, device=None, requires_grad=False):
    return _filled_like(_on_host(numpy_generator(generator).random), input,
                        _random_float(input, dtype, "check_uniform_bounds"), device, requires_grad, drawn=True)


def _random_float(input, dtype, kernel):
    """The dtype of randn_like's and rand_like's values, which torch draws in floating point only."""
    dtype = np.dtype(input.dtype if dtype is None else dtype)
    if dtype.kind != "f":
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{SCALAR_TYPE_NAMES[dtype]}'")
    return dtype


@refusing_uninitialized
@taking_memory_format
def randint_like(input, low=0, high=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high) (`randint_like(input, high)` from [0, high)), in input's dtype
    unless told otherwise, as torch's."""
    if high is None:
        low, high = 0, low
    dtype = input.dtype if dtype is None else dtype
    return _filled_like(_on_host(integer_drawer(low, high, dtype, generator)), input, dtype, device, requires_grad,
                        drawn=True)


def randint(low=0, high=None, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Integers drawn uniformly from [low, high) into a tensor of `size`, int64 unless told otherwise, as torch's
    randint(high, size) and randint(low, high, size)."""
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    if high is None:
        low, high = 0, low
    if not isinstance(size, (tuple, list)):
        position, given = (2, high) if size is None else (3, size)
        raise TypeError(f"randint(): argument 'size' (position {position}) must be tuple of ints, not "
                        f"{type(given).__name__}")
    dtype = np.int64 if dtype is None else dtype
    return _filled(_on_host(integer_drawer(low, high, dtype, generator)), (size,), dtype, device, requires_grad)


def integer_drawer(low, high, dtype, generator=None):
    """A maker of integers drawn uniformly from [low, high), which `dtype` must hold, as torch's random_."""
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    dtype = np.dtype(dtype)
    if dtype.kind in "biu":
        limits = (0, 1) if dtype == bool else (np.iinfo(dtype).min, np.iinfo(dtype).max)
        if low < limits[0]:
            raise RuntimeError(f"from is out of bounds for {CPP_TYPE_NAMES[dtype]}")
        if high - 1 > limits[1]:
            raise RuntimeError(f"to - 1 is out of bounds for {CPP_TYPE_NAMES[dtype]}")
    return lambda shape: numpy_generator(generator).integers(low, high, shape)


def randperm(n, *, generator=None, dtype=None, device=None, requires_grad=False):
    """0, ..., n - 1 in a random order, int64 unless told otherwise, as torch.randperm."""
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    require_fits(np.asarray(n - 1), dtype)
    if dtype == np.float16 and n > 2049:
        raise RuntimeError("n cannot be greater than 2049 for Half type.")
    return _filled(_on_host(lambda shape: numpy_generator(generator).permutation(n)), (n,), dtype, device,
                   requires_grad)


def normal(mean, std=1.0, size=None, *, generator=None, dtype=None, device=None, requires_grad=False):
    """Values drawn from N(mean, std), as torch.normal: of mean's and std's broadcast shape where either is a
    tensor (in mean's dtype and device, else std's), or of `size` (the default dtype unless told otherwise)
    for two numbers. The gradient that reaches mean and std is zero, as torch's."""
    tensors = [x for x in (mean, std) if isinstance(x, Tensor)]
    if not tensors and size is None or tensors and size is not None:
        raise TypeError(f"normal() received an invalid combination of arguments - got "
                        f"({', '.join(type(x).__name__ for x in (mean, std, size) if x is not None)}), but expected "
                        "one of:\n * (Tensor mean, Tensor std)\n * (Tensor mean, float std)\n"
                        " * (float mean, Tensor std)\n * (float mean, float std, tuple of ints size)")
    if isinstance(std, Tensor):
        if std.numel() and std.data.min() < 0:
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std:g}")
    if not tensors:
        return _filled(_on_host(lambda shape: numpy_generator(generator).normal(mean, std, shape)), (size,), dtype,
                       device, requires_grad)
    dtype = tensors[0].dtype
    if dtype.kind != "f":
        raise NotImplementedError(f"\"normal_kernel_cpu\" not implemented for '{SCALAR_TYPE_NAMES[dtype]}'")
    batching.refuse_batched_parameters(mean, std)
    means, stds = (to_numpy(x.data) if isinstance(x, Tensor) else x for x in (mean, std))
    require_broadcastable(np.shape(means), np.shape(stds))
    size = np.broadcast_shapes(np.shape(means), np.shape(stds))
    values = _filled(_on_host(lambda shape: numpy_generator(generator).normal(means, stds, shape)), (size,), dtype,
                     tensors[0].device, False)
    overload = isinstance(mean, Tensor) + 2 * isinstance(std, Tensor)  # torch's node of each overload
    return ops.Drawn.apply(values, mean, std, node_name=f"NormalBackward{overload}")


# NumPy's largest Poisson rate, just short of int64's range: NumPy draws no count for a larger one (inf), torch casts
# its count to int64, which gives int64's smallest number
_LARGEST_POISSON_RATE = np.iinfo(np.int64).max - np.sqrt(np.iinfo(np.int64).max) * 10


def poisson(input, generator=None):
    """Counts drawn from Poisson(rate) for each rate in input (floating point), in its dtype, as torch's; the
    gradient that reaches input is zero, as torch's."""
    tensor_only("poisson", input, role="input")
    require_floating_point("poisson_cpu", input)
    rates = to_numpy(input.data)
    if not (rates >= 0).all():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    batching.refuse_batched_parameters(input)
    beyond = rates > _LARGEST_POISSON_RATE

    def draw(shape):
        drawn = numpy_generator(generator).poisson(np.where(beyond, 0, rates))
        with np.errstate(over="ignore"):  # float16's inf for int64's smallest number, as torch's
            return np.where(beyond, np.iinfo(np.int64).min, drawn).astype(rates.dtype)

    counts = _filled(_on_host(draw), (input.shape,), input.dtype, input.device, False)
    return ops.Drawn.apply(counts, input, node_name="PoissonBackward0")


def binomial(count, prob, generator=None):
    """The successes in `count` trials of probability `prob` each, drawn for each entry of their broadcast shape
    (floating-point tensors of one dtype), as torch's (see ops.Binomial); backward through it is torch's error."""
    for position, (role, tensor) in enumerate((("count", count), ("prob", prob)), 1):
        tensor_only("binomial", tensor, position, role)
        if tensor.dtype.kind != "f":
            raise ValueError(f"binomial only supports floating-point dtypes for {role}, got: "
                             f"{SCALAR_TYPE_NAMES[tensor.dtype]}")
    if prob.dtype != count.dtype:
        raise RuntimeError(f"Found dtype {SCALAR_TYPE_NAMES[prob.dtype]} but expected {SCALAR_TYPE_NAMES[count.dtype]}")
    if count.dtype == np.float16:
        raise NotImplementedError("\"binomial_cpu\" not implemented for 'Half'")
    batching.refuse_batched_parameters(count, prob)
    return ops.Binomial.apply(count, prob, numpy_generator=numpy_generator(generator))


def scalar_tensor(s, *, dtype=None, device=None, requires_grad=False):
    """A 0-d tensor of the number s, in the default dtype unless told otherwise (an integer too), as torch's."""
    if isinstance(s, Tensor):
        s = s.item()
    if not isinstance(s, numbers.Number):
        raise TypeError(f"scalar_tensor(): argument 's' (position 1) must be Number, not {type(s).__name__}")
    return _filled(_on_host(lambda shape: np.array(s)), (), dtype, device, requires_grad)


def from_numpy(ndarray):
    """A tensor that shares the array's memory (a write to either shows in the other), in its dtype, as torch's."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    if ndarray.dtype.kind not in "biufc":
        raise TypeError(f"can't convert np.ndarray of type numpy.{ndarray.dtype.type.__name__}. The only supported "
                        "types are: float64, float32, float16, complex64, complex128, int64, int32, int16, int8, "
                        "uint64, uint32, uint16, uint8, and bool.")
    return Tensor(ndarray)


def asarray(obj, *, dtype=None, device=None, copy=None, requires_grad=None):
    """obj as a tensor, as torch.asarray: a tensor, or an array (whose memory it shares), itself where its dtype and
    device are those asked, unless copy is True; else a copy (copy=False refuses to make one); lists and numbers
    copied, Python floats in the default dtype. A tensor's copy stays in the graph. requires_grad unset is a
    tensor's own, with torch's warning where it is True; set, it is set on the tensor returned, as torch's: on obj
    itself where that is a leaf returned as it is, a non-leaf detached where it is False."""
    if isinstance(obj, Tensor):
        if requires_grad is None and obj.requires_grad:
            warnings.warn("torch.asarray: unspecified requires_grad now defaults to obj.requires_grad instead of "
                          "False. Pass requires_grad=False explicitly to get the old behavior and silence this "
                          "warning.", UserWarning, stacklevel=2)
        requires_grad = obj.requires_grad if requires_grad is None else requires_grad
    elif isinstance(obj, np.ndarray) or get_array_module(obj) is not np:
        obj = Tensor(obj)
    elif copy is False:
        raise ValueError("can't alias arbitrary sequence into a tensor.")
    else:
        return tensor(obj, bool(requires_grad), dtype, device)
    dtype = obj.dtype if dtype is None else np.dtype(dtype)
    device = obj.device if device is None else normalize_device(device)
    if copy is False and device != obj.device:
        raise ValueError(f"can't alias tensor from device '{obj.device}' to '{device}'.")
    if copy is False and dtype != obj.dtype:
        raise ValueError(f"can't alias tensor with dtype '{SCALAR_TYPE_NAMES[obj.dtype]}' into dtype "
                         f"'{SCALAR_TYPE_NAMES[dtype]}'.")
    result = obj.to(device=device, dtype=dtype, copy=bool(copy))
    if requires_grad:
        check_can_require_grad(dtype)
    if bool(requires_grad) == result.requires_grad:
        return result
    return result.requires_grad_(bool(requires_grad)) if result.is_leaf else result.detach()


def as_tensor(data, dtype=None, device=None):
    """data as a tensor, sharing its memory where the dtype and device let it, as torch.as_tensor: a tensor of
    that dtype and device is returned itself, another one converted (staying in the graph), an array shared;
    lists and numbers are copied (Python floats take the default dtype)."""
    if isinstance(data, Tensor):
        return data.to(device=device or data.device, dtype=data.dtype if dtype is None else dtype)
    return Tensor(data, dtype=dtype, device=device)


@checked_arguments(size=int_tuple_argument, stride=int_tuple_argument)
def empty_strided(size, stride, *, dtype=None, layout=None, device=None, requires_grad=False, pin_memory=False):
    """A tensor of `size` whose strides (in elements) are `stride`, as torch's: a view of a run of memory just long
    enough, so that entries that the strides overlap (a stride of 0) share it; zeros where torch leaves the values
    unset. layout (strided) and pin_memory are accepted and ignored."""
    _require_sizes(size)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
                           f"({len(stride)})")
    empty = 0 in size
    if not empty and min(stride, default=0) < 0:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}")
    run = zeros(0 if empty else 1 + sum((n - 1) * step for n, step in zip(size, stride)), dtype=dtype, device=device)
    return Tensor(strided_view(run.data, size, stride), requires_grad=requires_grad)


def tril_indices(row, col, offset=0, *, dtype=None, device=None):
    """The (row, column) indices of the lower triangle of a row x col matrix (below diagonal `offset`), a
    2 x count tensor in row-major order, int64 unless told otherwise, as torch's."""
    return _triangle_indices("tril_indices", np.tril_indices, row, col, offset, dtype, device)


def triu_indices(row, col, offset=0, *, dtype=None, device=None):
    """tril_indices for the upper triangle (above diagonal `offset`)."""
    return _triangle_indices("triu_indices", np.triu_indices, row, col, offset, dtype, device)


def _triangle_indices(name, indices, row, col, offset, dtype, device):
    dtype = np.dtype(np.int64 if dtype is None else dtype)
    if dtype not in (np.int32, np.int64):
        raise NotImplementedError(f"\"{name}\" not implemented for '{SCALAR_TYPE_NAMES[dtype]}'")
    for role, size in (("row", row), ("col", col)):
        if size < 0:
            raise RuntimeError(f"{role} must be non-negative, got{size}")
    pairs = np.stack(indices(row, offset, col))
    return _filled(_on_host(lambda shape: pairs), pairs.shape, dtype, device, False)


def cartesian_prod(*tensors):
    """Every combination of one entry of each 1-d tensor, a row each, in the order of nested loops (the last
    tensor's entries fastest), as torch.cartesian_prod; one tensor is returned itself. The gradient reaches
    each tensor."""
    for t in tensors:
        if t.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t.shape)}")
    if len(tensors) == 1:
        return tensors[0]
    grids = meshgrid(*tensors, indexing="ij")
    return ops.Cat.apply(*(grid.reshape(-1, 1) for grid in grids), dim=1)


@refusing_uninitialized
@taking_memory_format
def empty_like(input, dtype=None, device=None, requires_grad=False):
    """torch leaves the values unset; these are zeros."""
    return _filled_like(_constant("zeros"), input, dtype, device, requires_grad)


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False):
    """`steps` values from start to end, evenly spaced, in the default dtype unless told otherwise, as
    torch.linspace: each is computed in the dtype from the nearer end, so that both ends are exact; an integer
    dtype steps in float64 and truncates."""
    dtype = _spaced_dtype("linspace", dtype)
    values = _evenly_spaced(start, end, steps, dtype, np.float64 if dtype.kind in "iu" else dtype)
    return _spaced(values, dtype, device, requires_grad)


def logspace(start, end, steps, base=10.0, *, dtype=None, device=None, requires_grad=False):
    """base ** linspace(start, end, steps), as torch.logspace: the exponents and powers in float64 (an integer
    dtype's base in float32), cast to the dtype (the default dtype unless told otherwise)."""
    dtype = _spaced_dtype("logspace", dtype)
    exponents = _evenly_spaced(start, end, steps, dtype, np.float64)
    base = np.float64(np.float32(base) if dtype.kind in "iu" else base)
    # powers beyond float64's range are inf, a negative base's fractional ones NaN, as torch's, without NumPy's warning
    with np.errstate(over="ignore", invalid="ignore"):
        powers = base ** exponents
    return _spaced(powers, dtype, device, requires_grad)


def _spaced(values, dtype, device, requires_grad):
    """linspace's or logspace's values as a tensor of `dtype`; torch fills a single value in, refused where the dtype
    cannot hold it (require_fits)."""
    if values.size == 1:
        require_fits(values, dtype)
    return _filled(_on_host(lambda shape: values), values.shape, dtype, device, requires_grad)


def _spaced_dtype(name, dtype):
    dtype = np.dtype(default_dtype() if dtype is None else dtype)
    if dtype == bool:
        raise NotImplementedError(f"\"{name}_cpu\" not implemented for 'Bool'")
    return dtype


def _evenly_spaced(start, end, steps, dtype, step_dtype):
    """torch's `steps` values from start to end (each first cast to `dtype`, refused where it cannot hold them) as a
    NumPy array of step_dtype: start + i * step up to halfway, end - (steps - 1 - i) * step from there; one step is
    start itself, as it is."""
    if not isinstance(steps, numbers.Integral):
        raise TypeError(f"argument 'steps' must be int, not {type(steps).__name__}")
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    start, end = (x.item() if isinstance(x, Tensor) else x for x in (start, end))
    require_64_bits(start), require_64_bits(end)
    if steps < 2:
        return np.array([start][:steps])
    start, end = (converted_scalar(x, dtype).astype(step_dtype) for x in (start, end))
    last = np.asarray(steps - 1).astype(dtype).astype(step_dtype)
    step = (end - start) / last
    index = np.arange(steps, dtype=step_dtype)
    return np.where(index < steps // 2, start + step * index, end - step * (last - index))


def meshgrid(*tensors, indexing=None):
    """Grids of coordinates, as torch.meshgrid: grid i holds tensors[i] (0-d or 1-d) along dim i ("ij", the
    default), or with "xy" the first two swapped (x along dims 1, y along 0), as an image's. Each is a view of
    its tensor expanded (no copy), as torch's, so the gradient reaches each tensor summed over its grid."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    if indexing is None:
        warnings.warn("meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
                      UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but received: {indexing}')
    for t in tensors:
        if t.ndim > 1:
            raise RuntimeError("torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got a tensor of "
                               f"shape {list(t.shape)}")
        if t.dtype != tensors[0].dtype:
            raise RuntimeError("meshgrid expects all tensors to have the same dtype")
        if t.device != tensors[0].device:
            raise RuntimeError("meshgrid expects all tensors to have the same device")
    dims = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) > 1:
        dims[0], dims[1] = 1, 0
    shape = [0] * len(tensors)
    for t, dim in zip(tensors, dims):
        shape[dim] = t.numel()
    return tuple(t.reshape([-1 if d == dim else 1 for d in range(len(tensors))]).expand(shape)
                 for t, dim in zip(tensors, dims))


def _window(name, profile, window_length, periodic, dtype, device, requires_grad):
    """A signal-processing window of window_length points, `profile` of x = n / (N - 1) for n < N (NumPy, float64),
    N = window_length, or one more with the last point left out where periodic (for a spectrogram's frames), as
    torch's: the default dtype or a floating-point one."""
    dtype = np.dtype(default_dtype() if dtype is None else dtype)
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if dtype.kind != "f":
        raise RuntimeError(f"{name} expects floating point dtypes, got: TensorOptions(dtype={CPP_TYPE_NAMES[dtype]}, "
                           "device=cpu, layout=Strided (default), requires_grad=false (default), "
                           "pinned_memory=false, memory_format=(nullopt))")
    points = window_length + 1 if periodic and window_length > 1 else window_length
    x = np.arange(points) / max(points - 1, 1)
    values = profile(x)[:window_length] if window_length > 1 else np.ones(window_length)
    return _filled(_on_host(lambda shape: values), (window_length,), dtype, device, requires_grad)


def _raised_cosine(alpha, beta):
    """The profile alpha - beta cos(2 pi x) of the Hamming window, and with alpha = beta = 0.5 of the Hann window."""
    return lambda x: alpha - beta * np.cos(2 * np.pi * x)


def hann_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    return _window("hann_window", _raised_cosine(0.5, 0.5), window_length, periodic, dtype, device, requires_grad)


def hamming_window(window_length, periodic=True, alpha=0.54, beta=0.46, *, dtype=None, device=None,
                   requires_grad=False):
    return _window("hamming_window", _raised_cosine(alpha, beta), window_length, periodic, dtype, device,
                   requires_grad)


def blackman_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    return _window("blackman_window", lambda x: 0.42 - 0.5 * np.cos(2 * np.pi * x) + 0.08 * np.cos(4 * np.pi * x),
                   window_length, periodic, dtype, device, requires_grad)


def bartlett_window(window_length, periodic=True, *, dtype=None, device=None, requires_grad=False):
    """The triangle 1 - |2x - 1|."""
    return _window("bartlett_window", lambda x: 1 - np.abs(2 * x - 1), window_length, periodic, dtype, device,
                   requires_grad)


def kaiser_window(window_length, periodic=True, beta=12.0, *, dtype=None, device=None, requires_grad=False):
    """i0(beta sqrt(1 - (2x - 1) ** 2)) / i0(beta)."""
    return _window("kaiser_window", lambda x: np.i0(beta * np.sqrt(1 - (2 * x - 1) ** 2)) / np.i0(beta),
                   window_length, periodic, dtype, device, requires_grad)
